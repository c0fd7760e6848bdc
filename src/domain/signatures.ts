import { AbiCoder, TypedDataEncoder, getAddress, isAddress, keccak256, recoverAddress } from 'ethers';
import { validateArgument } from './errors';
import { keccak256Bytes } from './hashing';
import { bytesToHex32, hex32ToBytes, isHex32, type Hex32 } from './hex';

// Records signed by the organisation itself (receipt version 2, docs/formats.md "Receipt version 2").
//
// The organisation's SIGNER key signs the commitment as EIP-712 `RecordCommitment(bytes32 commitment)` under the
// domain {name: "LedgerNotary", version: "2", chainId, verifyingContract: <NotaryRegistry>}. The signatures are
// sealed into the anchored leaf so that the chain dates them:
//   signaturesDigest = keccak256(concat(signature_1, …, signature_n))      65 bytes each, in receipt order
//   sealed           = keccak256(abi.encode(bytes32 commitment, bytes32 signaturesDigest))
// A record without signatures is anchored with its commitment as the leaf value (receipt version 1).
//
// Portable (no Node built-in): the auditor page's bundle runs this code too.

/** Most signatures one record may carry (the submitter's own keys; co-signers sign their own `cosignature`). */
export const MAX_SIGNATURES = 8;

/** `0x` + 130 lowercase hex: r (32 bytes) ‖ s (32 bytes) ‖ v (27 or 28). */
export const SIGNATURE_PATTERN = '^0x[0-9a-fA-F]{130}$';

export const RECORD_SIGNING_NAME = 'LedgerNotary';
export const RECORD_SIGNING_VERSION = '2';

/** The EIP-712 types of what an organisation signs (ethers `TypedDataField` shape). */
export const RECORD_COMMITMENT_TYPES: Record<string, { name: string; type: string }[]> = {
  RecordCommitment: [{ name: 'commitment', type: 'bytes32' }],
};

/** One signature of a record: the signer's address (EIP-55 checksummed) and its 65-byte signature. */
export interface RecordSignature {
  signer: string;
  signature: string;
}

/** The EIP-712 domain a record signature is bound to. */
export interface RecordSigningDomain {
  name: typeof RECORD_SIGNING_NAME;
  version: typeof RECORD_SIGNING_VERSION;
  chainId: number;
  verifyingContract: string;
}

/** The domain for the NotaryRegistry `registry` on chain `chainId` (what a client passes to `signTypedData`). */
export function recordSigningDomain(chainId: number | bigint, registry: string): RecordSigningDomain {
  validateArgument(isAddress(registry), 'INVALID_ARGUMENT', 'registry must be an address', ['registry']);
  const id = Number(chainId);
  validateArgument(Number.isSafeInteger(id) && id > 0, 'INVALID_ARGUMENT', 'chainId must be a positive integer', [
    'chainId',
  ]);
  return {
    name: RECORD_SIGNING_NAME,
    version: RECORD_SIGNING_VERSION,
    chainId: id,
    verifyingContract: getAddress(registry),
  };
}

const TYPE_HASH = hex32ToBytes(keccak256(new TextEncoder().encode('RecordCommitment(bytes32 commitment)')));
const separators = new Map<string, Uint8Array>();

function domainSeparator(domain: RecordSigningDomain): Uint8Array {
  const k = `${domain.chainId}:${domain.verifyingContract.toLowerCase()}`;
  let sep = separators.get(k);
  if (sep === undefined) {
    sep = hex32ToBytes(TypedDataEncoder.hashDomain(domain).toLowerCase());
    if (separators.size > 64) separators.clear();
    separators.set(k, sep);
  }
  return sep;
}

/**
 * The EIP-712 digest a signer signs for `commitment` (`TypedDataEncoder.hash(domain, RECORD_COMMITMENT_TYPES,
 * {commitment})`, computed with the fast keccak: the same 32 bytes).
 */
export function recordSigningDigest(domain: RecordSigningDomain, commitment: Hex32): Hex32 {
  validateArgument(isHex32(commitment), 'INVALID_HEX32', 'commitment must be 0x + 64 lowercase hex', ['commitment']);
  const struct = new Uint8Array(64);
  struct.set(TYPE_HASH, 0);
  struct.set(hex32ToBytes(commitment), 32);
  const msg = new Uint8Array(66);
  msg[0] = 0x19;
  msg[1] = 0x01;
  msg.set(domainSeparator(domain), 2);
  msg.set(keccak256Bytes(struct), 34);
  return bytesToHex32(keccak256Bytes(msg));
}

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = SECP256K1_N >> 1n;

/**
 * True when `sig` is 65 bytes of hex with 0 < r < n, 0 < s ≤ n/2 (EIP-2: the low-s form, so a signature cannot be
 * re-shaped into a second valid one) and v 27/28: the only form accepted.
 */
export function isCanonicalSignature(sig: unknown): sig is string {
  if (typeof sig !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(sig)) return false;
  const v = parseInt(sig.slice(130, 132), 16);
  if (v !== 27 && v !== 28) return false;
  const r = BigInt('0x' + sig.slice(2, 66));
  const s = BigInt('0x' + sig.slice(66, 130));
  return r > 0n && r < SECP256K1_N && s > 0n && s <= HALF_N;
}

/**
 * The address that produced `signature` over `commitment` in `domain` (EIP-55), or null when the signature is not
 * canonical or recovers to nothing.
 */
export function recoverRecordSigner(domain: RecordSigningDomain, commitment: Hex32, signature: string): string | null {
  if (!isCanonicalSignature(signature)) return null;
  try {
    return recoverAddress(recordSigningDigest(domain, commitment), signature);
  } catch {
    return null;
  }
}

/** keccak256 of the signatures' 65 raw bytes each, concatenated in the given (receipt) order. */
export function signaturesDigest(signatures: readonly Pick<RecordSignature, 'signature'>[]): Hex32 {
  validateArgument(
    signatures.length > 0 && signatures.length <= MAX_SIGNATURES,
    'INVALID_ARGUMENT',
    `a signed record carries 1 to ${MAX_SIGNATURES} signatures`,
    ['signatures'],
  );
  const out = new Uint8Array(65 * signatures.length);
  signatures.forEach((s, i) => {
    validateArgument(
      typeof s.signature === 'string' && /^0x[0-9a-fA-F]{130}$/.test(s.signature),
      'INVALID_ARGUMENT',
      'a signature is 0x + 130 hex (65 bytes)',
      [`signatures/${i}/signature`],
    );
    for (let j = 0; j < 65; j++) out[65 * i + j] = parseInt(s.signature.slice(2 + 2 * j, 4 + 2 * j), 16);
  });
  return bytesToHex32(keccak256Bytes(out));
}

const abi = AbiCoder.defaultAbiCoder();

/** The sealed leaf value: keccak256(abi.encode(bytes32 commitment, bytes32 signaturesDigest)). */
export function sealedLeaf(commitment: Hex32, signatures: readonly Pick<RecordSignature, 'signature'>[]): Hex32 {
  validateArgument(isHex32(commitment), 'INVALID_HEX32', 'commitment must be 0x + 64 lowercase hex', ['commitment']);
  const enc = new Uint8Array(64);
  enc.set(hex32ToBytes(commitment), 0);
  enc.set(hex32ToBytes(signaturesDigest(signatures)), 32);
  return bytesToHex32(keccak256Bytes(enc));
}

/** The Merkle leaf value of a record: its commitment (receipt v1) or, when it carries signatures, the sealed value. */
export function leafValueOf(commitment: Hex32, signatures?: readonly Pick<RecordSignature, 'signature'>[]): Hex32 {
  return signatures === undefined || signatures.length === 0 ? commitment : sealedLeaf(commitment, signatures);
}

/** Same value as {@link sealedLeaf} through ethers' ABI coder and keccak (an independent path, for tests). */
export function sealedLeafReference(
  commitment: Hex32,
  signatures: readonly Pick<RecordSignature, 'signature'>[],
): Hex32 {
  const sd = keccak256('0x' + signatures.map((s) => s.signature.slice(2)).join(''));
  return keccak256(abi.encode(['bytes32', 'bytes32'], [commitment, sd])).toLowerCase();
}
