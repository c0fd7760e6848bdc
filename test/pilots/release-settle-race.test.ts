import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ZeroHash } from 'ethers';
import { api, eventually, type Json } from '../helpers/instance';
import { PG_AVAILABLE } from '../helpers/db';
import { encodeRelease, encodeSettle, simulate } from '../../src/chain/registries';
import { startTwoProcesses, type TwoProcesses } from './fixtures/two-processes';
import * as P from '../../scripts/lib/pilot-payloads';

/**
 * Issue 13: release against settle, across two API processes on one PostgreSQL database and one chain. A claim's
 * keys are released when it is rejected and settled (kept for ever) when its approval is reimbursed; the claim is
 * decided once (ALREADY_DECIDED, serialized on PostgreSQL by locking the claim's row), so exactly one of settle and
 * release may take effect on chain. Rounds alternate:
 *  - decision race: process A approves (and then reimburses) while process B rejects, at the same moment;
 *  - settle queued: the claim is approved; A reimburses (the reconciler then settles) while B rejects at once.
 * Every round: the decision that won is the one on chain (settled, or keys free), the service's claim state in both
 * processes agrees with ClaimRegistryV2, exactly one settle or release transaction was mined, and after a settle a
 * release is refused by the other process's ClaimService (409 ALREADY_REIMBURSED) and by the chain (CLAIM_SETTLED).
 */
const ROUNDS = 5;

describe(
  'release against settle from two API processes (one PostgreSQL database, one chain)',
  { skip: !PG_AVAILABLE },
  () => {
    let two: TwoProcesses;
    const keyOf = (who: string) => two.inst.demo.orgs.find((o) => o.id === who)!.apiKey;
    const post = (base: string, body: unknown, url = '/v1/records') =>
      api(base, 'POST', url, { key: keyOf('employer'), body });

    before(async () => {
      two = await startTwoProcesses();
    });
    after(async () => two?.stop());

    it(`${ROUNDS} rounds: exactly one of settle and release takes effect; service and chain agree`, async (t) => {
      const A = two.inst.apiUrl;
      const B = two.secondUrl;
      const store = two.inst.runtime.store;
      const gateway = two.inst.runtime.gateway;
      const employer = (await store.read((r) => r.getOrg('employer')))!;
      const outcomes: string[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const mode = i % 2 === 0 ? 'decision race' : 'settle queued';
        const inv = await api(A, 'POST', '/v1/records', {
          key: keyOf('aerospace'),
          body: { type: 'invoice.issued', externalId: `RS-INV-${i}`, payload: P.invoice(`RS${i}`) },
        });
        assert.equal(inv.status, 202, JSON.stringify(inv.body));
        const claim = await post(
          A,
          { externalId: `RS-CLM-${i}`, payload: P.claim(`E-RS-${i}`), invoices: [inv.body.id] },
          '/v1/claims',
        );
        assert.equal(claim.status, 201, JSON.stringify(claim.body));
        const claimId = claim.body.id as string;
        const commitment = claim.body.commitment as string;
        const key = claim.body.invoiceKeys[0] as string;
        const approve = () =>
          post(A, { type: 'expense.approved', externalId: `RS-APR-${i}`, payload: P.approved(), parents: [claimId] });
        const reimburse = (approval: string) =>
          post(A, {
            type: 'expense.reimbursed',
            externalId: `RS-PAY-${i}`,
            payload: P.reimbursed(),
            parents: [approval],
          });
        const reject = () =>
          post(B, { type: 'expense.rejected', externalId: `RS-REJ-${i}`, payload: P.rejected(), parents: [claimId] });

        let approved: Json;
        let rejected: Json;
        let reimbursed: Json = null;
        if (mode === 'decision race') {
          [approved, rejected] = await Promise.all([
            approve().then(async (a) => {
              if (a.status === 202) reimbursed = await reimburse(a.body.id);
              return a;
            }),
            reject(),
          ]);
          assert.deepEqual(
            [approved.status, rejected.status].sort(),
            [202, 409],
            JSON.stringify([approved.body, rejected.body]),
          );
          assert.equal((approved.status === 409 ? approved : rejected).body.code, 'ALREADY_DECIDED');
        } else {
          approved = await approve();
          assert.equal(approved.status, 202, JSON.stringify(approved.body));
          [reimbursed, rejected] = await Promise.all([reimburse(approved.body.id), reject()]);
          assert.equal(rejected.status, 409, JSON.stringify(rejected.body));
          assert.equal(rejected.body.code, 'ALREADY_DECIDED');
        }
        const settles = approved.status === 202;
        if (settles) assert.equal(reimbursed?.status, 202, JSON.stringify(reimbursed?.body));

        // The service's state, read through each process's HTTP API, ends where the decision says.
        const final = settles ? 'settled' : 'released';
        const view = await eventually(async () => {
          const v = await api(B, 'GET', `/v1/claims/${claimId}`, { key: keyOf('employer') });
          return ['settled', 'released'].includes(v.body.status) && v.body;
        }, 20_000);
        const viewA = (await api(A, 'GET', `/v1/claims/${claimId}`, { key: keyOf('employer') })).body;
        assert.deepEqual([view.status, viewA.status], [final, final], JSON.stringify(view));
        // ... and so does the chain.
        const c = await gateway.consumptionOf(key);
        if (settles) assert.deepEqual([c.claim, c.settled], [commitment, true]);
        else assert.deepEqual([c.claim, c.settled], [ZeroHash, false]);
        // Exactly one settle or release transaction was mined; the other kind was never signed.
        const txs = await store.read(async (r) => ({
          settle: await r.outboxByRef('settle', commitment),
          release: await r.outboxByRef('release', commitment),
        }));
        const mined = (list: { status: string }[]) => list.filter((x) => x.status === 'mined').length;
        assert.deepEqual(
          [mined(txs.settle), mined(txs.release)],
          settles ? [1, 0] : [0, 1],
          JSON.stringify({ settle: txs.settle.map((x) => x.status), release: txs.release.map((x) => x.status) }),
        );

        // After the decision: what the other side tries is refused, by the service and by the chain.
        let refusal: string;
        if (settles) {
          const r = await two.release(claimId); // process B's ClaimService
          assert.equal(r.ok, false, JSON.stringify(r));
          assert.equal(r.ok === false && r.code, 'ALREADY_REIMBURSED', JSON.stringify(r));
          const late = await reject();
          assert.deepEqual([late.status, late.body.code], [409, 'ALREADY_DECIDED']);
          const f = await simulate(two.inst.runtime.provider, {
            from: employer.address!,
            to: gateway.claimRegistry,
            data: encodeRelease(commitment),
          });
          assert.ok(!f.ok, 'the chain would release a settled claim');
          assert.equal(f.error.code, 'CLAIM_SETTLED');
          refusal = `release refused: service ${r.code}, rejection ${late.body.code}, chain ${f.error.code}`;
        } else {
          const late = await approve();
          assert.deepEqual([late.status, late.body.code], [409, 'ALREADY_DECIDED']);
          const f = await simulate(two.inst.runtime.provider, {
            from: employer.address!,
            to: gateway.claimRegistry,
            data: encodeSettle(commitment),
          });
          assert.ok(!f.ok, 'the chain would settle a released claim');
          // released: the invoice may be claimed again (through the other process)
          const again = await post(
            B,
            { externalId: `RS-CLM-${i}-again`, payload: P.claim(`E-RS-${i}`), invoices: [inv.body.id] },
            '/v1/claims',
          );
          assert.equal(again.status, 201, JSON.stringify(again.body));
          refusal = `approval ${late.body.code}, settle on chain ${f.error.code}; invoice claimed again`;
        }
        assert.equal((await store.read((r) => r.getClaim(claimId)))!.status, final);
        const line = `round ${i} (${mode}): approve ${approved.status}, reject ${rejected.status}${reimbursed ? `, reimburse ${reimbursed.status}` : ''} → ${final} on chain and in both processes; ${refusal}`;
        outcomes.push(final);
        t.diagnostic(line);
      }
      t.diagnostic(
        `settled ${outcomes.filter((o) => o === 'settled').length}, released ${outcomes.filter((o) => o === 'released').length} of ${ROUNDS}`,
      );
    });
  },
);
