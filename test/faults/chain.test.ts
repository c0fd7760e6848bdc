import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startAnvil, type AnvilHandle } from '../../src/chain/anvil';
import { anvilReorg, mine, setAutomine } from '../../src/chain/dev-rpc';
import type { ChainProvider } from '../../src/chain/provider';
import { orgHash } from '../../src/chain/registries';
import { ChainRootSource, verifyReceipt } from '../../src/verifier';
import type { BatchInfo } from '../../src/service/ports';
import { startInstance, api, eventually, type Instance } from '../helpers/instance';
import { documentPayload, invoicePayload } from '../helpers/payloads';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Account nonce on chain == number of transactions it sent that are in blocks; nothing queued behind a gap. */
async function assertNoNonceGap(provider: ChainProvider, address: string): Promise<number> {
  const head = await provider.getBlockNumber();
  let sent = 0;
  for (let n = 0; n <= head; n++) {
    const block = await provider.getBlock(n, true);
    sent += block!.prefetchedTransactions.filter((t) => t.from.toLowerCase() === address.toLowerCase()).length;
  }
  const [latest, pending] = await Promise.all([
    provider.getTransactionCount(address, 'latest'),
    provider.getTransactionCount(address, 'pending'),
  ]);
  assert.equal(latest, sent, `${address}: nonce ${latest} but ${sent} mined transactions`);
  assert.equal(pending, latest, `${address}: transactions stuck in the pool`);
  return sent;
}

async function receiptsVerify(inst: Instance, key: string, items: { id: string; payload: unknown }[]) {
  const rootSource = new ChainRootSource(
    { provider: inst.runtime.provider },
    { trustedRegistries: [inst.demo.registry] },
  );
  const receipts = [];
  for (const it of items) {
    const r = await api(inst.apiUrl, 'GET', `/v1/records/${it.id}/receipt`, { key });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const verdict = await verifyReceipt(r.body, { rootSource, payload: it.payload });
    assert.ok(verdict.valid, JSON.stringify(verdict.checks));
    receipts.push(r.body);
  }
  return receipts;
}

describe(
  'chain outage: the API keeps accepting, /ready reports it, the backlog drains after',
  { timeout: 120_000 },
  () => {
    let inst: Instance;
    let anvil2: AnvilHandle | undefined;
    before(async () => {
      inst = await startInstance({
        blockTime: 1,
        env: { CONFIRMATIONS: '2', ANCHOR_INTERVAL_MS: '100', RATE_LIMIT_MAX: '100000' },
      });
    });
    after(async () => {
      await inst?.stop();
      await anvil2?.stop();
    });

    it('accepts 202 while the chain is down, /ready 503 and /health 200, then drains with no nonce gap and no stuck outbox row', async () => {
      const bank = inst.demo.orgs.find((o) => o.id === 'bank')!;
      const aero = inst.demo.orgs.find((o) => o.id === 'aerospace')!;
      const { store, provider } = inst.runtime;
      const submitted: { id: string; payload: unknown; key: string }[] = [];
      const submitBatch = async (from: number, n: number) => {
        const records = Array.from({ length: n }, (_, i) => ({
          type: 'document',
          externalId: `OUT-${from + i}`,
          payload: documentPayload(from + i),
        }));
        const res = await api(inst.apiUrl, 'POST', '/v1/records/batch', { key: bank.apiKey, body: { records } });
        assert.equal(res.status, 200);
        assert.equal(res.body.accepted, n);
        res.body.records.forEach((r: { id: string }, i: number) =>
          submitted.push({ id: r.id, payload: records[i]!.payload, key: bank.apiKey }),
        );
      };

      // Before: a batch in flight (sent, not mined) when the chain goes. Mining is paused first, so the window
      // in which the batch is "sent" does not depend on how fast this loaded machine polls.
      await (provider as ChainProvider).send('anvil_setIntervalMining', [0]);
      await submitBatch(0, 200);
      const inFlight = await eventually(
        async () => (await store.read((r) => r.unfinishedBatches('bank'))).find((b: BatchInfo) => b.status === 'sent'),
        20_000,
        10,
      );
      const anvil = inst.runtime.anvil!;
      await anvil.stop(); // graceful: the state file is written; the pool (our sent tx) is not kept
      const tDown = Date.now();

      // During: writes accepted, readiness says the chain is down, liveness fine.
      for (let i = 0; i < 5; i++) {
        const one = await api(inst.apiUrl, 'POST', '/v1/records', {
          key: aero.apiKey,
          body: { type: 'invoice.issued', externalId: `OUT-INV-${i}`, payload: invoicePayload(9000 + i) },
        });
        assert.equal(one.status, 202, JSON.stringify(one.body));
        submitted.push({ id: one.body.id, payload: invoicePayload(9000 + i), key: aero.apiKey });
      }
      await submitBatch(1000, 300);
      const ready = await api(inst.apiUrl, 'GET', '/ready');
      assert.equal(ready.status, 503);
      assert.equal(ready.body.checks.chain.ok, false);
      assert.equal(ready.body.checks.database.ok, true);
      assert.equal((await api(inst.apiUrl, 'GET', '/health')).status, 200);
      // The worker notices too (readiness names the paused anchoring; metrics say chain down).
      await eventually(async () => !(await api(inst.apiUrl, 'GET', '/ready')).body.checks.anchoring.ok, 10_000);
      await eventually(async () => /notary_chain_up 0/.test((await api(inst.apiUrl, 'GET', '/metrics')).body), 10_000);
      // Reads of what is already stored keep working.
      const rec = await api(inst.apiUrl, 'GET', `/v1/records/${submitted[0]!.id}`, { key: bank.apiKey });
      assert.equal(rec.status, 200);
      await sleep(5500); // longer than the worker's rebroadcast delay (5 s): it retries against a dead node

      // The chain comes back on the same port and state file.
      anvil2 = await startAnvil({
        port: anvil.port,
        stateFile: path.join(inst.dataDir, 'chain', 'anvil-state.json'),
        blockTime: 1,
        chainId: 31337,
      });
      const tUp = Date.now();
      await eventually(async () => (await api(inst.apiUrl, 'GET', '/ready')).status === 200, 15_000);
      await eventually(
        async () => {
          const [pending, unfinished] = await store.read(
            async (r) => [await r.orgsWithPending(), await r.unfinishedBatches()] as const,
          );
          return !pending.length && !unfinished.length;
        },
        60_000,
        200,
      );
      const drainMs = Date.now() - tUp;

      // Every record confirmed, receipts verify; the in-flight batch made it (same root, once).
      for (const s of submitted) {
        const r = await api(inst.apiUrl, 'GET', `/v1/records/${s.id}`, { key: s.key });
        assert.equal(r.body.status, 'confirmed', `${s.id}`);
      }
      await receiptsVerify(
        inst,
        bank.apiKey,
        submitted.filter((s) => s.key === bank.apiKey),
      );
      await receiptsVerify(
        inst,
        aero.apiKey,
        submitted.filter((s) => s.key === aero.apiKey),
      );
      const after = (await store.read((r) => r.getBatchByRoot(inFlight.root)))!;
      assert.equal(after.status, 'confirmed');

      // No nonce gaps, nothing left open in the outbox, readiness green again.
      let txs = 0;
      for (const o of [bank, aero]) {
        txs += await assertNoNonceGap(provider, o.address);
        assert.deepEqual(await store.read((r) => r.openOutbox(o.address)), []);
      }
      assert.equal((await api(inst.apiUrl, 'GET', '/ready')).body.checks.anchoring.ok, true);
      console.log(
        `chain outage: down ${tUp - tDown} ms, ${submitted.length} records, drained ${drainMs} ms after the chain returned, ${txs} org transactions, no gaps`,
      );
    });
  },
);

describe('reorg: the anchoring block is reorged away before confirmation', { timeout: 120_000 }, () => {
  let inst: Instance;
  let provider: ChainProvider;
  before(async () => {
    inst = await startInstance({ blockTime: 0, env: { CONFIRMATIONS: '3', ANCHOR_INTERVAL_MS: '50' } });
    provider = inst.runtime.provider;
    await setAutomine(provider, false); // blocks only when the test mines them
  });
  after(async () => inst?.stop());

  const waitBatch = (root: string | null, org: string, pred: (b: BatchInfo) => boolean, what: string) =>
    eventually(
      async () => {
        const bs = await inst.runtime.store.read((r) => r.batchesOf(org));
        return bs.find((b) => (root === null || b.root === root) && pred(b));
      },
      20_000,
      20,
    ).catch((err) => {
      throw new Error(`${what}: ${(err as Error).message}`);
    });

  async function submit(key: string, prefix: string, n: number) {
    const records = Array.from({ length: n }, (_, i) => ({
      type: 'document',
      externalId: `${prefix}-${i}`,
      payload: documentPayload(i),
    }));
    const res = await api(inst.apiUrl, 'POST', '/v1/records/batch', { key, body: { records } });
    assert.equal(res.body.accepted, n);
    return res.body.records.map((r: { id: string }, i: number) => ({ id: r.id, payload: records[i]!.payload }));
  }

  it('tx dropped by the reorg: the worker notices, re-sends, the receipt points to the final block and verifies', async () => {
    const bank = inst.demo.orgs.find((o) => o.id === 'bank')!;
    const items = await submit(bank.apiKey, 'REORG-A', 20);
    const sent = await waitBatch(null, 'bank', (b) => b.status === 'sent', 'batch sent');
    await mine(provider, 1);
    const mined = await waitBatch(sent.root, 'bank', (b) => b.status === 'anchored', 'batch anchored');
    const oldBlock = mined.blockNumber!;
    const oldHash = mined.blockHash!;
    // Not confirmed yet (3 confirmations): replace the anchoring block by an empty one.
    await anvilReorg(provider, 1);
    assert.equal(await provider.getTransactionReceipt(mined.txHash!), null, 'reorg dropped the anchor');
    await mine(provider, 2); // head reaches the confirmation depth: the worker checks the block hash
    const back = await waitBatch(
      sent.root,
      'bank',
      (b) => b.status === 'sent' || (b.status === 'anchored' && b.blockHash !== oldHash),
      'reorg noticed',
    );
    assert.notEqual(back.blockHash, oldHash);
    // The re-sent transaction lands in a new block; then enough blocks to confirm.
    let confirmed: BatchInfo | undefined;
    for (let i = 0; i < 100 && !confirmed; i++) {
      await mine(provider, 1);
      await sleep(100);
      confirmed = (await inst.runtime.store.read((r) => r.batchesOf('bank'))).find(
        (b) => b.root === sent.root && b.status === 'confirmed',
      );
    }
    assert.ok(confirmed, 'batch confirmed after the reorg');
    const canonical = await provider.getBlock(confirmed.blockNumber!);
    assert.equal(canonical!.hash!.toLowerCase(), confirmed.blockHash);
    assert.ok(confirmed.blockNumber! > oldBlock, `final block ${confirmed.blockNumber} after the reorged ${oldBlock}`);
    const receipts = await receiptsVerify(inst, bank.apiKey, items);
    for (const r of receipts) {
      assert.equal(r.anchor.blockNumber, confirmed.blockNumber);
      assert.equal(r.anchor.txHash, confirmed.txHash);
    }
    await assertNoNonceGap(provider, bank.address);
  });

  it('tx re-included by the reorg in another block: the worker adopts the new block, receipts verify', async () => {
    const aero = inst.demo.orgs.find((o) => o.id === 'aerospace')!;
    const items = await submit(aero.apiKey, 'REORG-B', 10);
    const sent = await waitBatch(null, 'aerospace', (b) => b.status === 'sent', 'batch sent');
    const raw = (await inst.runtime.store.read((r) => r.getOutbox(sent.txId!)))!.raw;
    await mine(provider, 1);
    const mined = await waitBatch(sent.root, 'aerospace', (b) => b.status === 'anchored', 'batch anchored');
    // Depth 2 reorg: the new branch carries the same transaction in its second block.
    await mine(provider, 1);
    await provider.send('anvil_reorg', [2, [[raw, 1]]]);
    const r2 = await provider.getTransactionReceipt(mined.txHash!);
    assert.ok(r2, 'the same transaction is in the new branch');
    assert.notEqual(r2.blockHash.toLowerCase(), mined.blockHash);
    let confirmed: BatchInfo | undefined;
    for (let i = 0; i < 60 && !confirmed; i++) {
      await mine(provider, 1);
      await sleep(100);
      confirmed = (await inst.runtime.store.read((r) => r.batchesOf('aerospace'))).find(
        (b) => b.root === sent.root && b.status === 'confirmed',
      );
    }
    assert.ok(confirmed, 'batch confirmed after the reorg');
    assert.equal(confirmed.txHash, mined.txHash, 'same transaction');
    assert.equal(confirmed.blockHash, r2.blockHash.toLowerCase(), 'the final block');
    const receipts = await receiptsVerify(inst, aero.apiKey, items);
    for (const r of receipts) assert.equal(r.anchor.blockNumber, r2.blockNumber);
    await assertNoNonceGap(provider, aero.address);
  });
});

for (const restart of [false, true]) {
  describe(
    `chain node crash with state loss (anvil kill -9, older state file), service ${restart ? 'restarted' : 'kept running'}`,
    { timeout: 120_000 },
    () => {
      let inst: Instance;
      let anvil2: AnvilHandle | undefined;
      before(async () => {
        inst = await startInstance({ blockTime: 0, env: { CONFIRMATIONS: '1', ANCHOR_INTERVAL_MS: '50' } });
      });
      after(async () => {
        await inst?.stop();
        await anvil2?.stop();
      });

      it('re-anchors the confirmed batch the chain lost and the in-flight one, in order, without a nonce gap', async () => {
        const bank = inst.demo.orgs.find((o) => o.id === 'bank')!;
        const stateFile = path.join(inst.dataDir, 'chain', 'anvil-state.json');
        const items: { id: string; payload: unknown }[] = [];
        const submit = async (prefix: string, n: number) => {
          const records = Array.from({ length: n }, (_, i) => ({
            type: 'document',
            externalId: `${prefix}-${i}`,
            payload: documentPayload(i),
          }));
          const res = await api(inst.apiUrl, 'POST', '/v1/records/batch', { key: bank.apiKey, body: { records } });
          assert.equal(res.body.accepted, n);
          res.body.records.forEach((r: { id: string }, i: number) =>
            items.push({ id: r.id, payload: records[i]!.payload }),
          );
        };
        const batches = () => inst.runtime.store.read((r) => r.batchesOf('bank'));
        const confirmedCount = async () => (await batches()).filter((b) => b.status === 'confirmed').length;

        // Batch 1 confirmed and in the state file (anvil writes it every second).
        await submit('LOSS-1', 10);
        await eventually(async () => (await confirmedCount()) === 1, 20_000, 20);
        await sleep(1500);
        const saved = fs.readFileSync(stateFile);

        // Batch 2 confirmed; batch 3 broadcast but not mined (automine off).
        await submit('LOSS-2', 10);
        await eventually(async () => (await confirmedCount()) === 2, 20_000, 20);
        await setAutomine(inst.runtime.provider, false);
        await submit('LOSS-3', 10);
        await eventually(async () => (await batches()).some((b) => b.status === 'sent'), 20_000, 20);

        // The node crashes and comes back from an older state: batch 2 and the pooled batch 3 are gone.
        const anvil = inst.runtime.anvil!;
        anvil.kill9();
        await anvil.exited;
        if (restart) {
          // …and the service restarts on the same data (its reconcile pass runs first).
          await inst.stop({ keepData: true });
          fs.writeFileSync(stateFile, saved);
          inst = await startInstance({
            dataDir: inst.dataDir,
            blockTime: 0,
            env: { CONFIRMATIONS: '1', ANCHOR_INTERVAL_MS: '50' },
          });
        } else {
          fs.writeFileSync(stateFile, saved);
          anvil2 = await startAnvil({ port: anvil.port, stateFile, chainId: 31337 });
        }
        const { store, gateway, provider } = inst.runtime;
        for (const b of (await batches()).filter((x) => x.seq >= 2)) {
          assert.equal((await gateway.anchorOf(b.root)).timestamp, 0, `batch ${b.seq} lost`);
        }

        // More records keep coming; everything must end anchored, once, in order, verifiable.
        await submit('LOSS-4', 10);
        const t0 = Date.now();
        await eventually(
          async () => {
            const [pending, unfinished] = await store.read(
              async (r) => [await r.orgsWithPending(), await r.unfinishedBatches('bank')] as const,
            );
            if (pending.length || unfinished.length) return false;
            for (const b of await batches()) {
              if (b.status !== 'failed' && (await gateway.anchorOf(b.root)).timestamp === 0) return false;
            }
            return true;
          },
          60_000,
          200,
        ).catch(async (err) => {
          const open = await store.read((r) => r.openOutbox(bank.address));
          const nonces = await Promise.all(
            ['latest', 'pending'].map((t) => provider.getTransactionCount(bank.address, t)),
          );
          throw new Error(
            `${(err as Error).message}\n batches ${JSON.stringify((await batches()).map((b) => [b.seq, b.status]))}\n open outbox ${JSON.stringify(open.map((t) => [t.nonce, t.status]))}\n chain nonce latest/pending ${nonces}\n worker ${JSON.stringify([...(inst.runtime.anchor?.lastError ?? [])])}`,
          );
        });
        const healMs = Date.now() - t0;
        await receiptsVerify(inst, bank.apiKey, items);
        const live = (await batches()).filter((b) => b.status !== 'failed');
        const head = await gateway.headOf(orgHash(bank.id));
        assert.equal(head.root.toLowerCase(), live[live.length - 1]!.root);
        assert.equal(head.seq, live.length);
        for (const b of live) assert.equal((await gateway.anchorOf(b.root)).seq, b.seq, 'chain order = database order');
        await assertNoNonceGap(provider, bank.address);
        console.log(
          `chain state loss (service ${restart ? 'restarted' : 'kept running'}): ${live.length} live batches, healed ${healMs} ms after new records`,
        );
      });
    },
  );
}
