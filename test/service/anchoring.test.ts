import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { DB_KINDS, PG_AVAILABLE, undoMigrationsThrough } from '../helpers/db';
import { invoicePayload } from '../helpers/payloads';
import { ORG_A, setUpChain, type ChainFixture } from '../chain/helpers';
import { freePort, startAnvil, type AnvilHandle } from '../../src/chain/anvil';
import { makeProvider, type ChainProvider } from '../../src/chain/provider';
import { fromPrivateKeys } from '../../src/chain/keystore';
import { ChainGateway } from '../../src/chain/gateway';
import { NotaryRegistryReader, orgHash } from '../../src/chain/registries';
import { fundAccounts, mine, revertTo, setAutomine, snapshot } from '../../src/chain/dev-rpc';
import { MemberDirectory__factory, NotaryRegistryV2__factory as NotaryRegistry__factory } from '../../typechain-types';
import { SqlStore } from '../../src/storage/sql-repo';
import { RecordService } from '../../src/service/records';
import { QueryService } from '../../src/service/queries';
import { BatchTrees } from '../../src/service/batch-trees';
import type { Database } from '../../src/storage/db';
import { AnchorService, type AnchorStep } from '../../src/service/anchoring';
import { initHashing } from '../../src/domain/hashing';
import { ChainRootSource, verifyReceipt } from '../../src/verifier';

interface Ctx {
  fx: ChainFixture;
  store: SqlStore;
  gateway: ChainGateway;
  records: RecordService;
  queries: QueryService;
  db: Database;
  close(): Promise<void>;
}

/** The fixture's ANCHORER key `anchorer` is bound to this organisation in the directory. */
const ORG = ORG_A;
let counter = 0;

async function setUp(provider: ChainProvider, kind: (typeof DB_KINDS)[number]): Promise<Ctx> {
  await initHashing();
  const fx = await setUpChain(provider);
  const opened = await kind.open();
  const store = new SqlStore(opened.db);
  await store.tx((r) =>
    r.insertOrg({ id: ORG, name: 'Acme', kind: 'member', address: fx.anchorer.address, createdAt: 1 }),
  );
  const gateway = new ChainGateway({
    provider,
    chainId: fx.chainId,
    registry: fx.notary,
    claimRegistry: fx.claims,
    keystore: fromPrivateKeys({ [ORG]: fx.anchorer.privateKey }),
    fee: fx.fee,
  });
  return {
    fx,
    store,
    gateway,
    records: new RecordService(store),
    queries: new QueryService(store, gateway),
    db: opened.db,
    close: opened.close,
  };
}

function worker(c: Ctx, opts: { onStep?: (s: AnchorStep) => void; maxLeaves?: number } = {}) {
  return new AnchorService(c.store, c.gateway, {
    intervalMs: 10,
    maxLeaves: opts.maxLeaves ?? 10_000,
    confirmations: 1,
    leaseMs: 1, // a "restarted process" takes over at once
    rebroadcastMs: 0,
    onStep: opts.onStep ? (s) => opts.onStep!(s) : undefined,
  });
}

async function submit(c: Ctx, n: number): Promise<string[]> {
  const res = await c.records.submit(
    ORG,
    Array.from({ length: n }, () => ({
      type: 'invoice.issued',
      externalId: `A-${++counter}`,
      payload: invoicePayload(counter),
    })),
  );
  return res.map((r) => (r as { id: string }).id);
}

/** Runs ticks until every record is confirmed (or fails after `max` ticks). */
async function drain(w: AnchorService, c: Ctx, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await new Promise((r) => setTimeout(r, 15));
    await w.tick();
    const [pending, unfinished] = await c.store.read(
      async (r) => [await r.orgsWithPending(), await r.unfinishedBatches(ORG)] as const,
    );
    if (!pending.length && !unfinished.length) return;
  }
  const state = await c.store.read(async (r) => ({
    pending: await r.orgsWithPending(),
    unfinished: await r.unfinishedBatches(ORG),
  }));
  throw new Error(`not drained: ${JSON.stringify([...w.lastError])} ${JSON.stringify(state)}`);
}

async function assertAnchoredOnce(c: Ctx, ids: string[]): Promise<void> {
  const rootSource = new ChainRootSource({ provider: c.fx.provider }, { trustedRegistries: [c.fx.notary] });
  for (const id of ids) {
    const rec = (await c.store.read((r) => r.getRecord(id)))!;
    assert.equal(rec.status, 'confirmed', `record ${id} is ${rec.status}`);
    const receipt = await c.queries.receipt(id, new Set([ORG]));
    const verdict = await verifyReceipt(receipt, { rootSource, payload: JSON.parse(rec.payload) });
    assert.ok(verdict.valid, JSON.stringify(verdict.checks));
  }
  // Every batch root anchored exactly once, and the registry's hash-linked chain equals the database's.
  const notary = NotaryRegistry__factory.connect(c.fx.notary, c.fx.provider);
  const events = await notary.queryFilter(notary.filters.Anchored(undefined, orgHash(ORG)));
  const batches = (await c.store.read((r) => r.batchesOf(ORG))).filter((b) => b.status !== 'failed');
  assert.equal(events.length, batches.length, 'one Anchored event per live batch');
  assert.deepEqual(events.map((e) => e.args.root.toLowerCase()).sort(), batches.map((b) => b.root).sort());
  const head = await new NotaryRegistryReader(c.fx.provider, c.fx.notary).headOf(orgHash(ORG));
  assert.equal(head.seq, batches.length);
  assert.equal(head.root, batches[batches.length - 1]!.root);
  for (let i = 1; i < batches.length; i++) assert.equal(batches[i]!.prev, batches[i - 1]!.root);
}

const chains: {
  name: string;
  start(): Promise<{ provider: ChainProvider; stop(): Promise<void>; anvil?: AnvilHandle }>;
}[] = [
  {
    name: 'in-process Hardhat network',
    async start() {
      // Loaded lazily: only this suite needs the in-process network.
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
          provider.destroy();
          await anvil.stop();
        },
      };
    },
  },
];

for (const chain of chains) {
  for (const kind of DB_KINDS) {
    describe(`AnchorService on ${chain.name} with ${kind.name}`, () => {
      const skip = kind.name === 'postgres' && !PG_AVAILABLE;
      let c: Ctx;
      let node: Awaited<ReturnType<(typeof chain)['start']>>;
      before(async () => {
        if (skip) return;
        node = await chain.start();
        c = await setUp(node.provider, kind);
      });
      after(async () => {
        await c?.close();
        await node?.stop();
      });

      it('anchors pending records in hash-linked batches whose receipts verify on chain', { skip }, async () => {
        const ids = await submit(c, 45);
        const w = worker(c, { maxLeaves: 20 });
        await drain(w, c);
        const batches = await c.store.read((r) => r.batchesOf(ORG));
        assert.deepEqual(
          batches.map((b) => b.leafCount),
          [20, 20, 5],
        );
        await assertAnchoredOnce(c, ids);
      });

      it(
        'stores each batch tree once (no per-record path) and serves paths byte-identical to OZ StandardMerkleTree',
        { skip },
        async () => {
          const ids = await submit(c, 13);
          await drain(worker(c, { maxLeaves: 10 }), c);
          const rows = (
            await c.db.read((sql) =>
              sql.query<{ id: string; batch_id: string; leaf_index: number; proof: unknown; commitment: Buffer }>(
                `SELECT id, batch_id, leaf_index, proof, commitment FROM records WHERE id IN (${ids.map(() => '?').join(', ')})`,
                ids,
              ),
            )
          ).map((r) => ({ ...r, commitment: '0x' + r.commitment.toString('hex') })); // stored as its 32 bytes
          assert.equal(rows.length, 13);
          const byBatch = new Map<string, typeof rows>();
          for (const r of rows) {
            assert.equal(r.proof, null, 'no Merkle path stored with the record');
            byBatch.set(r.batch_id, [...(byBatch.get(r.batch_id) ?? []), r]);
          }
          assert.deepEqual(
            [...byBatch.values()].map((g) => g.length).sort((a, b) => a - b),
            [3, 10],
          );
          const readable = new Set([ORG]);
          const before = new Map<string, unknown>();
          for (const [batchId, group] of byBatch) {
            const batch = (await c.store.read((r) => r.getBatch(batchId)))!;
            const [tree] = await c.db.read((sql) =>
              sql.query<{ nodes: Uint8Array }>('SELECT nodes FROM batch_trees WHERE batch_id = ?', [batchId]),
            );
            assert.equal(tree!.nodes.length, (2 * batch.leafCount - 1) * 32, 'every node once, 32 bytes each');
            const ref = StandardMerkleTree.of(
              group.map((g) => [g.commitment]),
              ['bytes32'],
            );
            assert.equal(ref.root, batch.root);
            const bulk = await c.queries.receipts(
              group.map((g) => g.id),
              readable,
            );
            const { pages } = await c.queries.batchReceipts(batch.root, readable, 4);
            const streamed = [];
            for await (const p of pages) streamed.push(...p);
            assert.equal(streamed.length, group.length);
            for (const g of group) {
              const receipt = await c.queries.receipt(g.id, readable);
              assert.deepEqual(receipt.proof.path, ref.getProof([g.commitment]));
              assert.ok(StandardMerkleTree.verify(batch.root, ['bytes32'], [g.commitment], receipt.proof.path));
              assert.equal(Number(g.leaf_index), ref.dump().values.find((v) => v.value[0] === g.commitment)!.treeIndex);
              assert.deepEqual(
                bulk.find((x) => x.id === g.id),
                { id: g.id, receipt },
              );
              assert.deepEqual(
                streamed.find((x) => x.record.id === g.id),
                receipt,
              );
              before.set(g.id, receipt);
            }
          }
          // Records of batches built before trees were stored keep their stored path (both read paths remain):
          // the smaller batch is turned into such a batch (path in the row, no tree row) and served the same.
          const [legacyBatch, legacy] = [...byBatch].find(([, g]) => g.length === 3)!;
          await c.db.tx(async (sql) => {
            for (const g of legacy) {
              const path = (before.get(g.id) as { proof: { path: string[] } }).proof.path;
              await sql.exec('UPDATE records SET proof = ? WHERE id = ?', [JSON.stringify(path), g.id]);
            }
            await sql.exec('DELETE FROM batch_trees WHERE batch_id = ?', [legacyBatch]);
          });
          const fresh = new QueryService(c.store, c.gateway, undefined, new BatchTrees(c.store));
          const bulk = await fresh.receipts(ids, readable);
          for (const id of ids) {
            assert.deepEqual(await fresh.receipt(id, readable), before.get(id));
            assert.deepEqual(
              bulk.find((x) => x.id === id),
              { id, receipt: before.get(id) },
            );
          }
          const legacyRoot = (await c.store.read((r) => r.getBatch(legacyBatch)))!.root;
          const { pages } = await fresh.batchReceipts(legacyRoot, readable);
          const streamed = [];
          for await (const p of pages) streamed.push(...p);
          assert.deepEqual(streamed.map((x) => x.record.id).sort(), legacy.map((g) => g.id).sort());
          for (const x of streamed) assert.deepEqual(x, before.get(x.record.id));
        },
      );

      it(
        'migration BinaryHashes1765100000000 down and up: anchored records, lookups and receipts unchanged',
        { skip },
        async () => {
          const ids = await submit(c, 6);
          await drain(worker(c, { maxLeaves: 4 }), c);
          const readable = new Set([ORG]);
          const byId = <T extends { id: string }>(xs: T[]) => [...xs].sort((a, b) => a.id.localeCompare(b.id));
          const snapshot = async () => {
            const fresh = new QueryService(c.store, c.gateway, undefined, new BatchTrees(c.store));
            const records = byId(await c.store.read((r) => r.getRecords(ids)));
            return {
              records,
              receipts: byId(await fresh.receipts(ids, readable)),
              byCommitment: byId(await c.store.read((r) => r.findByCommitments(records.map((x) => x.commitment)))),
            };
          };
          const before = await snapshot();
          assert.equal(before.byCommitment.length, ids.length);
          await undoMigrationsThrough(c.db, 'BinaryHashes1765100000000');
          const [old] = await c.db.read((sql) =>
            sql.query<{ digest: unknown; commitment: unknown }>('SELECT digest, commitment FROM records WHERE id = ?', [
              ids[0],
            ]),
          );
          const first = before.records.find((x) => x.id === ids[0])!;
          assert.deepEqual(old, { digest: first.digest, commitment: first.commitment }, 'the former 0x-hex text');
          await c.db.migrate();
          assert.deepEqual(await c.db.schemaDrift(), []);
          assert.deepEqual(await snapshot(), before);
          await assertAnchoredOnce(c, ids);
        },
      );

      // Crash and chain-fault cases run on anvil (snapshots, pause and state loss behave like a real node).
      if (chain.name !== 'anvil') return;
      const crashSteps: AnchorStep[] = ['built', 'broadcast-unrecorded', 'broadcast', 'mined'];
      for (const step of crashSteps) {
        it(`resumes after a crash at "${step}": nothing lost, nothing anchored twice`, { skip }, async () => {
          const ids = await submit(c, 7);
          const crashing = worker(c, {
            onStep: (s) => {
              if (s === step) throw new Error(`simulated crash at ${s}`);
            },
          });
          await new Promise((r) => setTimeout(r, 20)); // older than the anchor interval
          await crashing.tick();
          assert.ok([...crashing.lastError.values()].some((e) => e.includes(`simulated crash at ${step}`)));
          // A new worker (a restarted process) picks up from what is stored.
          await drain(worker(c), c);
          await assertAnchoredOnce(c, ids);
          const open = await c.store.read((r) => r.openOutbox(c.fx.anchorer.address));
          assert.deepEqual(open, []);
        });
      }

      it(
        'while the registry is paused: records say blocked REGISTRY_PAUSED, nothing is signed or mined, the reason is logged once; anchored once unpaused',
        { skip },
        async () => {
          const notary = NotaryRegistry__factory.connect(c.fx.notary, c.fx.admin.connect(c.fx.provider) as Wallet);
          await (await notary.pause()).wait();
          const nonceBefore = await c.fx.provider.getTransactionCount(c.fx.anchorer.address, 'latest');
          const batchesBefore = (await c.store.read((r) => r.batchesOf(ORG))).length;
          const ids = await submit(c, 3);
          const warnings: string[] = [];
          const w = new AnchorService(c.store, c.gateway, {
            intervalMs: 10,
            maxLeaves: 10_000,
            confirmations: 1,
            leaseMs: 1,
            rebroadcastMs: 0,
            log: { info() {}, error() {}, warn: (_o: unknown, m?: string) => warnings.push(m ?? '') },
          });
          for (let i = 0; i < 10; i++) {
            await new Promise((r) => setTimeout(r, 15));
            await w.tick();
          }
          assert.equal(w.blockedOf(ORG)?.code, 'REGISTRY_PAUSED', JSON.stringify([warnings, [...w.lastError]]));
          assert.match(w.blockedOf(ORG)!.detail, /paused/);
          // What GET /v1/records/:id serves: the query side reads the worker's reason.
          const queries = new QueryService(c.store, c.gateway, w);
          const view = await queries.view(ids[0]!, new Set([ORG]), false);
          assert.equal(view.status, 'pending');
          assert.equal(view.blocked?.code, 'REGISTRY_PAUSED');
          assert.ok(!Number.isNaN(Date.parse(view.blocked!.since)));
          // Ten passes, one log line, no batch, no transaction: not one reverted anchor per tick.
          assert.deepEqual(warnings, ['anchoring blocked for organisation']);
          assert.equal((await c.store.read((r) => r.batchesOf(ORG))).length, batchesBefore);
          assert.equal(await c.fx.provider.getTransactionCount(c.fx.anchorer.address, 'latest'), nonceBefore);
          await (await notary.unpause()).wait();
          await drain(w, c);
          await assertAnchoredOnce(c, ids);
          assert.equal(w.blockedOf(ORG), null);
          assert.equal((await queries.view(ids[0]!, new Set([ORG]), false)).blocked, undefined);
        },
      );

      it('a chain that does not answer: blocked CHAIN_UNREACHABLE; anchored once it answers', { skip }, async () => {
        const ids = await submit(c, 2);
        const dead = makeProvider(`http://127.0.0.1:${await freePort()}`, { chainId: c.fx.chainId, timeoutMs: 500 });
        const offline = new ChainGateway({
          provider: dead,
          chainId: c.fx.chainId,
          registry: c.fx.notary,
          claimRegistry: c.fx.claims,
          keystore: fromPrivateKeys({ [ORG]: c.fx.anchorer.privateKey }),
          fee: c.fx.fee,
        });
        const w = new AnchorService(c.store, offline, {
          intervalMs: 10,
          maxLeaves: 10_000,
          confirmations: 1,
          leaseMs: 1,
        });
        await new Promise((r) => setTimeout(r, 15));
        await w.tick();
        dead.destroy();
        assert.equal(w.blockedOf(ORG)?.code, 'CHAIN_UNREACHABLE');
        assert.equal(w.chainHealthy, false);
        const queries = new QueryService(c.store, c.gateway, w);
        assert.equal((await queries.view(ids[0]!, new Set([ORG]), false)).blocked?.code, 'CHAIN_UNREACHABLE');
        await drain(worker(c), c);
        await assertAnchoredOnce(c, ids);
      });

      it(
        'an account that is no ANCHORER key in the directory: blocked NOT_AUTHORIZED, nothing sent; anchored once added',
        { skip },
        async () => {
          // A second organisation whose account the registrar has not bound yet (keys are never re-bound, so the
          // fixture's bound key cannot be taken away and given back).
          const LATE = 'late-member';
          const late = Wallet.createRandom();
          await fundAccounts(c.fx.provider, null, [late.address], 10n ** 19n);
          await c.store.tx((r) =>
            r.insertOrg({ id: LATE, name: 'Late', kind: 'member', address: late.address, createdAt: 1 }),
          );
          const gateway = new ChainGateway({
            provider: c.fx.provider,
            chainId: c.fx.chainId,
            registry: c.fx.notary,
            claimRegistry: c.fx.claims,
            keystore: fromPrivateKeys({ [ORG]: c.fx.anchorer.privateKey, [LATE]: late.privateKey }),
            fee: c.fx.fee,
          });
          const [rec] = await c.records.submit(LATE, [
            { type: 'invoice.issued', externalId: `L-${++counter}`, payload: invoicePayload(counter) },
          ]);
          const id = (rec as { id: string }).id;
          const w = new AnchorService(c.store, gateway, {
            intervalMs: 10,
            maxLeaves: 10_000,
            confirmations: 1,
            leaseMs: 1,
            rebroadcastMs: 0,
          });
          for (let i = 0; i < 5; i++) {
            await new Promise((r) => setTimeout(r, 15));
            await w.tick();
          }
          assert.equal(w.blockedOf(LATE)?.code, 'NOT_AUTHORIZED');
          assert.match(w.blockedOf(LATE)!.detail, /no active ANCHORER key in the MemberDirectory/);
          assert.match(w.lastError.get(LATE)!, /^NOT_AUTHORIZED: /);
          assert.equal(await c.fx.provider.getTransactionCount(late.address, 'latest'), 0);
          const directory = MemberDirectory__factory.connect(c.fx.directory, c.fx.admin.connect(c.fx.provider));
          await (await directory.addKey(LATE, late.address, 0)).wait();
          for (let i = 0; i < 60 && (await c.store.read((r) => r.getRecord(id)))?.status !== 'confirmed'; i++) {
            await new Promise((r) => setTimeout(r, 15));
            await w.tick();
          }
          assert.equal((await c.store.read((r) => r.getRecord(id)))?.status, 'confirmed');
          assert.equal(w.blockedOf(LATE), null);
          const a = await gateway.anchorOf((await c.store.read((r) => r.batchesOf(LATE)))[0]!.root);
          assert.deepEqual([a.org, a.submitter], [orgHash(LATE), late.address]);
        },
      );

      it(
        'fails a batch whose anchor reverted (paused in the same block), releases its records and anchors them once the registry accepts again',
        { skip },
        async () => {
          const admin = c.fx.admin.connect(c.fx.provider) as Wallet;
          const notary = NotaryRegistry__factory.connect(c.fx.notary, admin);
          const ids = await submit(c, 3);
          const w = worker(c);
          await setAutomine(c.fx.provider, false);
          try {
            // The pre-check passes (not paused yet) and the anchor is sent; the pause, paying a higher tip, is
            // ordered before it in the same block, so the anchor is mined and reverts.
            for (let i = 0; i < 20; i++) {
              await new Promise((r) => setTimeout(r, 15));
              await w.tick();
              const [b] = await c.store.read((r) => r.unfinishedBatches(ORG));
              if (b?.status === 'sent') break;
            }
            assert.equal(
              (await c.store.read((r) => r.unfinishedBatches(ORG)))[0]?.status,
              'sent',
              JSON.stringify([[...w.lastError], (await c.store.read((r) => r.batchesOf(ORG))).slice(-2)]),
            );
            await notary.pause({ maxPriorityFeePerGas: 50_000_000_000n, maxFeePerGas: 200_000_000_000n });
            await mine(c.fx.provider, 1);
          } finally {
            await setAutomine(c.fx.provider, true);
          }
          for (let i = 0; i < 20 && !w.recentFailures.length; i++) {
            await new Promise((r) => setTimeout(r, 20));
            await w.tick();
          }
          assert.equal(w.recentFailures.length, 1);
          assert.match(w.recentFailures[0]!.reason, /PAUSED/);
          // The failed batch is gone, its records are pending again, and its transaction is kept as failed.
          for (const id of ids) assert.equal((await c.store.read((r) => r.getRecord(id)))!.batchId, null);
          await (await notary.unpause()).wait();
          await drain(w, c);
          await assertAnchoredOnce(c, ids);
        },
      );

      it(
        'front-running: a member that copies the pending root and anchors it first cannot stall the batch (fresh root)',
        { skip },
        async () => {
          const admin = c.fx.admin.connect(c.fx.provider) as Wallet;
          // the attacker is another member: it may anchor (its own chain), and it watches the mempool
          const directory = MemberDirectory__factory.connect(c.fx.directory, admin);
          await (await directory.addKey('attacker', c.fx.stranger.address, 0)).wait();
          const attacker = NotaryRegistry__factory.connect(c.fx.notary, c.fx.stranger.connect(c.fx.provider));
          const ids = await submit(c, 3);
          const w = worker(c);
          const stolen: string[] = [];
          for (let round = 0; round < 2; round++) {
            await setAutomine(c.fx.provider, false);
            try {
              for (let i = 0; i < 20; i++) {
                await new Promise((r) => setTimeout(r, 15));
                await w.tick();
                const [b] = await c.store.read((r) => r.unfinishedBatches(ORG));
                if (b?.status === 'sent') break;
              }
              const [pending] = await c.store.read((r) => r.unfinishedBatches(ORG));
              assert.equal(pending?.status, 'sent', JSON.stringify([...w.lastError]));
              assert.ok(!stolen.includes(pending!.root), `round ${round}: the rebuilt batch has a fresh root`);
              stolen.push(pending!.root);
              // the copy pays a higher tip, so it is ordered before the victim's anchor in the same block
              const [head] = await attacker.headOf(orgHash('attacker'));
              await attacker.anchor(pending!.root, head, pending!.leafCount, {
                gasLimit: 200_000n, // no estimate: against the pending block it would see the victim's anchor
                maxPriorityFeePerGas: 50_000_000_000n,
                maxFeePerGas: 200_000_000_000n,
              });
              await mine(c.fx.provider, 1);
            } finally {
              await setAutomine(c.fx.provider, true);
            }
            for (let i = 0; i < 40 && w.recentFailures.length <= round; i++) {
              await new Promise((r) => setTimeout(r, 20));
              await w.tick();
            }
            assert.equal(w.recentFailures.length, round + 1);
            assert.match(w.recentFailures[round]!.reason, /ROOT_ALREADY_ANCHORED/);
          }
          // twice stolen, then the attacker stops: the records are anchored under a root of their own
          await drain(w, c);
          await assertAnchoredOnce(c, ids);
          for (const id of ids) {
            const rec = (await c.store.read((r) => r.getRecord(id)))!;
            const b = (await c.store.read((r) => r.getBatch(rec.batchId!)))!;
            assert.ok(!stolen.includes(b.root), 'anchored under a root nobody took');
            assert.equal(b.leafCount, ids.length + 1, 'the records and one random leaf');
            const nodes = (await c.store.read((r) => r.getBatchTree(b.id)))!;
            assert.equal(nodes.length, (2 * b.leafCount - 1) * 32, 'the stored tree keeps the random leaf');
          }
        },
      );

      it(
        're-anchors a batch the chain lost (state rolled back) and keeps the hash chain intact',
        { skip },
        async () => {
          const snap = await snapshot(c.fx.provider);
          const ids = await submit(c, 4);
          await drain(worker(c), c);
          const before = (await c.store.read((r) => r.getRecord(ids[0]!)))!;
          const batch = (await c.store.read((r) => r.getBatch(before.batchId!)))!;
          await revertTo(c.fx.provider, snap); // the chain forgets the anchor (like anvil losing its last second)
          assert.equal((await c.gateway.anchorOf(batch.root)).timestamp, 0);
          await drain(worker(c), c); // a fresh process reconciles on its first pass
          assert.notEqual((await c.gateway.anchorOf(batch.root)).timestamp, 0);
          await assertAnchoredOnce(c, ids);
        },
      );
    });
  }
}
