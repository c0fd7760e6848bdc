import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { AbiCoder, keccak256 } from 'ethers';
import fc from 'fast-check';
import { computeCommitment, DomainError, initHashing, type CommitmentInput } from '../../src/domain';

// Known answers computed once with ethers 6.17 (an independent ABI encoder + keccak):
//   keccak256(AbiCoder.defaultAbiCoder().encode(['string','string','string','bytes32','bytes32','bytes32[]'],
//             [recordId, orgId, type, digest, salt, [...parents].sort()]))
// digest/salt/parents below are ethers.id(<label>) values, written out literally.
const VECTORS: [CommitmentInput, string][] = [
  [
    {
      recordId: '00000000-0000-4000-8000-000000000000',
      orgId: 'bank',
      type: 'security.issuance',
      digest: '0xb85c1528a6b336e5047fb78c069eb182c28c8db19263a6564c6c5642ce3f9227',
      salt: '0xad7b6b88034155f1e86d31a54d7723ede2183a6538ecab39ce7a7144ff280fcd',
      parents: [],
    },
    '0xb23a58a4512de04a98738da9049c42a735f4142b3a5f45a4aab590b2d83f08d8',
  ],
  [
    {
      recordId: '3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c',
      orgId: 'Soci\u00e9t\u00e9 G\u00e9n\u00e9rale \u2014 \u9280\u884c \ud83d\ude02',
      type: 'expense.claim',
      digest: '0x6c628f639fb2ee4926330fc1311bdecdfc27803f15cc60ef2b81941fb7a7461d',
      salt: '0x7a5d8e65825a57020baadf484c031482b39cf6302a3ddf29cb80f1652561193b',
      parents: [
        '0x9d810c7e823b79d56ea11c01595ee5c9590af64a1f68ac08874f7ded2a99f7c4',
        '0xc734569231c4c28587ca503c9f5733861a03da4b3403c0a35d34e12c63385bd9',
        '0x78d643512ea8f8d4d1692b0d8c842c7064986a00823d71b0daf0f084e3bdcb27',
      ],
    },
    '0xc31581f5f39ab3e0bf621925ab33cde07216f45af0b78e30105631d12974e437',
  ],
  [
    {
      recordId: 'ffffffff-ffff-4fff-bfff-ffffffffffff',
      orgId: 'x'.repeat(32),
      type: 'a-type-name-that-is-longer-than-32-bytes.ok',
      digest: `0x${'00'.repeat(32)}`,
      salt: `0x${'ff'.repeat(32)}`,
      parents: [`0x${'ff'.repeat(32)}`, `0x${'00'.repeat(31)}01`],
    },
    '0x04a8ea724da5fbf0d61b045bdf743209edde5357994a58a9a4bda81feb4d6fd8',
  ],
];

const TYPES = ['string', 'string', 'string', 'bytes32', 'bytes32', 'bytes32[]'];
const reference = (i: CommitmentInput): string =>
  keccak256(
    AbiCoder.defaultAbiCoder().encode(TYPES, [i.recordId, i.orgId, i.type, i.digest, i.salt, [...i.parents].sort()]),
  );

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString('hex')}`);
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 });
const input: fc.Arbitrary<CommitmentInput> = fc.record({
  recordId: fc.uuid().map((u) => u.toLowerCase()),
  orgId: text,
  type: text,
  digest: hex32,
  salt: hex32,
  parents: fc.uniqueArray(hex32, { maxLength: 5 }),
});

function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof DomainError && e.code === code);
}

describe('computeCommitment', () => {
  const valid = VECTORS[0]![0];

  describe('when given the known-answer vectors', () => {
    before(() => initHashing());
    it('matches the commitments computed with ethers', () => {
      for (const [i, want] of VECTORS) assert.equal(computeCommitment(i), want);
    });
  });

  describe('when given random records (unicode strings, 0..5 parents)', () => {
    before(() => initHashing());
    it('equals ethers AbiCoder.encode + keccak256', () => {
      fc.assert(
        fc.property(input, (i) => computeCommitment(i) === reference(i)),
        { numRuns: 500 },
      );
    });
    it('does not depend on the order of the parents', () => {
      fc.assert(
        fc.property(
          input,
          (i) => computeCommitment(i) === computeCommitment({ ...i, parents: [...i.parents].reverse() }),
        ),
        { numRuns: 100 },
      );
    });
  });

  describe('when an input is malformed', () => {
    it('rejects an uppercase or unhyphenated record id with INVALID_RECORD_ID', () => {
      assertCode(
        () => computeCommitment({ ...valid, recordId: valid.recordId.toUpperCase().replace('X', 'x') + 'A' }),
        'INVALID_RECORD_ID',
      );
      assertCode(
        () => computeCommitment({ ...valid, recordId: '3F2A9C1E-8B7D-4E6F-A5C4-1D2E3F4A5B6C' }),
        'INVALID_RECORD_ID',
      );
      assertCode(
        () => computeCommitment({ ...valid, recordId: '3f2a9c1e8b7d4e6fa5c41d2e3f4a5b6c' }),
        'INVALID_RECORD_ID',
      );
    });
    it('rejects uppercase, short or missing hex with INVALID_HEX32', () => {
      assertCode(() => computeCommitment({ ...valid, digest: valid.digest.toUpperCase() }), 'INVALID_HEX32');
      assertCode(() => computeCommitment({ ...valid, salt: '0x1234' }), 'INVALID_HEX32');
      assertCode(() => computeCommitment({ ...valid, parents: ['0xzz'] }), 'INVALID_HEX32');
    });
    it('rejects duplicate parents with INVALID_PARENTS', () => {
      assertCode(() => computeCommitment({ ...valid, parents: [valid.salt, valid.salt] }), 'INVALID_PARENTS');
    });
    it('rejects empty or ill-formed strings with INVALID_ARGUMENT', () => {
      assertCode(() => computeCommitment({ ...valid, orgId: '' }), 'INVALID_ARGUMENT');
      assertCode(() => computeCommitment({ ...valid, type: 'a\ud800' }), 'INVALID_ARGUMENT');
    });
  });
});
