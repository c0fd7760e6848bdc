import { expect } from 'chai';
import { ethers } from 'hardhat';
import { loadFixture } from '@nomicfoundation/hardhat-network-helpers';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import type { ContractTransactionResponse } from 'ethers';
import type { HardhatEthersSigner } from '@nomicfoundation/hardhat-ethers/signers';
import { ADMIN_DELAY, shouldBehaveLikeAdministeredRegistry, type AdminFixture } from './helpers/admin.behavior';

const ZERO = ethers.ZeroHash;
const ANCHORER_ROLE = ethers.id('ANCHORER_ROLE');
const PAUSER_ROLE = ethers.id('PAUSER_ROLE');

/** Deterministic distinct bytes32 values standing in for record commitments / roots. */
const commitment = (label: string | number): string => ethers.id(`commitment:${label}`);
const root = (label: string | number): string => ethers.id(`root:${label}`);

/** Intrinsic gas of a plain call (EIP-2028 calldata pricing): what the receipt adds on top of execution. */
function intrinsicGas(data: string): bigint {
  let gas = 21_000n;
  for (const byte of ethers.getBytes(data)) gas += byte === 0 ? 4n : 16n;
  return gas;
}

async function deployFixture() {
  const [admin, anchorer, otherAnchorer, pauser, stranger, ...rest] = await ethers.getSigners();
  const registry = await ethers.deployContract('NotaryRegistry', [ADMIN_DELAY, admin.address]);
  await registry.grantRole(ANCHORER_ROLE, anchorer.address);
  await registry.grantRole(ANCHORER_ROLE, otherAnchorer.address);
  await registry.grantRole(PAUSER_ROLE, pauser.address);
  return { registry, admin, anchorer, otherAnchorer, pauser, stranger, rest };
}

async function blockOf(tx: ContractTransactionResponse): Promise<{ number: bigint; timestamp: bigint }> {
  const receipt = await tx.wait();
  const block = await ethers.provider.getBlock(receipt!.blockNumber);
  return { number: BigInt(block!.number), timestamp: BigInt(block!.timestamp) };
}

/** The shape the shared role/pause/admin-transfer behaviour needs; `operate` anchors on the caller's head. */
async function adminFixture(): Promise<AdminFixture> {
  const { registry, admin, anchorer, pauser, stranger } = await loadFixture(deployFixture);
  let n = 0;
  const operate = async (as: HardhatEthersSigner) => {
    const [head] = await registry.headOf(as.address);
    return registry.connect(as).anchor(root(`op-${as.address}-${n++}`), head, 1);
  };
  return { registry, admin, pauser, operator: anchorer, stranger, operate };
}

describe('NotaryRegistry', function () {
  describe('deployment', function () {
    it('reports version 1.0.0', async function () {
      const { registry } = await loadFixture(deployFixture);
      expect(await registry.version()).to.equal('1.0.0');
    });

    it('reverts with AccessControlInvalidDefaultAdmin when the initial admin is the zero address', async function () {
      const factory = await ethers.getContractFactory('NotaryRegistry');
      await expect(factory.deploy(0, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(factory, 'AccessControlInvalidDefaultAdmin')
        .withArgs(ethers.ZeroAddress);
    });

    it('starts with no anchors and empty heads', async function () {
      const { registry, anchorer } = await loadFixture(deployFixture);
      expect(await registry.headOf(anchorer.address)).to.deep.equal([ZERO, 0n]);
      const none = await registry.anchorOf(root(1));
      expect(none.timestamp).to.equal(0n);
      expect(none.submitter).to.equal(ethers.ZeroAddress);
    });
  });

  describe('anchor', function () {
    describe('when an anchorer anchors its first root', function () {
      it('returns seq 1, emits Anchored, records the anchor and moves the head', async function () {
        const { registry, anchorer } = await loadFixture(deployFixture);
        const r = root('first');
        expect(await registry.connect(anchorer).anchor.staticCall(r, ZERO, 42)).to.equal(1n);

        const tx = await registry.connect(anchorer).anchor(r, ZERO, 42);
        await expect(tx).to.emit(registry, 'Anchored').withArgs(r, anchorer.address, 1n, ZERO, 42n);
        const block = await blockOf(tx);

        const stored = await registry.anchorOf(r);
        expect(stored.timestamp).to.equal(block.timestamp);
        expect(stored.blockNumber).to.equal(block.number);
        expect(stored.submitter).to.equal(anchorer.address);
        expect(stored.seq).to.equal(1n);
        expect(stored.prev).to.equal(ZERO);
        expect(stored.leafCount).to.equal(42n);
        expect(await registry.headOf(anchorer.address)).to.deep.equal([r, 1n]);
      });

      it('accepts the largest uint32 leaf count', async function () {
        const { registry, anchorer } = await loadFixture(deployFixture);
        await registry.connect(anchorer).anchor(root('max'), ZERO, 2n ** 32n - 1n);
        expect((await registry.anchorOf(root('max'))).leafCount).to.equal(2n ** 32n - 1n);
      });
    });

    describe('when an anchorer extends its chain', function () {
      it('increments seq by one and links each anchor to the previous head', async function () {
        const { registry, anchorer } = await loadFixture(deployFixture);
        let prev = ZERO;
        for (let i = 1; i <= 4; i++) {
          const r = root(`chain-${i}`);
          expect(await registry.connect(anchorer).anchor.staticCall(r, prev, i)).to.equal(BigInt(i));
          await expect(registry.connect(anchorer).anchor(r, prev, i))
            .to.emit(registry, 'Anchored')
            .withArgs(r, anchorer.address, BigInt(i), prev, BigInt(i));
          expect(await registry.headOf(anchorer.address)).to.deep.equal([r, BigInt(i)]);
          prev = r;
        }
        // Walking back from the head through `prev` visits every root down to seq 1.
        const seen: bigint[] = [];
        for (let cursor = prev; cursor !== ZERO;) {
          const a = await registry.anchorOf(cursor);
          seen.push(a.seq);
          cursor = a.prev;
        }
        expect(seen).to.deep.equal([4n, 3n, 2n, 1n]);
      });
    });

    describe('when prev is not the caller head', function () {
      it('reverts with NotaryRegistryUnexpectedPrev(submitter, expected, given) for a first anchor with a nonzero prev', async function () {
        const { registry, anchorer } = await loadFixture(deployFixture);
        await expect(registry.connect(anchorer).anchor(root(1), root(0), 1))
          .to.be.revertedWithCustomError(registry, 'NotaryRegistryUnexpectedPrev')
          .withArgs(anchorer.address, ZERO, root(0));
      });

      it('reverts for a stale head, a zero prev after the first anchor, and an unrelated root', async function () {
        const { registry, anchorer } = await loadFixture(deployFixture);
        await registry.connect(anchorer).anchor(root(1), ZERO, 1);
        await registry.connect(anchorer).anchor(root(2), root(1), 1);
        for (const given of [root(1), ZERO, root('unrelated')]) {
          await expect(registry.connect(anchorer).anchor(root(3), given, 1))
            .to.be.revertedWithCustomError(registry, 'NotaryRegistryUnexpectedPrev')
            .withArgs(anchorer.address, root(2), given);
        }
        expect(await registry.headOf(anchorer.address)).to.deep.equal([root(2), 2n]);
      });

      it("reverts when a submitter gives another submitter's head", async function () {
        const { registry, anchorer, otherAnchorer } = await loadFixture(deployFixture);
        await registry.connect(anchorer).anchor(root('a1'), ZERO, 1);
        await expect(registry.connect(otherAnchorer).anchor(root('b1'), root('a1'), 1))
          .to.be.revertedWithCustomError(registry, 'NotaryRegistryUnexpectedPrev')
          .withArgs(otherAnchorer.address, ZERO, root('a1'));
      });
    });

    describe('when two submitters anchor', function () {
      it('keeps an independent chain and sequence per submitter', async function () {
        const { registry, anchorer, otherAnchorer } = await loadFixture(deployFixture);
        await registry.connect(anchorer).anchor(root('a1'), ZERO, 1);
        await registry.connect(anchorer).anchor(root('a2'), root('a1'), 1);
        await expect(registry.connect(otherAnchorer).anchor(root('b1'), ZERO, 7))
          .to.emit(registry, 'Anchored')
          .withArgs(root('b1'), otherAnchorer.address, 1n, ZERO, 7n);
        await registry.connect(anchorer).anchor(root('a3'), root('a2'), 1);
        await registry.connect(otherAnchorer).anchor(root('b2'), root('b1'), 1);

        expect(await registry.headOf(anchorer.address)).to.deep.equal([root('a3'), 3n]);
        expect(await registry.headOf(otherAnchorer.address)).to.deep.equal([root('b2'), 2n]);
        expect((await registry.anchorOf(root('b2'))).prev).to.equal(root('b1'));
        expect((await registry.anchorOf(root('a3'))).prev).to.equal(root('a2'));
      });
    });

    describe('when the root was anchored before', function () {
      it('reverts with NotaryRegistryRootAlreadyAnchored naming the first submitter and seq (same submitter)', async function () {
        const { registry, anchorer } = await loadFixture(deployFixture);
        await registry.connect(anchorer).anchor(root(1), ZERO, 1);
        await registry.connect(anchorer).anchor(root(2), root(1), 1);
        await expect(registry.connect(anchorer).anchor(root(1), root(2), 1))
          .to.be.revertedWithCustomError(registry, 'NotaryRegistryRootAlreadyAnchored')
          .withArgs(root(1), anchorer.address, 1n);
      });

      it('reverts with NotaryRegistryRootAlreadyAnchored naming the first submitter (another submitter)', async function () {
        const { registry, anchorer, otherAnchorer } = await loadFixture(deployFixture);
        await registry.connect(anchorer).anchor(root(1), ZERO, 1);
        await registry.connect(anchorer).anchor(root(2), root(1), 1);
        await expect(registry.connect(otherAnchorer).anchor(root(2), ZERO, 1))
          .to.be.revertedWithCustomError(registry, 'NotaryRegistryRootAlreadyAnchored')
          .withArgs(root(2), anchorer.address, 2n);
        expect(await registry.headOf(otherAnchorer.address)).to.deep.equal([ZERO, 0n]);
      });
    });

    describe('when the input is malformed', function () {
      it('reverts with NotaryRegistryZeroRoot for a zero root', async function () {
        const { registry, anchorer } = await loadFixture(deployFixture);
        await expect(registry.connect(anchorer).anchor(ZERO, ZERO, 1))
          .to.be.revertedWithCustomError(registry, 'NotaryRegistryZeroRoot')
          .withArgs();
      });

      it('reverts with NotaryRegistryEmptyBatch for a leaf count of 0', async function () {
        const { registry, anchorer } = await loadFixture(deployFixture);
        await expect(registry.connect(anchorer).anchor(root(1), ZERO, 0))
          .to.be.revertedWithCustomError(registry, 'NotaryRegistryEmptyBatch')
          .withArgs();
      });
    });

    describe('gas', function () {
      it('does not depend on the leaf count (1, 1000, 1,000,000), each the first anchor of a fresh submitter', async function () {
        const { registry, admin, rest } = await loadFixture(deployFixture);
        const submitters = rest.slice(0, 3);
        for (const s of submitters) await registry.connect(admin).grantRole(ANCHORER_ROLE, s.address);

        const leafCounts = [1, 1_000, 1_000_000];
        const used: bigint[] = [];
        const execution: bigint[] = [];
        for (const [i, leafCount] of leafCounts.entries()) {
          const tx = await registry.connect(submitters[i]).anchor(root(`gas-${leafCount}`), ZERO, leafCount);
          const receipt = (await tx.wait())!;
          used.push(receipt.gasUsed);
          execution.push(receipt.gasUsed - intrinsicGas(tx.data));
        }
        // The receipts differ only by the calldata price of the nonzero bytes in root and leafCount
        // (EIP-2028, 12 gas per nonzero byte); the contract's own execution gas is identical.
        expect(execution[1]).to.equal(execution[0]);
        expect(execution[2]).to.equal(execution[0]);
        console.log(
          `      anchor gasUsed (leafCount 1 / 1000 / 1000000): ${used.join(' / ')}; execution: ${execution.join(' / ')}`,
        );
      });
    });
  });

  describe('verifyLeaf', function () {
    for (const size of [1, 2, 3, 1000]) {
      describe(`when the root of an anchored ${size}-leaf tree is given`, function () {
        async function anchoredTreeFixture() {
          const base = await deployFixture();
          const values = Array.from({ length: size }, (_, i) => [commitment(`${size}-${i}`)]);
          const tree = StandardMerkleTree.of(values, ['bytes32']);
          await base.registry.connect(base.anchorer).anchor(tree.root, ZERO, size);
          return { ...base, tree, values };
        }
        const indices = [...new Set([0, 1, Math.floor(size / 2), size - 2, size - 1])].filter(
          (i) => i >= 0 && i < size,
        );

        it(`verifies the leaves at indices ${indices.join(', ')} with the library's proofs`, async function () {
          const { registry, tree, values } = await loadFixture(anchoredTreeFixture);
          for (const i of indices) {
            const proof = tree.getProof(i);
            expect(StandardMerkleTree.verify(tree.root, ['bytes32'], values[i], proof)).to.equal(true);
            expect(await registry.verifyLeaf(tree.root, proof, values[i][0])).to.equal(true);
          }
        });

        it('returns false for a commitment that is not in the tree', async function () {
          const { registry, tree } = await loadFixture(anchoredTreeFixture);
          expect(await registry.verifyLeaf(tree.root, tree.getProof(0), commitment('absent'))).to.equal(false);
        });

        it('returns false for a tampered path', async function () {
          const { registry, tree, values } = await loadFixture(anchoredTreeFixture);
          const proof = tree.getProof(size - 1);
          const tampered = proof.length === 0 ? [commitment('extra')] : [commitment('x'), ...proof.slice(1)];
          expect(await registry.verifyLeaf(tree.root, tampered, values[size - 1][0])).to.equal(false);
          if (size > 2) {
            // A valid proof of another leaf does not prove this one.
            expect(await registry.verifyLeaf(tree.root, tree.getProof(1), values[0][0])).to.equal(false);
          }
        });
      });
    }

    describe('when the root was never anchored', function () {
      it('returns false even for a proof that is valid for that root', async function () {
        const { registry } = await loadFixture(deployFixture);
        const values = [[commitment('u1')], [commitment('u2')], [commitment('u3')]];
        const tree = StandardMerkleTree.of(values, ['bytes32']);
        const proof = tree.getProof(1);
        expect(StandardMerkleTree.verify(tree.root, ['bytes32'], values[1], proof)).to.equal(true);
        expect(await registry.verifyLeaf(tree.root, proof, values[1][0])).to.equal(false);
      });
    });

    describe('when a proof of one anchored tree is checked against another anchored root', function () {
      it('returns false', async function () {
        const { registry, anchorer } = await loadFixture(deployFixture);
        const a = StandardMerkleTree.of([[commitment('a1')], [commitment('a2')]], ['bytes32']);
        const b = StandardMerkleTree.of([[commitment('b1')], [commitment('b2')]], ['bytes32']);
        await registry.connect(anchorer).anchor(a.root, ZERO, 2);
        await registry.connect(anchorer).anchor(b.root, a.root, 2);
        expect(await registry.verifyLeaf(a.root, a.getProof(0), commitment('a1'))).to.equal(true);
        expect(await registry.verifyLeaf(b.root, a.getProof(0), commitment('a1'))).to.equal(false);
      });
    });

    it("hashes the leaf exactly like the JS library's leafHash (DESIGN §2.3)", async function () {
      const { registry, anchorer } = await loadFixture(deployFixture);
      // A one-leaf tree's root is its leaf hash, so verifyLeaf(leafHash, [], c) is the on-chain leaf hash check.
      const c = commitment('single');
      const tree = StandardMerkleTree.of([[c]], ['bytes32']);
      const expected = ethers.keccak256(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(['bytes32'], [c])));
      expect(tree.leafHash([c])).to.equal(expected);
      expect(tree.root).to.equal(expected);
      await registry.connect(anchorer).anchor(expected, ZERO, 1);
      expect(await registry.verifyLeaf(expected, [], c)).to.equal(true);
    });
  });

  shouldBehaveLikeAdministeredRegistry(adminFixture, 'ANCHORER_ROLE');
});
