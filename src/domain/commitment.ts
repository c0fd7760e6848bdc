import { DomainError } from './errors';
import { keccak256Bytes } from './hashing';
import { assertHex32, bytesToHex32, isRecordId, isWellFormed, utf8Length, writeHex32, type Hex32 } from './hex';

/** The fields a commitment binds (DESIGN §2.2). */
export interface CommitmentInput {
  recordId: string;
  orgId: string;
  type: string;
  digest: Hex32;
  salt: Hex32;
  parents: Hex32[];
}

/** Upper bounds that keep one commitment's encoding small; far above any real record. */
export const MAX_ID_LENGTH = 256;
export const MAX_PARENTS = 1024;

// Reused encoding buffer (plain Uint8Array + DataView: the domain does not depend on Node's Buffer).
let scratch = new Uint8Array(0);
let scratchView = new DataView(scratch.buffer);
const utf8 = new TextEncoder();

function assertText(x: unknown, field: string): asserts x is string {
  if (typeof x !== 'string' || x.length === 0 || x.length > MAX_ID_LENGTH || !isWellFormed(x)) {
    throw new DomainError({
      code: 'INVALID_ARGUMENT',
      message: `${field} must be a non-empty well-formed string of at most ${MAX_ID_LENGTH} UTF-16 units`,
      fields: [field],
    });
  }
}

const padded = (n: number): number => (n + 31) & ~31;

/** Validates `input` and returns its parents sorted ascending (a new array). */
export function validateCommitmentInput(input: CommitmentInput): Hex32[] {
  if (typeof input !== 'object' || input === null) {
    throw new DomainError({ code: 'INVALID_ARGUMENT', message: 'commitment input must be an object' });
  }
  if (!isRecordId(input.recordId)) {
    throw new DomainError({
      code: 'INVALID_RECORD_ID',
      message: 'recordId must be a lowercase hyphenated UUID',
      fields: ['recordId'],
    });
  }
  assertText(input.orgId, 'orgId');
  assertText(input.type, 'type');
  assertHex32(input.digest, 'digest');
  assertHex32(input.salt, 'salt');
  const parents = input.parents;
  if (!Array.isArray(parents) || parents.length > MAX_PARENTS) {
    throw new DomainError({
      code: 'INVALID_PARENTS',
      message: `parents must be an array of at most ${MAX_PARENTS} commitments`,
      fields: ['parents'],
    });
  }
  parents.forEach((p, i) => assertHex32(p, `parents[${i}]`));
  // Lowercase hex of equal length sorts like the bytes it encodes, i.e. like Solidity's bytes32 order.
  const sorted = [...parents].sort();
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) {
      throw new DomainError({ code: 'INVALID_PARENTS', message: `duplicate parent ${sorted[i]}`, fields: ['parents'] });
    }
  }
  return sorted;
}

/**
 * `abi.encode(string recordId, string orgId, string type, bytes32 digest, bytes32 salt, bytes32[] parents)`
 * with parents sorted ascending (DESIGN §2.2), hand-encoded: head of 6 words (3 string offsets, digest, salt,
 * array offset), then each string as length word + UTF-8 bytes zero-padded to 32, then the array as length word
 * + elements. Returns a view into a reused scratch buffer: copy it if you keep it.
 */
export function encodeCommitmentInput(input: CommitmentInput): Uint8Array {
  const parents = validateCommitmentInput(input);
  const l1 = utf8Length(input.recordId);
  const l2 = utf8Length(input.orgId);
  const l3 = utf8Length(input.type);
  const o1 = 192;
  const o2 = o1 + 32 + padded(l1);
  const o3 = o2 + 32 + padded(l2);
  const o4 = o3 + 32 + padded(l3);
  const size = o4 + 32 + 32 * parents.length;
  if (scratch.length < size) {
    scratch = new Uint8Array(Math.max(4096, padded(size * 2)));
    scratchView = new DataView(scratch.buffer);
  }
  const b = scratch;
  const v = scratchView;
  b.fill(0, 0, size);
  v.setUint32(28, o1);
  v.setUint32(60, o2);
  v.setUint32(92, o3);
  writeHex32(input.digest, b, 96);
  writeHex32(input.salt, b, 128);
  v.setUint32(188, o4);
  v.setUint32(o1 + 28, l1);
  utf8.encodeInto(input.recordId, b.subarray(o1 + 32, o1 + 32 + l1));
  v.setUint32(o2 + 28, l2);
  utf8.encodeInto(input.orgId, b.subarray(o2 + 32, o2 + 32 + l2));
  v.setUint32(o3 + 28, l3);
  utf8.encodeInto(input.type, b.subarray(o3 + 32, o3 + 32 + l3));
  v.setUint32(o4 + 28, parents.length);
  for (let i = 0; i < parents.length; i++) writeHex32(parents[i]!, b, o4 + 32 + 32 * i);
  return b.subarray(0, size);
}

/** DESIGN §2.2 commitment: keccak256 of {@link encodeCommitmentInput}. Sync; fast after `initHashing()`. */
export function computeCommitment(input: CommitmentInput): Hex32 {
  return bytesToHex32(keccak256Bytes(encodeCommitmentInput(input)));
}
