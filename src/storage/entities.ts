import { EntitySchema } from 'typeorm';

/**
 * Persistence mappings (typeorm EntitySchema: no decorators on domain types).
 * Times are epoch milliseconds in `bigint` columns so SQLite and PostgreSQL store them alike;
 * hashes are `0x`-prefixed lowercase hex in fixed-width varchar columns.
 */

export interface OrganisationRow {
  id: string;
  name: string;
  kind: 'member' | 'auditor' | 'operator';
  address: string | null;
  createdAt: string | number;
  rules: 'refuse' | 'warn';
  requireSignatures: number;
}

export interface ApiKeyRow {
  id: string;
  orgId: string;
  name: string;
  prefix: string;
  keyHash: string;
  scopes: string;
  createdAt: string | number;
  revokedAt: string | number | null;
}

export interface OrgTaxIdRow {
  taxId: string;
  orgId: string;
  display: string;
  createdAt: string | number;
}

export interface ClaimInvoiceRow {
  claimId: string;
  invoiceId: string;
  orgId: string;
  invoiceKey: string;
  fingerprint: string;
  createdAt: string | number;
}

export interface AuditGrantRow {
  granteeOrgId: string;
  orgId: string;
  createdAt: string | number;
}

export interface RecordRow {
  id: string;
  orgId: string;
  type: string;
  externalId: string | null;
  digest: string;
  salt: string;
  commitment: string;
  parents: string; // JSON array of parent record ids
  payload: string; // canonical JSON (RFC 8785) of the payload
  status: 'pending' | 'anchored' | 'confirmed';
  batchId: string | null;
  leafIndex: number | null;
  proof: string | null; // JSON array of hex32; only batches built before migration BatchTrees1764600000000
  supersedes: string | null;
  acceptedAt: string | number;
  // JSON [{signer, signature}] (receipt v2) when the client chose id and salt ([] if unsigned); null otherwise
  signatures: string | null;
}

export interface RecordLinkRow {
  childId: string;
  parentId: string;
}

export interface BatchRow {
  id: string;
  orgId: string;
  seq: number;
  root: string;
  prev: string;
  leafCount: number;
  status: 'signed' | 'sent' | 'anchored' | 'confirmed' | 'failed';
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
  createdAt: string | number;
  updatedAt: string | number;
}

export interface OutboxRow {
  id: string;
  orgId: string;
  address: string;
  nonce: number;
  kind: 'anchor' | 'consume' | 'release' | 'settle';
  refId: string;
  raw: string;
  txHash: string;
  status: 'signed' | 'sent' | 'mined' | 'failed' | 'replaced';
  blockNumber: number | null;
  blockHash: string | null;
  error: string | null;
  createdAt: string | number;
  updatedAt: string | number;
}

export interface ChainAccountRow {
  address: string;
  orgId: string;
  nextNonce: number;
}

export interface LeaseRow {
  name: string;
  holder: string;
  expiresAt: string | number;
}

const hex32 = { type: 'varchar', length: 66 } as const;
const hex32Null = { type: 'varchar', length: 66, nullable: true } as const;
const address = { type: 'varchar', length: 42 } as const;
const millis = { type: 'bigint' } as const;
const millisNull = { type: 'bigint', nullable: true } as const;
const orgRef = { type: 'varchar', length: 64, name: 'org_id' } as const;

export const Organisation = new EntitySchema<OrganisationRow>({
  name: 'Organisation',
  tableName: 'organisations',
  columns: {
    id: { type: 'varchar', length: 64, primary: true },
    name: { type: 'varchar', length: 200 },
    kind: { type: 'varchar', length: 16 },
    address: { ...address, nullable: true },
    createdAt: { ...millis, name: 'created_at' },
    rules: { type: 'varchar', length: 8, default: 'refuse' },
    requireSignatures: { type: 'smallint', default: 0, name: 'require_signatures' }, // 1: unsigned records refused
  },
});

export const ApiKey = new EntitySchema<ApiKeyRow>({
  name: 'ApiKey',
  tableName: 'api_keys',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    orgId: orgRef,
    name: { type: 'varchar', length: 200 },
    prefix: { type: 'varchar', length: 24 },
    keyHash: { type: 'varchar', length: 64, name: 'key_hash' },
    scopes: { type: 'varchar', length: 64 },
    createdAt: { ...millis, name: 'created_at' },
    revokedAt: { ...millisNull, name: 'revoked_at' },
  },
  indices: [
    { name: 'UQ_api_keys_key_hash', columns: ['keyHash'], unique: true },
    { name: 'IDX_api_keys_org', columns: ['orgId'] },
  ],
});

export const AuditGrant = new EntitySchema<AuditGrantRow>({
  name: 'AuditGrant',
  tableName: 'audit_grants',
  columns: {
    granteeOrgId: { type: 'varchar', length: 64, primary: true, name: 'grantee_org_id' },
    orgId: { ...orgRef, primary: true },
    createdAt: { ...millis, name: 'created_at' },
  },
});

export const OrgTaxId = new EntitySchema<OrgTaxIdRow>({
  name: 'OrgTaxId',
  tableName: 'org_tax_ids',
  columns: {
    taxId: { type: 'varchar', length: 64, primary: true, name: 'tax_id' },
    orgId: orgRef,
    display: { type: 'varchar', length: 64 },
    createdAt: { ...millis, name: 'created_at' },
  },
  indices: [{ name: 'IDX_org_tax_ids_org', columns: ['orgId'] }],
});

export const ClaimInvoice = new EntitySchema<ClaimInvoiceRow>({
  name: 'ClaimInvoice',
  tableName: 'claim_invoices',
  columns: {
    claimId: { type: 'varchar', length: 36, primary: true, name: 'claim_id' },
    invoiceId: { type: 'varchar', length: 36, primary: true, name: 'invoice_id' },
    orgId: orgRef,
    invoiceKey: { ...hex32, name: 'invoice_key' },
    fingerprint: hex32,
    createdAt: { ...millis, name: 'created_at' },
  },
  indices: [{ name: 'IDX_claim_invoices_fingerprint', columns: ['fingerprint'] }],
});

export const Record = new EntitySchema<RecordRow>({
  name: 'Record',
  tableName: 'records',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    orgId: orgRef,
    type: { type: 'varchar', length: 40 },
    externalId: { type: 'varchar', length: 200, nullable: true, name: 'external_id' },
    digest: hex32,
    salt: hex32,
    commitment: hex32,
    parents: { type: 'text' },
    payload: { type: 'text' },
    status: { type: 'varchar', length: 16 },
    batchId: { type: 'varchar', length: 36, nullable: true, name: 'batch_id' },
    leafIndex: { type: 'integer', nullable: true, name: 'leaf_index' },
    proof: { type: 'text', nullable: true },
    supersedes: { type: 'varchar', length: 36, nullable: true },
    acceptedAt: { ...millis, name: 'accepted_at' },
    signatures: { type: 'text', nullable: true },
  },
  indices: [
    { name: 'UQ_records_commitment', columns: ['commitment'], unique: true },
    {
      name: 'UQ_records_org_salt_chosen',
      columns: ['orgId', 'salt'],
      unique: true,
      where: 'signatures IS NOT NULL',
    },
    { name: 'UQ_records_external', columns: ['orgId', 'type', 'externalId'], unique: true },
    // partial indexes (migration PartialIndexes): an insert skips them unless the column is set
    { name: 'IDX_records_org_digest_noext', columns: ['orgId', 'digest'], where: 'external_id IS NULL' },
    { name: 'IDX_records_pending', columns: ['orgId', 'batchId'] },
    { name: 'IDX_records_batch_set', columns: ['batchId'], where: 'batch_id IS NOT NULL' },
    { name: 'IDX_records_supersedes_set', columns: ['supersedes'], where: 'supersedes IS NOT NULL' },
  ],
});

export const RecordLink = new EntitySchema<RecordLinkRow>({
  name: 'RecordLink',
  tableName: 'record_links',
  columns: {
    childId: { type: 'varchar', length: 36, primary: true, name: 'child_id' },
    parentId: { type: 'varchar', length: 36, primary: true, name: 'parent_id' },
  },
  indices: [{ name: 'IDX_record_links_parent', columns: ['parentId'] }],
});

export const Batch = new EntitySchema<BatchRow>({
  name: 'Batch',
  tableName: 'batches',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    orgId: orgRef,
    seq: { type: 'integer' },
    root: hex32,
    prev: hex32,
    leafCount: { type: 'integer', name: 'leaf_count' },
    status: { type: 'varchar', length: 16 },
    txId: { type: 'varchar', length: 36, nullable: true, name: 'tx_id' },
    txHash: { ...hex32Null, name: 'tx_hash' },
    blockNumber: { type: 'integer', nullable: true, name: 'block_number' },
    blockHash: { ...hex32Null, name: 'block_hash' },
    blockTimestamp: { type: 'bigint', nullable: true, name: 'block_timestamp' },
    chainSeq: { type: 'integer', nullable: true, name: 'chain_seq' },
    chainId: { type: 'integer', name: 'chain_id' },
    registry: address,
    submitter: address,
    error: { type: 'text', nullable: true },
    createdAt: { ...millis, name: 'created_at' },
    updatedAt: { ...millis, name: 'updated_at' },
  },
  indices: [
    { name: 'UQ_batches_root', columns: ['root'], unique: true },
    { name: 'UQ_batches_org_seq', columns: ['orgId', 'seq'], unique: true },
    { name: 'IDX_batches_status', columns: ['status'] },
  ],
});

export const Outbox = new EntitySchema<OutboxRow>({
  name: 'Outbox',
  tableName: 'tx_outbox',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    orgId: orgRef,
    address,
    nonce: { type: 'integer' },
    kind: { type: 'varchar', length: 16 },
    refId: { type: 'varchar', length: 66, name: 'ref_id' },
    raw: { type: 'text' },
    txHash: { ...hex32, name: 'tx_hash' },
    status: { type: 'varchar', length: 16 },
    blockNumber: { type: 'integer', nullable: true, name: 'block_number' },
    blockHash: { ...hex32Null, name: 'block_hash' },
    error: { type: 'text', nullable: true },
    createdAt: { ...millis, name: 'created_at' },
    updatedAt: { ...millis, name: 'updated_at' },
  },
  indices: [
    { name: 'UQ_tx_outbox_hash', columns: ['txHash'], unique: true },
    { name: 'IDX_tx_outbox_address_nonce', columns: ['address', 'nonce'] },
    { name: 'IDX_tx_outbox_status', columns: ['status'] },
  ],
});

export const ChainAccount = new EntitySchema<ChainAccountRow>({
  name: 'ChainAccount',
  tableName: 'chain_accounts',
  columns: {
    address: { ...address, primary: true },
    orgId: orgRef,
    nextNonce: { type: 'integer', name: 'next_nonce' },
  },
});

export const Lease = new EntitySchema<LeaseRow>({
  name: 'Lease',
  tableName: 'leases',
  columns: {
    name: { type: 'varchar', length: 100, primary: true },
    holder: { type: 'varchar', length: 100 },
    expiresAt: { ...millis, name: 'expires_at' },
  },
});

export interface ClaimRow {
  id: string;
  orgId: string;
  externalId: string;
  digest: string;
  salt: string;
  commitment: string;
  invoices: string; // JSON array of invoice record ids
  invoiceKeys: string; // JSON array of DESIGN §2.5 invoice keys
  payload: string; // canonical JSON of the expense.claim payload
  status: string;
  consumeTxId: string | null;
  releaseTxId: string | null;
  settleTxId: string | null;
  error: string | null;
  createdAt: string | number;
  updatedAt: string | number;
}

/** Expense claims through POST /v1/claims: prepared before the consume transaction is signed (crash safety). */
export const Claim = new EntitySchema<ClaimRow>({
  name: 'Claim',
  tableName: 'claims',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    orgId: orgRef,
    externalId: { type: 'varchar', length: 200, name: 'external_id' },
    digest: hex32,
    salt: hex32,
    commitment: hex32,
    invoices: { type: 'text' },
    invoiceKeys: { type: 'text', name: 'invoice_keys' },
    payload: { type: 'text' },
    status: { type: 'varchar', length: 16 },
    consumeTxId: { type: 'varchar', length: 36, nullable: true, name: 'consume_tx_id' },
    releaseTxId: { type: 'varchar', length: 36, nullable: true, name: 'release_tx_id' },
    settleTxId: { type: 'varchar', length: 36, nullable: true, name: 'settle_tx_id' },
    error: { type: 'text', nullable: true },
    createdAt: { ...millis, name: 'created_at' },
    updatedAt: { ...millis, name: 'updated_at' },
  },
  indices: [
    { name: 'UQ_claims_org_external', columns: ['orgId', 'externalId'], unique: true },
    { name: 'UQ_claims_commitment', columns: ['commitment'], unique: true },
    { name: 'IDX_claims_status', columns: ['status'] },
  ],
});

export interface BatchTreeRow {
  batchId: string;
  /** Every node of the batch's Merkle tree, 32 bytes each, OZ array layout (root first): 2n-1 nodes. */
  nodes: Buffer;
}

/**
 * One row per batch: its whole tree (DESIGN §4: stored once, O(n) per batch; paths are derived when read).
 * Raw bytes: `blob` on SQLite, `bytea` on PostgreSQL (typeorm has no binary type common to both).
 */
export function batchTreeEntity(dialect: 'sqlite' | 'postgres'): EntitySchema<BatchTreeRow> {
  return new EntitySchema<BatchTreeRow>({
    name: 'BatchTree',
    tableName: 'batch_trees',
    columns: {
      batchId: { type: 'varchar', length: 36, primary: true, name: 'batch_id' },
      nodes: { type: dialect === 'postgres' ? 'bytea' : 'blob' },
    },
  });
}

export const ENTITIES = [
  Organisation,
  ApiKey,
  AuditGrant,
  OrgTaxId,
  ClaimInvoice,
  Record,
  RecordLink,
  Batch,
  Outbox,
  ChainAccount,
  Lease,
  Claim,
];

/** Every mapping, for one database kind. */
export function entitiesFor(dialect: 'sqlite' | 'postgres'): EntitySchema[] {
  return [...(ENTITIES as EntitySchema[]), batchTreeEntity(dialect)];
}
