import type { AnchorRecord, AnchorRef, AnchorTransaction, RootSource } from './root-source';

export interface CachingRootSourceOptions {
  /** How long a positive answer is reused (default 10 s). */
  ttlMs?: number;
  /** Most entries kept per kind (default 10,000; the oldest go first). */
  maxEntries?: number;
}

/**
 * Reuses recent POSITIVE answers of another {@link RootSource} (an anchored root, a successful
 * anchoring transaction) for a short time, so a busy verification endpoint does not read the same
 * anchor from the chain for every request. "Not anchored" and failures are never cached, so a root
 * anchored a moment ago is seen at once. A reorg deeper than the anchor's confirmations could leave a
 * cached answer stale for at most `ttlMs`; an auditor who wants none uses the chain directly.
 */
export class CachingRootSource implements RootSource {
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly anchors = new Map<string, { at: number; value: AnchorRecord }>();
  private readonly txs = new Map<string, { at: number; value: AnchorTransaction }>();
  readonly getAnchorTransaction?: RootSource['getAnchorTransaction'];

  constructor(
    private readonly inner: RootSource,
    opts: CachingRootSourceOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.max = opts.maxEntries ?? 10_000;
    if (inner.getAnchorTransaction) {
      const read = inner.getAnchorTransaction.bind(inner);
      this.getAnchorTransaction = (ref) =>
        this.cached(
          this.txs,
          `${ref.chainId}:${ref.registry.toLowerCase()}:${ref.txHash}`,
          () => read(ref),
          (t) => t.status === 1,
        );
    }
  }

  getAnchor(ref: AnchorRef): Promise<AnchorRecord | null> {
    return this.cached(
      this.anchors,
      `${ref.chainId}:${ref.registry.toLowerCase()}:${ref.root.toLowerCase()}`,
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
    const value = await read();
    if (value !== null && keep(value)) {
      map.delete(key);
      map.set(key, { at: now, value });
      if (map.size > this.max) map.delete(map.keys().next().value as string);
    } else map.delete(key);
    return value;
  }
}
