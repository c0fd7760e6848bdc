import { randomUUID } from 'node:crypto';
import type { ChainFailure, ChainPort, SignedChainTx, TxReceipt } from './chain-port';
import type { OutboxTx, Repo, Store } from './ports';

/**
 * The transaction sender: the one owner of each chain account's transactions. The anchoring worker and the claims
 * use case send from the same organisation account, so nonces, outbox rows, signing, broadcast, rebroadcast,
 * replacement, receipts with their confirmation depth (and the canonical-block check) and nonce-gap repair live
 * here, once. The use cases hand it intents and react to typed outcomes ({@link TxOutcome}).
 *
 * Crash guarantees (every step is driven by what is stored, so any process on the same database resumes it):
 * - a transaction is signed and its row stored (raw and hash) in the caller's database transaction, BEFORE it is
 *   broadcast: a crash after the broadcast rebroadcasts the same raw transaction (same hash), never a second one;
 * - nonces come from the account row, locked first (PostgreSQL `FOR UPDATE`; SQLite serializes writers);
 * - outcomes are written with the use case's own state in one database transaction ({@link TxSender.record}).
 */

export type TxKind = OutboxTx['kind'];

/** What a use case wants sent: `build(nonce)` signs it with the nonce the sender allocated. */
export interface TxIntent {
  kind: TxKind;
  /** The batch id (anchor) or the claim commitment (consume, release, settle). */
  refId: string;
  orgId: string;
  /** The sending account. */
  from: string;
  build(nonce: number): Promise<SignedChainTx>;
}

/**
 * Where a transaction stands on chain:
 * - `pending`: not mined (broadcast, or rebroadcast when due); `repaired`: a nonce gap was repaired, every open
 *   transaction of the account was signed again (the use case re-reads its state);
 * - `mined`: in a block with status 1; `final` once it has `confirmations` blocks (its own included) AND that
 *   block is still the canonical one at its height;
 * - `reverted`: mined with status 0, with the decoded reason;
 * - `replaced`: its nonce was used by another transaction (NONCE_TOO_LOW on rebroadcast): it can never be mined;
 * - `dropped`: it was seen mined and a reorg took it away (no receipt any more): {@link TxSender.record} puts the
 *   row back to `sent`, due for a rebroadcast at once (same raw transaction, same nonce).
 */
export type TxOutcome =
  | { kind: 'pending'; tx: OutboxTx; repaired?: boolean }
  | { kind: 'mined'; tx: OutboxTx; receipt: TxReceipt; confirmations: number; final: boolean }
  | { kind: 'reverted'; tx: OutboxTx; receipt: TxReceipt; reason: ChainFailure | null }
  | { kind: 'replaced'; tx: OutboxTx }
  | { kind: 'dropped'; tx: OutboxTx };

/**
 * How a transaction of one kind is signed again from what is stored (nonce-gap repair re-signs every open
 * transaction of the account, whichever use case it belongs to), and how its owner is pointed at the new row.
 */
export interface TxKindHandler {
  /** The intent behind an open row; null: nothing to send any more (the row is just replaced). */
  intentOf(r: Repo, chain: ChainPort, tx: OutboxTx): Promise<TxIntent | null>;
  /** Points the owning batch or claim at the row that replaces `old`. */
  relink(r: Repo, old: OutboxTx, next: OutboxTx, now: number): Promise<void>;
}

/** Kinds of the claims use case: the claim is found by its commitment (`refId`). */
function claimHandler(
  kind: 'consume' | 'release' | 'settle',
  field: 'consumeTxId' | 'releaseTxId' | 'settleTxId',
  status: 'signed' | 'releasing' | 'settling',
): TxKindHandler {
  return {
    async intentOf(r, chain, tx) {
      const claim = await r.getClaimByCommitment(tx.refId);
      if (!claim || claim.status !== status || claim[field] !== tx.id) return null;
      const build =
        kind === 'consume'
          ? (n: number) => chain.signConsume(tx.address, claim.invoiceKeys, claim.commitment, n)
          : kind === 'release'
            ? (n: number) => chain.signRelease(tx.address, claim.commitment, n)
            : (n: number) => chain.signSettle(tx.address, claim.commitment, n);
      return { kind, refId: tx.refId, orgId: tx.orgId, from: tx.address, build };
    },
    async relink(r, old, next, now) {
      const claim = await r.getClaimByCommitment(old.refId);
      if (claim) await r.updateClaim(claim.id, { [field]: next.id, updatedAt: now }, [status]);
    },
  };
}

/** The four kinds of this service (every sender knows them all: gap repair spans the account). */
export const TX_KINDS: Record<TxKind, TxKindHandler> = {
  anchor: {
    async intentOf(r, chain, tx) {
      const b = await r.getBatch(tx.refId);
      if (!b || (b.status !== 'signed' && b.status !== 'sent') || b.txId !== tx.id) return null;
      const call = { root: b.root, prev: b.prev, leafCount: b.leafCount };
      return {
        kind: 'anchor',
        refId: b.id,
        orgId: b.orgId,
        from: tx.address,
        build: (n) => chain.signAnchor(tx.address, call, n),
      };
    },
    async relink(r, old, next, now) {
      await r.updateBatch(old.refId, { status: 'signed', txId: next.id, txHash: next.txHash, updatedAt: now });
    },
  },
  consume: claimHandler('consume', 'consumeTxId', 'signed'),
  release: claimHandler('release', 'releaseTxId', 'releasing'),
  settle: claimHandler('settle', 'settleTxId', 'settling'),
};

export interface TxSenderOptions {
  /** Blocks (the transaction's own included) before a mined transaction is final. */
  confirmations: number;
  log?: Pick<Console, 'info' | 'warn' | 'error'>;
}

const silent = { info() {}, warn() {}, error() {} };

export class TxSender {
  private readonly log: Pick<Console, 'info' | 'warn' | 'error'>;

  constructor(
    private readonly store: Store,
    private readonly chain: ChainPort,
    private readonly opts: TxSenderOptions,
  ) {
    this.log = opts.log ?? silent;
  }

  get confirmations(): number {
    return this.opts.confirmations;
  }

  /** The account's pending nonce on chain: read before the database transaction that allocates (see {@link sign}). */
  chainNonce(address: string): Promise<number> {
    return this.chain.pendingNonce(address);
  }

  /**
   * Allocates the account's next nonce inside the caller's transaction: the account row is locked first, and with
   * nothing of ours in flight the chain's pending nonce is the truth (it may have moved on: deployments, grants).
   */
  async allocateNonce(r: Repo, orgId: string, address: string, chainNonce: number): Promise<number> {
    await r.ensureAccount(address, orgId, chainNonce);
    await r.lockAccount(address);
    const stored = await r.getAccountNonce(address);
    const open = await r.openOutbox(address);
    if (!open.length && stored !== chainNonce) await r.setAccountNonce(address, chainNonce);
    return r.allocateNonce(address);
  }

  /**
   * Allocates a nonce and signs `intent` with it, inside the caller's transaction; the row is not stored yet.
   * `guard` runs once the account is locked and the nonce allocated, before signing: the use case's compare-and-set
   * (lock order account → its own row), so a caller that lost a race rolls back before it signs a duplicate.
   */
  async sign(
    r: Repo,
    intent: TxIntent,
    chainNonce: number,
    now = Date.now(),
    id: string = randomUUID(),
    guard?: () => Promise<void>,
  ) {
    const nonce = await this.allocateNonce(r, intent.orgId, intent.from, chainNonce);
    if (guard) await guard();
    return outboxRow(intent, await intent.build(nonce), now, id);
  }

  /** {@link sign} and store the row (status `signed`) in the caller's transaction: stored before any broadcast. */
  async enqueue(
    r: Repo,
    intent: TxIntent,
    chainNonce: number,
    now = Date.now(),
    id?: string,
    guard?: () => Promise<void>,
  ): Promise<OutboxTx> {
    const tx = await this.sign(r, intent, chainNonce, now, id, guard);
    await r.insertOutbox(tx);
    return tx;
  }

  /**
   * Signs `intent` again with a fresh nonce in the caller's transaction; `old` (if any) becomes `replaced` with
   * `why`. Same nonce and same call sign to the same hash (deterministic signatures), so when an earlier row of
   * this account already is that transaction, that row is sent again instead of a duplicate.
   */
  async resign(r: Repo, old: OutboxTx | null, intent: TxIntent, chainNonce: number, why: string, now = Date.now()) {
    if (old) await r.updateOutbox(old.id, { status: 'replaced', error: why, updatedAt: now });
    const nonce = await this.allocateNonce(r, intent.orgId, intent.from, chainNonce);
    const signed = await intent.build(nonce);
    const existing = await r.getOutboxByHash(signed.hash);
    if (existing) {
      const patch = { status: 'signed' as const, error: null, blockNumber: null, blockHash: null, updatedAt: now };
      await r.updateOutbox(existing.id, patch);
      return { ...existing, ...patch };
    }
    const tx = outboxRow(intent, signed, now, randomUUID());
    await r.insertOutbox(tx);
    return tx;
  }

  /**
   * Broadcasts a stored row (idempotent: the same raw transaction) and marks it `sent`; `afterBroadcast` runs between
   * the broadcast and that write (a crash test stops there), `alsoIn` writes the use case's state in the same
   * transaction. Returns `replaced` when the node says the nonce is used, null when sent.
   */
  async send(
    tx: OutboxTx,
    hooks: { afterBroadcast?: () => Promise<void>; alsoIn?: (r: Repo, now: number) => Promise<void> } = {},
  ): Promise<TxOutcome | null> {
    try {
      await this.chain.broadcast(tx.raw);
    } catch (err) {
      if (this.chain.failureOf(err)?.code === 'NONCE_TOO_LOW') return { kind: 'replaced', tx };
      throw err;
    }
    await hooks.afterBroadcast?.();
    const now = Date.now();
    await this.store.tx(async (r) => {
      await r.updateOutbox(tx.id, { status: 'sent', updatedAt: now }, ['signed', 'sent']);
      await hooks.alsoIn?.(r, now);
    });
    return null;
  }

  /**
   * Where `tx` stands now. A signed row is broadcast; a sent one without a receipt is rebroadcast once it waited
   * `rebroadcastMs` — unless the account has a nonce gap (the chain lost earlier transactions), which is repaired
   * first ({@link repairGap}; `onGap` re-signs what the caller's use case lost besides the open rows).
   */
  async poll(
    tx: OutboxTx,
    opts: { rebroadcastMs: number; onGap?: (r: Repo, chainNonce: number, now: number) => Promise<void> },
  ): Promise<TxOutcome> {
    const receipt = await this.chain.receipt(tx.txHash);
    if (!receipt) {
      // Seen mined, now unknown: a reorg took its block (the row still says where it was).
      if (tx.status === 'mined') return { kind: 'dropped', tx };
      if (tx.status === 'signed') return (await this.send(tx)) ?? { kind: 'pending', tx: { ...tx, status: 'sent' } };
      if (tx.status === 'sent' && Date.now() - tx.updatedAt > opts.rebroadcastMs) {
        if (await this.repairGap(tx.address, opts.onGap)) return { kind: 'pending', tx, repaired: true };
        const replaced = await this.send(tx);
        if (replaced) return replaced;
      }
      return { kind: 'pending', tx };
    }
    if (receipt.status === 0)
      return { kind: 'reverted', tx, receipt, reason: await this.chain.revertReason(tx.txHash) };
    const depth = await this.depth(receipt.blockNumber, receipt.blockHash);
    return { kind: 'mined', tx, receipt, confirmations: depth.confirmations, final: depth.final };
  }

  /**
   * Confirmation depth of a block: its confirmations (head − block + 1) and whether it is final — deep enough AND
   * still the canonical block at its height (a reorg replaced it otherwise).
   */
  async depth(
    blockNumber: number,
    blockHash: string,
  ): Promise<{ confirmations: number; final: boolean; canonical: boolean }> {
    const head = await this.chain.blockNumber();
    const confirmations = Math.max(0, head - blockNumber + 1);
    const hash = await this.chain.blockHashAt(blockNumber);
    const canonical = hash?.toLowerCase() === blockHash.toLowerCase();
    return { confirmations, canonical, final: canonical && confirmations >= this.opts.confirmations };
  }

  /**
   * Writes an outcome on the row, in the caller's transaction (with the use case's own state); `note` replaces the
   * stored error text of a revert or replacement.
   */
  async record(r: Repo, o: TxOutcome, now = Date.now(), note?: string): Promise<OutboxTx> {
    let patch: Partial<OutboxTx>;
    switch (o.kind) {
      case 'pending':
        return o.tx;
      case 'mined':
        patch = { status: 'mined', blockNumber: o.receipt.blockNumber, blockHash: o.receipt.blockHash.toLowerCase() };
        break;
      case 'reverted':
        patch = {
          status: 'failed',
          error: o.reason ? `${o.reason.code}: ${o.reason.message}` : 'reverted',
          blockNumber: o.receipt.blockNumber,
          blockHash: o.receipt.blockHash.toLowerCase(),
        };
        break;
      case 'replaced':
        patch = { status: 'replaced', error: 'nonce used by another transaction' };
        break;
      case 'dropped':
        // updatedAt 0: due for a rebroadcast at once.
        patch = { status: 'sent', blockNumber: null, blockHash: null };
        await r.updateOutbox(o.tx.id, { ...patch, updatedAt: 0 });
        return { ...o.tx, ...patch, updatedAt: 0 };
    }
    if (note !== undefined && patch.status !== 'mined') patch.error = note;
    await r.updateOutbox(o.tx.id, { ...patch, updatedAt: now });
    return { ...o.tx, ...patch, updatedAt: now };
  }

  /**
   * Nonce-gap repair. None of the account's open transactions has the chain's next nonce: the chain lost
   * transactions we had seen mined (a node restored from an older state, a chain reset), so ours wait forever
   * behind the gap. In one database transaction, every open row at or above the chain's nonce is replaced, `onGap`
   * signs again what the caller's use case needs in its own order (the anchoring worker: lost and in-flight batches
   * in seq order, since each names the previous root), then every row still not signed again is, in nonce order —
   * whichever use case it belongs to (anchor, consume, release, settle: {@link TX_KINDS}) — with consecutive nonces
   * from the chain's. Returns false (nothing done) when there is no gap.
   */
  async repairGap(
    address: string,
    onGap?: (r: Repo, chainNonce: number, now: number) => Promise<void>,
  ): Promise<boolean> {
    const open = await this.store.read((r) => r.openOutbox(address));
    if (!open.length) return false;
    const chainNonce = await this.chain.pendingNonce(address);
    // Open rows below the chain's nonce were mined (or lost their nonce to another transaction): their owners
    // learn it from their receipts. A gap: the rows at or above it do not hold consecutive nonces from it.
    const ahead = open.filter((t) => t.nonce >= chainNonce);
    if (ahead.every((t, i) => t.nonce === chainNonce + i)) return false;
    this.log.warn(
      { address, chainNonce, open: ahead.map((t) => `${t.kind}:${t.nonce}`) },
      'nonce gap: the chain lost earlier transactions; signing the open ones again in order',
    );
    await this.store.tx(async (r) => {
      const now = Date.now();
      for (const t of ahead) await r.updateOutbox(t.id, { status: 'replaced', error: 'nonce gap', updatedAt: now });
      // Allocation restarts at the chain's nonce.
      await r.lockAccount(address);
      await r.setAccountNonce(address, chainNonce);
      await onGap?.(r, chainNonce, now);
      // What `onGap` did not sign again (its owner no longer points at the row), in nonce order (Repo.openOutbox).
      for (const t of ahead) {
        // Signed again by `onGap` into this very row (same nonce and call: same hash)?
        if ((await r.getOutbox(t.id))?.status !== 'replaced') continue;
        const intent = await TX_KINDS[t.kind].intentOf(r, this.chain, t);
        if (!intent) continue;
        const next = await this.resign(r, null, intent, chainNonce, 'nonce gap', now);
        await TX_KINDS[t.kind].relink(r, t, next, now);
      }
    });
    return true;
  }
}

function outboxRow(intent: TxIntent, signed: SignedChainTx, now: number, id: string): OutboxTx {
  return {
    id,
    orgId: intent.orgId,
    address: intent.from,
    nonce: signed.nonce,
    kind: intent.kind,
    refId: intent.refId,
    raw: signed.raw,
    txHash: signed.hash,
    status: 'signed',
    blockNumber: null,
    blockHash: null,
    error: null,
    createdAt: now,
    updatedAt: now,
  };
}
