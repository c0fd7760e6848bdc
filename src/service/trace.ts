import { ZERO_HEX32, type Hex32 } from '../domain/hex';
import type { Receipt } from '../domain/receipt';
import {
  verifyReceipt,
  type AnchorRecord,
  type AnchorTransaction,
  type LineageBundle,
  type RootSource,
} from '../verifier';
import { orgHashOf, type AnchorState, type ChainPort } from './chain-port';
import { ServiceError } from './errors';
import type { BatchInfo, RecordFull, RecordMeta, Store } from './ports';
import { buildReceipt } from './queries';
import { batchTreesOf, pathIn, type BatchTrees } from './batch-trees';
import {
  evaluateCosigning,
  policySourceOf,
  type CosignPolicySource,
  type CosigningStatus,
} from '../verifier/cosign-policy';

/**
 * Lineage trace (GET /v1/records/:id/trace) and batch-chain completeness (GET /v1/orgs/:id/chain).
 *
 * Visibility in a trace: the caller must be able to read the traced record (owner or granted auditor). The
 * graph holds its ancestors and descendants. A record of an organisation the caller may not read (e.g. the
 * aerospace invoice behind the employer's claim, or the employer's claim on the aerospace invoice) appears as a
 * boundary node with metadata only — id, type, organisation, status, commitment — no digest, payload, anchor or
 * verification, and the walk does not continue past it: what lies behind another organisation's record (its
 * other parents, its approvals and payments) stays hidden. In a bundle such records are listed by commitment in
 * `external`. The graph is capped at {@link MAX_TRACE_NODES} nodes (`truncated: true`).
 *
 * Co-signing: a `cosignature` record whose parent the caller may read is readable too (whoever co-signed one's
 * record, and what it said, is part of that record's lineage), so that its receipt is verified and bundled. For
 * every readable anchored record whose type has a co-signing policy in the directory (`cosignPolicyOf`, read
 * through the root source when it answers `getCosignPolicy`), the node says which named organisations co-signed
 * it — a verified, signed (receipt version 2) `cosignature` — and whether the policy is met.
 */

export const MAX_TRACE_NODES = 500;

export interface TraceNode {
  id: string;
  type: string;
  orgId: string;
  status: RecordMeta['status'];
  /** False for records of organisations the caller may not read (metadata only). */
  visible: boolean;
  digest: string | null;
  commitment: string;
  anchor: { txHash: string; blockNumber: number; blockTimestamp: number; root: string } | null;
  verification: { valid: boolean; checks: { name: string; status: string; reason?: string }[] } | null;
  supersedes: string | null;
  supersededBy: string | null;
  payload?: unknown;
  /** Present when the record's type has a co-signing policy: who must co-sign, who did, whether it is met. */
  cosigning?: CosigningStatus;
}

export interface Trace {
  root: string;
  nodes: TraceNode[];
  edges: { parent: string; child: string }[];
  truncated: boolean;
  /** The co-signing status of every node that has a policy (also on the nodes). */
  cosigning: CosigningStatus[];
}

/** Memoizes a root source for one request (nodes of one batch share a root). */
function memo(src: RootSource): RootSource {
  const anchors = new Map<string, Promise<AnchorRecord | null>>();
  const txs = new Map<string, Promise<AnchorTransaction | null>>();
  const out: RootSource = {
    getAnchor(ref) {
      const k = `${ref.chainId}:${ref.registry.toLowerCase()}:${ref.root}`;
      let p = anchors.get(k);
      if (!p) anchors.set(k, (p = src.getAnchor(ref)));
      return p;
    },
  };
  // Signer keys of receipts v2 (the directory's memberOf), memoized like the anchors.
  if (src.getMemberKey) {
    const read = src.getMemberKey.bind(src);
    const keys = new Map<string, ReturnType<typeof read>>();
    out.getMemberKey = (ref) => {
      const k = `${ref.chainId}:${ref.registry.toLowerCase()}:${ref.account.toLowerCase()}`;
      let p = keys.get(k);
      if (!p) keys.set(k, (p = read(ref)));
      return p;
    };
  }
  if (src.getAnchorTransaction) {
    const get = src.getAnchorTransaction.bind(src);
    out.getAnchorTransaction = (ref) => {
      const k = `${ref.chainId}:${ref.registry.toLowerCase()}:${ref.txHash}`;
      let p = txs.get(k);
      if (!p) txs.set(k, (p = get(ref)));
      return p;
    };
  }
  return out;
}

const anchored = (b: BatchInfo | undefined | null): b is BatchInfo =>
  !!b && (b.status === 'anchored' || b.status === 'confirmed');

interface Graph {
  recs: Map<string, RecordFull>;
  edges: { parent: string; child: string }[];
  truncated: boolean;
  batches: Map<string, BatchInfo>;
  /** commitment of every parent named by a node (for receipts) */
  parentCommitment: Map<string, string>;
  supersededBy: Map<string, string>;
  /** Merkle path of every readable node of an anchored batch (from the batch's stored tree, or stored with it). */
  paths: Map<string, string[]>;
  /** Ids of the records the caller may see in full (readable organisations', and co-signatures of those). */
  visible: Set<string>;
}

export class TraceService {
  private readonly trees: BatchTrees;
  constructor(
    private readonly store: Store,
    private readonly opts: {
      rootSource?: RootSource;
      trustedRegistries?: string[];
      trees?: BatchTrees;
      /** Co-signing policies (default: the root source's, when it answers `getCosignPolicy`). */
      policies?: CosignPolicySource;
    } = {},
  ) {
    this.trees = opts.trees ?? batchTreesOf(store);
    this.policies = opts.policies ?? policySourceOf(opts.rootSource);
  }
  private readonly policies?: CosignPolicySource;

  /** Collects the DAG around `id` with the visibility rule of the module comment. */
  private async graph(id: string, readable: Set<string>): Promise<Graph> {
    const g = await this.subgraph(id, readable);
    // One tree per batch (cached), for the nodes whose receipts may be shown.
    for (const rec of g.recs.values()) {
      if (!g.visible.has(rec.id) || !rec.batchId || rec.leafIndex === null) continue;
      if (!anchored(g.batches.get(rec.batchId))) continue;
      if (rec.proof) g.paths.set(rec.id, rec.proof);
      else {
        const nodes = await this.trees.get(rec.batchId);
        const path = nodes ? pathIn(nodes, rec.leafIndex) : null;
        if (path) g.paths.set(rec.id, path);
      }
    }
    return g;
  }

  private async subgraph(id: string, readable: Set<string>): Promise<Graph> {
    return this.store.read(async (r) => {
      const root = await r.getRecord(id);
      if (!root || !readable.has(root.orgId)) throw new ServiceError('RECORD_NOT_FOUND', `Record ${id} not found`);
      const limit = MAX_TRACE_NODES * 8;
      const [up, down] = [await r.linkClosure([id], 'up', limit), await r.linkClosure([id], 'down', limit)];
      const parentsOf = new Map<string, string[]>();
      const childrenOf = new Map<string, string[]>();
      for (const l of up) parentsOf.set(l.childId, [...(parentsOf.get(l.childId) ?? []), l.parentId]);
      for (const l of down) childrenOf.set(l.parentId, [...(childrenOf.get(l.parentId) ?? []), l.childId]);
      const all = new Set<string>([
        id,
        ...up.flatMap((l) => [l.parentId, l.childId]),
        ...down.flatMap((l) => [l.parentId, l.childId]),
      ]);
      const metas = new Map((await r.getRecordsMeta([...all])).map((m) => [m.id, m]));
      const visible = new Set<string>();
      for (const m of metas.values()) {
        const parent = m.type === 'cosignature' && m.parents.length === 1 ? metas.get(m.parents[0]!) : undefined;
        if (readable.has(m.orgId) || (parent && readable.has(parent.orgId))) visible.add(m.id);
      }

      // BFS from the root, both directions, never past a record the caller may not read.
      const keep = new Set<string>([id]);
      const edges: { parent: string; child: string }[] = [];
      let truncated = up.length >= limit || down.length >= limit;
      for (const [dir, next] of [
        ['up', parentsOf],
        ['down', childrenOf],
      ] as const) {
        let frontier = [id];
        const seen = new Set([id]);
        while (frontier.length) {
          const nextFrontier: string[] = [];
          for (const n of frontier) {
            const m = metas.get(n);
            if (!m || (n !== id && !visible.has(n))) continue;
            for (const o of next.get(n) ?? []) {
              if (!metas.has(o)) continue;
              if (!keep.has(o)) {
                if (keep.size >= MAX_TRACE_NODES) {
                  truncated = true;
                  continue;
                }
                keep.add(o);
              }
              edges.push(dir === 'up' ? { parent: o, child: n } : { parent: n, child: o });
              if (!seen.has(o)) {
                seen.add(o);
                nextFrontier.push(o);
              }
            }
          }
          frontier = nextFrontier;
        }
      }
      const recs = new Map((await r.getRecords([...keep])).map((x) => [x.id, x]));
      const batches = new Map<string, BatchInfo>();
      for (const b of new Set([...recs.values()].map((x) => x.batchId).filter((x): x is string => !!x))) {
        const batch = await r.getBatch(b);
        if (batch) batches.set(b, batch);
      }
      const parentIds = new Set([...recs.values()].flatMap((x) => x.parents));
      const parentCommitment = new Map<string, string>();
      for (const p of parentIds) if (recs.has(p)) parentCommitment.set(p, recs.get(p)!.commitment);
      const missing = [...parentIds].filter((p) => !parentCommitment.has(p));
      for (const m of missing.length ? await r.getRecordsMeta(missing) : []) parentCommitment.set(m.id, m.commitment);
      const supersededBy = new Map<string, string>();
      for (const s of await r.supersedersOf([...keep]))
        if (!supersededBy.has(s.supersedes)) supersededBy.set(s.supersedes, s.id);
      const uniq = new Map(edges.map((e) => [`${e.parent}>${e.child}`, e]));
      return {
        recs,
        edges: [...uniq.values()],
        truncated,
        batches,
        parentCommitment,
        supersededBy,
        paths: new Map(),
        visible,
      };
    });
  }

  private receiptOf(g: Graph, rec: RecordFull): Receipt | null {
    const batch = rec.batchId ? g.batches.get(rec.batchId) : undefined;
    const path = g.paths.get(rec.id);
    if (!anchored(batch) || !path) return null;
    return buildReceipt(rec, batch, rec.parents.map((p) => g.parentCommitment.get(p)!).sort(), path);
  }

  async trace(id: string, readable: Set<string>, withPayload = true): Promise<Trace> {
    const g = await this.graph(id, readable);
    const rootSource = this.opts.rootSource ? memo(this.opts.rootSource) : undefined;
    const nodes = await Promise.all(
      [...g.recs.values()].map(async (rec): Promise<TraceNode> => {
        const visible = g.visible.has(rec.id);
        const base = {
          id: rec.id,
          type: rec.type,
          orgId: rec.orgId,
          status: rec.status,
          visible,
          commitment: rec.commitment,
        };
        if (!visible) {
          return { ...base, digest: null, anchor: null, verification: null, supersedes: null, supersededBy: null };
        }
        const batch = rec.batchId ? g.batches.get(rec.batchId) : undefined;
        const receipt = this.receiptOf(g, rec);
        let verification: TraceNode['verification'] = null;
        const payload = JSON.parse(rec.payload) as unknown;
        if (receipt && rootSource) {
          const v = await verifyReceipt(receipt, {
            payload,
            rootSource,
            trustedRegistries: this.opts.trustedRegistries,
          });
          verification = { valid: v.valid, checks: v.checks };
        }
        const node: TraceNode = {
          ...base,
          digest: rec.digest,
          anchor: anchored(batch)
            ? {
                txHash: batch.txHash!,
                blockNumber: batch.blockNumber!,
                blockTimestamp: batch.blockTimestamp!,
                root: batch.root,
              }
            : null,
          verification,
          supersedes: rec.supersedes,
          supersededBy: g.supersededBy.get(rec.id) ?? null,
        };
        if (withPayload) node.payload = payload;
        return node;
      }),
    );
    // Root first, then by acceptance time: a stable, readable order.
    nodes.sort((a, b) =>
      a.id === id ? -1 : b.id === id ? 1 : g.recs.get(a.id)!.acceptedAt - g.recs.get(b.id)!.acceptedAt,
    );
    const cosignatures = nodes
      .filter((n) => n.type === 'cosignature' && n.visible)
      .flatMap((n) => {
        const receipt = this.receiptOf(g, g.recs.get(n.id)!);
        return receipt ? [{ receipt, valid: n.verification?.valid === true }] : [];
      });
    const cosigning = await this.cosigningOf(
      g,
      nodes.filter((n) => n.visible && n.type !== 'cosignature'),
      cosignatures,
    );
    for (const c of cosigning) nodes.find((n) => n.id === c.record)!.cosigning = c;
    return { root: id, nodes, edges: g.edges, truncated: g.truncated, cosigning };
  }

  /** Co-signing status of the given records whose type has a policy (none without a policy source). */
  private async cosigningOf(
    g: Graph,
    records: { id: string; type: string; commitment: string }[],
    cosignatures: { receipt: Receipt; valid: boolean }[],
  ): Promise<CosigningStatus[]> {
    if (!this.policies || !records.length) return [];
    // One service, one registry: the chain and registry of the graph's anchors (of the trusted registry first).
    const receipts = [...g.recs.values()].map((rec) => this.receiptOf(g, rec)).filter((x): x is Receipt => !!x);
    const trusted = this.opts.trustedRegistries?.map((x) => x.toLowerCase());
    const ref = (receipts.find((x) => trusted?.includes(x.anchor.registry.toLowerCase())) ?? receipts[0])?.anchor;
    if (!ref) return [];
    const out: CosigningStatus[] = [];
    const byType = new Map<string, Promise<string[]>>();
    for (const rec of records) {
      let p = byType.get(rec.type);
      if (!p) {
        p = this.policies.getCosignPolicy({ chainId: ref.chainId, registry: ref.registry, recordType: rec.type });
        byType.set(rec.type, p);
      }
      let required: string[];
      try {
        required = await p;
      } catch (err) {
        throw new ServiceError(
          'CHAIN_UNAVAILABLE',
          `the co-signing policy of ${rec.type} could not be read: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      if (required.length) out.push(evaluateCosigning(rec, required as Hex32[], cosignatures));
    }
    return out;
  }

  /** The lineage bundle (verifier `verifyBundle`): receipts of every visible anchored node; the rest as `external`. */
  async bundle(id: string, readable: Set<string>): Promise<LineageBundle> {
    const g = await this.graph(id, readable);
    const receipts: Receipt[] = [];
    for (const rec of g.recs.values()) {
      if (!g.visible.has(rec.id)) continue;
      const receipt = this.receiptOf(g, rec);
      if (receipt) receipts.push(receipt);
      else if (rec.id === id) {
        throw new ServiceError(
          'RECEIPT_NOT_READY',
          `Record ${id} is ${rec.status}; its bundle exists once it is anchored`,
          {
            recordStatus: rec.status,
          },
        );
      }
    }
    const included = new Set(receipts.map((x) => x.commitment));
    const external = [...new Set(receipts.flatMap((x) => x.record.parents).filter((p) => !included.has(p)))].sort();
    // What the service sees of the policies (informative: verifyBundle decides from the directory and the receipts).
    const cosigning = await this.cosigningOf(
      g,
      receipts
        .filter((x) => x.record.type !== 'cosignature')
        .map((x) => ({ id: x.record.id, type: x.record.type, commitment: x.commitment })),
      receipts.filter((x) => x.record.type === 'cosignature').map((receipt) => ({ receipt, valid: true })),
    );
    return {
      version: 1,
      root: id,
      receipts,
      ...(external.length ? { external } : {}),
      ...(cosigning.length ? { cosigning } : {}),
    };
  }

  /** "superseded by" of one record (GET /v1/records/:id, POST /v1/verify). */
  async supersededBy(id: string): Promise<string | null> {
    const [s] = await this.store.read((r) => r.supersedersOf([id]));
    return s?.id ?? null;
  }
}

export interface Completeness {
  orgId: string;
  address: string | null;
  /** `head`: the registry's head; `length`: links walked in this page. */
  chain: { head: string; length: number };
  database: { batches: number; inFlight: number };
  /** Nothing missing or mismatched within the links walked (all of them unless `truncated`). */
  consistent: boolean;
  missingInDatabase: string[];
  missingOnChain: string[];
  leafCountMismatch: { root: string; chain: number; database: number }[];
  /** Anomalies of the walk itself (a link whose anchor is unknown, another submitter). */
  errors: string[];
  /**
   * The walk stopped after `limit` links before the first batch: older batches were not compared (they are not
   * reported missing); pass `next` as `cursor` for the next, older page.
   */
  truncated: boolean;
  /** Root to continue from (`cursor`), or null when this page reached the first batch. */
  next: string | null;
}

/** Links walked per request by default, and at most (GET /v1/orgs/:id/chain?limit=). */
export const CHAIN_PAGE_DEFAULT = 1000;
export const CHAIN_PAGE_MAX = 10_000;
/** anchorOf reads started ahead of the walk, along the links the database predicts. */
const CHAIN_PREFETCH = 16;

/**
 * Completeness of an organisation's anchored history: walks its hash-linked batch chain on the registry alone
 * (`headOf(keccak256(orgId))`, or `cursor`, then `anchorOf(prev)` back to zero) for at most `limit` links — one
 * chain across the organisation's key rotations — and compares
 * them with the batches in the database. A stored batch counts as missing on chain only when its seq lies within
 * the links walked; past `limit` the answer says `truncated` and where to continue. The walk follows the chain's
 * own links; reads along the links the database predicts are started up to 16 ahead (so a walk over stored
 * batches does not wait for one chain call after another), each verified against the link the chain returns.
 */
export async function checkCompleteness(
  store: Store,
  chain: ChainPort,
  orgId: string,
  opts: { limit?: number; cursor?: string } = {},
): Promise<Completeness> {
  const limit = Math.max(1, Math.min(CHAIN_PAGE_MAX, Math.floor(opts.limit ?? CHAIN_PAGE_DEFAULT)));
  const { org, batches } = await store.read(async (r) => ({
    org: await r.getOrg(orgId),
    batches: await r.batchesOf(orgId),
  }));
  if (!org) throw new ServiceError('ORG_NOT_FOUND', `Organisation ${orgId} not found`);
  const onChain: { root: string; leafCount: number; seq: number }[] = [];
  const errors: string[] = [];
  const dbPrev = new Map(batches.map((b) => [b.root.toLowerCase(), b.prev.toLowerCase()]));
  const reads = new Map<string, Promise<AnchorState>>();
  const read = (root: string): Promise<AnchorState> => {
    let p = reads.get(root);
    if (!p) {
      p = chain.anchorOf(root);
      p.catch(() => undefined); // a prefetch the walk never reaches must not be an unhandled rejection
      reads.set(root, p);
    }
    return p;
  };
  let head = ZERO_HEX32 as string;
  let root = ZERO_HEX32 as string;
  try {
    if (org.address) {
      head = (await chain.headOf(orgHashOf(org.id))).root;
      root = (opts.cursor ?? head).toLowerCase();
      while (root !== ZERO_HEX32 && onChain.length < limit) {
        let ahead: string | undefined = root;
        for (let i = 0; ahead && ahead !== ZERO_HEX32 && i < CHAIN_PREFETCH && onChain.length + i < limit; i++) {
          void read(ahead);
          ahead = dbPrev.get(ahead);
        }
        const a = await read(root);
        if (a.timestamp === 0) {
          errors.push(`root ${root} is linked but not anchored`);
          root = ZERO_HEX32;
          break;
        }
        if (a.org.toLowerCase() !== orgHashOf(org.id))
          errors.push(`root ${root} was anchored for another organisation (${a.org}, by ${a.submitter})`);
        onChain.push({ root, leafCount: a.leafCount, seq: a.seq });
        root = a.prev.toLowerCase();
      }
    }
  } catch (err) {
    const f = chain.failureOf(err);
    if (f) throw new ServiceError('CHAIN_UNAVAILABLE', `${f.code}: ${f.message}`);
    throw err;
  }
  const truncated = root !== ZERO_HEX32;
  onChain.reverse();
  // Seqs this page covers: stored batches outside them are neither confirmed nor reported missing.
  const hi = opts.cursor !== undefined && onChain.length ? onChain[onChain.length - 1]!.seq : Infinity;
  const lo = truncated && onChain.length ? onChain[0]!.seq : -Infinity;
  const inWindow = (b: BatchInfo) =>
    b.chainSeq === null ? !truncated && opts.cursor === undefined : b.chainSeq >= lo && b.chainSeq <= hi;
  const done = batches.filter((b) => anchored(b));
  const inFlight = batches.filter((b) => b.status === 'signed' || b.status === 'sent').length;
  const dbByRoot = new Map(batches.map((b) => [b.root.toLowerCase(), b]));
  const chainRoots = new Set(onChain.map((c) => c.root));
  const missingInDatabase = onChain.filter((c) => !dbByRoot.has(c.root)).map((c) => c.root);
  const missingOnChain = done.filter((b) => inWindow(b) && !chainRoots.has(b.root.toLowerCase())).map((b) => b.root);
  const leafCountMismatch = onChain
    .filter((c) => dbByRoot.has(c.root) && dbByRoot.get(c.root)!.leafCount !== c.leafCount)
    .map((c) => ({ root: c.root, chain: c.leafCount, database: dbByRoot.get(c.root)!.leafCount }));
  return {
    orgId,
    address: org.address,
    chain: { head, length: onChain.length },
    database: { batches: done.length, inFlight },
    consistent: !missingInDatabase.length && !missingOnChain.length && !leafCountMismatch.length && !errors.length,
    missingInDatabase,
    missingOnChain,
    leafCountMismatch,
    errors,
    truncated,
    next: truncated ? root : null,
  };
}
