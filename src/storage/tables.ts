import type { BatchStatus, ClaimStatus, OrgKind, OutboxStatus, OutboxTx, Scope } from '../service/ports';
import type { RecordSignature } from '../domain/signatures';
import { col, table, type Dialect, type RowOf } from './mapping';

/**
 * Every table, described once (see src/storage/mapping.ts for what derives from it). The property names are the
 * domain fields of src/service/ports.ts; the drift test (test/storage/db.test.ts) checks that the migrations
 * produce exactly these columns and indexes on SQLite and PostgreSQL.
 */

const orgId = col.str('org_id', 64);
/** `org_id` of a row owned by an organisation (migration ForeignKeys1764900000000). */
const ownerOrg = col.ref(orgId, 'Organisation');

export const organisations = table('organisations', 'Organisation', {
  id: col.str('id', 64, { primary: true }),
  name: col.str('name', 200),
  kind: col.str<OrgKind>('kind', 16),
  address: col.strNull('address', 42),
  createdAt: col.millis('created_at'),
  /** Arithmetic business rules: anything but 'warn' reads as 'refuse' (the default). */
  rules: col.with(col.str<'refuse' | 'warn'>('rules', 8), {
    default: 'refuse',
    read: (v) => (v === 'warn' ? 'warn' : 'refuse'),
  }),
  /** 1: unsigned records refused. */
  requireSignatures: col.flag('require_signatures'),
});

export const apiKeys = table(
  'api_keys',
  'ApiKey',
  {
    id: col.str('id', 36, { primary: true }),
    orgId: ownerOrg,
    name: col.str('name', 200),
    prefix: col.str('prefix', 24),
    keyHash: col.str('key_hash', 64),
    scopes: col.csv<Scope>('scopes', 64),
    createdAt: col.millis('created_at'),
    revokedAt: col.millisNull('revoked_at'),
  },
  [
    { name: 'UQ_api_keys_key_hash', columns: ['keyHash'], unique: true },
    { name: 'IDX_api_keys_org', columns: ['orgId'] },
  ],
);

export const auditGrants = table('audit_grants', 'AuditGrant', {
  granteeOrgId: col.ref(col.str('grantee_org_id', 64, { primary: true }), 'Organisation'),
  orgId: col.ref(col.str('org_id', 64, { primary: true }), 'Organisation'),
  createdAt: col.millis('created_at'),
});

export const orgTaxIds = table(
  'org_tax_ids',
  'OrgTaxId',
  {
    taxId: col.str('tax_id', 64, { primary: true }),
    orgId: ownerOrg,
    display: col.str('display', 64),
    createdAt: col.millis('created_at'),
  },
  [{ name: 'IDX_org_tax_ids_org', columns: ['orgId'] }],
);

/**
 * No foreign keys on `records` itself (org_id, batch_id, supersedes): on PostgreSQL each is a trigger run per
 * inserted row, even for NULL, and the three took ~22% of a 1,000-row bulk INSERT's execution time (EXPLAIN
 * ANALYZE; the ingest and signing figures). The service sets those columns itself from rows it just read.
 */
export const records = table(
  'records',
  'Record',
  {
    id: col.str('id', 36, { primary: true }),
    orgId,
    type: col.str('type', 40),
    externalId: col.strNull('external_id', 200),
    /** The three hashes as their 32 bytes (migration BinaryHashes1765100000000); 0x-hex in the domain. */
    digest: col.bin32('digest'),
    salt: col.bin32('salt'),
    commitment: col.bin32('commitment'),
    /** JSON array of parent record ids. */
    parents: col.json<string[]>('parents'),
    /** Canonical JSON (RFC 8785) of the payload. */
    payload: col.text('payload'),
    // No `status`: a record's is its batch's (recordStatusOf, migration RecordStatusFromBatch1765000000000).
    batchId: col.strNull('batch_id', 36),
    leafIndex: col.intNull('leaf_index'),
    /** JSON array of hex32: only records of batches built before migration BatchTrees1764600000000. */
    proof: col.jsonNull<string[]>('proof'),
    supersedes: col.strNull('supersedes', 36),
    acceptedAt: col.millis('accepted_at'),
    /** JSON [{signer, signature}] (receipt v2) when the client chose id and salt ([] if unsigned); null otherwise. */
    signatures: col.jsonNull<RecordSignature[]>('signatures'),
  },
  [
    { name: 'UQ_records_commitment', columns: ['commitment'], unique: true },
    { name: 'UQ_records_org_salt_chosen', columns: ['orgId', 'salt'], unique: true, where: 'signatures IS NOT NULL' },
    { name: 'UQ_records_external', columns: ['orgId', 'type', 'externalId'], unique: true },
    // partial indexes (migration PartialIndexes): an insert skips them unless the column is set
    { name: 'IDX_records_org_digest_noext', columns: ['orgId', 'digest'], where: 'external_id IS NULL' },
    // the worker's next batch: an org's records without a batch, oldest first (migration RecordStatusFromBatch)
    { name: 'IDX_records_pending', columns: ['orgId', 'acceptedAt', 'id'], where: 'batch_id IS NULL' },
    { name: 'IDX_records_batch_set', columns: ['batchId'], where: 'batch_id IS NOT NULL' },
    { name: 'IDX_records_supersedes_set', columns: ['supersedes'], where: 'supersedes IS NOT NULL' },
  ],
);

export const recordLinks = table(
  'record_links',
  'RecordLink',
  {
    childId: col.ref(col.str('child_id', 36, { primary: true }), 'Record'),
    parentId: col.ref(col.str('parent_id', 36, { primary: true }), 'Record'),
  },
  [{ name: 'IDX_record_links_parent', columns: ['parentId'] }],
);

export const batches = table(
  'batches',
  'Batch',
  {
    id: col.str('id', 36, { primary: true }),
    orgId: ownerOrg,
    seq: col.int('seq'),
    root: col.hex32('root'),
    prev: col.hex32('prev'),
    leafCount: col.int('leaf_count'),
    status: col.str<BatchStatus>('status', 16),
    txId: col.strNull('tx_id', 36),
    txHash: col.hex32Null('tx_hash'),
    blockNumber: col.intNull('block_number'),
    blockHash: col.hex32Null('block_hash'),
    blockTimestamp: col.millisNull('block_timestamp'),
    chainSeq: col.intNull('chain_seq'),
    chainId: col.int('chain_id'),
    registry: col.str('registry', 42),
    submitter: col.str('submitter', 42),
    error: col.textNull('error'),
    createdAt: col.millis('created_at'),
    updatedAt: col.millis('updated_at'),
  },
  [
    { name: 'UQ_batches_root', columns: ['root'], unique: true },
    { name: 'UQ_batches_org_seq', columns: ['orgId', 'seq'], unique: true },
    { name: 'IDX_batches_status', columns: ['status'] },
  ],
);

/**
 * One row per batch: its whole Merkle tree, every node once (2n-1 × 32 bytes, OZ array layout, root first);
 * DESIGN §4: paths are derived when read.
 */
export const batchTrees = table('batch_trees', 'BatchTree', {
  batchId: col.ref(col.str('batch_id', 36, { primary: true }), 'Batch'),
  nodes: col.bytes('nodes'),
});

export const txOutbox = table(
  'tx_outbox',
  'Outbox',
  {
    id: col.str('id', 36, { primary: true }),
    orgId,
    address: col.str('address', 42),
    nonce: col.int('nonce'),
    kind: col.str<OutboxTx['kind']>('kind', 16),
    refId: col.str('ref_id', 66),
    raw: col.text('raw'),
    txHash: col.hex32('tx_hash'),
    status: col.str<OutboxStatus>('status', 16),
    blockNumber: col.intNull('block_number'),
    blockHash: col.hex32Null('block_hash'),
    error: col.textNull('error'),
    createdAt: col.millis('created_at'),
    updatedAt: col.millis('updated_at'),
  },
  [
    { name: 'UQ_tx_outbox_hash', columns: ['txHash'], unique: true },
    { name: 'IDX_tx_outbox_address_nonce', columns: ['address', 'nonce'] },
    { name: 'IDX_tx_outbox_status', columns: ['status'] },
  ],
);

export const chainAccounts = table('chain_accounts', 'ChainAccount', {
  address: col.str('address', 42, { primary: true }),
  orgId,
  nextNonce: col.int('next_nonce'),
});

export const leases = table('leases', 'Lease', {
  name: col.str('name', 100, { primary: true }),
  holder: col.str('holder', 100),
  expiresAt: col.millis('expires_at'),
});

/** Expense claims through POST /v1/claims: prepared before the consume transaction is signed (crash safety). */
export const claims = table(
  'claims',
  'Claim',
  {
    id: col.str('id', 36, { primary: true }),
    orgId: ownerOrg,
    externalId: col.str('external_id', 200),
    digest: col.hex32('digest'),
    salt: col.hex32('salt'),
    commitment: col.hex32('commitment'),
    /** JSON array of invoice record ids. */
    invoices: col.json<string[]>('invoices'),
    /** JSON array of DESIGN §2.5 invoice keys. */
    invoiceKeys: col.json<string[]>('invoice_keys'),
    /** Canonical JSON of the expense.claim payload. */
    payload: col.text('payload'),
    status: col.str<ClaimStatus>('status', 16),
    consumeTxId: col.strNull('consume_tx_id', 36),
    releaseTxId: col.strNull('release_tx_id', 36),
    settleTxId: col.strNull('settle_tx_id', 36),
    error: col.textNull('error'),
    createdAt: col.millis('created_at'),
    updatedAt: col.millis('updated_at'),
  },
  [
    { name: 'UQ_claims_org_external', columns: ['orgId', 'externalId'], unique: true },
    { name: 'UQ_claims_commitment', columns: ['commitment'], unique: true },
    { name: 'IDX_claims_status', columns: ['status'] },
  ],
);

export const claimInvoices = table(
  'claim_invoices',
  'ClaimInvoice',
  {
    claimId: col.ref(col.str('claim_id', 36, { primary: true }), 'Claim'),
    invoiceId: col.ref(col.str('invoice_id', 36, { primary: true }), 'Record'),
    orgId: ownerOrg,
    invoiceKey: col.hex32('invoice_key'),
    fingerprint: col.hex32('fingerprint'),
    createdAt: col.millis('created_at'),
  },
  [{ name: 'IDX_claim_invoices_fingerprint', columns: ['fingerprint'] }],
);

export const TABLES = [
  organisations,
  apiKeys,
  auditGrants,
  orgTaxIds,
  claimInvoices,
  records,
  recordLinks,
  batches,
  batchTrees,
  txOutbox,
  chainAccounts,
  leases,
  claims,
] as const;

/** The typeorm mappings of every table, for one database kind (schema drift checks). */
export function entitiesFor(dialect: Dialect) {
  return TABLES.map((t) => t.entity(dialect));
}

export type RecordRow = RowOf<typeof records.columns>;
