import { expect } from 'chai';
import { ethers } from 'hardhat';
import { loadFixture } from '@nomicfoundation/hardhat-network-helpers';
import fc from 'fast-check';
import type { HDNodeWallet } from 'ethers';
import type { ClaimRegistryV2, MemberDirectory } from '../../typechain-types';
import { ADMIN_DELAY } from './helpers/admin.behavior';

const ZERO = ethers.ZeroHash;
const REGISTRAR_ROLE = ethers.id('REGISTRAR_ROLE');
const PAUSER_ROLE = ethers.id('PAUSER_ROLE');
const ANCHORER = 0n;
const SIGNER = 1n;
const org = (orgId: string): string => ethers.keccak256(ethers.toUtf8Bytes(orgId));
const key = (label: string | number): string => ethers.id(`invoice-key:${label}`);
const claim = (label: string | number): string => ethers.id(`claim:${label}`);

async function deployFixture() {
  const [admin, pauser, empKey, empKey2, otherKey, signerKey, stranger] = await ethers.getSigners();
  const directory = (await ethers.deployContract('MemberDirectory', [
    ADMIN_DELAY,
    admin.address,
  ])) as unknown as MemberDirectory;
  await directory.grantRole(REGISTRAR_ROLE, admin.address);
  const registry = (await ethers.deployContract('ClaimRegistryV2', [
    ADMIN_DELAY,
    admin.address,
    await directory.getAddress(),
  ])) as unknown as ClaimRegistryV2;
  await registry.grantRole(PAUSER_ROLE, pauser.address);
  await directory.addKey('employer', empKey.address, ANCHORER);
  await directory.addKey('other-employer', otherKey.address, ANCHORER);
  await directory.addKey('employer', signerKey.address, SIGNER);
  return { directory, registry, admin, pauser, empKey, empKey2, otherKey, signerKey, stranger };
}

describe('ClaimRegistryV2', function () {
  describe('deployment', function () {
    it('reports version 2.0.0, its directory and the per-call maximum', async function () {
      const { registry, directory } = await loadFixture(deployFixture);
      expect(await registry.version()).to.equal('2.0.0');
      expect(await registry.directory()).to.equal(await directory.getAddress());
      expect(await registry.MAX_KEYS_PER_CALL()).to.equal(64n);
    });

    it('reverts with ClaimRegistryZeroDirectory without a directory', async function () {
      const [admin] = await ethers.getSigners();
      const factory = await ethers.getContractFactory('ClaimRegistryV2');
      await expect(factory.deploy(0, admin!.address, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        factory,
        'ClaimRegistryZeroDirectory',
      );
    });

    it('knows no consumption', async function () {
      const { registry } = await loadFixture(deployFixture);
      const c = await registry.consumptionOf(key(1));
      expect([c.consumer, c.org, c.claim, c.timestamp, c.blockNumber, c.settled]).to.deep.equal([
        ethers.ZeroAddress,
        ZERO,
        ZERO,
        0n,
        0n,
        false,
      ]);
      expect(await registry.keysOf(claim(1))).to.deep.equal([]);
    });
  });

  describe('consume', function () {
    describe("when an organisation's anchorer consumes keys", function () {
      it('emits KeysConsumed with the org and records who, for which org and claim, when, not settled', async function () {
        const { registry, empKey } = await loadFixture(deployFixture);
        const keys = [key(1), key(2)];
        const tx = await registry.connect(empKey).consume(keys, claim('a'));
        const receipt = (await tx.wait())!;
        const block = (await ethers.provider.getBlock(receipt.blockNumber))!;
        await expect(tx).to.emit(registry, 'KeysConsumed').withArgs(claim('a'), org('employer'), empKey.address, keys);
        for (const k of keys) {
          const c = await registry.consumptionOf(k);
          expect([c.consumer, c.org, c.claim, c.timestamp, c.blockNumber, c.settled]).to.deep.equal([
            empKey.address,
            org('employer'),
            claim('a'),
            BigInt(block.timestamp),
            BigInt(block.number),
            false,
          ]);
        }
        expect(await registry.keysOf(claim('a'))).to.deep.equal(keys);
      });
    });

    describe('when the caller may not consume', function () {
      it('reverts with ClaimRegistryNotAnAnchorer for an unbound account, a SIGNER key, a removed key and the admin', async function () {
        const { directory, registry, admin, stranger, signerKey, otherKey } = await loadFixture(deployFixture);
        await directory.removeKey(otherKey.address);
        for (const who of [stranger, signerKey, otherKey, admin]) {
          await expect(registry.connect(who).consume([key(1)], claim('x')))
            .to.be.revertedWithCustomError(registry, 'ClaimRegistryNotAnAnchorer')
            .withArgs(who.address);
        }
      });
    });

    describe('when the input is invalid', function () {
      it('reverts with ClaimRegistryEmptyKeys, ClaimRegistryTooManyKeys and ClaimRegistryZeroClaim', async function () {
        const { registry, empKey } = await loadFixture(deployFixture);
        await expect(registry.connect(empKey).consume([], claim(1))).to.be.revertedWithCustomError(
          registry,
          'ClaimRegistryEmptyKeys',
        );
        const many = Array.from({ length: 65 }, (_, i) => key(`many-${i}`));
        await expect(registry.connect(empKey).consume(many, claim(1)))
          .to.be.revertedWithCustomError(registry, 'ClaimRegistryTooManyKeys')
          .withArgs(65, 64);
        await expect(registry.connect(empKey).consume(many.slice(0, 64), claim(1))).to.emit(registry, 'KeysConsumed');
        await expect(registry.connect(empKey).consume([key(1)], ZERO)).to.be.revertedWithCustomError(
          registry,
          'ClaimRegistryZeroClaim',
        );
      });

      it('reverts with ClaimRegistryDuplicateKey for a key given twice, consuming nothing', async function () {
        const { registry, empKey } = await loadFixture(deployFixture);
        await expect(registry.connect(empKey).consume([key(1), key(2), key(1)], claim('d')))
          .to.be.revertedWithCustomError(registry, 'ClaimRegistryDuplicateKey')
          .withArgs(key(1));
        expect((await registry.consumptionOf(key(1))).timestamp).to.equal(0n);
      });

      it('reverts with ClaimRegistryKeyAlreadyConsumed naming the org, claim and time, for any organisation', async function () {
        const { registry, empKey, otherKey } = await loadFixture(deployFixture);
        const tx = await registry.connect(empKey).consume([key(1)], claim('first'));
        const ts = BigInt((await ethers.provider.getBlock((await tx.wait())!.blockNumber))!.timestamp);
        for (const who of [empKey, otherKey]) {
          await expect(registry.connect(who).consume([key(2), key(1)], claim(`second-${who.address}`)))
            .to.be.revertedWithCustomError(registry, 'ClaimRegistryKeyAlreadyConsumed')
            .withArgs(key(1), org('employer'), claim('first'), ts);
        }
        expect((await registry.consumptionOf(key(2))).timestamp).to.equal(0n);
      });

      it('reverts with ClaimRegistryClaimExists for a claim id that consumed before, even after release', async function () {
        const { registry, empKey } = await loadFixture(deployFixture);
        await registry.connect(empKey).consume([key(1)], claim('once'));
        await expect(registry.connect(empKey).consume([key(2)], claim('once')))
          .to.be.revertedWithCustomError(registry, 'ClaimRegistryClaimExists')
          .withArgs(claim('once'));
        await registry.connect(empKey).release(claim('once'));
        await expect(registry.connect(empKey).consume([key(2)], claim('once')))
          .to.be.revertedWithCustomError(registry, 'ClaimRegistryClaimExists')
          .withArgs(claim('once'));
      });
    });
  });

  describe('release', function () {
    it('frees the keys for a later claim and emits KeysReleased; any active key of the org may release', async function () {
      const { directory, registry, empKey, empKey2, otherKey } = await loadFixture(deployFixture);
      const keys = [key(1), key(2)];
      await registry.connect(empKey).consume(keys, claim('rejected'));
      // rotation: the new key of the same organisation releases what the old key consumed
      await directory.addKey('employer', empKey2.address, ANCHORER);
      await directory.removeKey(empKey.address);
      await expect(registry.connect(empKey2).release(claim('rejected')))
        .to.emit(registry, 'KeysReleased')
        .withArgs(claim('rejected'), org('employer'), empKey2.address, keys);
      expect(await registry.keysOf(claim('rejected'))).to.deep.equal([]);
      expect((await registry.consumptionOf(key(1))).timestamp).to.equal(0n);
      await expect(registry.connect(otherKey).consume(keys, claim('later')))
        .to.emit(registry, 'KeysConsumed')
        .withArgs(claim('later'), org('other-employer'), otherKey.address, keys);
    });

    it('reverts with ClaimRegistryNotConsumingOrg for another organisation, a removed key, a signer and the admin', async function () {
      const { directory, registry, admin, empKey, empKey2, otherKey, signerKey } = await loadFixture(deployFixture);
      await registry.connect(empKey).consume([key(1)], claim('c'));
      await directory.addKey('employer', empKey2.address, ANCHORER);
      await directory.removeKey(empKey.address);
      for (const who of [otherKey, empKey, signerKey, admin]) {
        await expect(registry.connect(who).release(claim('c')))
          .to.be.revertedWithCustomError(registry, 'ClaimRegistryNotConsumingOrg')
          .withArgs(claim('c'), org('employer'), who.address);
      }
      expect(await registry.keysOf(claim('c'))).to.deep.equal([key(1)]);
    });

    it('reverts with ClaimRegistryUnknownClaim for a claim that holds no keys', async function () {
      const { registry, empKey } = await loadFixture(deployFixture);
      await expect(registry.connect(empKey).release(claim('never')))
        .to.be.revertedWithCustomError(registry, 'ClaimRegistryUnknownClaim')
        .withArgs(claim('never'));
      await registry.connect(empKey).consume([key(1)], claim('r'));
      await registry.connect(empKey).release(claim('r'));
      await expect(registry.connect(empKey).release(claim('r')))
        .to.be.revertedWithCustomError(registry, 'ClaimRegistryUnknownClaim')
        .withArgs(claim('r'));
    });
  });

  describe('settle', function () {
    it('emits ClaimSettled, marks the consumption settled, and the claim can never be released or settled again', async function () {
      const { registry, empKey } = await loadFixture(deployFixture);
      await registry.connect(empKey).consume([key(1), key(2)], claim('paid'));
      await expect(registry.connect(empKey).settle(claim('paid')))
        .to.emit(registry, 'ClaimSettled')
        .withArgs(claim('paid'), org('employer'), empKey.address);
      expect((await registry.consumptionOf(key(2))).settled).to.equal(true);
      await expect(registry.connect(empKey).release(claim('paid')))
        .to.be.revertedWithCustomError(registry, 'ClaimRegistryClaimSettled')
        .withArgs(claim('paid'));
      await expect(registry.connect(empKey).settle(claim('paid')))
        .to.be.revertedWithCustomError(registry, 'ClaimRegistryClaimSettled')
        .withArgs(claim('paid'));
      expect(await registry.keysOf(claim('paid'))).to.deep.equal([key(1), key(2)]);
    });

    it('reverts with ClaimRegistryNotConsumingOrg for another organisation and ClaimRegistryUnknownClaim for a released claim', async function () {
      const { registry, empKey, otherKey } = await loadFixture(deployFixture);
      await registry.connect(empKey).consume([key(1)], claim('s'));
      await expect(registry.connect(otherKey).settle(claim('s')))
        .to.be.revertedWithCustomError(registry, 'ClaimRegistryNotConsumingOrg')
        .withArgs(claim('s'), org('employer'), otherKey.address);
      await registry.connect(empKey).release(claim('s'));
      await expect(registry.connect(empKey).settle(claim('s')))
        .to.be.revertedWithCustomError(registry, 'ClaimRegistryUnknownClaim')
        .withArgs(claim('s'));
    });
  });

  describe('pausing', function () {
    it('stops consume, release and settle while paused; only PAUSER_ROLE may pause', async function () {
      const { registry, pauser, empKey, stranger } = await loadFixture(deployFixture);
      await registry.connect(empKey).consume([key(1)], claim('p'));
      await expect(registry.connect(stranger).pause())
        .to.be.revertedWithCustomError(registry, 'AccessControlUnauthorizedAccount')
        .withArgs(stranger.address, PAUSER_ROLE);
      await expect(registry.connect(pauser).pause()).to.emit(registry, 'Paused').withArgs(pauser.address);
      await expect(registry.connect(empKey).consume([key(2)], claim('q'))).to.be.revertedWithCustomError(
        registry,
        'EnforcedPause',
      );
      await expect(registry.connect(empKey).release(claim('p'))).to.be.revertedWithCustomError(
        registry,
        'EnforcedPause',
      );
      await expect(registry.connect(empKey).settle(claim('p'))).to.be.revertedWithCustomError(
        registry,
        'EnforcedPause',
      );
      await expect(registry.connect(stranger).unpause())
        .to.be.revertedWithCustomError(registry, 'AccessControlUnauthorizedAccount')
        .withArgs(stranger.address, PAUSER_ROLE);
      await expect(registry.connect(pauser).unpause()).to.emit(registry, 'Unpaused').withArgs(pauser.address);
      await expect(registry.connect(empKey).settle(claim('p'))).to.emit(registry, 'ClaimSettled');
    });
  });

  describe('invariants (fast-check)', function () {
    type Op =
      | { kind: 'consume'; who: number; keys: number[] }
      | { kind: 'release' | 'settle'; who: number; claim: number }
      | { kind: 'rotate'; org: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant('consume' as const),
          who: fc.nat(5),
          keys: fc.uniqueArray(fc.nat(5), { minLength: 1, maxLength: 3 }),
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constantFrom('release' as const, 'settle' as const),
          who: fc.nat(5),
          claim: fc.nat(5),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('rotate' as const), org: fc.nat(1) }) },
    );

    it('a key is held by at most one claim; a settled claim never frees its keys; only the consuming org decides', async function () {
      const { directory, registry } = await loadFixture(deployFixture);
      const funder = (await ethers.getSigners())[0]!;
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 14 }), async (ops) => {
          run++;
          const ids = [`emp-a-${run}`, `emp-b-${run}`];
          const K = Array.from({ length: 6 }, (_, i) => key(`${run}-${i}`));
          const wallets: { wallet: HDNodeWallet; org: number; active: boolean }[] = [];
          const newKey = async (o: number) => {
            const wallet = ethers.Wallet.createRandom().connect(ethers.provider);
            await funder.sendTransaction({ to: wallet.address, value: ethers.parseEther('1') });
            await directory.addKey(ids[o]!, wallet.address, ANCHORER);
            wallets.push({ wallet, org: o, active: true });
          };
          await newKey(0);
          await newKey(1);
          // model
          const holder = new Map<string, string>(); // key -> claim
          const claims: { id: string; org: number; keys: string[]; settled: boolean; released: boolean }[] = [];
          let n = 0;
          for (const op of ops) {
            if (op.kind === 'rotate') {
              const old = wallets.find((w) => w.org === op.org && w.active);
              await newKey(op.org);
              if (old) {
                await directory.removeKey(old.wallet.address);
                old.active = false;
              }
              continue;
            }
            const w = wallets[op.who % wallets.length]!;
            if (op.kind === 'consume') {
              const keys = op.keys.map((i) => K[i]!);
              const id = claim(`${run}-${n++}`);
              const call = registry.connect(w.wallet).consume(keys, id);
              if (!w.active) await expect(call).to.be.revertedWithCustomError(registry, 'ClaimRegistryNotAnAnchorer');
              else if (keys.some((k) => holder.has(k)))
                await expect(call).to.be.revertedWithCustomError(registry, 'ClaimRegistryKeyAlreadyConsumed');
              else {
                await (await call).wait();
                for (const k of keys) holder.set(k, id);
                claims.push({ id, org: w.org, keys, settled: false, released: false });
              }
              continue;
            }
            const c = claims.length ? claims[op.claim % claims.length]! : undefined;
            const id = c?.id ?? claim('none');
            const call =
              op.kind === 'release' ? registry.connect(w.wallet).release(id) : registry.connect(w.wallet).settle(id);
            if (!c || c.released)
              await expect(call).to.be.revertedWithCustomError(registry, 'ClaimRegistryUnknownClaim');
            else if (c.settled) await expect(call).to.be.revertedWithCustomError(registry, 'ClaimRegistryClaimSettled');
            else if (!w.active || w.org !== c.org)
              await expect(call).to.be.revertedWithCustomError(registry, 'ClaimRegistryNotConsumingOrg');
            else {
              await (await call).wait();
              if (op.kind === 'settle') c.settled = true;
              else {
                c.released = true;
                for (const k of c.keys) holder.delete(k);
              }
            }
          }
          for (const k of K) {
            const got = await registry.consumptionOf(k);
            const id = holder.get(k);
            const c = claims.find((x) => x.id === id);
            expect(got.claim).to.equal(id ?? ZERO);
            expect(got.org).to.equal(c ? org(ids[c.org]!) : ZERO);
            expect(got.settled).to.equal(c?.settled ?? false);
          }
          for (const c of claims) {
            expect(await registry.keysOf(c.id)).to.deep.equal(c.released ? [] : c.keys);
          }
        }),
        { numRuns: 12 },
      );
    });
  });
});
