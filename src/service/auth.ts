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

export class AuthService {
  constructor(private readonly store: Store) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) throw new ServiceError('UNAUTHORIZED', 'Authorization: Bearer <api key> required');
    const found = await this.store.read((r) => r.findApiKeyByHash(hashApiKey(m[1]!)));
    if (!found) throw new ServiceError('UNAUTHORIZED', 'Unknown API key');
    if (found.revokedAt !== null) throw new ServiceError('API_KEY_REVOKED', 'This API key was revoked');
    return { keyId: found.id, org: found.org, scopes: found.scopes };
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
