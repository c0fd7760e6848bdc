// The chain layer against real chains: in-process Hardhat network and a spawned anvil, same spec for both.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keccak256 } from 'ethers';
import { NotaryRegistryV2__factory } from '../../typechain-types';
import {
  ANCHOR_GAS_LIMIT,
  ClaimRegistryReader,
  NotaryRegistryReader,
  broadcastRaw,
  confirmationsOf,
  consumeGasLimit,
  decodeAnchored,
  decodeClaimSettled,
  decodeKeysConsumed,
  decodeKeysReleased,
  encodeAnchor,
  encodeConsume,
  encodeRelease,
  encodeSettle,
  estimateGasOrFallback,
  isStillCanonical,
  makeProvider,
  mine,
  orgHash,
  pendingNonce,
  releaseGasLimit,
  revertErrorOf,
  SETTLE_GAS_LIMIT,
  setAutomine,
  signTransaction,
  simulate,
  startAnvil,
  type AnvilHandle,
  type ChainProvider,
} from '../../src/chain';
import { ORG_A, ORG_B, ZERO32, randomBytes32, rejectsWithCode, setUpChain, type ChainFixture } from './helpers';

interface Target {
  name: string;
  open(): Promise<ChainProvider>;
  close(): Promise<void>;
}

let anvil: AnvilHandle | undefined;
const targets: Target[] = [
  {
    name: 'in-process Hardhat network',
    open: async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const hre = require('hardhat') as typeof import('hardhat');
      const provider: ChainProvider = hre.ethers.provider; // HardhatEthersProvider satisfies ChainProvider as is
      return provider;
    },
    close: async () => undefined,
  },
  {
    name: 'anvil',
    open: async () => {
      anvil = await startAnvil();
      return makeProvider(anvil.rpcUrl, { chainId: anvil.chainId, timeoutMs: 3000 });
    },
    close: async () => {
      await anvil?.stop();
    },
  },
];

for (const target of targets) {
  describe(`chain layer on ${target.name}`, () => {
    let f: ChainFixture;
    let notary: NotaryRegistryReader;
    let claims: ClaimRegistryReader;
    const A = orgHash(ORG_A);
    const B = orgHash(ORG_B);

    before(async () => {
      f = await setUpChain(await target.open());
      notary = new NotaryRegistryReader(f.provider, f.notary);
      claims = new ClaimRegistryReader(f.provider, f.claims);
    });
    after(() => target.close());

    const anchor = async (root: string, prev: string, leafCount = 3) => {
      const { hash, raw } = await f.send(f.anchorer, f.notary, encodeAnchor(root, prev, leafCount), ANCHOR_GAS_LIMIT);
      return { hash, raw, receipt: await f.receipt(hash) };
    };

    describe('anchoring with an offline-signed transaction', () => {
      let root: string;
      let hash: string;
      let raw: string;

      it('signs without a provider, broadcasts, and decodes Anchored from the receipt', async () => {
        root = randomBytes32();
        const nonce = await pendingNonce(f.provider, f.anchorer.address);
        const signed = signTransaction(f.anchorer, {
          chainId: f.chainId,
          to: f.notary,
          data: encodeAnchor(root, ZERO32, 3),
          nonce,
          gasLimit: ANCHOR_GAS_LIMIT,
          fee: f.fee,
        });
        assert.equal(signed.hash, keccak256(signed.raw));
        assert.equal(signed.from, f.anchorer.address);
        ({ hash, raw } = signed);
        assert.equal(await broadcastRaw(f.provider, raw), hash);
        const receipt = await f.receipt(hash);
        assert.equal(receipt.status, 1);
        assert.ok(receipt.gasUsed < ANCHOR_GAS_LIMIT, `anchor used ${receipt.gasUsed} gas`);
        const events = decodeAnchored(receipt, f.notary);
        assert.deepEqual(events, [
          {
            root,
            org: A,
            submitter: f.anchorer.address,
            seq: 1,
            prev: ZERO32,
            leafCount: 3,
            blockNumber: receipt.blockNumber,
            blockHash: receipt.blockHash,
            transactionHash: hash,
            logIndex: events[0]?.logIndex ?? -1,
          },
        ]);
        assert.deepEqual(decodeAnchored(receipt, f.claims), [], 'logs of another address are ignored');
      });

      it('reads the anchor and the head back as plain numbers', async () => {
        const a = await notary.anchorOf(root);
        const receipt = await f.receipt(hash);
        assert.ok(a.timestamp > 1_600_000_000);
        assert.deepEqual(
          { ...a, timestamp: 0 },
          {
            timestamp: 0,
            blockNumber: receipt.blockNumber,
            submitter: f.anchorer.address,
            seq: 1,
            prev: ZERO32,
            leafCount: 3,
            org: A,
          },
        );
        assert.deepEqual(await notary.headOf(A), { root, seq: 1 });
        assert.equal((await notary.anchorOf(randomBytes32())).timestamp, 0);
        assert.ok((await confirmationsOf(f.provider, hash)) >= 1);
        assert.equal(await isStillCanonical(f.provider, receipt.blockNumber, receipt.blockHash), true);
        assert.equal(await isStillCanonical(f.provider, receipt.blockNumber, randomBytes32()), false);
      });

      it('counts confirmations from the raw head block', async () => {
        const before = await confirmationsOf(f.provider, hash);
        await mine(f.provider, 2);
        assert.equal(await confirmationsOf(f.provider, hash), before + 2);
        assert.equal(await confirmationsOf(f.provider, randomBytes32()), 0);
      });

      it('treats rebroadcasting the same mined raw transaction as success', async () => {
        const nonceBefore = await pendingNonce(f.provider, f.anchorer.address);
        assert.equal(await broadcastRaw(f.provider, raw), hash);
        assert.equal(await pendingNonce(f.provider, f.anchorer.address), nonceBefore);
      });

      it('treats rebroadcasting a transaction still in the pool as success, and mines it once', async () => {
        await setAutomine(f.provider, false);
        try {
          const head = await notary.headOf(A);
          const nonce = await pendingNonce(f.provider, f.anchorer.address);
          const data = encodeAnchor(randomBytes32(), head.root, 1);
          const s = signTransaction(f.anchorer, {
            chainId: f.chainId,
            to: f.notary,
            data,
            nonce,
            gasLimit: ANCHOR_GAS_LIMIT,
            fee: f.fee,
          });
          assert.equal(await broadcastRaw(f.provider, s.raw), s.hash);
          assert.equal(await broadcastRaw(f.provider, s.raw), s.hash);
          await mine(f.provider, 1);
          assert.equal((await f.receipt(s.hash)).status, 1);
          assert.equal(await pendingNonce(f.provider, f.anchorer.address), nonce + 1);
        } finally {
          await setAutomine(f.provider, true);
        }
      });

      it('refuses a different transaction reusing a mined nonce with NONCE_TOO_LOW', async () => {
        const nonce = (await pendingNonce(f.provider, f.anchorer.address)) - 1;
        const s = signTransaction(f.anchorer, {
          chainId: f.chainId,
          to: f.notary,
          data: encodeAnchor(randomBytes32(), ZERO32, 1),
          nonce,
          gasLimit: ANCHOR_GAS_LIMIT,
          fee: f.fee,
        });
        await rejectsWithCode(() => broadcastRaw(f.provider, s.raw), 'NONCE_TOO_LOW');
      });
    });

    describe('when the root was anchored before', () => {
      let root: string;
      let first: Awaited<ReturnType<typeof anchor>>;
      before(async () => {
        root = randomBytes32();
        const head = await notary.headOf(A);
        first = await anchor(root, head.root);
      });

      it('simulate reports ROOT_ALREADY_ANCHORED with root, org and seq', async () => {
        const head = await notary.headOf(A);
        const res = await simulate(f.provider, {
          from: f.anchorer.address,
          to: f.notary,
          data: encodeAnchor(root, head.root, 1),
        });
        assert.equal(res.ok, false);
        assert.ok(!res.ok);
        assert.equal(res.error.code, 'ROOT_ALREADY_ANCHORED');
        assert.equal(res.error.errorName, 'NotaryRegistryRootAlreadyAnchored');
        const seq = decodeAnchored(first.receipt, f.notary)[0]?.seq;
        assert.deepEqual(res.error.details, { root, org: A, seq });
      });

      it('a mined duplicate has status 0 and revertErrorOf decodes ROOT_ALREADY_ANCHORED', async () => {
        const head = await notary.headOf(A);
        const dup = await anchor(root, head.root);
        assert.equal(dup.receipt.status, 0);
        assert.deepEqual(decodeAnchored(dup.receipt, f.notary), []);
        const err = await revertErrorOf(f.provider, dup.hash);
        assert.ok(err);
        assert.equal(err.code, 'ROOT_ALREADY_ANCHORED');
        assert.equal(err.details.root, root);
        assert.equal(err.details.org, A);
        assert.equal(await revertErrorOf(f.provider, first.hash), null, 'a successful tx has no revert error');
      });

      it('simulate reports UNEXPECTED_PREV with org, expected and given', async () => {
        const head = await notary.headOf(A);
        const wrong = randomBytes32();
        const res = await simulate(f.provider, {
          from: f.anchorer.address,
          to: f.notary,
          data: encodeAnchor(randomBytes32(), wrong, 1),
        });
        assert.ok(!res.ok);
        assert.equal(res.error.code, 'UNEXPECTED_PREV');
        assert.deepEqual(res.error.details, { org: A, expected: head.root, given: wrong });
      });

      it('simulate reports NOT_AUTHORIZED for an account that is no ANCHORER key in the directory', async () => {
        const res = await simulate(f.provider, {
          from: f.stranger.address,
          to: f.notary,
          data: encodeAnchor(randomBytes32(), ZERO32, 1),
        });
        assert.ok(!res.ok);
        assert.equal(res.error.code, 'NOT_AUTHORIZED');
        assert.equal(res.error.errorName, 'NotaryRegistryNotAnAnchorer');
        assert.deepEqual(res.error.details, { account: f.stranger.address });
      });

      it('simulate reports PAUSED while the registry is paused, ok again after unpause', async () => {
        const iface = NotaryRegistryV2__factory.createInterface();
        const head = await notary.headOf(A);
        const call = { from: f.anchorer.address, to: f.notary, data: encodeAnchor(randomBytes32(), head.root, 1) };
        assert.equal(
          (await f.receipt((await f.send(f.admin, f.notary, iface.encodeFunctionData('pause'))).hash)).status,
          1,
        );
        const res = await simulate(f.provider, call);
        await f.receipt((await f.send(f.admin, f.notary, iface.encodeFunctionData('unpause'))).hash);
        assert.ok(!res.ok);
        assert.equal(res.error.code, 'PAUSED');
        assert.deepEqual(await simulate(f.provider, call), { ok: true });
      });

      it('estimateGasOrFallback estimates a valid anchor with headroom and falls back for a reverting one', async () => {
        const head = await notary.headOf(A);
        const ok = await estimateGasOrFallback(
          f.provider,
          { from: f.anchorer.address, to: f.notary, data: encodeAnchor(randomBytes32(), head.root, 1) },
          999n,
        );
        assert.ok(ok > 30_000n && ok < ANCHOR_GAS_LIMIT, `estimate ${ok}`);
        const bad = await estimateGasOrFallback(
          f.provider,
          { from: f.anchorer.address, to: f.notary, data: encodeAnchor(root, head.root, 1) },
          999n,
        );
        assert.equal(bad, 999n);
      });
    });

    describe('claiming invoice keys', () => {
      const keys = [randomBytes32(), randomBytes32(), randomBytes32()];
      const claim = randomBytes32();
      let consumedAt: number;

      it('consumes keys, decodes KeysConsumed and reads the consumption back', async () => {
        const { hash } = await f.send(f.anchorer, f.claims, encodeConsume(keys, claim), consumeGasLimit(keys.length));
        const r = await f.receipt(hash);
        assert.equal(r.status, 1);
        assert.ok(r.gasUsed < consumeGasLimit(keys.length), `consume(${keys.length}) used ${r.gasUsed}`);
        const [ev, ...rest] = decodeKeysConsumed(r, f.claims);
        assert.equal(rest.length, 0);
        assert.deepEqual(
          { claim: ev?.claim, org: ev?.org, account: ev?.account, keys: ev?.keys },
          { claim, org: A, account: f.anchorer.address, keys },
        );
        const c = await claims.consumptionOf(keys[1] as string);
        assert.equal(c.consumer, f.anchorer.address);
        assert.equal(c.org, A);
        assert.equal(c.settled, false);
        assert.equal(c.claim, claim);
        assert.equal(c.blockNumber, r.blockNumber);
        consumedAt = c.timestamp;
        assert.ok(consumedAt > 0);
        assert.deepEqual(await claims.keysOf(claim), keys);
      });

      it('simulate reports KEY_ALREADY_CONSUMED with key, org, claim and timestamp for another organisation', async () => {
        const res = await simulate(f.provider, {
          from: f.claimant.address,
          to: f.claims,
          data: encodeConsume([randomBytes32(), keys[2] as string], randomBytes32()),
        });
        assert.ok(!res.ok);
        assert.equal(res.error.code, 'KEY_ALREADY_CONSUMED');
        assert.deepEqual(res.error.details, {
          key: keys[2],
          org: A,
          claim,
          timestamp: consumedAt,
        });
      });

      it('a mined double consumption has status 0 and revertErrorOf decodes KEY_ALREADY_CONSUMED', async () => {
        const { hash } = await f.send(
          f.claimant,
          f.claims,
          encodeConsume([keys[0] as string], randomBytes32()),
          200_000n,
        );
        assert.equal((await f.receipt(hash)).status, 0);
        const err = await revertErrorOf(f.provider, hash);
        assert.equal(err?.code, 'KEY_ALREADY_CONSUMED');
        assert.equal(err?.details.key, keys[0]);
      });

      it('simulate reports NOT_CONSUMER when another organisation releases, then release frees the keys', async () => {
        const res = await simulate(f.provider, { from: f.claimant.address, to: f.claims, data: encodeRelease(claim) });
        assert.ok(!res.ok);
        assert.equal(res.error.code, 'NOT_CONSUMER');
        assert.deepEqual(res.error.details, { claim, org: A, caller: f.claimant.address });
        const { hash } = await f.send(f.anchorer, f.claims, encodeRelease(claim), releaseGasLimit(keys.length));
        const r = await f.receipt(hash);
        assert.equal(r.status, 1);
        assert.ok(r.gasUsed < releaseGasLimit(keys.length), `release used ${r.gasUsed}`);
        assert.deepEqual(
          decodeKeysReleased(r, f.claims).map((e) => ({
            claim: e.claim,
            org: e.org,
            account: e.account,
            keys: e.keys,
          })),
          [{ claim, org: A, account: f.anchorer.address, keys }],
        );
        assert.equal((await claims.consumptionOf(keys[0] as string)).timestamp, 0);
        assert.deepEqual(
          await simulate(f.provider, {
            from: f.claimant.address,
            to: f.claims,
            data: encodeConsume(keys, randomBytes32()),
          }),
          {
            ok: true,
          },
        );
      });

      it('settle: only the consuming organisation, once; a settled claim is never released', async () => {
        const k = [randomBytes32(), randomBytes32()];
        const c = randomBytes32();
        assert.equal((await f.receipt((await f.send(f.claimant, f.claims, encodeConsume(k, c))).hash)).status, 1);
        const other = await simulate(f.provider, { from: f.anchorer.address, to: f.claims, data: encodeSettle(c) });
        assert.ok(!other.ok);
        assert.equal(other.error.code, 'NOT_CONSUMER');
        assert.deepEqual(other.error.details, { claim: c, org: B, caller: f.anchorer.address });
        const { hash } = await f.send(f.claimant, f.claims, encodeSettle(c), SETTLE_GAS_LIMIT);
        const r = await f.receipt(hash);
        assert.equal(r.status, 1);
        assert.ok(r.gasUsed < SETTLE_GAS_LIMIT, `settle used ${r.gasUsed}`);
        assert.deepEqual(
          decodeClaimSettled(r, f.claims).map((e) => ({ claim: e.claim, org: e.org, settledBy: e.settledBy })),
          [{ claim: c, org: B, settledBy: f.claimant.address }],
        );
        const after = await claims.consumptionOf(k[0] as string);
        assert.deepEqual(
          { org: after.org, claim: after.claim, settled: after.settled },
          { org: B, claim: c, settled: true },
        );
        for (const data of [encodeRelease(c), encodeSettle(c)]) {
          const res = await simulate(f.provider, { from: f.claimant.address, to: f.claims, data });
          assert.ok(!res.ok);
          assert.equal(res.error.code, 'CLAIM_SETTLED');
          assert.deepEqual(res.error.details, { claim: c });
        }
      });

      it('consume gas stays under consumeGasLimit for 1 and 20 keys', async () => {
        for (const n of [1, 20]) {
          const many = Array.from({ length: n }, randomBytes32);
          const { hash } = await f.send(f.anchorer, f.claims, encodeConsume(many, randomBytes32()), consumeGasLimit(n));
          const r = await f.receipt(hash);
          assert.equal(r.status, 1, `consume(${n}) ran out of gas at ${consumeGasLimit(n)}`);
          assert.ok(r.gasUsed < consumeGasLimit(n), `consume(${n}) used ${r.gasUsed}`);
        }
      });
    });
  });
}
