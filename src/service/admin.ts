import { getAddress, isAddress } from 'ethers';
import { normaliseInvoiceField } from '../domain/invoice-key';
import { isRecordType } from '../domain/record-types';
import { createApiKey } from './auth';
import { orgHashOf } from './chain-port';
import { ServiceError } from './errors';
import {
  StoreConflictError,
  type ApiKeyInfo,
  type DirectoryAdmin,
  type Org,
  type OrgKind,
  type Scope,
  type SignerKeyInfo,
  type Store,
} from './ports';

/** Most organisations one co-signing policy names (MemberDirectory.MAX_POLICY_ORGS). */
export const MAX_POLICY_ORGS = 16;

/** A directory failure (RPC down, transaction reverted) as a problem the client can act on: retry later. */
function directoryFailure(what: string, err: unknown): never {
  if (err instanceof ServiceError) throw err;
  throw new ServiceError('CHAIN_UNAVAILABLE', `${what}: ${(err as Error)?.message ?? String(err)}`);
}

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
    /** The member directory as its registrar (SIGNER keys, co-signing policies); absent: those routes answer 503. */
    private readonly directory?: DirectoryAdmin,
    /** Told when a key is added or removed here, so that cached directory answers are dropped at once. */
    private readonly onKeyChange?: (address: string) => void,
  ) {}

  private dir(): DirectoryAdmin {
    if (!this.directory)
      throw new ServiceError(
        'DIRECTORY_UNAVAILABLE',
        'This service cannot write to the member directory (registries 1.x, or no DEPLOYER_KEY: the registrar binds keys out of band)',
      );
    return this.directory;
  }

  /** Binds `address` as a SIGNER key of the organisation (`addKey(orgId, address, SIGNER)`), the registrar signing. */
  async addSigner(orgId: string, address: string): Promise<SignerKeyInfo & { orgId: string; txHash: string }> {
    await this.getOrg(orgId);
    const dir = this.dir();
    const account = checkedAddress(address);
    const bound = await dir.memberOf(account).catch((e) => directoryFailure('reading the directory', e));
    if (bound.since !== 0) {
      const mine = bound.org === orgHashOf(orgId);
      throw new ServiceError(
        'SIGNER_KEY_TAKEN',
        `${account} is bound in the directory already (${mine ? `a${bound.kind === 'ANCHORER' ? 'n' : ''} ${bound.kind} key of ${orgId}` : 'a key of another organisation'}${bound.until ? `, removed at block ${bound.until}` : ''}); a directory key is bound once`,
        { address: account },
      );
    }
    const { since, txHash } = await dir
      .addSigner(orgId, account)
      .catch((e) => directoryFailure(`binding ${account} as SIGNER key of ${orgId}`, e));
    this.onKeyChange?.(account);
    return { orgId, address: account, since, until: null, txHash };
  }

  /** Removes a SIGNER key of the organisation (`removeKey`): signatures made before stay valid, new ones are refused. */
  async removeSigner(orgId: string, address: string): Promise<SignerKeyInfo & { orgId: string; txHash: string }> {
    await this.getOrg(orgId);
    const dir = this.dir();
    const account = checkedAddress(address);
    const bound = await dir.memberOf(account).catch((e) => directoryFailure('reading the directory', e));
    if (bound.since === 0 || bound.org !== orgHashOf(orgId) || bound.kind !== 'SIGNER' || bound.until !== 0) {
      throw new ServiceError('SIGNER_NOT_FOUND', `${account} is no active SIGNER key of ${orgId}`, {
        address: account,
      });
    }
    const { until, txHash } = await dir
      .removeKey(account)
      .catch((e) => directoryFailure(`removing the SIGNER key ${account} of ${orgId}`, e));
    this.onKeyChange?.(account);
    return { orgId, address: account, since: bound.since, until, txHash };
  }

  /** The organisation's SIGNER keys (active and removed), from the directory's events. */
  async listSigners(orgId: string): Promise<SignerKeyInfo[]> {
    await this.getOrg(orgId);
    return this.dir()
      .signersOf(orgId)
      .catch((e) => directoryFailure('reading the directory events', e));
  }

  /** Sets the co-signing policy of a record type: the organisations whose `cosignature` a record of it needs. */
  async setCosignPolicy(recordType: string, orgIds: string[]): Promise<{ recordType: string; orgs: string[] }> {
    if (!isRecordType(recordType)) throw new ServiceError('UNKNOWN_RECORD_TYPE', `Unknown record type "${recordType}"`);
    if (orgIds.length > MAX_POLICY_ORGS || new Set(orgIds).size !== orgIds.length)
      throw new ServiceError('VALIDATION_FAILED', `A policy names at most ${MAX_POLICY_ORGS} distinct organisations`);
    for (const o of orgIds) await this.getOrg(o);
    const dir = this.dir();
    await dir
      .setCosignPolicy(recordType, orgIds)
      .catch((e) => directoryFailure(`setting the co-signing policy of ${recordType}`, e));
    return { recordType, orgs: orgIds };
  }

  /** The co-signing policy of a record type ([]: none), organisations named by id where the service knows them. */
  async cosignPolicy(recordType: string): Promise<{ recordType: string; orgs: string[] }> {
    if (!isRecordType(recordType)) throw new ServiceError('UNKNOWN_RECORD_TYPE', `Unknown record type "${recordType}"`);
    const dir = this.dir();
    const hashes = await dir
      .cosignPolicyOf(recordType)
      .catch((e) => directoryFailure('reading the co-signing policy', e));
    const known = new Map((await this.listOrgs()).map((o) => [orgHashOf(o.id), o.id]));
    const orgs: string[] = [];
    for (const h of hashes) {
      const id =
        known.get(h.toLowerCase()) ?? (await dir.orgIdOf(h).catch((e) => directoryFailure('reading the directory', e)));
      orgs.push(id ?? h.toLowerCase());
    }
    return { recordType, orgs };
  }

  /** Sets whether the organisation's unsigned records are refused (SIGNATURE_REQUIRED). */
  async setRequireSignatures(id: string, required: boolean): Promise<Org> {
    const found = await this.store.tx((r) => r.setOrgRequireSignatures(id, required));
    if (!found) throw new ServiceError('ORG_NOT_FOUND', `Organisation ${id} not found`);
    return this.getOrg(id);
  }

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
    /** Refuse the organisation's unsigned records (receipt version 2 only). */
    requireSignatures?: boolean;
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
      requireSignatures: input.requireSignatures ?? false,
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

function checkedAddress(address: string): string {
  if (typeof address !== 'string' || !isAddress(address))
    throw new ServiceError(
      'VALIDATION_FAILED',
      `Not an address (0x + 40 hex, EIP-55 checksum if mixed case): ${address}`,
    );
  return getAddress(address);
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
