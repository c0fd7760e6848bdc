import type { ApiKeyInfo, Org, OrgRepo } from '../../service/ports';
import { apiKeys, auditGrants, orgTaxIds, organisations } from '../tables';
import { list, SqlSession, type Row, type SameKeys } from './session';

// Organisations and their API keys, audit grants and tax ids: no hot path (a key is looked up once per request by
// its hash, one indexed row): SQL from the table mappings.
const toOrg: (r: Row) => Org = organisations.reader();
/** Every field but the hash (never read back out of the table). */
const KEY_FIELDS = ['id', 'orgId', 'name', 'prefix', 'scopes', 'createdAt', 'revokedAt'] as const;
const toKey: (r: Row) => ApiKeyInfo = apiKeys.reader(KEY_FIELDS);
const orgAs = organisations.reader(undefined, 'o');
true satisfies SameKeys<Required<Org>, typeof organisations.columns>;
true satisfies SameKeys<ApiKeyInfo & { keyHash: string }, typeof apiKeys.columns>;

export class OrgSql extends SqlSession implements OrgRepo {
  async insertOrg(o: Org): Promise<void> {
    await this.sql.exec(...organisations.insert(o));
  }
  async setOrgRequireSignatures(id: string, required: boolean): Promise<boolean> {
    return (await this.sql.exec(...organisations.update('id', id, { requireSignatures: required }))) > 0;
  }
  async setOrgRules(id: string, rules: 'refuse' | 'warn'): Promise<boolean> {
    return (await this.sql.exec(...organisations.update('id', id, { rules }))) > 0;
  }
  async setOrgAddress(id: string, address: string): Promise<boolean> {
    return (await this.sql.exec(...organisations.update('id', id, { address }))) > 0;
  }
  async getOrg(id: string): Promise<Org | null> {
    const [r] = await this.sql.query('SELECT * FROM organisations WHERE id = ?', [id]);
    return r ? toOrg(r) : null;
  }
  async listOrgs(): Promise<Org[]> {
    return (await this.sql.query('SELECT * FROM organisations ORDER BY created_at, id')).map(toOrg);
  }
  async insertApiKey(k: ApiKeyInfo & { keyHash: string }): Promise<void> {
    await this.sql.exec(...apiKeys.insert(k));
  }
  async findApiKeyByHash(hash: string): Promise<(ApiKeyInfo & { org: Org }) | null> {
    const [r] = await this.sql.query(
      `SELECT k.*, ${organisations.cols(undefined, 'o')}
         FROM api_keys k JOIN organisations o ON o.id = k.org_id WHERE k.key_hash = ?`,
      [hash],
    );
    return r ? { ...toKey(r), org: orgAs(r) } : null;
  }
  async listApiKeys(orgId: string): Promise<ApiKeyInfo[]> {
    return (await this.sql.query('SELECT * FROM api_keys WHERE org_id = ? ORDER BY created_at, id', [orgId])).map(
      toKey,
    );
  }
  async revokeApiKey(orgId: string, keyId: string, at: number): Promise<boolean> {
    const n = await this.sql.exec(
      'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND org_id = ? AND revoked_at IS NULL',
      [at, keyId, orgId],
    );
    return n > 0;
  }
  async insertGrant(granteeOrgId: string, orgId: string, at: number): Promise<void> {
    const [sql, params] = auditGrants.insert({ granteeOrgId, orgId, createdAt: at });
    await this.sql.exec(`${sql} ON CONFLICT (grantee_org_id, org_id) DO NOTHING`, params);
  }
  async grantsOf(granteeOrgId: string): Promise<string[]> {
    const rows = await this.sql.query('SELECT org_id FROM audit_grants WHERE grantee_org_id = ?', [granteeOrgId]);
    return rows.map((r) => String(r.org_id));
  }
  async setOrgTaxIds(orgId: string, taxIds: { taxId: string; display: string }[], at: number): Promise<void> {
    await this.sql.exec('DELETE FROM org_tax_ids WHERE org_id = ?', [orgId]);
    for (const t of taxIds) {
      // a tax id of another organisation: the primary key refuses it (StoreConflictError through the unit of work)
      await this.sql.exec(...orgTaxIds.insert({ taxId: t.taxId, orgId, display: t.display, createdAt: at }));
    }
  }
  async taxIdsOf(orgIds: string[]): Promise<{ orgId: string; taxId: string; display: string }[]> {
    if (orgIds.length === 0) return [];
    const rows = await this.sql.query(
      `SELECT org_id, tax_id, display FROM org_tax_ids WHERE org_id IN (${list(orgIds.length)}) ORDER BY org_id, created_at, tax_id`,
      orgIds,
    );
    return rows.map((r) => ({ orgId: String(r.org_id), taxId: String(r.tax_id), display: String(r.display) }));
  }
}
