import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ApiKeyInfo, Org, Repo, Scope, Store } from './ports';
import { ServiceError } from './errors';

/** Who is calling: resolved from the Bearer API key on every request (no cache: revocation is immediate). */
export interface Principal {
  keyId: string;
  org: Org;
  scopes: Scope[];
}

export const SCOPES: readonly Scope[] = ['submit', 'audit', 'admin'];

/** API keys are 32 random bytes; only their SHA-256 is stored (high entropy: no slow hash needed). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function newApiKey(): { key: string; prefix: string } {
  const secret = randomBytes(32).toString('base64url');
  const key = `lnk_${secret}`;
  return { key, prefix: key.slice(0, 10) };
}

/** Creates a key inside the caller's transaction; returns the plaintext once. */
export async function createApiKey(
  repo: Repo,
  orgId: string,
  name: string,
  scopes: Scope[],
  now = Date.now(),
): Promise<{ key: string; info: ApiKeyInfo }> {
  const { key, prefix } = newApiKey();
  const info: ApiKeyInfo = {
    id: randomUUID(),
    orgId,
    name,
    prefix,
    scopes: [...new Set(scopes)],
    createdAt: now,
    revokedAt: null,
  };
  await repo.insertApiKey({ ...info, keyHash: hashApiKey(key) });
  return { key, info };
}

/** The SHA-256 of the Bearer token of an Authorization header (null: no Bearer token). */
function bearerHash(authorization: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m ? hashApiKey(m[1]!) : null;
}

/** Most key hashes remembered as valid for the rate limit's buckets (the oldest go first). */
const MAX_KNOWN_KEYS = 10_000;

export class AuthService {
  /**
   * Hashes of keys that authenticated recently, with their key id: only these get a rate-limit bucket of their own
   * ({@link rateLimitKey}). Never used to authenticate (every request still reads the key: revocation is immediate).
   */
  private readonly known = new Map<string, string>();

  constructor(private readonly store: Store) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const hash = bearerHash(authorization);
    if (!hash) throw new ServiceError('UNAUTHORIZED', 'Authorization: Bearer <api key> required');
    const found = await this.store.read((r) => r.findApiKeyByHash(hash));
    if (!found || found.revokedAt !== null) {
      this.known.delete(hash);
      if (!found) throw new ServiceError('UNAUTHORIZED', 'Unknown API key');
      throw new ServiceError('API_KEY_REVOKED', 'This API key was revoked');
    }
    if (!this.known.has(hash)) {
      this.known.set(hash, found.id);
      if (this.known.size > MAX_KNOWN_KEYS) this.known.delete(this.known.keys().next().value as string);
    }
    return { keyId: found.id, org: found.org, scopes: found.scopes };
  }

  /**
   * The rate-limit bucket of a request, decided before any database read: its own for a key that authenticated
   * recently, else the client address's. A random, unknown or revoked key thus shares its address's bucket (it
   * cannot buy a fresh one per request); a valid key's first request counts against its address.
   */
  rateLimitKey(authorization: string | undefined, ip: string): string {
    const hash = authorization ? bearerHash(authorization) : null;
    const keyId = hash ? this.known.get(hash) : undefined;
    return keyId ? `key:${keyId}` : `ip:${ip}`;
  }

  /** Throws FORBIDDEN unless the principal holds one of `scopes`. */
  static require(p: Principal, ...scopes: Scope[]): void {
    if (!scopes.some((s) => p.scopes.includes(s))) {
      throw new ServiceError('FORBIDDEN', `This API key lacks the scope ${scopes.join(' or ')}`, {
        required: scopes,
      });
    }
  }

  /** Organisations whose records `p` may read: its own, plus those granted to its org when it has `audit`. */
  async readableOrgs(p: Principal): Promise<Set<string>> {
    const out = new Set([p.org.id]);
    if (p.scopes.includes('audit')) {
      for (const o of await this.store.read((r) => r.grantsOf(p.org.id))) out.add(o);
    }
    return out;
  }
}
