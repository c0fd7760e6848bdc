export { DomainError, type DomainErrorCode } from './errors';
export {
  type Hex32,
  isHex32,
  isRecordId,
  toHex32,
  ZERO_HEX32,
  HEX32_PATTERN,
  ADDRESS_PATTERN,
  UUID_PATTERN,
} from './hex';
export { initHashing, isFastHashingReady } from './hashing';
export { canonicalize, digestCanonical, digestPayload, newSalt } from './canonicalize';
export { computeCommitment, encodeCommitmentInput, type CommitmentInput } from './commitment';
export {
  buildMerkleTree,
  buildMerkleTreeSync,
  processProof,
  standardLeafHash,
  verifyProof,
  type MerkleTree,
} from './merkle';
