// The transaction sender on real chains (in-process Hardhat and anvil) and real databases: every outcome it
// reports — mined (with the confirmation depth), reverted with its reason, replaced (NONCE_TOO_LOW: another
// transaction took the nonce), dropped by a reorg (anvil) — and nonce-gap repair with a claim transaction open.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DB_KINDS } from '../helpers/db';
import { ORG_A, randomBytes32, setUpChain, type ChainFixture } from '../chain/helpers';
import { startAnvil, type AnvilHandle } from '../../src/chain/anvil';
import { makeProvider, type ChainProvider } from '../../src/chain/provider';
import { fromPrivateKeys } from '../../src/chain/keystore';
import { ChainGateway } from '../../src/chain/gateway';
import { anvilReorg, mine, revertTo, setAutomine, snapshot } from '../../src/chain/dev-rpc';
import { SqlStore } from '../../src/storage/sql-repo';
import { TxSender, type TxIntent, type TxOutcome } from '../../src/service/tx-sender';
import type { BatchInfo, ClaimInfo, OutboxTx } from '../../src/service/ports';
import { ZERO_HEX32 } from '../../src/domain/hex';
import { ChainFailureError } from '../../src/service/chain-port';
import { toChainError } from '../../src/chain/errors';

const ORG = ORG_A;

interface Ctx {
  fx: ChainFixture;
  store: SqlStore;
  gateway: ChainGateway;
  address: string;
  close(): Promise<void>;
}

const CHAINS: {
  name: string;
  start(): Promise<{ provider: ChainProvider; stop(): Promise<void>; anvil?: AnvilHandle }>;
}[] = [
  {
    name: 'in-process Hardhat',
    async start() {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const hre = require('hardhat') as typeof import('hardhat');
      return { provider: hre.ethers.provider as unknown as ChainProvider, stop: async () => undefined };
    },
  },
  {
    name: 'anvil',
    async start() {
      const anvil = await startAnvil();
      const provider = makeProvider(anvil.rpcUrl, { chainId: anvil.chainId });
      return {
        provider,
        anvil,
        stop: async () => {
          provider.destroy?.();
          await anvil.stop();
        },
      };
    },
  },
];

/** A consume of fresh random keys from the fixture's account: valid on the ClaimRegistry. */
function consumeIntent(c: Ctx, keys = [randomBytes32()], claim = randomBytes32()): TxIntent {
  return {
    kind: 'consume',
    refId: claim,
    orgId: ORG,
    from: c.address,
    build: (n) => c.gateway.signConsume(c.address, keys, claim, n),
  };
}

async function enqueue(c: Ctx, sender: TxSender, intent: TxIntent): Promise<OutboxTx> {
  const chainNonce = await sender.chainNonce(c.address);
  return c.store.tx((r) => sender.enqueue(r, intent, chainNonce));
}

/** Polls (recording each outcome, as the use cases do) until `until` holds; the last outcome (recorded too). */
async function pollUntil(
  c: Ctx,
  sender: TxSender,
  tx: OutboxTx,
  until: (o: TxOutcome) => boolean,
  opts: { rebroadcastMs?: number; max?: number } = {},
): Promise<TxOutcome> {
  let o: TxOutcome | undefined;
  for (let i = 0; i < (opts.max ?? 100); i++) {
    o = await sender.poll(tx, { rebroadcastMs: opts.rebroadcastMs ?? 60_000 });
    const out = o;
    tx = await c.store.tx((r) => sender.record(r, out));
    if (until(o)) return o;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`outcome not reached; last: ${o?.kind}`);
}

describe('chain failures: a closed set of codes, the original error kept', () => {
  it("the chain layer throws the port's ChainFailureError with the node's error as cause", () => {
    const original = Object.assign(new Error('nonce too low: next nonce 7, tx nonce 5'), { code: -32000 });
    const e = toChainError(original);
    assert.ok(e instanceof ChainFailureError);
    assert.equal(e.code, 'NONCE_TOO_LOW');
    assert.equal(e.cause, original);
  });
});

const row = (c: Ctx, id: string) => c.store.read(async (r) => (await r.getOutbox(id))!);

for (const chain of CHAINS) {
  for (const kind of DB_KINDS) {
    describe(`TxSender on ${chain.name} with ${kind.name}`, { timeout: 120_000 }, () => {
      let c: Ctx;
      let stopChain: () => Promise<void>;
      before(async () => {
        const started = await chain.start();
        stopChain = started.stop;
        const fx = await setUpChain(started.provider);
        const opened = await kind.open();
        const store = new SqlStore(opened.db);
        await store.tx((r) =>
          r.insertOrg({ id: ORG, name: 'Acme', kind: 'member', address: fx.anchorer.address, createdAt: 1 }),
        );
        const gateway = new ChainGateway({
          provider: started.provider,
          chainId: fx.chainId,
          registry: fx.notary,
          claimRegistry: fx.claims,
          keystore: fromPrivateKeys({ [ORG]: fx.anchorer.privateKey }),
          fee: fx.fee,
        });
        c = { fx, store, gateway, address: fx.anchorer.address, close: opened.close };
      });
      after(async () => {
        await c?.close();
        await stopChain?.();
      });

      it('mined: stored before the broadcast, final only after `confirmations` blocks on the canonical chain', async () => {
        const sender = new TxSender(c.store, c.gateway, { confirmations: 2 });
        const tx = await enqueue(c, sender, consumeIntent(c));
        assert.equal((await row(c, tx.id)).status, 'signed');
        assert.equal(await c.gateway.receipt(tx.txHash), null, 'nothing broadcast by enqueue');
        const first = await sender.poll(tx, { rebroadcastMs: 60_000 });
        assert.equal(first.kind, 'pending');
        assert.equal((await row(c, tx.id)).status, 'sent');
        const mined = await pollUntil(c, sender, await row(c, tx.id), (o) => o.kind === 'mined');
        assert.ok(mined.kind === 'mined');
        assert.equal(mined.confirmations, 1);
        assert.equal(mined.final, false, 'one block of two');
        await c.store.tx((r) => sender.record(r, mined));
        const stored = await row(c, tx.id);
        assert.deepEqual(
          [stored.status, stored.blockNumber, stored.blockHash],
          ['mined', mined.receipt.blockNumber, mined.receipt.blockHash.toLowerCase()],
        );
        await mine(c.fx.provider, 1);
        const deep = await sender.poll(stored, { rebroadcastMs: 60_000 });
        assert.ok(deep.kind === 'mined');
        assert.deepEqual([deep.confirmations, deep.final], [2, true]);
      });

      it('reverted: the decoded reason (KEY_ALREADY_CONSUMED naming the earlier claim), the row failed', async () => {
        const sender = new TxSender(c.store, c.gateway, { confirmations: 1 });
        const key = randomBytes32();
        const firstClaim = randomBytes32();
        const a = await enqueue(c, sender, consumeIntent(c, [key], firstClaim));
        await pollUntil(c, sender, a, (o) => o.kind === 'mined' && o.final);
        const b = await enqueue(c, sender, consumeIntent(c, [key]));
        const o = await pollUntil(c, sender, b, (x) => x.kind === 'reverted');
        assert.ok(o.kind === 'reverted');
        assert.equal(o.reason?.code, 'KEY_ALREADY_CONSUMED');
        assert.equal(o.reason?.details.claim, firstClaim);
        await c.store.tx((r) => sender.record(r, o));
        const stored = await row(c, b.id);
        assert.equal(stored.status, 'failed');
        assert.match(stored.error!, /^KEY_ALREADY_CONSUMED: /);
        assert.equal(stored.blockNumber, o.receipt.blockNumber);
      });

      it('replaced: another transaction took the nonce (NONCE_TOO_LOW), the row is replaced, never sent twice', async () => {
        const sender = new TxSender(c.store, c.gateway, { confirmations: 1 });
        const tx = await enqueue(c, sender, consumeIntent(c));
        // Another wallet holding the same key sends first with that nonce (a plain transfer to itself).
        const other = await c.fx.send(c.fx.anchorer, c.address, '0x', 30_000n);
        const otherReceipt = await c.fx.receipt(other.hash);
        assert.equal(otherReceipt.status, 1);
        const o = await sender.poll(tx, { rebroadcastMs: 60_000 });
        assert.equal(o.kind, 'replaced');
        await c.store.tx((r) => sender.record(r, o));
        const stored = await row(c, tx.id);
        assert.deepEqual([stored.status, stored.error], ['replaced', 'nonce used by another transaction']);
        assert.equal(await c.gateway.receipt(tx.txHash), null);
        // Signed again through the sender: a fresh nonce, mined.
        const again = await c.store.tx(async (r) =>
          sender.resign(r, stored, consumeIntent(c), await c.gateway.pendingNonce(c.address), 'test'),
        );
        assert.equal(again.nonce, tx.nonce + 1);
        await pollUntil(c, sender, again, (x) => x.kind === 'mined' && x.final);
      });

      it('gap repair with a claim transaction open: the consume and the anchor are signed again in nonce order', async () => {
        const sender = new TxSender(c.store, c.gateway, { confirmations: 1 });
        const snap = await snapshot(c.fx.provider);
        const base = await c.gateway.pendingNonce(c.address);
        // A transaction the chain will lose (mined, then the node goes back to an older state).
        const lost = await enqueue(c, sender, consumeIntent(c));
        const m = await pollUntil(c, sender, lost, (o) => o.kind === 'mined');
        await c.store.tx((r) => sender.record(r, m));
        // Open after it: a claim's consume, then a batch's anchor (both were sent to the node that is lost).
        const key = randomBytes32();
        const commitment = randomBytes32();
        const consume = await enqueue(c, sender, consumeIntent(c, [key], commitment));
        const root = randomBytes32();
        const chainNonce = await sender.chainNonce(c.address);
        const batchId = randomUUID();
        const anchor = await c.store.tx(async (r) => {
          const call = { root, prev: ZERO_HEX32, leafCount: 1 };
          const tx = await sender.sign(
            r,
            {
              kind: 'anchor',
              refId: batchId,
              orgId: ORG,
              from: c.address,
              build: (n) => c.gateway.signAnchor(c.address, call, n),
            },
            chainNonce,
          );
          await r.insertBatch(batchRow(batchId, root, tx, c));
          await r.insertOutbox(tx);
          return tx;
        });
        await c.store.tx((r) => r.insertClaim(claimRow(commitment, key, consume.id)));
        assert.deepEqual([lost.nonce, consume.nonce, anchor.nonce], [base, base + 1, base + 2]);
        await c.store.tx(async (r) => {
          for (const t of [consume, anchor]) await r.updateOutbox(t.id, { status: 'sent', updatedAt: 0 });
        });
        await revertTo(c.fx.provider, snap);
        assert.equal(await c.gateway.pendingNonce(c.address), base, 'the chain lost nonce ' + base);

        // The consume is due for a rebroadcast: the sender sees the gap (before: given up, a claim was open).
        const o = await sender.poll(await row(c, consume.id), { rebroadcastMs: 0 });
        assert.deepEqual([o.kind, o.kind === 'pending' && o.repaired], ['pending', true]);
        const claim = (await c.store.read((r) => r.getClaimByCommitment(commitment)))!;
        const batch = (await c.store.read((r) => r.getBatch(batchId)))!;
        const [newConsume, newAnchor] = [await row(c, claim.consumeTxId!), await row(c, batch.txId!)];
        assert.deepEqual([newConsume.nonce, newAnchor.nonce], [base, base + 1], 'consecutive from the chain nonce');
        assert.equal(batch.txHash, newAnchor.txHash);
        assert.equal(batch.status, 'signed');
        for (const old of [consume, anchor]) assert.equal((await row(c, old.id)).status, 'replaced');
        assert.deepEqual(
          (await c.store.read((r) => r.openOutbox(c.address))).map((t) => t.id),
          [newConsume.id, newAnchor.id],
        );
        for (const t of [newConsume, newAnchor]) {
          const done = await pollUntil(c, sender, t, (x) => x.kind === 'mined' && x.final);
          await c.store.tx((r) => sender.record(r, done));
        }
        assert.equal((await c.gateway.consumptionOf(key)).claim, commitment);
        assert.notEqual((await c.gateway.anchorOf(root)).timestamp, 0);
        assert.equal(await c.gateway.pendingNonce(c.address), base + 2, 'no gap left');
      });

      if (chain.name === 'anvil') {
        it('dropped by a reorg: reported, sent again with the same nonce, final in the new branch', async () => {
          const sender = new TxSender(c.store, c.gateway, { confirmations: 3 });
          await setAutomine(c.fx.provider, false);
          try {
            const tx = await enqueue(c, sender, consumeIntent(c));
            assert.equal((await sender.poll(tx, { rebroadcastMs: 60_000 })).kind, 'pending');
            await mine(c.fx.provider, 1);
            const mined = await sender.poll(await row(c, tx.id), { rebroadcastMs: 60_000 });
            assert.ok(mined.kind === 'mined' && !mined.final);
            await c.store.tx((r) => sender.record(r, mined));
            await anvilReorg(c.fx.provider, 1);
            const dropped = await sender.poll(await row(c, tx.id), { rebroadcastMs: 60_000 });
            assert.equal(dropped.kind, 'dropped');
            const reset = await c.store.tx((r) => sender.record(r, dropped));
            assert.deepEqual([reset.status, reset.blockNumber, reset.updatedAt], ['sent', null, 0]);
            // Due at once: the same raw transaction again (same hash, same nonce).
            assert.equal((await sender.poll(reset, { rebroadcastMs: 60_000 })).kind, 'pending');
            await mine(c.fx.provider, 1);
            const again = await sender.poll(await row(c, tx.id), { rebroadcastMs: 60_000 });
            assert.ok(again.kind === 'mined' && !again.final);
            assert.notEqual(again.receipt.blockHash.toLowerCase(), mined.receipt.blockHash.toLowerCase());
            await mine(c.fx.provider, 2);
            const final = await sender.poll(await row(c, tx.id), { rebroadcastMs: 60_000 });
            assert.ok(final.kind === 'mined' && final.final && final.confirmations === 3);
            assert.equal(final.tx.txHash, tx.txHash);
          } finally {
            await setAutomine(c.fx.provider, true);
          }
        });
      }
    });
  }
}

function batchRow(id: string, root: string, tx: OutboxTx, c: Ctx): BatchInfo {
  return {
    id,
    orgId: ORG,
    seq: 1,
    root,
    prev: ZERO_HEX32,
    leafCount: 1,
    status: 'sent',
    txId: tx.id,
    txHash: tx.txHash,
    blockNumber: null,
    blockHash: null,
    blockTimestamp: null,
    chainSeq: null,
    chainId: c.fx.chainId,
    registry: c.fx.notary,
    submitter: c.address,
    error: null,
    createdAt: Date.now(),
    updatedAt: Date.now(),
  };
}

function claimRow(commitment: string, key: string, consumeTxId: string): ClaimInfo {
  return {
    id: randomUUID(),
    orgId: ORG,
    externalId: `GAP-${commitment.slice(2, 10)}`,
    digest: randomBytes32(),
    salt: randomBytes32(),
    commitment,
    invoices: [],
    invoiceKeys: [key],
    payload: '{}',
    status: 'signed',
    consumeTxId,
    releaseTxId: null,
    settleTxId: null,
    error: null,
    createdAt: Date.now(),
    updatedAt: Date.now(),
  };
}
