import { proofFromNodes } from '../domain/merkle';
import type { RecordMeta, Store } from './ports';

/**
 * Batch trees as read back for receipts (DESIGN §4: a batch's tree is stored once, a receipt's path derived from
 * it). A stored tree never changes (a batch keeps its id and tree through re-signing and reorgs; a failed batch
 * is deleted with its tree), so recently read trees are kept in memory, bounded by their total size: the bulk
 * receipt routes read one tree per batch, and repeated single reads of a batch's receipts read it once.
 */
export class BatchTrees {
  private readonly lru = new Map<string, Uint8Array>();
  private readonly loading = new Map<string, Promise<Uint8Array | null>>();
  private bytes = 0;

  constructor(
    private readonly store: Store,
    /** Most bytes of tree nodes kept (a 50,000-leaf batch is 3.2 MB). A larger tree is read but not kept. */
    readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  /** The batch's stored tree nodes, or null (no tree stored: unknown batch, or built before trees were stored). */
  async get(batchId: string): Promise<Uint8Array | null> {
    const hit = this.lru.get(batchId);
    if (hit) {
      this.lru.delete(batchId);
      this.lru.set(batchId, hit);
      return hit;
    }
    let p = this.loading.get(batchId);
    if (!p) {
      p = this.store
        .read((r) => r.getBatchTree(batchId))
        .then((nodes) => {
          if (nodes) this.keep(batchId, nodes);
          return nodes;
        })
        .finally(() => this.loading.delete(batchId));
      this.loading.set(batchId, p);
    }
    return p;
  }

  /** Trees kept now (tests, metrics). */
  get size(): number {
    return this.lru.size;
  }

  private keep(batchId: string, nodes: Uint8Array): void {
    if (nodes.byteLength > this.maxBytes || this.lru.has(batchId)) return;
    this.lru.set(batchId, nodes);
    this.bytes += nodes.byteLength;
    for (const [id, n] of this.lru) {
      if (this.bytes <= this.maxBytes) break;
      this.lru.delete(id);
      this.bytes -= n.byteLength;
    }
  }

  /**
   * The Merkle path of a batched record: its stored path when it has one (batches built before trees were
   * stored), else derived from its batch's tree at its leaf position. Null when neither is there.
   */
  async pathOf(rec: Pick<RecordMeta, 'batchId' | 'leafIndex'> & { proof: string[] | null }): Promise<string[] | null> {
    if (rec.proof) return rec.proof;
    if (rec.batchId === null || rec.leafIndex === null) return null;
    const nodes = await this.get(rec.batchId);
    return nodes ? pathIn(nodes, rec.leafIndex) : null;
  }
}

/** The path of the leaf at `leafIndex` in `nodes`, or null when the position is not a leaf of that tree. */
export function pathIn(nodes: Uint8Array, leafIndex: number): string[] | null {
  try {
    return proofFromNodes(nodes, leafIndex);
  } catch {
    return null;
  }
}

const shared = new WeakMap<Store, BatchTrees>();

/** One cache per store, shared by the services that serve receipts (queries, traces). */
export function batchTreesOf(store: Store): BatchTrees {
  let t = shared.get(store);
  if (!t) shared.set(store, (t = new BatchTrees(store)));
  return t;
}
