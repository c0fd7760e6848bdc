import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DB_KINDS, PG_AVAILABLE } from '../helpers/db';
import { SqlStore } from '../../src/storage/sql-repo';
import { BatchTrees } from '../../src/service/batch-trees';
import { buildMerkleTreeSync, type MerkleTree } from '../../src/domain/merkle';
import type { Repo, Store } from '../../src/service/ports';

const tree = (n: number): MerkleTree =>
  buildMerkleTreeSync(Array.from({ length: n }, () => `0x${randomBytes(32).toString('hex')}`));

let seq = 0;
/** A tree belongs to its batch (foreign key): stores a batch row of org `o` first. */
async function storeTree(r: Repo, batchId: string, nodes: Uint8Array): Promise<void> {
  if (!(await r.getOrg('o'))) await r.insertOrg({ id: 'o', name: 'O', kind: 'member', address: null, createdAt: 0 });
  const hex = `0x${randomBytes(32).toString('hex')}`;
  const zero = `0x${'00'.repeat(20)}`;
  await r.insertBatch({
    id: batchId,
    orgId: 'o',
    seq: ++seq,
    root: hex,
    prev: hex,
    leafCount: 1,
    status: 'confirmed',
    txId: null,
    txHash: null,
    blockNumber: null,
    blockHash: null,
    blockTimestamp: null,
    chainSeq: null,
    chainId: 31337,
    registry: zero,
    submitter: zero,
    error: null,
    createdAt: 0,
    updatedAt: 0,
  });
  await r.insertBatchTree(batchId, nodes);
}

for (const kind of DB_KINDS) {
  describe(`BatchTrees (stored trees read back for receipts) on ${kind.name}`, () => {
    const skip = kind.name === 'postgres' && !PG_AVAILABLE;
    let store: SqlStore;
    let close: () => Promise<void>;
    let reads = 0;
    // The store as the cache sees it, counting its reads.
    let counting: Store;
    before(async () => {
      if (skip) return;
      const opened = await kind.open();
      store = new SqlStore(opened.db);
      close = opened.close;
      counting = {
        dialect: store.dialect,
        tx: (fn) => store.tx(fn),
        read: (fn) => {
          reads++;
          return store.read(fn);
        },
        ping: () => store.ping(),
        close: () => store.close(),
      };
    });
    after(async () => close?.());

    it('stores the nodes as raw bytes and gives them back unchanged', { skip }, async () => {
      const t = tree(37);
      await store.tx((r) => storeTree(r, 'b-raw', t.nodes));
      const back = await store.read((r) => r.getBatchTree('b-raw'));
      assert.ok(back instanceof Uint8Array);
      assert.deepEqual(Buffer.from(back), Buffer.from(t.nodes));
      assert.equal(await store.read((r) => r.getBatchTree('nope')), null);
    });

    it('reads a tree once: repeated and concurrent gets are served from memory', { skip }, async () => {
      const t = tree(100);
      await store.tx((r) => storeTree(r, 'b-once', t.nodes));
      const cache = new BatchTrees(counting);
      reads = 0;
      const got = await Promise.all([cache.get('b-once'), cache.get('b-once'), cache.get('b-once')]);
      assert.equal(reads, 1);
      for (const g of got) assert.deepEqual(Buffer.from(g!), Buffer.from(t.nodes));
      for (let i = 0; i < 100; i++)
        assert.deepEqual(
          await cache.pathOf({ batchId: 'b-once', leafIndex: t.leafIndexOf(i), proof: null }),
          t.proof(i),
        );
      assert.equal(reads, 1);
      // unknown batches are not remembered as missing: a tree stored later is found
      assert.equal(await cache.get('b-later'), null);
      await store.tx((r) => storeTree(r, 'b-later', t.nodes));
      assert.ok(await cache.get('b-later'));
    });

    it(
      'keeps at most maxBytes of trees, evicting the least recently used; a bigger tree is served, not kept',
      {
        skip,
      },
      async () => {
        const trees = ['l1', 'l2', 'l3', 'l4'].map((id) => ({ id, t: tree(50) })); // 99 nodes × 32 B each
        await store.tx(async (r) => {
          for (const x of trees) await storeTree(r, x.id, x.t.nodes);
        });
        const cache = new BatchTrees(counting, 3 * 99 * 32);
        reads = 0;
        for (const x of trees.slice(0, 3)) await cache.get(x.id);
        await cache.get('l1'); // l1 used again: l2 is now the least recently used
        assert.equal(reads, 3);
        await cache.get('l4');
        assert.equal(cache.size, 3);
        assert.equal(reads, 4);
        await cache.get('l1');
        await cache.get('l3');
        await cache.get('l4');
        assert.equal(reads, 4, 'l1, l3, l4 are kept');
        await cache.get('l2');
        assert.equal(reads, 5, 'l2 was evicted');

        const big = tree(200);
        await store.tx((r) => storeTree(r, 'big', big.nodes));
        reads = 0;
        assert.deepEqual(Buffer.from((await cache.get('big'))!), Buffer.from(big.nodes));
        await cache.get('big');
        assert.equal(reads, 2, 'a tree larger than the bound is read each time');
        assert.equal(cache.size, 3);
      },
    );

    it(
      'pathOf: a stored path wins; else derived from the tree; null without a tree or at a non-leaf',
      {
        skip,
      },
      async () => {
        const t = tree(9);
        await store.tx((r) => storeTree(r, 'b-path', t.nodes));
        const cache = new BatchTrees(store);
        const stored = [`0x${'11'.repeat(32)}`];
        assert.deepEqual(await cache.pathOf({ batchId: 'b-path', leafIndex: t.leafIndexOf(0), proof: stored }), stored);
        assert.deepEqual(
          await cache.pathOf({ batchId: 'b-path', leafIndex: t.leafIndexOf(3), proof: null }),
          t.proof(3),
        );
        assert.equal(await cache.pathOf({ batchId: 'none', leafIndex: 8, proof: null }), null);
        assert.equal(await cache.pathOf({ batchId: 'b-path', leafIndex: 0, proof: null }), null);
        assert.equal(await cache.pathOf({ batchId: null, leafIndex: null, proof: null }), null);
      },
    );
  });
}
