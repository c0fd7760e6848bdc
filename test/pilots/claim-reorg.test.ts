// Issue 13, lifecycle on chain: a claim's consume counts only after CONFIRMATIONS blocks on the canonical chain,
// and a consume a real anvil reorg took away is sent again (same raw transaction) before the claim is recorded.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInstance, api, eventually, type Instance } from '../helpers/instance';
import { anvilReorg, mine, setAutomine } from '../../src/chain/dev-rpc';
import type { ClaimInfo, OutboxTx } from '../../src/service/ports';
import * as P from '../../scripts/lib/pilot-payloads';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(
  'claims: the consume counts after CONFIRMATIONS, a reorged consume is sent again (anvil)',
  { timeout: 120_000 },
  () => {
    let inst: Instance;
    before(async () => {
      inst = await startInstance({ env: { CONFIRMATIONS: '3', ANCHOR_INTERVAL_MS: '50' } });
    });
    after(async () => {
      await setAutomine(inst.runtime.provider, true).catch(() => undefined);
      await inst?.stop();
    });

    const key = (org: string) => inst.demo.orgs.find((o) => o.id === org)!.apiKey;
    const claimOf = (externalId: string) =>
      inst.runtime.store.read((r) => r.getClaimByExternalId('employer', externalId));
    const rowOf = (id: string) => inst.runtime.store.read(async (r) => (await r.getOutbox(id))!);

    it('not recorded at 1 of 3 blocks; the reorg drops the consume; re-sent, recorded in the new branch', async () => {
      const provider = inst.runtime.provider;
      const inv = await api(inst.apiUrl, 'POST', '/v1/records', {
        key: key('aerospace'),
        body: { type: 'invoice.issued', externalId: 'INV-REORG-1', payload: P.invoice('R1') },
      });
      assert.equal(inv.status, 202, JSON.stringify(inv.body));
      await setAutomine(provider, false); // blocks only when the test mines them

      const request = api(inst.apiUrl, 'POST', '/v1/claims', {
        key: key('employer'),
        body: { externalId: 'CLM-REORG-1', payload: P.claim('E-reorg'), invoices: [inv.body.id] },
      });
      const signed = await eventually(async () => {
        const c = await claimOf('CLM-REORG-1');
        if (c?.status !== 'signed') return undefined;
        const tx = await rowOf(c.consumeTxId!);
        return tx.status === 'sent' ? { claim: c, tx } : undefined;
      }, 20_000);
      await mine(provider, 1);
      const mined: OutboxTx = await eventually(async () => {
        const tx = await rowOf(signed.tx.id);
        return tx.status === 'mined' ? tx : undefined;
      }, 20_000);
      await sleep(300);
      const waiting = (await claimOf('CLM-REORG-1')) as ClaimInfo;
      assert.equal(waiting.status, 'signed', 'mined in 1 block of 3: the consume does not count yet');
      assert.equal(
        (
          await inst.runtime.store.read((r) =>
            r.findByExternalIds('employer', [{ type: 'expense.claim', externalId: 'CLM-REORG-1' }]),
          )
        ).length,
        0,
        'no expense.claim record yet',
      );

      await anvilReorg(provider, 1);
      assert.equal(await provider.getTransactionReceipt(mined.txHash), null, 'the reorg dropped the consume');

      let res: Awaited<typeof request> | undefined;
      void request.then((r) => (res = r));
      for (let i = 0; i < 150 && !res; i++) {
        await mine(provider, 1);
        await sleep(100);
      }
      assert.ok(res, 'the request finished');
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.chain.txHash, mined.txHash, 'the same raw transaction, sent again (same nonce)');
      const final = await rowOf(signed.tx.id);
      assert.equal(final.status, 'mined');
      assert.notEqual(final.blockHash, mined.blockHash, 'mined again in the new branch');
      const canonical = await provider.getBlock(final.blockNumber!);
      assert.equal(canonical!.hash!.toLowerCase(), final.blockHash, 'the recorded block is canonical');
      assert.ok((await provider.getBlockNumber()) - final.blockNumber! + 1 >= 3, 'recorded after 3 confirmations');
      const claim = (await claimOf('CLM-REORG-1'))!;
      assert.equal(claim.status, 'recorded');
      const consumption = await inst.runtime.gateway.consumptionOf(claim.invoiceKeys[0]!);
      assert.equal(consumption.claim, claim.commitment, 'the keys are held by this claim on the canonical chain');
    });
  },
);
