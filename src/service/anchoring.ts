import { randomBytes, randomUUID } from 'node:crypto';
import { buildMerkleTree } from '../domain/merkle';
import { ZERO_HEX32 } from '../domain/hex';
import { leafValueOf } from '../domain/signatures';
import { orgHashOf, type ChainFailureCode, type ChainPort } from './chain-port';
import type { BatchInfo, Org, OutboxTx, Repo, Store } from './ports';
import { TxSender, type TxIntent, type TxOutcome } from './tx-sender';
import { Leases, type LoopJob } from './worker-loop';

/** The database lease of "exactly one worker anchors for the organisation" (its name is shared by every version). */
export const anchorLease = (orgId: string) => `anchor:${orgId}`;

export interface AnchorOptions {
  /** Anchor an org's pending records at least this often. */
  intervalMs: number;
  /** …or as soon as this many are waiting; also the largest batch. */
  maxLeaves: number;
  /** Blocks (including the anchoring one) before a batch is confirmed. */
  confirmations: number;
  /** Rebroadcast a sent transaction that is still not mined after this long. */
  rebroadcastMs?: number;
  /** Lease time of "exactly one worker per organisation". */
  leaseMs?: number;
  /** How often the worker loop runs a pass (after the last one ended). */
  tickMs?: number;
  log?: Pick<Console, 'info' | 'warn' | 'error'>;
  /** Called before a new batch is built for the account: tops it up on chains that charge gas (runtime). */
  ensureFunds?: (address: string) => Promise<void>;
  /** Test hook: called at each named step of the state machine (a crash test throws here). */
  onStep?: (step: AnchorStep, batch: BatchInfo) => void | Promise<void>;
}

/**
 * Why an organisation's pending records are not being anchored (served as `blocked` on its pending records):
 * INSUFFICIENT_FUNDS, REGISTRY_PAUSED, NOT_AUTHORIZED (no active ANCHORER key in the directory), CHAIN_UNREACHABLE, TX_UNDERPRICED,
 * or ANCHORING_FAILED (anything else; `detail` says what).
 */
export interface AnchorBlock {
  code: string;
  detail: string;
  /** When this reason was first seen (ISO 8601); unchanged while the reason stays the same. */
  since: string;
}

const BLOCK_CODES: Partial<Record<ChainFailureCode, string>> = {
  PAUSED: 'REGISTRY_PAUSED',
  NOT_AUTHORIZED: 'NOT_AUTHORIZED',
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  CHAIN_UNREACHABLE: 'CHAIN_UNREACHABLE',
  TX_UNDERPRICED: 'TX_UNDERPRICED',
};

/** Thrown by the pre-check: the anchor would fail for a reason no retry fixes, so nothing is signed or sent. */
class AnchorBlocked extends Error {
  constructor(
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** Points of the state machine, in order; a crash test may stop the worker at any of them. */
export type AnchorStep = 'built' | 'broadcast-unrecorded' | 'broadcast' | 'mined' | 'confirmed';

const silent = { info() {}, warn() {}, error() {} };

/**
 * The anchoring worker (DESIGN §4): per organisation, take pending records, build the tree, persist
 * batch + its tree (once) + leaf positions + the SIGNED transaction in one DB transaction, then broadcast,
 * then confirm.
 *
 * State machine of a batch: signed → sent → anchored (mined) → confirmed, or failed (records released).
 * Every step is idempotent and driven only by what is stored, so after a crash at any point the next
 * tick resumes: a stored signed tx is rebroadcast (same hash: never a second anchor), a batch is never
 * rebuilt while one is unfinished, and acknowledged records stay in the table until anchored.
 *
 * A job of the {@link WorkerLoop} (src/service/worker-loop.ts), which runs {@link tick} and owns the timer, the
 * holder id and the drain; each organisation is worked on under its lease ({@link anchorLease}).
 */
export class AnchorService implements LoopJob {
  readonly name = 'anchor';
  /** The pass in progress ({@link holding} waits for it). */
  private running?: Promise<void>;
  /** Leases of a pass run on its own (`tick()` without the loop's: tests, tools). */
  private ownLeases?: Leases;
  private readonly log: Pick<Console, 'info' | 'warn' | 'error'>;
  private readonly opts: Required<Omit<AnchorOptions, 'log' | 'onStep' | 'ensureFunds'>> &
    Pick<AnchorOptions, 'onStep' | 'ensureFunds'>;
  /** Last error per org (for readiness and metrics): `CODE: detail` of {@link blocked}. */
  readonly lastError = new Map<string, string>();
  /** Why each organisation's anchoring is stuck, until a pass over it succeeds. */
  readonly blocked = new Map<string, AnchorBlock>();
  /** The last batch failures (reverted anchors), newest last. */
  readonly recentFailures: { orgId: string; batchId: string; root: string; reason: string; at: number }[] = [];
  /** Organisations whose last batch failed because someone else anchored its root first (see {@link build}). */
  private readonly takenRoots = new Set<string>();
  chainHealthy = true;
  /** `buildTxMs`: time spent in the transactions that stored new batches (tree, leaf positions, signed tx). */
  readonly stats = { batches: 0, leaves: 0, confirmed: 0, buildTxMs: 0 };
  private readonly reconciled = new Set<string>();
  /** Organisations the worker leaves alone for now (a key rotation in progress). */
  private readonly held = new Set<string>();
  /** Owns the accounts' transactions (nonces, outbox, broadcast, receipts, depth, gap repair). */
  readonly sender: TxSender;

  constructor(
    private readonly store: Store,
    private readonly chain: ChainPort,
    opts: AnchorOptions,
  ) {
    this.log = opts.log ?? silent;
    this.opts = {
      intervalMs: opts.intervalMs,
      maxLeaves: opts.maxLeaves,
      confirmations: opts.confirmations,
      rebroadcastMs: opts.rebroadcastMs ?? 5_000,
      leaseMs: opts.leaseMs ?? 30_000,
      tickMs: opts.tickMs ?? Math.min(250, opts.intervalMs),
      onStep: opts.onStep,
      ensureFunds: opts.ensureFunds,
    };
    this.sender = new TxSender(store, chain, { confirmations: opts.confirmations, log: this.log });
  }

  /**
   * Runs `fn` while the worker signs nothing for `orgId` (key rotation): waits for the tick in progress first, and
   * after `fn` for the tick that may have read the organisation before `fn` changed it.
   */
  async holding<T>(orgId: string, fn: () => Promise<T>): Promise<T> {
    this.held.add(orgId);
    try {
      await this.running;
      return await fn();
    } finally {
      await this.running;
      this.held.delete(orgId);
    }
  }

  get everyMs(): number {
    return this.opts.tickMs;
  }

  /** One pass over every organisation with a chain account, each under its lease (`leases`: the loop's). */
  tick(leases?: Leases): Promise<void> {
    const pass = this.pass(leases ?? (this.ownLeases ??= new Leases(this.store)));
    this.running = pass.catch(() => undefined);
    return pass;
  }

  private async pass(leases: Leases): Promise<void> {
    const [orgs, pending] = await this.store.read(
      async (r) => [await r.listOrgs(), await r.orgsWithPending()] as const,
    );
    const waiting = new Map(pending.map((p) => [p.orgId, p]));
    for (const org of orgs) {
      if (!org.address || this.held.has(org.id)) continue;
      const unfinished = await this.store.read((r) => r.unfinishedBatches(org.id));
      const w = waiting.get(org.id);
      if (!unfinished.length && !w && this.reconciled.has(org.id)) {
        this.unblock(org.id); // nothing left to anchor: nothing is blocked
        continue;
      }
      if (!(await leases.take(anchorLease(org.id), this.opts.leaseMs))) continue;
      try {
        await this.processOrg(org, w);
        this.unblock(org.id);
        this.chainHealthy = true;
      } catch (err) {
        const failure = this.chain.failureOf(err);
        if (failure?.code === 'CHAIN_UNREACHABLE') this.chainHealthy = false;
        this.block(org.id, err);
      }
    }
  }

  /** Why `orgId`'s pending records wait, or null when its anchoring is not stuck. */
  blockedOf(orgId: string): AnchorBlock | null {
    return this.blocked.get(orgId) ?? null;
  }

  /** Records why an organisation's pass failed; logs only when the reason (its code) changes, not every tick. */
  private block(orgId: string, err: unknown): void {
    const failure = this.chain.failureOf(err);
    const code =
      err instanceof AnchorBlocked
        ? err.code
        : failure
          ? (BLOCK_CODES[failure.code] ?? 'ANCHORING_FAILED')
          : 'ANCHORING_FAILED';
    const detail =
      err instanceof AnchorBlocked
        ? err.message
        : failure
          ? failure.code === code
            ? failure.message
            : `${failure.code}: ${failure.message}`
          : err instanceof Error
            ? err.message
            : String(err);
    const prev = this.blocked.get(orgId);
    this.blocked.set(orgId, { code, detail, since: prev?.code === code ? prev.since : new Date().toISOString() });
    this.lastError.set(orgId, `${code}: ${detail}`);
    if (prev?.code !== code) this.log.warn({ org: orgId, code, detail }, 'anchoring blocked for organisation');
  }

  private unblock(orgId: string): void {
    this.lastError.delete(orgId);
    const prev = this.blocked.get(orgId);
    if (!prev) return;
    this.blocked.delete(orgId);
    this.log.info({ org: orgId, was: prev.code }, 'anchoring resumed for organisation');
  }

  /** Throws {@link AnchorBlocked} when an anchor from `address` cannot succeed now (paused, no role, no funds). */
  private async precheck(address: string, a?: { root: string; prev: string; leafCount: number }): Promise<void> {
    const f = await this.chain.anchorPrecheck(address, a);
    if (f) throw new AnchorBlocked(BLOCK_CODES[f.code] ?? f.code, f.message);
  }

  private async processOrg(org: Org, waiting?: { count: number; oldest: number }): Promise<void> {
    const address = org.address!;
    if (!this.reconciled.has(org.id)) {
      await this.reconcile(org);
      this.reconciled.add(org.id);
    }
    // 1. Finish what is in flight, oldest first; at most one batch per org is unfinished.
    for (const b of await this.store.read((r) => r.unfinishedBatches(org.id))) {
      const done = await this.advance(b);
      if (!done) return;
    }
    // 2. Build a new batch when enough is waiting or the oldest waited long enough.
    if (!waiting) return;
    if (waiting.count < this.opts.maxLeaves && Date.now() - waiting.oldest < this.opts.intervalMs) return;
    await this.opts.ensureFunds?.(address);
    // Nothing is signed (no nonce used, no batch stored) while the anchor could not succeed anyway.
    await this.precheck(address);
    const b = await this.build(org, address);
    if (b) await this.advance(b);
  }

  private async build(org: Org, address: string): Promise<BatchInfo | null> {
    const pending = await this.store.read((r) => r.pendingCommitments(org.id, this.opts.maxLeaves));
    if (!pending.length) return null;
    // A signed record's leaf seals its signatures (receipt version 2); an unsigned one's is its commitment.
    const leafValues = pending.map((p) => leafValueOf(p.commitment, p.signatures ?? undefined));
    // Front-running: another member that copied this organisation's pending root and anchored it first made the
    // last batch fail. The same records would form the same root again, forever; one random leaf (it names no
    // record: a receipt never points at it) gives the rebuilt batch a root nobody has seen.
    if (this.takenRoots.has(org.id)) {
      leafValues.push('0x' + randomBytes(32).toString('hex'));
      this.takenRoots.delete(org.id);
    }
    const tree = await buildMerkleTree(leafValues);
    // The tree is stored once (all nodes, the random leaf included); each record gets only its leaf position.
    // A receipt's path is derived from the stored tree when it is read (DESIGN §4).
    const leaves = pending.map((p, i) => ({ id: p.id, leafIndex: tree.leafIndexOf(i) }));
    const chainNonce = await this.sender.chainNonce(address);
    const txStart = performance.now();
    const batch = await this.store.tx(async (r) => {
      const last = await r.lastBatch(org.id);
      const prevBatch = await this.lastLiveBatch(r, org.id);
      const id = randomUUID();
      const call = { root: tree.root, prev: prevBatch?.root ?? ZERO_HEX32, leafCount: tree.length };
      const now = Date.now();
      const signed = await this.sender.sign(r, this.intentOf(org.id, address, id, call), chainNonce, now);
      const txId = signed.id;
      const b: BatchInfo = {
        id,
        orgId: org.id,
        seq: (last?.seq ?? 0) + 1,
        root: tree.root,
        prev: prevBatch?.root ?? ZERO_HEX32,
        leafCount: tree.length,
        status: 'signed',
        txId,
        txHash: signed.txHash,
        blockNumber: null,
        blockHash: null,
        blockTimestamp: null,
        chainSeq: null,
        chainId: this.chain.chainId,
        registry: this.chain.registry,
        submitter: address,
        error: null,
        createdAt: now,
        updatedAt: now,
      };
      await r.insertBatch(b);
      await r.insertBatchTree(id, tree.nodes);
      await r.insertOutbox(signed);
      const assigned = await r.assignBatch(id, leaves);
      // Fencing: if another worker batched any of these records meanwhile, roll back (nothing signed escapes).
      if (assigned !== leaves.length)
        throw new Error(`batch raced: ${assigned}/${leaves.length} records still pending`);
      return b;
    });
    this.stats.buildTxMs += performance.now() - txStart;
    this.stats.batches++;
    this.stats.leaves += batch.leafCount;
    this.log.info(
      { org: org.id, batch: batch.id, root: batch.root, leaves: batch.leafCount, seq: batch.seq },
      'batch built and signed',
    );
    await this.opts.onStep?.('built', batch);
    return batch;
  }

  /** The last batch that is or will be on chain (its root is the next batch's `prev`). */
  private lastLiveBatch(r: Repo, orgId: string): Promise<BatchInfo | null> {
    return r.lastBatch(orgId, true);
  }

  /**
   * Once per organisation and process (and after a revert): batches the database holds as anchored
   * but the chain does not know (chain state lost, deep reorg) are signed again, oldest first, with
   * their stored `prev`, so the hash-linked chain on the registry is rebuilt without gaps. The organisation's
   * head on chain (`headOf(keccak256(orgId))`, whichever of its keys anchored it) being its last stored anchored
   * batch means nothing is missing: every earlier link was that head's `prev` chain.
   */
  private async reconcile(org: Org): Promise<void> {
    const batches = await this.store.read((r) => r.batchesOf(org.id));
    const lastAnchored = [...batches].reverse().find((b) => b.status === 'anchored' || b.status === 'confirmed');
    if (!lastAnchored) return;
    const head = await this.chain.headOf(orgHashOf(org.id));
    if (head.root.toLowerCase() === lastAnchored.root.toLowerCase()) return;
    const missing: BatchInfo[] = [];
    for (let i = batches.length - 1; i >= 0; i--) {
      const b = batches[i]!;
      if (b.status !== 'anchored' && b.status !== 'confirmed') continue;
      const a = await this.chain.anchorOf(b.root);
      if (a.timestamp !== 0) break;
      missing.unshift(b);
    }
    for (const b of missing) {
      this.log.warn({ org: org.id, batch: b.id, root: b.root }, 'batch missing on chain: anchoring it again');
      await this.resign(b, 'missing on chain', true);
    }
  }

  /** The anchor of batch `batchId` as an intent for the sender. */
  private intentOf(
    orgId: string,
    from: string,
    batchId: string,
    call: { root: string; prev: string; leafCount: number },
  ): TxIntent {
    return { kind: 'anchor', refId: batchId, orgId, from, build: (nonce) => this.chain.signAnchor(from, call, nonce) };
  }

  private async txOf(b: BatchInfo): Promise<OutboxTx> {
    return (await this.store.read((r) => r.getOutbox(b.txId!)))!;
  }

  /** Moves one batch forward as far as the chain allows now; true when it is confirmed or failed. */
  private async advance(b: BatchInfo): Promise<boolean> {
    for (;;) {
      switch (b.status) {
        case 'signed': {
          const tx = await this.txOf(b);
          // Paused or role revoked since signing: sending would only mine a reverted anchor (every tick).
          await this.precheck(b.submitter, { root: b.root, prev: b.prev, leafCount: b.leafCount });
          let sentAt = 0;
          const replaced = await this.sender.send(tx, {
            afterBroadcast: async () => this.opts.onStep?.('broadcast-unrecorded', b),
            alsoIn: async (r, now) => {
              sentAt = now;
              await r.updateBatch(b.id, { status: 'sent', updatedAt: now });
            },
          });
          if (replaced) {
            b = await this.onReplaced(b, replaced);
            continue;
          }
          b = { ...b, status: 'sent', updatedAt: sentAt };
          await this.opts.onStep?.('broadcast', b);
          continue;
        }
        case 'sent': {
          // Not mined after `rebroadcastMs` (the row's clock; a reorg sets it to 0): sent again, or — after a chain
          // state loss — the lost anchors and the open transactions are signed again in order (the next tick
          // resumes with the oldest batch).
          const o = await this.sender.poll(await this.txOf(b), {
            rebroadcastMs: this.opts.rebroadcastMs,
            onGap: (r, chainNonce, now) => this.lostInGap(r, b.orgId, chainNonce, now),
          });
          if (o.kind === 'pending') return false;
          if (o.kind === 'replaced') {
            b = await this.onReplaced(b, o);
            if (b.status !== 'sent') continue;
            return false;
          }
          if (o.kind === 'reverted') {
            b = await this.onReverted(b, o);
            if (b.status === 'failed') return true;
            continue;
          }
          if (o.kind === 'dropped') return false; // a sent row is never `dropped`
          const anchor = await this.chain.anchorOf(b.root);
          if (anchor.timestamp === 0) return false; // node lags behind its own receipt: next tick
          b = await this.markAnchored(b, o.receipt.blockNumber, o.receipt.blockHash, anchor.timestamp, anchor.seq);
          await this.opts.onStep?.('mined', b);
          continue;
        }
        case 'anchored': {
          // Reorg check: the anchoring block must still be canonical once deep enough.
          const d = await this.sender.depth(b.blockNumber!, b.blockHash!);
          if (d.confirmations < this.opts.confirmations) return false;
          if (!d.canonical) {
            this.log.warn(
              { batch: b.id, block: b.blockNumber },
              'anchoring block reorged away; re-checking the transaction',
            );
            b = await this.unmined(b);
            continue;
          }
          const now = Date.now();
          // Its records read as confirmed from now on (a record's status is its batch's: recordStatusOf).
          await this.store.tx((r) => r.updateBatch(b.id, { status: 'confirmed', updatedAt: now }));
          b = { ...b, status: 'confirmed' };
          this.stats.confirmed++;
          await this.opts.onStep?.('confirmed', b);
          return true;
        }
        default:
          return true;
      }
    }
  }

  /** The anchoring block was reorged away: the batch goes back to `sent` (its records to pending), due at once. */
  private async unmined(b: BatchInfo): Promise<BatchInfo> {
    // updatedAt 0: due for a rebroadcast at once if the transaction is no longer known.
    const unmined = {
      status: 'sent' as const,
      blockNumber: null,
      blockHash: null,
      blockTimestamp: null,
      chainSeq: null,
      updatedAt: 0,
    };
    const tx = await this.txOf(b);
    await this.store.tx(async (r) => {
      await r.updateBatch(b.id, unmined);
      if (tx.status === 'mined') await this.sender.record(r, { kind: 'dropped', tx });
    });
    return { ...b, ...unmined };
  }

  private async markAnchored(
    b: BatchInfo,
    blockNumber: number,
    blockHash: string,
    timestamp: number,
    chainSeq: number,
  ) {
    const now = Date.now();
    const patch = {
      status: 'anchored' as const,
      blockNumber,
      blockHash: blockHash.toLowerCase(),
      blockTimestamp: timestamp,
      chainSeq,
      updatedAt: now,
    };
    const tx = await this.txOf(b);
    await this.store.tx(async (r) => {
      await r.updateBatch(b.id, patch);
      const receipt = { status: 1 as const, blockNumber, blockHash };
      await this.sender.record(r, { kind: 'mined', tx, receipt, confirmations: 1, final: false }, now);
    });
    this.log.info({ org: b.orgId, batch: b.id, block: blockNumber, seq: chainSeq }, 'batch anchored');
    return { ...b, ...patch };
  }

  /**
   * The node says the transaction's nonce is used: ours is gone for good. If the root is on chain anyway (an earlier
   * attempt), adopt that anchor; otherwise sign again with a fresh nonce.
   */
  private async onReplaced(b: BatchInfo, o: TxOutcome): Promise<BatchInfo> {
    await this.store.tx((r) => this.sender.record(r, o));
    const adopted = await this.adoptExisting(b);
    if (adopted) return adopted;
    return this.resign(b, 'nonce used by another transaction');
  }

  /** If `b.root` is already anchored by us (e.g. a previous attempt), record that anchor. */
  private async adoptExisting(b: BatchInfo): Promise<BatchInfo | null> {
    const ev = await this.chain.findAnchored(b.root);
    if (!ev) {
      // The node's state holds the anchor but not its log (a dev chain restored from a state dump keeps
      // state, not history): adopt it from the registry's record, or the records would be released and
      // re-batched into the same root forever. The receipt keeps this batch's stored transaction hash.
      const a = await this.chain.anchorOf(b.root);
      if (a.timestamp === 0 || a.org.toLowerCase() !== orgHashOf(b.orgId)) return null;
      const blockHash = await this.chain.blockHashAt(a.blockNumber);
      if (!blockHash) return null;
      return this.markAnchored(b, a.blockNumber, blockHash, a.timestamp, a.seq);
    }
    // Ours when it was anchored for this organisation (by whichever of its keys: a rotation keeps it ours).
    if (ev.org.toLowerCase() !== orgHashOf(b.orgId)) return null;
    const anchor = await this.chain.anchorOf(b.root);
    const now = Date.now();
    await this.store.tx((r) => r.updateBatch(b.id, { txHash: ev.transactionHash, updatedAt: now }));
    return this.markAnchored(
      { ...b, txHash: ev.transactionHash },
      ev.blockNumber,
      ev.blockHash,
      anchor.timestamp,
      ev.seq,
    );
  }

  /**
   * Signs the batch's anchor again with a fresh nonce, in one transaction with the batch's new state.
   * `unanchor`: the batch was recorded as anchored but the chain lost it; its records go back to pending.
   */
  private async resign(b: BatchInfo, why: string, unanchor = false): Promise<BatchInfo> {
    const chainNonce = await this.sender.chainNonce(b.submitter);
    const out = await this.store.tx((r) => this.signAgainIn(r, b, chainNonce, why, unanchor, Date.now()));
    this.log.warn({ batch: b.id, why }, 'anchor transaction signed again');
    return out;
  }

  /** {@link resign} inside the caller's transaction. */
  private async signAgainIn(
    r: Repo,
    b: BatchInfo,
    chainNonce: number,
    why: string,
    unanchor: boolean,
    now: number,
  ): Promise<BatchInfo> {
    const old = b.txId ? await r.getOutbox(b.txId) : null;
    const call = { root: b.root, prev: b.prev, leafCount: b.leafCount };
    const next = await this.sender.resign(
      r,
      old,
      this.intentOf(b.orgId, b.submitter, b.id, call),
      chainNonce,
      why,
      now,
    );
    const patch = { status: 'signed' as const, txId: next.id, txHash: next.txHash, updatedAt: now };
    const cleared = unanchor ? { blockNumber: null, blockHash: null, blockTimestamp: null, chainSeq: null } : {};
    // `signed`: an unanchored batch's records read as pending again (recordStatusOf).
    await r.updateBatch(b.id, { ...patch, ...cleared });
    return { ...b, ...patch, ...cleared };
  }

  /**
   * Nonce-gap repair, the anchoring part (inside the sender's repair, before it signs the account's other open
   * transactions again, claims included): every batch of the organisation the chain does not have — lost
   * anchored/confirmed ones, back to pending, then the in-flight ones — is signed again in seq order (each names
   * the previous root) with consecutive nonces from the chain's.
   */
  private async lostInGap(r: Repo, orgId: string, chainNonce: number, now: number): Promise<void> {
    const batches = await r.batchesOf(orgId);
    const todo: { batch: BatchInfo; unanchor: boolean }[] = [];
    for (let i = batches.length - 1; i >= 0; i--) {
      const x = batches[i]!;
      if (x.status === 'failed') continue;
      if (x.status === 'signed' || x.status === 'sent') {
        todo.unshift({ batch: x, unanchor: false });
        continue;
      }
      if ((await this.chain.anchorOf(x.root)).timestamp !== 0) break;
      todo.unshift({ batch: x, unanchor: true });
    }
    this.log.warn(
      { org: orgId, chainNonce, batches: todo.map((t) => t.batch.seq) },
      'nonce gap: the chain lost earlier transactions; signing the missing anchors again in order',
    );
    for (const t of todo) await this.signAgainIn(r, t.batch, chainNonce, 'nonce gap', t.unanchor, now);
  }

  /** The anchor transaction was mined but reverted. */
  private async onReverted(b: BatchInfo, o: Extract<TxOutcome, { kind: 'reverted' }>): Promise<BatchInfo> {
    const reason = o.reason;
    if (reason?.code === 'ROOT_ALREADY_ANCHORED') {
      const adopted = await this.adoptExisting(b);
      if (adopted) return adopted;
    }
    // Anything else (wrong prev after a lost batch, paused registry, missing role): fail the batch
    // and release its records; they go into the next batch with the chain's view of `prev`.
    // The batch row goes (it never reached the chain, and the same records may form the same root
    // again); the outbox row keeps the failed transaction and its reason for the audit trail.
    const why = reason ? `${reason.code}: ${reason.message}` : 'reverted';
    this.log.error({ batch: b.id, why }, 'anchor transaction reverted; batch failed, records released');
    const now = Date.now();
    await this.store.tx(async (r) => {
      await this.sender.record(r, o, now, `batch ${b.id} (root ${b.root}) failed: ${why}`);
      await r.releaseBatchRecords(b.id);
      await r.deleteBatch(b.id);
    });
    this.recentFailures.push({ orgId: b.orgId, batchId: b.id, root: b.root, reason: why, at: now });
    if (reason?.code === 'ROOT_ALREADY_ANCHORED') this.takenRoots.add(b.orgId);
    if (this.recentFailures.length > 20) this.recentFailures.shift();
    this.reconciled.delete(b.orgId);
    return { ...b, status: 'failed', error: why };
  }
}
