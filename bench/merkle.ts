// Merkle build benchmark: 1M-leaf tree + all proofs vs a raw keccak loop (same hasher, same hash count and
// sizes) vs OpenZeppelin's StandardMerkleTree.of on 100k leaves (x10 extrapolated).
// Run: node -r ts-node/register bench/merkle.ts [leaves=1000000] [ozLeaves=100000] [--json]
// With --json (how bench/run.ts runs it, in a child process so that RSS is this benchmark's alone) it prints
// one JSON line instead of the report.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { buildMerkleTreeSync, initHashing } from '../src/domain';
import { fastKeccak } from '../src/domain/hashing';
import type { BatchInfo } from '../src/service/ports';
import { Database } from '../src/storage/db';
import { SqlStore } from '../src/storage/sql-repo';

const mb = (x: number): string => `${(x / 2 ** 20).toFixed(0)} MB`;
const ms = (x: number): string => `${x.toFixed(0)} ms`;

export interface MerkleFigures {
  leaves: number;
  ozLeaves: number;
  rawMs: number;
  buildMs: number;
  proofIndicesMs: number;
  proofBytesMs: number;
  /** Storing the built tree as the worker does: all nodes as one blob row of `batch_trees` (service storage), one transaction. */
  storeMs: number;
  ozMs: number;
  sameRoot: boolean;
  /** RSS right after the tree and all proofs of `leaves` (bytes). */
  rssTree: number;
  /** Peak RSS of the process (bytes). */
  maxRss: number;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const json = process.argv.includes('--json');
  const n = Number(args[0] ?? 1_000_000);
  const ozN = Number(args[1] ?? 100_000);
  await initHashing();
  const h = fastKeccak();
  if (h === undefined) throw new Error('WASM keccak unavailable');
  const flat = new Uint8Array(randomBytes(n * 32));

  // Raw loop: 2n hashes of 32 bytes (double leaf hash) + n-1 hashes of 64 bytes (inner nodes).
  let t = performance.now();
  const buf = new Uint8Array(64);
  for (let i = 0; i < n; i++) {
    const a = h
      .init()
      .update(flat.subarray(i * 32, i * 32 + 32))
      .digest('binary');
    buf.set(h.init().update(a).digest('binary'), 0);
  }
  for (let i = 0; i < n - 1; i++) buf.set(h.init().update(buf).digest('binary'), (i & 1) * 32);
  const raw = performance.now() - t;

  t = performance.now();
  const tree = buildMerkleTreeSync(flat);
  const built = performance.now() - t;
  const storeMs = await storeTree(tree.nodes, tree.root);
  t = performance.now();
  const indices = tree.proofIndicesAll();
  const proved = performance.now() - t;
  t = performance.now();
  const proofs = tree.proofsAllFlat();
  const provedBytes = performance.now() - t;
  const rssTree = process.memoryUsage().rss;

  const values = Array.from({ length: ozN }, (_, i) => [
    '0x' + Buffer.from(flat.subarray(i * 32, i * 32 + 32)).toString('hex'),
  ]);
  t = performance.now();
  const oz = StandardMerkleTree.of(values, ['bytes32']);
  const ozMs = performance.now() - t;
  const ours = buildMerkleTreeSync(flat.subarray(0, ozN * 32));

  if (json) {
    const f: MerkleFigures = {
      leaves: n,
      ozLeaves: ozN,
      rawMs: raw,
      buildMs: built,
      proofIndicesMs: proved,
      proofBytesMs: provedBytes,
      storeMs,
      ozMs,
      sameRoot: oz.root === ours.root,
      rssTree,
      maxRss: process.resourceUsage().maxRSS * 1024,
    };
    console.log(JSON.stringify(f));
    return;
  }

  console.log(`leaves                       ${n} (${3 * n - 1} keccak calls)`);
  console.log(`raw keccak loop (hash-wasm)  ${ms(raw)}`);
  console.log(`tree build                   ${ms(built)}`);
  console.log(
    `tree stored (SQLite blob)    ${ms(storeMs)}  (${mb(tree.nodes.byteLength)}); built + stored ${((built + storeMs) / raw).toFixed(2)}x raw loop`,
  );
  console.log(
    `all proofs (node indices)    ${ms(proved)}  (${indices.offsets[n]} siblings, ${mb(indices.index.byteLength)})`,
  );
  console.log(
    `all proofs (flat bytes)      ${ms(provedBytes)}  (${mb(proofs.path.byteLength)}; mostly first-touch page faults)`,
  );
  console.log(`tree + all proofs (indices)  ${ms(built + proved)}  = ${((built + proved) / raw).toFixed(2)}x raw loop`);
  console.log(
    `tree + all proofs (bytes)    ${ms(built + provedBytes)}  = ${((built + provedBytes) / raw).toFixed(2)}x raw loop`,
  );
  console.log(
    `OZ StandardMerkleTree.of     ${ms(ozMs)} for ${ozN} → ~${ms((ozMs * n) / ozN)} for ${n} (x${(n / ozN).toFixed(0)})`,
  );
  console.log(
    `speed-up vs OZ (extrapolated) ${((ozMs * n) / ozN / (built + proved)).toFixed(1)}x; same root on ${ozN}: ${oz.root === ours.root}`,
  );
  console.log(`RSS after 1M tree + proofs   ${mb(rssTree)}; now ${mb(process.memoryUsage().rss)}`);
}

/**
 * What the anchoring worker writes for a batch's tree (issue 18): every node in one `batch_trees` row, through the
 * service's own storage (`Database.open`: migrations, WAL, synchronous=NORMAL, the page cache and mmap settings,
 * WAL checkpoints on their own thread as in the worker process, so none runs inside this COMMIT); ms for the
 * transaction that stores the batch row and its tree. The organisation row is stored before the clock starts.
 */
async function storeTree(nodes: Uint8Array, root: string): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-merkle-'));
  const db = await Database.open({ sqlitePath: path.join(dir, 'notary.db') });
  try {
    const store = new SqlStore(db);
    await store.tx((r) => r.insertOrg({ id: 'o', name: 'O', kind: 'member', address: null, createdAt: 0 }));
    const zero = `0x${'00'.repeat(20)}`;
    const batch: BatchInfo = {
      id: 'b',
      orgId: 'o',
      seq: 1,
      root,
      prev: `0x${'00'.repeat(32)}`,
      leafCount: (nodes.byteLength / 32 + 1) / 2,
      status: 'signed',
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
    };
    const t = performance.now();
    await store.tx(async (r) => {
      await r.insertBatch(batch);
      await r.insertBatchTree(batch.id, nodes);
    });
    return performance.now() - t;
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) void main();
