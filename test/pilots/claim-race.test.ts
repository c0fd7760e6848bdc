import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, type Instance } from '../helpers/instance';
import { PG_AVAILABLE } from '../helpers/db';
import { startTwoProcesses, type TwoProcesses } from './fixtures/two-processes';
import * as P from '../../scripts/lib/pilot-payloads';

/**
 * The consortium-wide guard with REAL separate processes: two API processes (this one's instance with the worker,
 * and a forked one with WORKER=false) share one PostgreSQL database and one chain, and claim the same invoices at
 * the same time. The chain decides: exactly one 201 per invoice, the other 409 naming the winner.
 */
// PostgreSQL unreachable: skipped as a whole (PG_AVAILABLE says so loudly).
describe(
  'concurrent claims from two API processes on one chain and one PostgreSQL database',
  { skip: !PG_AVAILABLE },
  () => {
    let two: TwoProcesses | undefined;
    let inst: Instance;
    let secondUrl = '';

    before(async () => {
      two = await startTwoProcesses();
      inst = two.inst;
      secondUrl = two.secondUrl;
    });
    after(async () => two?.stop());

    it('exactly one claim per invoice wins; the loser gets 409 INVOICE_ALREADY_CLAIMED naming the winner', async () => {
      const keyOf = (id: string) => inst.demo.orgs.find((o) => o.id === id)!.apiKey;
      assert.notEqual(secondUrl, inst.apiUrl);
      const rounds: { a: Awaited<ReturnType<typeof api>>; b: Awaited<ReturnType<typeof api>>; sameOrg: boolean }[] = [];
      for (let i = 0; i < 4; i++) {
        const inv = await api(inst.apiUrl, 'POST', '/v1/records', {
          key: keyOf('aerospace'),
          body: { type: 'invoice.issued', externalId: `RACE-INV-${i}`, payload: P.invoice(`RACE${i}`) },
        });
        assert.equal(inv.status, 202);
        // Rounds 0-1: two organisations (two accounts); rounds 2-3: the same organisation through both processes
        // (one account: nonces allocated in the shared database).
        const [orgA, orgB] = i < 2 ? ['employer', 'bank'] : ['employer', 'employer'];
        // A claim names only invoices its organisation may read: the bank holds its own record of the same paper
        // invoice (same invoice key), as a second employer of the same traveller would.
        let invB = inv.body.id as string;
        if (orgB === 'bank') {
          const copy = await api(inst.apiUrl, 'POST', '/v1/records', {
            key: keyOf('bank'),
            body: { type: 'invoice.issued', externalId: `RACE-INV-COPY-${i}`, payload: P.invoice(`RACE${i}`) },
          });
          assert.equal(copy.status, 202, JSON.stringify(copy.body));
          invB = copy.body.id as string;
        }
        const body = (ext: string, invoice: string) => ({
          externalId: ext,
          payload: P.claim(`E-${ext}`),
          invoices: [invoice],
        });
        const [a, b] = await Promise.all([
          api(inst.apiUrl, 'POST', '/v1/claims', { key: keyOf(orgA), body: body(`RACE-A-${i}`, inv.body.id) }),
          api(secondUrl, 'POST', '/v1/claims', { key: keyOf(orgB), body: body(`RACE-B-${i}`, invB) }),
        ]);
        rounds.push({ a, b, sameOrg: orgA === orgB });
      }
      for (const [i, { a, b, sameOrg }] of rounds.entries()) {
        const statuses = [a.status, b.status].sort();
        assert.deepEqual(statuses, [201, 409], `round ${i}: ${JSON.stringify([a.body, b.body])}`);
        const [win, lose] = a.status === 201 ? [a, b] : [b, a];
        assert.equal(lose.body.code, 'INVOICE_ALREADY_CLAIMED');
        assert.equal(lose.body.earlierClaim.commitment, win.body.commitment);
        // the winner's record id is named only to its own organisation
        assert.equal(lose.body.earlierClaim.id, sameOrg ? win.body.id : null);
      }
      // Both processes see the same claims (one database), and the chain holds exactly the winners.
      for (const { a, b } of rounds) {
        const win = a.status === 201 ? a : b;
        const c = await inst.runtime.gateway.consumptionOf(win.body.invoiceKeys[0]);
        assert.equal(c.claim, win.body.commitment);
      }
    });
  },
);
