/**
 * Client-side signing of records by the organisation's own SIGNER key (receipt version 2, docs/formats.md
 * "Receipt version 2"). The client chooses the record id (UUIDv7) and the salt, computes the commitment the
 * service will compute (digest of the payload, parents' commitments), and signs it as EIP-712
 * `RecordCommitment(bytes32 commitment)` under the domain of the service's registry (`GET /v1/info`). What it
 * returns — `{id, salt, signatures}` — goes with the record to POST /v1/records or /v1/records/batch.
 *
 * Bulk: {@link signRecords} signs thousands of records synchronously with one key. The digest is computed with
 * the domain's fast keccak ({@link recordSigningDigest}); the secp256k1 signature by the fastest backend present:
 * the native libsecp256k1 binding (`secp256k1`, an optional dependency, about ten times ethers' speed), else
 * ethers' `SigningKey` (@noble/curves). Any ethers `Signer` (a wallet, a hardware or remote signer) works too
 * through {@link signRecordWith}, one `signTypedData` call per record.
 */
import type { Signer } from 'ethers';
import type { Hex32 } from '../domain/hex';
import type { RecordSignature, RecordSigningDomain } from '../domain/signatures';

export type { RecordSignature, RecordSigningDomain } from '../domain/signatures';

// ethers and the domain code are loaded on first use: importing `ledger-notary/client` stays free of them.
type Deps = typeof import('ethers') &
  typeof import('../domain/commitment') &
  typeof import('../domain/canonicalize') &
  typeof import('../domain/hex') &
  typeof import('../domain/hashing') &
  typeof import('../domain/signatures');
let loaded: Deps | undefined;
/* eslint-disable @typescript-eslint/no-require-imports */
const L = (): Deps =>
  (loaded ??= {
    ...(require('ethers') as typeof import('ethers')),
    ...(require('../domain/commitment') as typeof import('../domain/commitment')),
    ...(require('../domain/canonicalize') as typeof import('../domain/canonicalize')),
    ...(require('../domain/hex') as typeof import('../domain/hex')),
    ...(require('../domain/hashing') as typeof import('../domain/hashing')),
    ...(require('../domain/signatures') as typeof import('../domain/signatures')),
  } as Deps);
/* eslint-enable @typescript-eslint/no-require-imports */

/** The EIP-712 types of what an organisation signs (ethers `TypedDataField` shape). */
export const RECORD_COMMITMENT_TYPES: Record<string, { name: string; type: string }[]> = {
  RecordCommitment: [{ name: 'commitment', type: 'bytes32' }],
};

/** The EIP-712 domain of records signed for the NotaryRegistry `registry` on chain `chainId`. */
export function recordSigningDomain(chainId: number | bigint, registry: string): RecordSigningDomain {
  return L().recordSigningDomain(chainId, registry);
}

/** Starts the fast (WASM) keccak used for digests and commitments: await it once before bulk signing. */
export function initSigning(): Promise<void> {
  return L().initHashing();
}

/** Where a signature is valid: the submitting organisation, and the chain and NotaryRegistry of the service. */
export interface SigningContext {
  orgId: string;
  chainId: number;
  /** NotaryRegistry address (`GET /v1/info` `registry`). */
  registry: string;
}

/** What is signed of a record: its type and payload, and its parents' *commitments* (not their ids). */
export interface RecordToSign {
  type: string;
  payload: unknown;
  /** Commitments (`0x` + 64 hex) of the parent records, in any order. */
  parentCommitments?: string[];
  /** A record id to use (UUID, lowercase) instead of a new UUIDv7 (e.g. to sign the same record again). */
  id?: string;
  /** A salt to use instead of 32 random bytes. */
  salt?: string;
}

/** The fields to send with the record, and what they bind. */
export interface SignedRecordFields {
  id: string;
  salt: string;
  signatures: RecordSignature[];
  digest: string;
  commitment: string;
}

/** A key that signs EIP-712 digests synchronously (for bulk signing). */
export interface DigestSigner {
  /** EIP-55 address of the key. */
  readonly address: string;
  /** Which secp256k1 implementation signs. */
  readonly backend: SigningBackend;
  /** 65-byte signature `r ‖ s ‖ v` (v 27/28, low s) of a 32-byte digest, as `0x` + 130 lowercase hex. */
  signDigest(digest: Hex32): string;
}

export type SigningBackend = 'native' | 'ethers';

interface NativeSecp256k1 {
  ecdsaSign(msg: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
  privateKeyVerify(key: Uint8Array): boolean;
}

let native: NativeSecp256k1 | null | undefined;
/** The native libsecp256k1 binding when it is installed and loads on this platform, else null. */
function loadNative(): NativeSecp256k1 | null {
  if (native !== undefined) return native;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('secp256k1') as NativeSecp256k1;
    // The package falls back to a pure-JS "elliptic" build when the binary does not load: slower than ethers.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const elliptic = require('secp256k1/elliptic') as NativeSecp256k1;
    native = mod === elliptic ? null : mod;
  } catch {
    native = null;
  }
  return native;
}

/** The backends available here, fastest first. */
export function availableSigningBackends(): SigningBackend[] {
  return loadNative() ? ['native', 'ethers'] : ['ethers'];
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/**
 * A {@link DigestSigner} over a raw private key (`0x` + 64 hex). `backend`: 'native' (throws when the binding is
 * missing), 'ethers', or 'auto' (default: native when present).
 */
export function digestSignerFromKey(privateKey: string, backend: SigningBackend | 'auto' = 'auto'): DigestSigner {
  if (!/^0x[0-9a-fA-F]{64}$/.test(privateKey)) throw new Error('a private key is 0x + 64 hex');
  const { computeAddress, hex32ToBytes, SigningKey } = L();
  const address = computeAddress(privateKey);
  const lib = backend === 'ethers' ? null : loadNative();
  if (backend === 'native' && !lib) throw new Error('the native secp256k1 binding is not installed or does not load');
  if (lib) {
    const key = hex32ToBytes(privateKey.toLowerCase());
    if (!lib.privateKeyVerify(key)) throw new Error('not a valid secp256k1 private key');
    return {
      address,
      backend: 'native',
      signDigest(digest) {
        // libsecp256k1 produces canonical (low-s) signatures, RFC 6979 deterministic.
        const { signature, recid } = lib.ecdsaSign(hex32ToBytes(digest), key);
        return '0x' + toHex(signature) + (27 + recid).toString(16);
      },
    };
  }
  const sk = new SigningKey(privateKey);
  return {
    address,
    backend: 'ethers',
    signDigest: (digest) => sk.sign(digest).serialized.toLowerCase(),
  };
}

/** A new record id: a UUID version 7 (RFC 9562), lowercase and hyphenated. */
export function newRecordIdV7(now = Date.now()): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  let t = now;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** 32 random bytes as `0x` + 64 lowercase hex. */
export function newRecordSalt(): string {
  return '0x' + toHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

function prepare(
  rec: RecordToSign,
  ctx: SigningContext,
): { id: string; salt: string; digest: Hex32; commitment: Hex32 } {
  const { isHex32, digestPayload, computeCommitment } = L();
  const parents = (rec.parentCommitments ?? []).map((c) => c.toLowerCase());
  for (const c of parents) if (!isHex32(c)) throw new Error(`parent commitment ${c} is not 0x + 64 hex`);
  const id = rec.id ?? newRecordIdV7();
  const salt = (rec.salt ?? newRecordSalt()).toLowerCase();
  const digest = digestPayload(rec.payload);
  const commitment = computeCommitment({ recordId: id, orgId: ctx.orgId, type: rec.type, digest, salt, parents });
  return { id, salt, digest, commitment };
}

/** The EIP-712 domain of `ctx` (checked once). */
export function domainOf(ctx: SigningContext): RecordSigningDomain {
  return L().recordSigningDomain(ctx.chainId, ctx.registry);
}

/** Signs one record with a {@link DigestSigner}. */
export function signRecord(signer: DigestSigner, rec: RecordToSign, ctx: SigningContext): SignedRecordFields {
  return signRecords(signer, [rec], ctx)[0]!;
}

/** Signs many records with one key, synchronously (10,000 records: well under a second with the native backend). */
export function signRecords(
  signer: DigestSigner,
  recs: readonly RecordToSign[],
  ctx: SigningContext,
): SignedRecordFields[] {
  const domain = domainOf(ctx);
  const { getAddress, recordSigningDigest } = L();
  const signerAddress = getAddress(signer.address);
  return recs.map((rec) => {
    const p = prepare(rec, ctx);
    const signature = signer.signDigest(recordSigningDigest(domain, p.commitment));
    return { ...p, signatures: [{ signer: signerAddress, signature }] };
  });
}

/**
 * Signs one record with any ethers `Signer` (`signTypedData`: a Wallet, a JSON-RPC or hardware signer). Slower than
 * {@link signRecords}: one asynchronous call per record.
 */
export async function signRecordWith(
  signer: Signer,
  rec: RecordToSign,
  ctx: SigningContext,
): Promise<SignedRecordFields> {
  const domain = domainOf(ctx);
  const { Signature, getAddress } = L();
  const p = prepare(rec, ctx);
  const raw = await signer.signTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment: p.commitment });
  const signature = Signature.from(raw).serialized.toLowerCase(); // canonical form (low s, v 27/28)
  return { ...p, signatures: [{ signer: getAddress(await signer.getAddress()), signature }] };
}
