import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import fc from 'fast-check';
import {
  buildMerkleTree,
  buildMerkleTreeSync,
  DomainError,
  processProof,
  proofFromNodes,
  standardLeafHash,
  verifyProof,
} from '../../src/domain';

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString('hex')}`);
const oz = (values: string[]) =>
  StandardMerkleTree.of(
    values.map((v) => [v]),
    ['bytes32'],
  );

describe('buildMerkleTree', () => {
  describe('when given random commitment lists (1..3000, duplicates possible)', () => {
    it('has the same root, layout and proofs as OZ StandardMerkleTree, and OZ verifies our proofs', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(hex32, { minLength: 1, maxLength: 3000 }),
          fc.nat(),
          fc.boolean(),
          async (values, pick, dup) => {
            if (dup && values.length > 1) values[values.length - 1] = values[0]!;
            const ours = await buildMerkleTree(values);
            const ref = oz(values);
            assert.equal(ours.root, ref.root);
            assert.equal(ours.length, values.length);
            const i = pick % values.length;
            assert.deepEqual(ours.proof(i), ref.getProof(i));
            assert.ok(StandardMerkleTree.verify(ours.root, ['bytes32'], [values[i]!], ours.proof(i)));
            assert.equal(ours.leafHash(i), ref.leafHash([values[i]!]));
            if (values.length <= 300) assert.deepEqual(ours.dump(), ref.dump());
          },
        ),
        { numRuns: 40 },
      );
    });
  });

  describe('when given the same commitments as flat bytes', () => {
    it('builds the same tree, and every flat and indexed proof equals the hex proof', () => {
      const values = fc.sample(hex32, { numRuns: 257, seed: 7 });
      const flat = Buffer.concat(values.map((v) => Buffer.from(v.slice(2), 'hex')));
      const a = buildMerkleTreeSync(values);
      const b = buildMerkleTreeSync(new Uint8Array(flat));
      assert.equal(a.root, b.root);
      const all = a.proofsAll();
      const { offsets, path } = b.proofsAllFlat();
      const idx = b.proofIndicesAll();
      for (let i = 0; i < values.length; i++) {
        const fromFlat: string[] = [];
        const fromIdx: string[] = [];
        for (let k = offsets[i]!; k < offsets[i + 1]!; k++) {
          fromFlat.push(`0x${Buffer.from(path.subarray(k * 32, k * 32 + 32)).toString('hex')}`);
          const j = idx.index[k]!;
          fromIdx.push(`0x${Buffer.from(b.nodes.subarray(j * 32, j * 32 + 32)).toString('hex')}`);
        }
        assert.deepEqual(fromFlat, all[i]);
        assert.deepEqual(fromIdx, all[i]);
        assert.ok(verifyProof(a.root, values[i]!, all[i]!));
      }
    });
  });

  describe('when a proof is read back from the stored nodes only (issue 18: the tree stored once)', () => {
    it('proofFromNodes(nodes, leaf position) equals the proof of every leaf, for sizes 1..70 and 1,025', () => {
      for (const n of [...Array.from({ length: 70 }, (_, i) => i + 1), 1025]) {
        const values = fc.sample(hex32, { numRuns: n, seed: n });
        const t = buildMerkleTreeSync(values);
        const stored = new Uint8Array(t.nodes); // what the database gives back: a copy of the bytes
        assert.equal(stored.length, (2 * n - 1) * 32);
        for (let i = 0; i < n; i++) assert.deepEqual(proofFromNodes(stored, t.leafIndexOf(i)), t.proof(i));
      }
    });

    it('refuses a position that is not a leaf, and nodes that are not (2n-1)*32 bytes', () => {
      const t = buildMerkleTreeSync(fc.sample(hex32, { numRuns: 4, seed: 1 })); // 7 nodes, leaves at 3..6
      for (const bad of [2, 7, -1, 3.5]) {
        assert.throws(
          () => proofFromNodes(t.nodes, bad),
          (e: unknown) => e instanceof DomainError && e.code === 'MERKLE_INDEX_OUT_OF_RANGE',
        );
      }
      for (const len of [0, 31, 64, 33 * 3]) {
        assert.throws(
          () => proofFromNodes(new Uint8Array(len), 0),
          (e: unknown) => e instanceof DomainError && e.code === 'INVALID_ARGUMENT',
        );
      }
    });
  });

  describe('when given a single commitment', () => {
    it('has the leaf hash as root and an empty proof, like OZ', () => {
      const v = `0x${'ab'.repeat(32)}`;
      const t = buildMerkleTreeSync([v]);
      assert.equal(t.root, oz([v]).root);
      assert.deepEqual(t.proof(0), []);
    });
  });

  describe('when given nothing or malformed input', () => {
    it('throws MERKLE_EMPTY, INVALID_HEX32, INVALID_ARGUMENT, MERKLE_INDEX_OUT_OF_RANGE', async () => {
      await assert.rejects(buildMerkleTree([]), (e: unknown) => e instanceof DomainError && e.code === 'MERKLE_EMPTY');
      assert.throws(
        () => buildMerkleTreeSync(['0x12']),
        (e: unknown) => e instanceof DomainError && e.code === 'INVALID_HEX32',
      );
      assert.throws(
        () => buildMerkleTreeSync(new Uint8Array(33)),
        (e: unknown) => e instanceof DomainError && e.code === 'INVALID_ARGUMENT',
      );
      const t = buildMerkleTreeSync([`0x${'01'.repeat(32)}`]);
      assert.throws(
        () => t.proof(1),
        (e: unknown) => e instanceof DomainError && e.code === 'MERKLE_INDEX_OUT_OF_RANGE',
      );
    });
  });
});

describe('standardLeafHash / processProof / verifyProof', () => {
  const values = fc.sample(hex32, { numRuns: 9, seed: 3 });
  const ref = oz(values);
  describe('when the proof is genuine', () => {
    it('agree with OZ leafHash and processProof', () => {
      values.forEach((v, i) => {
        assert.equal(standardLeafHash(v), ref.leafHash([v]));
        assert.equal(processProof(standardLeafHash(v), ref.getProof(i)), ref.root);
        assert.ok(verifyProof(ref.root, v, ref.getProof(i)));
      });
    });
  });
  describe('when anything is altered or malformed', () => {
    it('verifyProof returns false and never throws', () => {
      const p = ref.getProof(0);
      assert.equal(verifyProof(ref.root, values[1]!, p), false);
      assert.equal(verifyProof(ref.root, values[0]!, p.slice(1)), false);
      assert.equal(verifyProof(ref.root, values[0]!, ['0xnothex']), false);
      assert.equal(verifyProof(ref.root, 'nope', p), false);
      assert.equal(verifyProof(undefined as unknown as string, values[0]!, p), false);
      assert.equal(verifyProof(ref.root, values[0]!, null as unknown as string[]), false);
    });
  });
});
