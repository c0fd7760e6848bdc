/**
 * Ports the use cases need from storage (implemented by src/storage/repos, composed into one unit of work in
 * src/storage/sql-repo.ts) and from the chain (implemented with src/chain). Plain data in, plain data out.
 */

import type { RecordSignature } from '../domain/signatures';

export type RecordStatus = 'pending' | 'anchored' | 'confirmed';
export type Scope = 'submit' | 'audit' | 'admin';
export type OrgKind = 'member' | 'auditor' | 'operator';

export interface Org {
  id: string;
  name: string;
  kind: OrgKind;
  address: string | null;
  createdAt: number;
  /** Arithmetic business rules (EN 16931): refuse a record that breaks one (default), or accept it with warnings. */
  rules?: 'refuse' | 'warn';
  /** Refuse the organisation's records that carry no signature of its own SIGNER key (receipt version 2). */
  requireSignatures?: boolean;
}

export interface ApiKeyInfo {
  id: string;
  orgId: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdAt: number;
  revokedAt: number | null;
}

export interface RecordMeta {
  id: string;
  orgId: string;
  type: string;
  externalId: string | null;
  digest: string;
  salt: string;
  commitment: string;
  /** Parent record ids. */
  parents: string[];
  /** Not stored: its batch's, by {@link recordStatusOf} (the repository reads the batch with the record). */
  status: RecordStatus;
  batchId: string | null;
  leafIndex: number | null;
  supersedes: string | null;
  acceptedAt: number;
  /** Signatures of the organisation's SIGNER keys over the commitment (receipt version 2); null when unsigned. */
  signatures?: RecordSignature[] | null;
}

export interface RecordFull extends RecordMeta {
  /** Canonical JSON of the payload. */
  payload: string;
  /**
   * Merkle path (hex32[]) stored with the record: only records of batches built before the batch trees were stored
   * once (migration BatchTrees1764600000000). Otherwise null: the path is derived from the batch's tree at `leafIndex`.
   */
  proof: string[] | null;
}

export interface NewRecord {
  id: string;
  orgId: string;
  type: string;
  externalId: string | null;
  digest: string;
  salt: string;
  commitment: string;
  parents: string[];
  payload: string;
  supersedes: string | null;
  acceptedAt: number;
  /**
   * Signed records (receipt version 2): sealed into the anchored leaf. Set (`[]` when unsigned) whenever the client
   * chose id and salt, null when the service drew them.
   */
  signatures?: RecordSignature[] | null;
}

export type BatchStatus = 'signed' | 'sent' | 'anchored' | 'confirmed' | 'failed';

/**
 * A record's status is its batch's: pending until the batch is mined (no batch yet, or a batch signed, sent or
 * failed), then the batch's `anchored` and `confirmed`. Every batch transition is thereby its records' at once (a
 * reorg or a chain state loss that sends the batch back to `sent`/`signed` makes them pending again, a released
 * batch's records have no batch), with no write to the records (migration RecordStatusFromBatch1765000000000).
 */
export function recordStatusOf(batch: BatchStatus | null | undefined): RecordStatus {
  return batch === 'anchored' || batch === 'confirmed' ? batch : 'pending';
}

export interface BatchInfo {
  id: string;
  orgId: string;
  seq: number;
  root: string;
  prev: string;
  leafCount: number;
  status: BatchStatus;
  txId: string | null;
  txHash: string | null;
  blockNumber: number | null;
  blockHash: string | null;
  blockTimestamp: number | null;
  chainSeq: number | null;
  chainId: number;
  registry: string;
  submitter: string;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export type OutboxStatus = 'signed' | 'sent' | 'mined' | 'failed' | 'replaced';

export interface OutboxTx {
  id: string;
  orgId: string;
  address: string;
  nonce: number;
  kind: 'anchor' | 'consume' | 'release' | 'settle';
  refId: string;
  raw: string;
  txHash: string;
  status: OutboxStatus;
  blockNumber: number | null;
  blockHash: string | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export type ClaimStatus =
  'prepared' | 'signed' | 'consumed' | 'recorded' | 'failed' | 'releasing' | 'released' | 'settling' | 'settled';

/** An expense claim of POST /v1/claims (src/service/claims.ts), stored BEFORE its consume transaction is signed. */
export interface ClaimInfo {
  /** Id of the expense.claim record (created once the consume is mined). */
  id: string;
  orgId: string;
  externalId: string;
  digest: string;
  salt: string;
  commitment: string;
  /** Invoice record ids (the claim's parents). */
  invoices: string[];
  invoiceKeys: string[];
  /** Canonical JSON of the payload. */
  payload: string;
  status: ClaimStatus;
  consumeTxId: string | null;
  releaseTxId: string | null;
  /** The `settle(commitment)` transaction, signed once the claim's reimbursement was accepted (ClaimRegistry v2). */
  settleTxId: string | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Repository of organisations, their API keys, audit grants and tax ids; inside the caller's transaction. */
export interface OrgRepo {
  insertOrg(org: Org): Promise<void>;
  getOrg(id: string): Promise<Org | null>;
  listOrgs(): Promise<Org[]>;
  /** Sets an organisation's arithmetic-rules mode; false when there is no such organisation. */
  setOrgRules(id: string, rules: 'refuse' | 'warn'): Promise<boolean>;
  /** Sets whether the organisation's unsigned records are refused; false when there is no such organisation. */
  setOrgRequireSignatures(id: string, required: boolean): Promise<boolean>;
  /** Switches the organisation's chain account (key rotation). Returns whether the organisation exists. */
  setOrgAddress(id: string, address: string): Promise<boolean>;
  insertApiKey(k: ApiKeyInfo & { keyHash: string }): Promise<void>;
  findApiKeyByHash(hash: string): Promise<(ApiKeyInfo & { org: Org }) | null>;
  listApiKeys(orgId: string): Promise<ApiKeyInfo[]>;
  revokeApiKey(orgId: string, keyId: string, at: number): Promise<boolean>;
  insertGrant(granteeOrgId: string, orgId: string, at: number): Promise<void>;
  grantsOf(granteeOrgId: string): Promise<string[]>;
  /** Replaces the tax ids of `orgId` (`taxId` normalised, `display` as given); a tax id of another org throws {@link StoreConflictError}. */
  setOrgTaxIds(orgId: string, taxIds: { taxId: string; display: string }[], at: number): Promise<void>;
  /** Tax ids of these organisations, as given (display) and normalised. */
  taxIdsOf(orgIds: string[]): Promise<{ orgId: string; taxId: string; display: string }[]>;
}

/** Repository of records, their links (lineage) and their place in a batch; inside the caller's transaction. */
export interface RecordRepo {
  findByExternalIds(orgId: string, keys: { type: string; externalId: string }[]): Promise<RecordMeta[]>;
  /** Records of the org WITHOUT externalId having one of these digests (idempotency of id-less submissions). */
  findByDigests(orgId: string, digests: string[]): Promise<RecordMeta[]>;
  getRecordsMeta(ids: string[]): Promise<RecordMeta[]>;
  /** Records of the org whose client chose their salt, with one of these salts (unique per organisation). */
  findBySalts(orgId: string, salts: string[]): Promise<RecordMeta[]>;
  getRecord(id: string): Promise<RecordFull | null>;
  insertRecords(rows: NewRecord[]): Promise<void>;
  childrenOf(ids: string[]): Promise<{ parentId: string; childId: string }[]>;
  /** Records waiting for a batch, oldest first, with their signatures (a signed record's leaf is sealed). */
  pendingCommitments(
    orgId: string,
    limit: number,
  ): Promise<{ id: string; commitment: string; signatures?: RecordSignature[] | null }[]>;
  orgsWithPending(): Promise<{ orgId: string; count: number; oldest: number }[]>;
  /** Puts these pending records into the batch at their tree positions; returns how many were still pending. */
  assignBatch(batchId: string, leaves: { id: string; leafIndex: number }[]): Promise<number>;
  releaseBatchRecords(batchId: string): Promise<void>;
  recordsOfBatch(batchId: string, limit: number, offset: number): Promise<string[]>;
  /** Locks these records' rows until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite writers are serialized). */
  lockRecords(ids: string[]): Promise<void>;
  /** Children of `ids` whose type is one of `types`, in one query over record_links. */
  childrenByType(ids: string[], types: string[]): Promise<{ parentId: string; childId: string; type: string }[]>;
  /** Records naming one of `ids` in `supersedes`. */
  supersedersOf(ids: string[]): Promise<{ id: string; supersedes: string }[]>;
  /** Links reachable from `ids` towards ancestors ('up') or descendants ('down'), at most `limit`. */
  linkClosure(ids: string[], direction: 'up' | 'down', limit: number): Promise<{ parentId: string; childId: string }[]>;
  getRecords(ids: string[]): Promise<RecordFull[]>;
  /** Records with their stored Merkle path (legacy) but without the payload (bulk receipts), one IN query per 1,000 ids. */
  getReceiptRows(ids: string[]): Promise<(RecordMeta & { proof: string[] | null })[]>;
  findByCommitments(commitments: string[]): Promise<RecordMeta[]>;
}

/** Repository of batches and their stored trees; inside the caller's transaction. */
export interface BatchRepo {
  insertBatch(b: BatchInfo): Promise<void>;
  getBatch(id: string): Promise<BatchInfo | null>;
  getBatchByRoot(root: string): Promise<BatchInfo | null>;
  /** Highest-seq batch of the org; `live` skips failed ones (their root never counts as `prev`). */
  lastBatch(orgId: string, live?: boolean): Promise<BatchInfo | null>;
  unfinishedBatches(orgId?: string): Promise<BatchInfo[]>;
  batchesOf(orgId: string): Promise<BatchInfo[]>;
  updateBatch(id: string, patch: Partial<BatchInfo>): Promise<void>;
  /** Deletes the batch and its stored tree. */
  deleteBatch(id: string): Promise<void>;
  /** Stores the batch's whole Merkle tree once (all 2n-1 nodes, 32 bytes each, OZ array layout). */
  insertBatchTree(batchId: string, nodes: Uint8Array): Promise<void>;
  /** The stored tree nodes of a batch, or null (unknown batch, or a batch built before trees were stored). */
  getBatchTree(batchId: string): Promise<Uint8Array | null>;
  getBatches(ids: string[]): Promise<BatchInfo[]>;
}

/** Repository of chain transactions (outbox) and the nonces of their accounts; inside the caller's transaction. */
export interface TxRepo {
  ensureAccount(address: string, orgId: string, nextNonce: number): Promise<void>;
  getAccountNonce(address: string): Promise<number | null>;
  setAccountNonce(address: string, nextNonce: number): Promise<void>;
  allocateNonce(address: string): Promise<number>;
  /** Locks the account row (nonce allocation shared by the anchoring worker and the claims API). */
  lockAccount(address: string): Promise<void>;
  insertOutbox(tx: OutboxTx): Promise<void>;
  getOutbox(id: string): Promise<OutboxTx | null>;
  /** The outbox row of a transaction hash (hashes are unique: the same nonce and call sign to the same hash). */
  getOutboxByHash(txHash: string): Promise<OutboxTx | null>;
  /** Updates an outbox row; with `expect`, only while its status is one of those. Returns whether it changed. */
  updateOutbox(id: string, patch: Partial<OutboxTx>, expect?: OutboxStatus[]): Promise<boolean>;
  openOutbox(address: string): Promise<OutboxTx[]>;
  /** Every outbox row signed for `refId` (a batch id or a claim commitment), oldest first. */
  outboxByRef(kind: OutboxTx['kind'], refId: string): Promise<OutboxTx[]>;
}

/** Repository of expense claims (pilot workflows) and their invoices; inside the caller's transaction. */
export interface ClaimRepo {
  insertClaim(c: ClaimInfo): Promise<void>;
  /** The invoices of a claim with their fingerprints (possible-duplicate detection); replaces the claim's rows. */
  setClaimInvoices(
    claimId: string,
    orgId: string,
    rows: { invoiceId: string; invoiceKey: string; fingerprint: string }[],
    at: number,
  ): Promise<void>;
  /** Invoices of live claims (not failed, not released) with one of these fingerprints. */
  claimedByFingerprints(
    fingerprints: string[],
  ): Promise<{ claimId: string; invoiceId: string; orgId: string; invoiceKey: string; fingerprint: string }[]>;
  getClaim(id: string): Promise<ClaimInfo | null>;
  getClaimByExternalId(orgId: string, externalId: string): Promise<ClaimInfo | null>;
  getClaimByCommitment(commitment: string): Promise<ClaimInfo | null>;
  /**
   * Updates a claim; with `expect`, only while its status is one of those (compare-and-set). Returns whether a row
   * changed.
   */
  updateClaim(id: string, patch: Partial<ClaimInfo>, expect?: ClaimStatus[]): Promise<boolean>;
  /** Deletes a claim while its status is one of `expect`; returns whether it did. */
  deleteClaim(id: string, expect: ClaimStatus[]): Promise<boolean>;
  claimsByStatus(statuses: ClaimStatus[], limit: number): Promise<ClaimInfo[]>;
  /** Recorded claims that have an expense.rejected child: their keys must be released on chain. */
  rejectedClaimsToRelease(limit: number): Promise<ClaimInfo[]>;
  /** Recorded claims whose approval has an `expense.reimbursed` child: their keys are settled on chain. */
  reimbursedClaimsToSettle(limit: number): Promise<ClaimInfo[]>;
}

/** Repository of leases (one holder of a named job at a time); inside the caller's transaction. */
export interface LeaseRepo {
  tryLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  dropLease(name: string, holder: string): Promise<void>;
}

/**
 * Repository operations, all inside the caller's transaction: one unit of work over every aggregate's repository
 * (src/storage/sql-repo.ts composes them on one transaction).
 */
export interface Repo extends OrgRepo, RecordRepo, BatchRepo, TxRepo, ClaimRepo, LeaseRepo {}

/** One account's binding in the member directory (`MemberDirectory.memberOf`): `since` 0 when never bound. */
export interface DirectoryKey {
  /** keccak256(bytes(orgId)) of the organisation, lowercase (bytes32(0) when never bound). */
  org: string;
  kind: 'ANCHORER' | 'SIGNER';
  /** Block the key was added at (0: never bound). */
  since: number;
  /** Block the key was removed at (0: still active). */
  until: number;
}

/** Reads of the member directory the NotaryRegistry names (implemented by src/chain MemberDirectoryReader). */
export interface DirectoryReader {
  memberOf(account: string): Promise<DirectoryKey>;
}

/** A SIGNER key of an organisation as the directory's events list it. */
export interface SignerKeyInfo {
  address: string;
  /** Block it was added at, and removed at (null while active). */
  since: number;
  until: number | null;
}

/**
 * Writes of the member directory by the service's registrar account (addKey/removeKey/setCosignPolicy), and the
 * lists read from its events. Implemented in src/cli/runtime.ts with src/chain/directory-admin.ts.
 */
export interface DirectoryAdmin extends DirectoryReader {
  addSigner(orgId: string, address: string): Promise<{ since: number; txHash: string }>;
  removeKey(address: string): Promise<{ until: number; txHash: string }>;
  signersOf(orgId: string): Promise<SignerKeyInfo[]>;
  setCosignPolicy(recordType: string, orgIds: string[]): Promise<{ txHash: string }>;
  /** The organisations (keccak256 of their ids, lowercase) whose co-signature a record type needs. */
  cosignPolicyOf(recordType: string): Promise<string[]>;
  /** The organisation id of `org` (keccak256 of it) as the directory recorded it at addKey, or null. */
  orgIdOf(org: string): Promise<string | null>;
}

/** Transactions over the repository. */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  tx<T>(fn: (r: Repo) => Promise<T>): Promise<T>;
  read<T>(fn: (r: Repo) => Promise<T>): Promise<T>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Thrown by `Store.tx` when a unique constraint fails (a concurrent writer won a race): retry the use case. */
export class StoreConflictError extends Error {
  override name = 'StoreConflictError';
}
