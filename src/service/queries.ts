import type { Receipt, ReceiptV1 } from '../domain/receipt';
import { ServiceError, problemOf, type Problem } from './errors';
import type { BatchInfo, RecordFull, RecordMeta, Repo, Store } from './ports';
import type { ChainPort } from './chain-port';
import type { AnchorBlock } from './anchoring';
import { invoiceSettlement, type Settlement } from './business-rules';
import { batchTreesOf, pathIn, type BatchTrees } from './batch-trees';

/** Where the anchoring worker says why an organisation's pending records wait (AnchorService). */
export interface BlockedSource {
  blockedOf(orgId: string): AnchorBlock | null;
}

export interface RecordView {
  id: string;
  orgId: string;
  type: string;
  externalId: string | null;
  digest: string;
  commitment: string;
  parents: string[];
  supersedes: string | null;
  /** The record that superseded this one (DESIGN §1 corrections), if any. */
  supersededBy?: string | null;
  status: RecordMeta['status'];
  acceptedAt: string;
  batch: { id: string; root: string; seq: number; txHash: string | null; blockNumber: number | null } | null;
  /** Pending records only: why anchoring is stuck (INSUFFICIENT_FUNDS, REGISTRY_PAUSED, …), from the worker. */
  blocked?: AnchorBlock;
  /** invoice.issued only (for readers of the payload): amount due, credit notes, payments, what is left. */
  settlement?: Settlement;
  payload?: unknown;
}

export interface BatchView {
  id: string;
  orgId: string;
  seq: number;
  root: string;
  prev: string;
  leafCount: number;
  status: BatchInfo['status'];
  submitter: string;
  anchor: {
    chainId: number;
    registry: string;
    txHash: string | null;
    blockNumber: number | null;
    blockTimestamp: number | null;
    seq: number | null;
  };
  confirmations: number;
  error: string | null;
}

/**
 * Reads served from what is stored. Receipts need no tree rebuild: a record's path is read from its batch's
 * stored tree at its leaf position (or is the path stored with it, for batches built before trees were stored).
 */
export class QueryService {
  private readonly trees: BatchTrees;
  constructor(
    private readonly store: Store,
    private readonly chain?: ChainPort,
    private readonly anchoring?: BlockedSource,
    trees?: BatchTrees,
  ) {
    this.trees = trees ?? batchTreesOf(store);
  }

  /** Why a record of `orgId` with `status` is not being anchored; null unless it is pending and the worker is stuck. */
  blockedOf(orgId: string, status: RecordMeta['status']): AnchorBlock | null {
    return status === 'pending' ? (this.anchoring?.blockedOf(orgId) ?? null) : null;
  }

  /** The record if `readable` contains its org; 404 otherwise (existence is not leaked). */
  async record(id: string, readable: Set<string>): Promise<{ rec: RecordFull; batch: BatchInfo | null }> {
    return this.withBatch(id, readable, (r) => r.getRecord(id));
  }

  /** One record read by `get` (404 unless an organisation in `readable` owns it) and its batch, in one read. */
  private async withBatch<T extends RecordMeta>(
    id: string,
    readable: Set<string>,
    get: (r: Repo) => Promise<T | null | undefined>,
  ): Promise<{ rec: T; batch: BatchInfo | null }> {
    const found = await this.store.read(async (r) => {
      const rec = await get(r);
      if (!rec || !readable.has(rec.orgId)) return null;
      const batch = rec.batchId ? await r.getBatch(rec.batchId) : null;
      return { rec, batch };
    });
    if (!found) throw new ServiceError('RECORD_NOT_FOUND', `Record ${id} not found`);
    return found;
  }

  async view(id: string, readable: Set<string>, withPayload: boolean): Promise<RecordView> {
    const { rec, batch } = await this.record(id, readable);
    const [by] = await this.store.read((r) => r.supersedersOf([id]));
    const v: RecordView = { ...toView(rec, batch, withPayload), supersededBy: by?.id ?? null };
    const blocked = this.blockedOf(rec.orgId, rec.status);
    if (blocked) v.blocked = blocked;
    // Issue 17: where an invoice stands (amount due, credit notes, payments), for those who may read it.
    if (withPayload && rec.type === 'invoice.issued') {
      const settlement = await this.store.read((r) => invoiceSettlement(r, id));
      if (settlement) v.settlement = settlement;
    }
    return v;
  }

  /**
   * DESIGN §2.4 receipt, once the record's batch is mined. HOT PATH (GET /v1/records/:id/receipt): the row is read
   * without its payload (a UBL invoice's can be megabytes, copied out of SQLite synchronously for nothing).
   */
  async receipt(id: string, readable: Set<string>): Promise<Receipt> {
    const { rec, batch } = await this.withBatch(id, readable, async (r) => (await r.getReceiptRows([id]))[0]);
    const path = batch && isAnchored(batch) && rec.batchId === batch.id ? await this.trees.pathOf(rec) : null;
    if (!batch || !isAnchored(batch) || path === null) {
      throw new ServiceError(
        'RECEIPT_NOT_READY',
        `Record ${id} is ${rec.status}; its receipt exists once its batch is anchored`,
        {
          recordStatus: rec.status,
          ...(this.blockedOf(rec.orgId, rec.status) ? { blocked: this.blockedOf(rec.orgId, rec.status) } : {}),
        },
      );
    }
    const parents = rec.parents.length
      ? (await this.store.read((r) => r.getRecordsMeta(rec.parents))).map((m) => m.commitment).sort()
      : [];
    return buildReceipt(rec, batch, parents, path);
  }

  /**
   * Receipts of many records (POST /v1/receipts), in request order: each item a receipt or a problem
   * (RECORD_NOT_FOUND for unknown ids AND for ids of organisations outside `readable`, RECEIPT_NOT_READY while
   * pending). Set-based: one IN query per 1,000 ids for records, one for their batches, one for parents.
   */
  async receipts(ids: string[], readable: Set<string>): Promise<ReceiptItem[]> {
    const { recs, batches, parents } = await this.store.read(async (r) => {
      const recs = (await r.getReceiptRows(ids)).filter((x) => readable.has(x.orgId));
      const batchIds = new Set<string>();
      const parentIds = new Set<string>();
      for (const x of recs) {
        if (x.batchId) batchIds.add(x.batchId);
        for (const p of x.parents) parentIds.add(p);
      }
      const batches = await r.getBatches([...batchIds]);
      const parents = parentIds.size ? await r.getRecordsMeta([...parentIds]) : [];
      return { recs, batches, parents };
    });
    const byId = new Map(recs.map((x) => [x.id, x]));
    const batchById = new Map(batches.map((b) => [b.id, b]));
    const commitmentOf = new Map(parents.map((m) => [m.id, m.commitment]));
    // Paths batch by batch: one tree read (or cache hit) per batch, and only one tree held at a time here.
    const pathOf = new Map<string, string[]>();
    const byBatch = new Map<string, typeof recs>();
    for (const x of recs) {
      if (x.proof) pathOf.set(x.id, x.proof);
      else if (x.batchId && x.leafIndex !== null && isAnchored(batchById.get(x.batchId))) {
        const group = byBatch.get(x.batchId);
        if (group) group.push(x);
        else byBatch.set(x.batchId, [x]);
      }
    }
    for (const [batchId, group] of byBatch) {
      const nodes = await this.trees.get(batchId);
      if (!nodes) continue;
      for (const x of group) {
        const path = pathIn(nodes, x.leafIndex!);
        if (path) pathOf.set(x.id, path);
      }
    }
    const built = new Map<string, ReceiptItem>();
    return ids.map((id) => {
      const done = built.get(id);
      if (done) return done;
      const rec = byId.get(id);
      let item: ReceiptItem;
      if (!rec) item = { id, error: problemOf(new ServiceError('RECORD_NOT_FOUND', `Record ${id} not found`)) };
      else {
        const batch = rec.batchId ? batchById.get(rec.batchId) : undefined;
        const path = pathOf.get(id);
        if (!batch || !isAnchored(batch) || path === undefined)
          item = { id, error: notReady(rec, this.blockedOf(rec.orgId, rec.status)) };
        else {
          const pc = rec.parents.map((p) => commitmentOf.get(p)!).sort();
          item = { id, receipt: buildReceipt(rec, batch, pc, path) };
        }
      }
      built.set(id, item);
      return item;
    });
  }

  /**
   * The receipts of one anchored batch in leaf order, `pageSize` records per read (GET /v1/batches/:root/receipts).
   * BATCH_NOT_FOUND when the batch is unknown or of an organisation outside `readable`; RECEIPT_NOT_READY before
   * it is anchored. Checked (and the leaf order read) before the first page, so that the route can still answer
   * with a problem.
   */
  async batchReceipts(
    root: string,
    readable: Set<string>,
    pageSize = 1000,
  ): Promise<{ batch: BatchInfo; pages: AsyncGenerator<Receipt[]> }> {
    const batch = await this.store.read((r) => r.getBatchByRoot(root.toLowerCase()));
    if (!batch || !readable.has(batch.orgId)) throw new ServiceError('BATCH_NOT_FOUND', `No batch with root ${root}`);
    if (!isAnchored(batch)) {
      throw new ServiceError(
        'RECEIPT_NOT_READY',
        `Batch ${root} is ${batch.status}; its receipts exist once it is anchored`,
        {
          batchStatus: batch.status,
        },
      );
    }
    const store = this.store;
    // The leaf order once (one sort of the batch's ids: an OFFSET per page would sort the whole batch per page
    // on the batch_id index), then the rows page by page through IN lists.
    const order = await store.read((r) => r.recordsOfBatch(batch.id, batch.leafCount + 1, 0));
    // The batch's tree once for the whole stream (null for a batch built before trees were stored: paths stored).
    const nodes = await this.trees.get(batch.id);
    async function* pages(): AsyncGenerator<Receipt[]> {
      for (let offset = 0; offset < order.length; offset += pageSize) {
        const ids = order.slice(offset, offset + pageSize);
        const page = await store.read(async (r) => {
          const recs = await r.getReceiptRows(ids);
          const parentIds = [...new Set(recs.flatMap((x) => x.parents))];
          const parents = parentIds.length ? await r.getRecordsMeta(parentIds) : [];
          return { recs, parents };
        });
        const byId = new Map(page.recs.map((x) => [x.id, x]));
        const commitmentOf = new Map(page.parents.map((m) => [m.id, m.commitment]));
        const out: Receipt[] = [];
        for (const id of ids) {
          const rec = byId.get(id);
          if (!rec || rec.batchId !== batch!.id || rec.leafIndex === null) continue; // released meanwhile
          const path = rec.proof ?? (nodes ? pathIn(nodes, rec.leafIndex) : null);
          if (path === null) continue;
          const pc = rec.parents.map((p) => commitmentOf.get(p)!).sort();
          out.push(buildReceipt(rec, batch!, pc, path));
        }
        yield out;
      }
    }
    return { batch, pages: pages() };
  }

  async batch(root: string): Promise<BatchView> {
    const b = await this.store.read((r) => r.getBatchByRoot(root.toLowerCase()));
    if (!b) throw new ServiceError('BATCH_NOT_FOUND', `No batch with root ${root}`);
    let confirmations = 0;
    if (b.blockNumber !== null && this.chain) {
      try {
        confirmations = Math.max(0, (await this.chain.blockNumber()) - b.blockNumber + 1);
      } catch {
        confirmations = 0;
      }
    }
    return {
      id: b.id,
      orgId: b.orgId,
      seq: b.seq,
      root: b.root,
      prev: b.prev,
      leafCount: b.leafCount,
      status: b.status,
      submitter: b.submitter,
      anchor: {
        chainId: b.chainId,
        registry: b.registry,
        txHash: b.txHash,
        blockNumber: b.blockNumber,
        blockTimestamp: b.blockTimestamp,
        seq: b.chainSeq,
      },
      confirmations,
      error: b.error,
    };
  }
}

/** One item of POST /v1/receipts: the receipt, or the problem the single receipt route would answer. */
export type ReceiptItem = { id: string; receipt: Receipt } | { id: string; error: Problem };

const isAnchored = (b: BatchInfo | undefined) => b?.status === 'anchored' || b?.status === 'confirmed';

/** The single receipt route's RECEIPT_NOT_READY problem, with the worker's `blocked` reason when it has one. */
function notReady(rec: RecordMeta, blocked: AnchorBlock | null): Problem {
  return problemOf(
    new ServiceError(
      'RECEIPT_NOT_READY',
      `Record ${rec.id} is ${rec.status}; its receipt exists once its batch is anchored`,
      blocked ? { recordStatus: rec.status, blocked } : { recordStatus: rec.status },
    ),
  );
}

/**
 * The receipt of a record of an anchored batch; `path` is its Merkle path in that batch (to the sealed leaf when the
 * record is signed). Version 1 for an unsigned record; version 2, with the signatures, for a signed one.
 */
export function buildReceipt(
  rec: Pick<RecordFull, 'id' | 'orgId' | 'type' | 'digest' | 'salt' | 'commitment' | 'signatures'>,
  batch: BatchInfo,
  parentCommitments: string[],
  path: string[],
): Receipt {
  const v1: ReceiptV1 = {
    version: 1,
    record: {
      id: rec.id,
      orgId: rec.orgId,
      type: rec.type,
      digest: rec.digest,
      salt: rec.salt,
      parents: parentCommitments,
    },
    commitment: rec.commitment,
    proof: { root: batch.root, path },
    anchor: {
      chainId: batch.chainId,
      registry: batch.registry,
      txHash: batch.txHash!,
      blockNumber: batch.blockNumber!,
      blockTimestamp: batch.blockTimestamp!,
      submitter: batch.submitter,
      seq: batch.chainSeq!,
    },
  };
  if (!rec.signatures?.length) return v1;
  return {
    ...v1,
    version: 2,
    signatures: rec.signatures.map((s) => ({ signer: s.signer, signature: s.signature })),
  };
}

export function toView(rec: RecordFull, batch: BatchInfo | null, withPayload: boolean): RecordView {
  const v: RecordView = {
    id: rec.id,
    orgId: rec.orgId,
    type: rec.type,
    externalId: rec.externalId,
    digest: rec.digest,
    commitment: rec.commitment,
    parents: rec.parents,
    supersedes: rec.supersedes,
    status: rec.status,
    acceptedAt: new Date(rec.acceptedAt).toISOString(),
    batch: batch
      ? { id: batch.id, root: batch.root, seq: batch.seq, txHash: batch.txHash, blockNumber: batch.blockNumber }
      : null,
  };
  if (withPayload) v.payload = JSON.parse(rec.payload);
  return v;
}
