import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInstance, api, type Instance } from '../helpers/instance';
import * as P from '../../scripts/lib/pilot-payloads';

// Issue 13 races: claim state changes were plain updates, so concurrent requests with one externalId each signed
// a consume (the later one overwrote the claim's transaction and, reverting, could mark a recorded claim
// `failed`). Every change is now a compare-and-set on the claim's status: exactly one consume is signed and the
// claim ends `recorded`, whatever the interleaving.
describe('claims: concurrent requests with one externalId (compare-and-set, real chain)', () => {
  let inst: Instance;
  const keyOf = (who: string) => inst.demo.orgs.find((o) => o.id === who)!.apiKey;

  before(async () => {
    inst = await startInstance();
  });
  after(async () => inst?.stop());

  for (let round = 0; round < 3; round++) {
    it(`round ${round}: 8 identical claims at once → one claim, one consume transaction, recorded`, async () => {
      const inv = await api(inst.apiUrl, 'POST', '/v1/records', {
        key: keyOf('aerospace'),
        body: { type: 'invoice.issued', externalId: `CAS-INV-${round}`, payload: P.invoice(`CAS-${round}`) },
      });
      assert.equal(inv.status, 202, JSON.stringify(inv.body));
      const body = { externalId: `CAS-CLM-${round}`, payload: P.claim(`E-CAS-${round}`), invoices: [inv.body.id] };
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => api(inst.apiUrl, 'POST', '/v1/claims', { key: keyOf('employer'), body })),
      );
      for (const a of answers) assert.ok([200, 201, 409].includes(a.status), JSON.stringify(a.body));
      const ok = answers.filter((a) => a.status === 200 || a.status === 201);
      assert.ok(ok.length >= 1, JSON.stringify(answers.map((a) => a.body)));
      // a 409 here may only say "in progress, retry" — never that the invoice was claimed by someone else
      for (const a of answers.filter((x) => x.status === 409)) assert.equal(a.body.code, 'CLAIM_IN_PROGRESS');
      const ids = new Set(ok.map((a) => a.body.id));
      assert.equal(ids.size, 1, 'one claim');
      const commitment = ok[0]!.body.commitment as string;

      const store = inst.runtime.store;
      const claim = (await store.read((r) => r.getClaimByExternalId('employer', body.externalId)))!;
      assert.equal(claim.status, 'recorded');
      const c = await inst.runtime.gateway.consumptionOf(ok[0]!.body.invoiceKeys[0]);
      assert.equal(c.claim, commitment);
      const txs = await store.read((r) => r.outboxByRef('consume', commitment));
      assert.equal(txs.length, 1, `one consume signed: ${JSON.stringify(txs.map((t) => [t.status, t.nonce]))}`);
      assert.equal(txs[0]!.status, 'mined');
    });
  }
});
