// Anvil as a process: start-up errors, state persistence across stop/crash, reorgs, and outages.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ANCHOR_GAS_LIMIT,
  NotaryRegistryReader,
  anvilReorg,
  broadcastRaw,
  connectProvider,
  encodeAnchor,
  getReceiptInfo,
  headBlockNumber,
  isStillCanonical,
  makeProvider,
  mine,
  orgHash,
  signTransaction,
  startAnvil,
  type AnvilHandle,
} from '../../src/chain';
import { ORG_A, ZERO32, randomBytes32, rejectsWithCode, setUpChain, type ChainFixture } from './helpers';

const handles: AnvilHandle[] = [];
async function start(opts: Parameters<typeof startAnvil>[0] = {}): Promise<AnvilHandle> {
  const h = await startAnvil(opts);
  handles.push(h);
  return h;
}
after(async () => {
  await Promise.all(handles.map((h) => h.stop()));
});

describe('startAnvil', () => {
  describe('when the port is already taken', () => {
    it('fails fast with CHAIN_UNREACHABLE "address already in use" without touching the running node', async () => {
      const first = await start();
      const t0 = Date.now();
      const err = await rejectsWithCode(() => startAnvil({ port: first.port }), 'CHAIN_UNREACHABLE');
      assert.match(err.message, /address already in use/i);
      assert.ok(Date.now() - t0 < 2000);
      const p = makeProvider(first.rpcUrl, { chainId: first.chainId });
      assert.equal(await headBlockNumber(p), 0);
      p.destroy();
    });
  });

  describe('when anvil refuses to start', () => {
    it("fails fast with CHAIN_UNREACHABLE quoting anvil's stderr", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'anvil-bad-'));
      const stateFile = path.join(dir, 'state.json');
      writeFileSync(stateFile, 'garbage');
      try {
        const t0 = Date.now();
        const err = await rejectsWithCode(() => startAnvil({ stateFile }), 'CHAIN_UNREACHABLE');
        assert.match(err.message, /exited during start-up.*failed to parse json file/s);
        assert.ok(Date.now() - t0 < 3000);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('with a state file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'anvil-state-'));
    const stateFile = path.join(dir, 'state.json');
    after(() => rmSync(dir, { recursive: true, force: true }));
    let f: ChainFixture;
    let root: string;
    let port: number;

    it('keeps an anchor made just before stop() (SIGTERM dumps the state on exit)', async () => {
      const a = await start({ stateFile });
      port = a.port;
      f = await setUpChain(makeProvider(a.rpcUrl, { chainId: a.chainId }));
      root = randomBytes32();
      const { hash } = await f.send(f.anchorer, f.notary, encodeAnchor(root, ZERO32, 2), ANCHOR_GAS_LIMIT);
      assert.equal((await f.receipt(hash)).status, 1);
      const height = await headBlockNumber(f.provider);
      await a.stop(); // immediately: no state-interval tick in between is needed
      f.provider.destroy();

      const b = await start({ stateFile, port });
      const p = makeProvider(b.rpcUrl, { chainId: b.chainId });
      assert.equal(await headBlockNumber(p), height);
      const anchor = await new NotaryRegistryReader(p, f.notary).anchorOf(root);
      assert.equal(anchor.submitter, f.anchorer.address);
      assert.equal(anchor.seq, 1);
      await b.stop();
      p.destroy();
    });

    it('after kill -9 keeps what was dumped by the 1 s state interval and loses the blocks after it', async () => {
      const a = await start({ stateFile, port });
      const p = makeProvider(a.rpcUrl, { chainId: a.chainId });
      const h0 = await headBlockNumber(p);
      await mine(p, 3);
      await new Promise((r) => setTimeout(r, 2200)); // at least one state-interval dump with h0 + 3
      await mine(p, 5); // not dumped yet
      a.kill9();
      await a.exited;
      p.destroy();

      const b = await start({ stateFile, port });
      const q = makeProvider(b.rpcUrl, { chainId: b.chainId });
      const h1 = await headBlockNumber(q);
      assert.ok(h1 >= h0 + 3 && h1 < h0 + 8, `height after crash ${h1}, before ${h0} + 8`);
      assert.equal((await new NotaryRegistryReader(q, f.notary).anchorOf(root)).seq, 1);
      await b.stop();
      q.destroy();
    });
  });
});

describe('reorgs on anvil', () => {
  let a: AnvilHandle;
  let f: ChainFixture;
  before(async () => {
    a = await start();
    f = await setUpChain(makeProvider(a.rpcUrl, { chainId: a.chainId }));
  });
  after(() => f.provider.destroy());

  for (const depth of [1, 2]) {
    it(`anvil_reorg depth ${depth} drops the anchor: receipt gone, block hash changed, anchorOf back to 0`, async () => {
      const reader = new NotaryRegistryReader(f.provider, f.notary);
      const head = await reader.headOf(orgHash(ORG_A));
      const root = randomBytes32();
      const { hash } = await f.send(f.anchorer, f.notary, encodeAnchor(root, head.root, 1), ANCHOR_GAS_LIMIT);
      const r = await f.receipt(hash);
      if (depth === 2) await mine(f.provider, 1);
      assert.equal(await isStillCanonical(f.provider, r.blockNumber, r.blockHash), true);

      await anvilReorg(f.provider, depth);

      assert.equal(await getReceiptInfo(f.provider, hash), null);
      assert.equal(await isStillCanonical(f.provider, r.blockNumber, r.blockHash), false);
      assert.equal((await reader.anchorOf(root)).timestamp, 0);
      assert.deepEqual(await reader.headOf(orgHash(ORG_A)), head);
    });
  }
});

describe('when the chain is down', () => {
  let f: ChainFixture;
  let raw: string;
  before(async () => {
    const a = await start();
    f = await setUpChain(makeProvider(a.rpcUrl, { chainId: a.chainId, timeoutMs: 2000 }));
    raw = signTransaction(f.anchorer, {
      chainId: f.chainId,
      to: f.notary,
      data: encodeAnchor(randomBytes32(), ZERO32, 1),
      nonce: 0,
      gasLimit: ANCHOR_GAS_LIMIT,
      fee: f.fee,
    }).raw;
    await a.stop();
  });
  after(() => f.provider.destroy());

  it('broadcastRaw fails with CHAIN_UNREACHABLE in well under a second', async () => {
    const t0 = Date.now();
    await rejectsWithCode(() => broadcastRaw(f.provider, raw), 'CHAIN_UNREACHABLE');
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  });

  it('reads and the head block fail with CHAIN_UNREACHABLE', async () => {
    const t0 = Date.now();
    await rejectsWithCode(
      () => new NotaryRegistryReader(f.provider, f.notary).anchorOf(randomBytes32()),
      'CHAIN_UNREACHABLE',
    );
    await rejectsWithCode(() => headBlockNumber(f.provider), 'CHAIN_UNREACHABLE');
    await rejectsWithCode(() => getReceiptInfo(f.provider, randomBytes32()), 'CHAIN_UNREACHABLE');
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });

  it('connectProvider fails with CHAIN_UNREACHABLE instead of retrying forever', async () => {
    const url = (f.provider as unknown as { _getConnection(): { url: string } })._getConnection().url;
    await rejectsWithCode(() => connectProvider(url, { timeoutMs: 1000 }), 'CHAIN_UNREACHABLE');
  });
});

describe('connectProvider', () => {
  it('returns a provider for the right chain and refuses a wrong chain id with CHAIN_ID_MISMATCH', async () => {
    const a = await start({ chainId: 4242 });
    const p = await connectProvider(a.rpcUrl, { chainId: 4242 });
    assert.equal((await p.getNetwork()).chainId, 4242n);
    p.destroy();
    const err = await rejectsWithCode(() => connectProvider(a.rpcUrl, { chainId: 31337 }), 'CHAIN_ID_MISMATCH');
    assert.deepEqual(err.details, { expected: 31337, actual: 4242 });
  });
});
