import { createApiKey } from './auth';
import { ServiceError } from './errors';
import type { ApiKeyInfo, Org, OrgKind, Scope, Store } from './ports';

/** Creates a chain account for a member organisation and grants it its registry roles. */
export type AccountProvisioner = (orgId: string) => Promise<string>;

/** Organisations, their chain accounts, API keys and audit grants. */
export class AdminService {
  constructor(
    private readonly store: Store,
    private readonly provision?: AccountProvisioner,
  ) {}

  async createOrg(input: {
    id: string;
    name: string;
    kind?: OrgKind;
    address?: string;
    rules?: 'refuse' | 'warn';
  }): Promise<Org> {
    const kind = input.kind ?? 'member';
    if (await this.store.read((r) => r.getOrg(input.id))) {
      throw new ServiceError('ORG_EXISTS', `Organisation ${input.id} exists already`);
    }
    // A member anchors and claims from its own chain account.
    const address = input.address ?? (kind === 'member' && this.provision ? await this.provision(input.id) : null);
    const org: Org = {
      id: input.id,
      name: input.name,
      kind,
      address,
      createdAt: Date.now(),
      rules: input.rules ?? 'refuse',
    };
    await this.store.tx(async (r) => {
      if (await r.getOrg(org.id)) throw new ServiceError('ORG_EXISTS', `Organisation ${org.id} exists already`);
      await r.insertOrg(org);
    });
    return org;
  }

  /** Sets whether the organisation's records that break an arithmetic rule are refused or accepted with warnings. */
  async setOrgRules(id: string, rules: 'refuse' | 'warn'): Promise<Org> {
    const found = await this.store.tx((r) => r.setOrgRules(id, rules));
    if (!found) throw new ServiceError('ORG_NOT_FOUND', `Organisation ${id} not found`);
    return this.getOrg(id);
  }

  listOrgs(): Promise<Org[]> {
    return this.store.read((r) => r.listOrgs());
  }

  async getOrg(id: string): Promise<Org> {
    const org = await this.store.read((r) => r.getOrg(id));
    if (!org) throw new ServiceError('ORG_NOT_FOUND', `Organisation ${id} not found`);
    return org;
  }

  async createKey(orgId: string, name: string, scopes: Scope[]): Promise<{ key: string; info: ApiKeyInfo }> {
    await this.getOrg(orgId);
    return this.store.tx((r) => createApiKey(r, orgId, name, scopes));
  }

  async listKeys(orgId: string): Promise<ApiKeyInfo[]> {
    await this.getOrg(orgId);
    return this.store.read((r) => r.listApiKeys(orgId));
  }

  async revokeKey(orgId: string, keyId: string): Promise<void> {
    const ok = await this.store.tx((r) => r.revokeApiKey(orgId, keyId, Date.now()));
    if (!ok) throw new ServiceError('API_KEY_NOT_FOUND', `No active key ${keyId} for organisation ${orgId}`);
  }

  /** Lets `granteeOrgId` (an auditor) read the records of `orgId`. */
  async grant(orgId: string, granteeOrgId: string): Promise<void> {
    await this.getOrg(orgId);
    await this.getOrg(granteeOrgId);
    await this.store.tx((r) => r.insertGrant(granteeOrgId, orgId, Date.now()));
  }
}
