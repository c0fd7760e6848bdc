import { getAddress } from 'ethers';
import { keccak256Bytes } from '../domain/hashing';
import {
  isCanonicalSignature,
  recordSigningDigest,
  recoverRecordSigner,
  type RecordSigningDomain,
} from '../domain/signatures';
import type { Hex32 } from '../domain/hex';
import type { DirectoryKey, DirectoryReader } from './ports';
import { recordSigningDomain } from '../domain/signatures';

/** What checking signed records needs: the EIP-712 domain (chain, NotaryRegistry) and the directory's keys. */
export interface RecordSigning {
  domain: RecordSigningDomain;
  keys: SignerKeys;
}

/** Signed-record checking for the service's chain and directory; null without either (signed records refused). */
export function recordSigningFor(
  chain: { chainId: number; registry: string } | undefined,
  directory: DirectoryReader | undefined,
): RecordSigning | null {
  if (!chain || !directory) return null;
  return { domain: recordSigningDomain(chain.chainId, chain.registry), keys: new SignerKeys(directory) };
}

/** How long a directory answer is reused: a SIGNER key removed on chain is refused at most this long after. */
export const SIGNER_KEY_TTL_MS = 5_000;

/** Most cached keys (a batch names a few signers; this bounds memory against requests naming many). */
const MAX_CACHED = 10_000;

/**
 * `MemberDirectory.memberOf` answers, cached per account for {@link SIGNER_KEY_TTL_MS}: a batch of 10,000 records
 * signed by one key makes one RPC call, and a key the registrar removes is refused within the TTL. Lookups of the
 * same account in flight at once share one call; a failed lookup is not cached.
 */
export class SignerKeys {
  private readonly cache = new Map<string, { at: number; key: Promise<DirectoryKey> }>();
  /** RPC calls made (tests, metrics). */
  lookups = 0;

  constructor(
    private readonly directory: DirectoryReader,
    readonly ttlMs = SIGNER_KEY_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The directory binding of each account (lowercase address → key); throws when the chain cannot be read. */
  async resolve(accounts: readonly string[]): Promise<Map<string, DirectoryKey>> {
    const unique = [...new Set(accounts.map((a) => a.toLowerCase()))];
    const out = new Map<string, DirectoryKey>();
    await Promise.all(unique.map(async (a) => out.set(a, await this.one(a))));
    return out;
  }

  private one(account: string): Promise<DirectoryKey> {
    const t = this.now();
    const hit = this.cache.get(account);
    if (hit && t - hit.at < this.ttlMs) return hit.key;
    if (this.cache.size >= MAX_CACHED) {
      for (const [k, v] of this.cache) if (t - v.at >= this.ttlMs) this.cache.delete(k);
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
    }
    this.lookups++;
    const key = this.directory.memberOf(getAddress(account));
    const entry = { at: t, key };
    this.cache.set(account, entry);
    key.catch(() => {
      if (this.cache.get(account) === entry) this.cache.delete(account);
    });
    return key;
  }

  /** Forgets a cached answer (the service itself just added or removed the key). */
  forget(account: string): void {
    this.cache.delete(account.toLowerCase());
  }
}

// ---- signature recovery ---------------------------------------------------------------------------------------

interface NativeSecp256k1 {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
}

let native: NativeSecp256k1 | null | undefined;

/** libsecp256k1 through the `secp256k1` package's native binding (~40× faster than ethers' JS), or null. */
function nativeSecp256k1(): NativeSecp256k1 | null {
  if (native !== undefined) return native;
  try {
    // The binding only: the package's own fallback (elliptic, pure JS) is slower than ethers.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    native = require('secp256k1/bindings') as NativeSecp256k1;
  } catch {
    native = null;
  }
  return native;
}

/** Whether signatures are recovered by libsecp256k1 (else by ethers' `recoverAddress`). */
export function nativeRecovery(): boolean {
  return nativeSecp256k1() !== null;
}

const HEX = /^[0-9a-f]*$/;
const SIG_RE = /^0x[0-9a-fA-F]{130}$/;
/** secp256k1 group order n, and n / 2 (the highest canonical s), as 64 lowercase hex digits. */
const N_HEX = 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141';
const HALF_N_HEX = '7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0';
const ZERO_HEX = '0'.repeat(64);

/**
 * The domain's `isCanonicalSignature` (65 bytes, v 27/28, 0 < s ≤ n/2) by comparing fixed-width hex strings,
 * without building the signature object (faster on the bulk path); it also refuses r = 0, s = 0 and r ≥ n, which the
 * domain check leaves to recovery (they recover to no signer), and s above n/2 (EIP-2, what libsecp256k1 and
 * ethers produce), where the domain check only refuses s ≥ 2^255.
 */
export function isCanonicalSignatureFast(sig: unknown): sig is string {
  if (typeof sig !== 'string' || !SIG_RE.test(sig)) return false;
  const h = sig.toLowerCase();
  const v = h.slice(130, 132);
  if (v !== '1b' && v !== '1c') return false;
  const r = h.slice(2, 66);
  const s = h.slice(66, 130);
  return r !== ZERO_HEX && r < N_HEX && s !== ZERO_HEX && s <= HALF_N_HEX;
}

/**
 * The address (lowercase) that produced `signature` over `commitment` in `domain`, or null when the signature is not
 * canonical or recovers to nothing. Same answers as {@link recoverRecordSigner} (the pure-JS path, used when the
 * native binding is missing and as the tests' oracle).
 */
export function recoverSignerAddress(
  domain: RecordSigningDomain,
  commitment: Hex32,
  signature: string,
  opts: { canonicalChecked?: boolean; pureJs?: boolean } = {},
): string | null {
  const lib = opts.pureJs ? null : nativeSecp256k1();
  if (!lib) return recoverRecordSigner(domain, commitment, signature)?.toLowerCase() ?? null;
  if (!opts.canonicalChecked && !isCanonicalSignature(signature)) return null;
  const sig = signature.toLowerCase();
  if (!HEX.test(sig.slice(2))) return null;
  const digest = recordSigningDigest(domain, commitment);
  try {
    const pub = lib.ecdsaRecover(
      Buffer.from(sig.slice(2, 130), 'hex'),
      parseInt(sig.slice(130, 132), 16) - 27,
      Buffer.from(digest.slice(2), 'hex'),
      false,
    );
    return '0x' + Buffer.from(keccak256Bytes(pub.subarray(1))).toString('hex', 12);
  } catch {
    return null;
  }
}
