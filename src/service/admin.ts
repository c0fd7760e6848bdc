import { normaliseInvoiceField } from '../domain/invoice-key';
import { createApiKey } from './auth';
import { ServiceError } from './errors';
import { StoreConflictError, type ApiKeyInfo, type Org, type OrgKind, type Scope, type Store } from './ports';

/** Creates a chain account for a member organisation and grants it its registry roles. */
export type AccountProvisioner = (orgId: string) => Promise<string>;

/**
 * Rotates a member's chain key: creates a new account in the keystore, funds it like provisioning, binds it to the
 * organisation as ANCHORER key (addKey) and removes the old one (removeKey). Returns the new address.
 */
export type KeyRotator = (orgId: string, oldAddress: string) => Promise<string>;

/** Runs `fn` while the anchoring worker signs nothing for the organisation (AnchorService.holding). */
export interface AnchoringHold {
  holding<T>(orgId: string, fn: () => Promise<T>): Promise<T>;
}

/** Organisations, their chain accounts, API keys and audit grants. */
export class AdminService {
  private readonly rotating = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly provision?: AccountProvisioner,
    private readonly rotate?: KeyRotator,
    private readonly anchoring?: AnchoringHold,
  ) {}

  /**
   * Replaces the organisation's chain key by a new one (the organisation's chain continues: it is keyed by the
   * organisation, not the account). Refused while a batch is unfinished or a transaction from the old account is
   * open, so nothing is left signed by a removed key; the anchoring worker leaves the organisation alone meanwhile.
   */
  async rotateKey(id: string): Promise<{ orgId: string; previous: string; address: string }> {
    if (!this.rotate)
      throw new ServiceError('REGISTRY_1X', 'This service cannot rotate chain keys (no member directory)');
    const org = await this.getOrg(id);
    if (!org.address) {
      throw new ServiceError('VALIDATION_FAILED', `Organisation ${id} has no chain account to rotate`);
    }
    const previous = org.address;
    const rotate = this.rotate;
    if (this.rotating.has(id)) {
      throw new ServiceError('ROTATION_IN_PROGRESS', `The key of organisation ${id} is being rotated already`);
    }
    const run = async () => {
      const [unfinished, open] = await this.store.read(
        async (r) => [await r.unfinishedBatches(id), await r.openOutbox(previous)] as const,
      );
      if (unfinished.length || open.length) {
        throw new ServiceError(
          'ROTATION_IN_PROGRESS',
          `Organisation ${id} has ${unfinished.length} unfinished batch(es) and ${open.length} open transaction(s) from ${previous}; retry once they are mined`,
        );
      }
      const address = await rotate(id, previous);
      await this.store.tx(async (r) => {
        if (!(await r.setOrgAddress(id, address)))
          throw new ServiceError('ORG_NOT_FOUND', `Organisation ${id} not found`);
      });
      return { orgId: id, previous, address };
    };
    this.rotating.add(id);
    try {
      return await (this.anchoring ? this.anchoring.holding(id, run) : run());
    } finally {
      this.rotating.delete(id);
    }
  }

  async createOrg(input: {
    id: string;
    name: string;
    kind?: OrgKind;
    address?: string;
    rules?: 'refuse' | 'warn';
    /** Tax ids the organisation invoices and is invoiced under (a claim may name invoices whose buyer is one). */
    taxIds?: string[];
  }): Promise<Org> {
    const kind = input.kind ?? 'member';
    const taxIds = normaliseTaxIds(input.taxIds ?? []);
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
    await this.store
      .tx(async (r) => {
        if (await r.getOrg(org.id)) throw new ServiceError('ORG_EXISTS', `Organisation ${org.id} exists already`);
        await r.insertOrg(org);
        if (taxIds.length) await r.setOrgTaxIds(org.id, taxIds, org.createdAt);
      })
      .catch(taxIdConflict);
    return org;
  }

  /** Replaces the organisation's tax ids (normalised as in the invoice key, so "gb 987 654 321" is GB987654321). */
  async setOrgTaxIds(id: string, given: string[]): Promise<string[]> {
    const taxIds = normaliseTaxIds(given);
    await this.getOrg(id);
    await this.store.tx((r) => r.setOrgTaxIds(id, taxIds, Date.now())).catch(taxIdConflict);
    return this.taxIdsOf(id);
  }

  /** The organisation's tax ids, as given. */
  async taxIdsOf(id: string): Promise<string[]> {
    return (await this.store.read((r) => r.taxIdsOf([id]))).map((t) => t.display);
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

/** Tax ids as given, each with its normalised form; refuses empty, over-long and repeated ones. */
function normaliseTaxIds(given: string[]): { taxId: string; display: string }[] {
  if (given.length > 16) throw new ServiceError('VALIDATION_FAILED', 'An organisation has at most 16 tax ids');
  const out: { taxId: string; display: string }[] = [];
  for (const display of given) {
    const taxId = typeof display === 'string' ? normaliseInvoiceField(display) : '';
    if (!taxId || display.length > 64) {
      throw new ServiceError(
        'VALIDATION_FAILED',
        `Invalid tax id ${JSON.stringify(display)}: 1..64 characters with a letter or digit`,
      );
    }
    if (out.some((t) => t.taxId === taxId)) {
      throw new ServiceError('VALIDATION_FAILED', `Tax id ${display} is given twice`);
    }
    out.push({ taxId, display });
  }
  return out;
}

function taxIdConflict(err: unknown): never {
  if (err instanceof StoreConflictError) {
    throw new ServiceError('TAX_ID_TAKEN', 'A tax id given belongs to another organisation already');
  }
  throw err;
}
