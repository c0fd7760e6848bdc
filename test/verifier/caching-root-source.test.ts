import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CachingRootSource, MemoryRootSource, type AnchorRef, type RootSource } from '../../src/verifier';

const REGISTRY = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const ref = (n: number): AnchorRef => ({
  chainId: 31337,
  registry: REGISTRY,
  root: `0x${n.toString(16).padStart(64, '0')}`,
});
const anchor = {
  timestamp: 1_764_000_000,
  blockNumber: 12,
  submitter: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  seq: 1,
  prev: `0x${'0'.repeat(64)}`,
  leafCount: 3,
};

/** Counts the reads that reach the underlying source. */
function counted(inner: MemoryRootSource): RootSource & { reads: number } {
  const src = {
    reads: 0,
    async getAnchor(r: AnchorRef) {
      src.reads++;
      return inner.getAnchor(r);
    },
  };
  return src;
}

describe('CachingRootSource', () => {
  it('reads an anchored root once within the TTL', async () => {
    const mem = new MemoryRootSource().set(ref(1), anchor);
    const inner = counted(mem);
    const cache = new CachingRootSource(inner, { ttlMs: 60_000 });
    for (let i = 0; i < 5; i++) assert.deepEqual(await cache.getAnchor(ref(1)), anchor);
    assert.equal(inner.reads, 1);
    // registry address case does not split the cache
    await cache.getAnchor({ ...ref(1), registry: REGISTRY.toLowerCase() });
    assert.equal(inner.reads, 1);
  });

  it('never caches "not anchored": a root anchored a moment later is seen at once', async () => {
    const mem = new MemoryRootSource();
    const inner = counted(mem);
    const cache = new CachingRootSource(inner, { ttlMs: 60_000 });
    assert.equal(await cache.getAnchor(ref(2)), null);
    mem.set(ref(2), anchor);
    assert.deepEqual(await cache.getAnchor(ref(2)), anchor);
    assert.equal(inner.reads, 2);
  });

  it('reads again after the TTL, and keeps at most maxEntries', async () => {
    const mem = new MemoryRootSource();
    for (let n = 1; n <= 3; n++) mem.set(ref(n), anchor);
    const inner = counted(mem);
    const cache = new CachingRootSource(inner, { ttlMs: 30, maxEntries: 2 });
    await cache.getAnchor(ref(1));
    await new Promise((r) => setTimeout(r, 40));
    await cache.getAnchor(ref(1));
    assert.equal(inner.reads, 2, 'expired entry read again');
    await cache.getAnchor(ref(2));
    await cache.getAnchor(ref(3)); // evicts ref(1), the oldest
    await cache.getAnchor(ref(1));
    assert.equal(inner.reads, 5);
  });

  it('passes failures through without caching them', async () => {
    let fail = true;
    const cache = new CachingRootSource({
      async getAnchor() {
        if (fail) throw new Error('ROOT_SOURCE_UNAVAILABLE');
        return anchor;
      },
    });
    await assert.rejects(cache.getAnchor(ref(4)), /ROOT_SOURCE_UNAVAILABLE/);
    fail = false;
    assert.deepEqual(await cache.getAnchor(ref(4)), anchor);
  });

  it('offers getAnchorTransaction only when the inner source does', () => {
    assert.equal(
      new CachingRootSource(new MemoryRootSource()).getAnchorTransaction !== undefined,
      new MemoryRootSource().getAnchorTransaction !== undefined,
    );
    assert.equal(new CachingRootSource({ getAnchor: async () => null }).getAnchorTransaction, undefined);
  });
});

describe('CachingRootSource, member keys (receipt v2 signers)', () => {
  const account = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
  const keyRef = { chainId: 31337, registry: REGISTRY, account };
  const key = { org: `0x${'ab'.repeat(32)}`, kind: 1, since: 6, until: 0 };

  it('offers getMemberKey only when the inner source has it', () => {
    assert.equal(new CachingRootSource({ getAnchor: async () => null }).getMemberKey, undefined);
    assert.equal(typeof new CachingRootSource(new MemoryRootSource()).getMemberKey, 'function');
  });

  it('reuses a bound key within the TTL, never an unbound account, and reads again after the TTL', async () => {
    const mem = new MemoryRootSource();
    let reads = 0;
    const inner: RootSource = {
      getAnchor: (r) => mem.getAnchor(r),
      getMemberKey: (r) => {
        reads++;
        return mem.getMemberKey(r);
      },
    };
    let now = 1_000_000;
    const realNow = Date.now;
    Date.now = () => now;
    try {
      const cache = new CachingRootSource(inner, { ttlMs: 10_000 });
      assert.equal((await cache.getMemberKey!(keyRef)).since, 0); // not bound yet
      assert.equal((await cache.getMemberKey!(keyRef)).since, 0);
      assert.equal(reads, 2, 'an unbound account is never cached: it may be added any time');
      mem.setMemberKey(keyRef, key as never);
      assert.deepEqual(await cache.getMemberKey!(keyRef), key);
      assert.deepEqual(await cache.getMemberKey!({ ...keyRef, account: account.toLowerCase() }), key);
      assert.equal(reads, 3);
      mem.setMemberKey(keyRef, { ...key, until: 9 } as never); // removed: seen after the TTL
      now += 10_001;
      assert.equal((await cache.getMemberKey!(keyRef)).until, 9);
      assert.equal(reads, 4);
    } finally {
      Date.now = realNow;
    }
  });
});
