import type { AnchorRecord, AnchorRef, AnchorTransaction, MemberKey, RootSource } from './root-source';

export interface CachingRootSourceOptions {
  /** How long a positive answer is reused (default 10 s). */
  ttlMs?: number;
  /** Most entries kept per kind (default 10,000; the oldest go first). */
  maxEntries?: number;
  /** Most reads of the inner source in flight at once (default 16); identical reads in flight are shared. */
  maxInFlight?: number;
  /** Most reads waiting for one of those slots (default 256); beyond, a read fails at once with {@link RootSourceBusyError}. */
  maxQueued?: number;
}

/** Too many uncached reads at once: the caller should answer "busy, retry" rather than read the chain. */
export class RootSourceBusyError extends Error {
  override name = 'RootSourceBusyError';
  readonly code = 'ROOT_SOURCE_BUSY';
  constructor() {
    super('ROOT_SOURCE_BUSY: too many chain reads in flight, retry shortly');
  }
}

/**
 * Reuses recent POSITIVE answers of another {@link RootSource} (an anchored root, a successful
 * anchoring transaction) for a short time, so a busy verification endpoint does not read the same
 * anchor from the chain for every request. "Not anchored" and failures are never cached, so a root
 * anchored a moment ago is seen at once. A reorg deeper than the anchor's confirmations could leave a
 * cached answer stale for at most `ttlMs`; an auditor who wants none uses the chain directly.
 *
 * Uncached reads are bounded, since anyone may ask about any root or transaction: identical reads in flight are
 * shared, at most `maxInFlight` run at once, at most `maxQueued` wait, and any beyond fail at once with
 * {@link RootSourceBusyError} (the chain node never sees more than `maxInFlight` reads from here).
 */
export class CachingRootSource implements RootSource {
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly anchors = new Map<string, { at: number; value: AnchorRecord }>();
  private readonly txs = new Map<string, { at: number; value: AnchorTransaction }>();
  private readonly keys = new Map<string, { at: number; value: MemberKey }>();
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  readonly getAnchorTransaction?: RootSource['getAnchorTransaction'];
  readonly getMemberKey?: RootSource['getMemberKey'];

  constructor(
    private readonly inner: RootSource,
    opts: CachingRootSourceOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.max = opts.maxEntries ?? 10_000;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 16);
    this.maxQueued = Math.max(0, opts.maxQueued ?? 256);
    if (inner.getAnchorTransaction) {
      const read = inner.getAnchorTransaction.bind(inner);
      this.getAnchorTransaction = (ref) =>
        this.cached(
          this.txs,
          `tx:${ref.chainId}:${ref.registry.toLowerCase()}:${String(ref.txHash).toLowerCase()}`,
          () => read(ref),
          (t) => t.status === 1,
        );
    }
    if (inner.getMemberKey) {
      const read = inner.getMemberKey.bind(inner);
      // A bound key's org, kind and `since` never change; `until` may be set later, which is why a key is reused
      // for `ttlMs` only, like an anchor. An unbound account (since 0) is not cached: it may be added any time.
      this.getMemberKey = async (ref) =>
        (await this.cached(
          this.keys,
          `key:${ref.chainId}:${ref.registry.toLowerCase()}:${ref.account.toLowerCase()}`,
          () => read(ref),
          (k) => k.since !== 0,
        ))!;
    }
  }

  getAnchor(ref: AnchorRef): Promise<AnchorRecord | null> {
    return this.cached(
      this.anchors,
      `root:${ref.chainId}:${ref.registry.toLowerCase()}:${ref.root.toLowerCase()}`,
      () => this.inner.getAnchor(ref),
      (a) => a.timestamp !== 0,
    );
  }

  private async cached<T>(
    map: Map<string, { at: number; value: T }>,
    key: string,
    read: () => Promise<T | null>,
    keep: (v: T) => boolean,
  ): Promise<T | null> {
    const now = Date.now();
    const hit = map.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    let pending = this.inFlight.get(key) as Promise<T | null> | undefined;
    if (!pending) {
      pending = this.bounded(read).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const value = await pending;
    if (value !== null && keep(value)) {
      map.delete(key);
      map.set(key, { at: now, value });
      if (map.size > this.max) map.delete(map.keys().next().value as string);
    } else map.delete(key);
    return value;
  }

  /** Runs `read` in one of `maxInFlight` slots, waiting in a queue of at most `maxQueued`. */
  private async bounded<T>(read: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxInFlight) {
      if (this.waiting.length >= this.maxQueued) throw new RootSourceBusyError();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.active++;
    try {
      return await read();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
