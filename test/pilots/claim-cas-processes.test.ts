import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api } from '../helpers/instance';
import { PG_AVAILABLE } from '../helpers/db';
import { startTwoProcesses, type TwoProcesses } from './fixtures/two-processes';
import * as P from '../../scripts/lib/pilot-payloads';

/**
 * Issue 13: identical claims (one externalId) sent at once through two API processes on one PostgreSQL database
 * and one chain (claim-cas.test.ts does it in one process). The compare-and-set on the claim's status is the only
 * thing between the two processes' requests: one claim, one consume transaction signed and mined, one
 * expense.claim record, the chain naming that claim; every other answer is the same claim again (200) or
 * 409 CLAIM_IN_PROGRESS, never INVOICE_ALREADY_CLAIMED (the claim does not race itself).
 */
const ROUNDS = 3;
const PER_PROCESS = 4;

describe(
  'claims: one externalId through two API processes at once (PostgreSQL, real chain)',
  { skip: !PG_AVAILABLE },
  () => {
    let two: TwoProcesses;
    const keyOf = (who: string) => two.inst.demo.orgs.find((o) => o.id === who)!.apiKey;

    before(async () => {
      two = await startTwoProcesses();
    });
    after(async () => two?.stop());

    for (let round = 0; round < ROUNDS; round++) {
      it(`round ${round}: ${2 * PER_PROCESS} identical claims over both processes → one claim, one consume`, async (t) => {
        const inv = await api(two.inst.apiUrl, 'POST', '/v1/records', {
          key: keyOf('aerospace'),
          body: { type: 'invoice.issued', externalId: `CASP-INV-${round}`, payload: P.invoice(`CASP-${round}`) },
        });
        assert.equal(inv.status, 202, JSON.stringify(inv.body));
        const body = { externalId: `CASP-CLM-${round}`, payload: P.claim(`E-CASP-${round}`), invoices: [inv.body.id] };
        // interleaved: A, B, A, B, … all in flight together
        const answers = await Promise.all(
          Array.from({ length: 2 * PER_PROCESS }, (_, i) =>
            api(i % 2 === 0 ? two.inst.apiUrl : two.secondUrl, 'POST', '/v1/claims', { key: keyOf('employer'), body }),
          ),
        );
        t.diagnostic(
          `round ${round}: answers (A,B,A,B,…) ${answers.map((a) => `${a.status}${a.status === 409 ? ` ${a.body.code}` : ''}`).join(', ')}`,
        );
        for (const a of answers) assert.ok([200, 201, 409].includes(a.status), JSON.stringify(a.body));
        for (const a of answers.filter((x) => x.status === 409)) assert.equal(a.body.code, 'CLAIM_IN_PROGRESS');
        const ok = answers.filter((a) => a.status === 200 || a.status === 201);
        assert.ok(ok.length >= 1, JSON.stringify(answers.map((a) => a.body)));
        assert.equal(new Set(ok.map((a) => a.body.id)).size, 1, 'one claim');
        const commitment = ok[0]!.body.commitment as string;

        const store = two.inst.runtime.store;
        const { claim, recs, txs } = await store.read(async (r) => {
          const claim = await r.getClaimByExternalId('employer', body.externalId);
          const recs = await r.findByExternalIds('employer', [{ type: 'expense.claim', externalId: body.externalId }]);
          return { claim, recs, txs: await r.outboxByRef('consume', commitment) };
        });
        assert.equal(claim?.status, 'recorded');
        assert.equal(claim?.commitment, commitment);
        assert.equal(recs.length, 1, 'one expense.claim record');
        assert.equal(txs.length, 1, `one consume signed: ${JSON.stringify(txs.map((x) => [x.status, x.nonce]))}`);
        assert.equal(txs[0]!.status, 'mined');
        const c = await two.inst.runtime.gateway.consumptionOf(ok[0]!.body.invoiceKeys[0]);
        assert.equal(c.claim, commitment);
        // A retry through either process now answers the same claim (200, duplicate).
        for (const base of [two.inst.apiUrl, two.secondUrl]) {
          const again = await api(base, 'POST', '/v1/claims', { key: keyOf('employer'), body });
          assert.deepEqual([again.status, again.body.id, again.body.duplicate], [200, claim!.id, true]);
        }
      });
    }
  },
);
