import type {
  ApiKeyInfo,
  BatchInfo,
  ClaimInfo,
  ClaimStatus,
  OutboxStatus,
  NewRecord,
  Org,
  OutboxTx,
  RecordFull,
  RecordMeta,
  RecordStatus,
  Repo,
  Scope,
  Store,
} from '../service/ports';
import { Database, isUniqueViolation, type Sql } from './db';
import { StoreConflictError } from '../service/ports';
import type { RecordSignature } from '../domain/signatures';

type Row = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** `(?, ?, ?)` */
const marks = (n: number) => `(${Array(n).fill('?').join(', ')})`;
/** `?, ?, ?` for IN lists */
const list = (n: number) => Array(n).fill('?').join(', ');
/** Splits long IN lists / multi-row inserts to stay under parameter limits. */
function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const RECORD_META_COLS =
  'id, org_id, type, external_id, digest, salt, commitment, parents, status, batch_id, leaf_index, supersedes, accepted_at, signatures';

/** The stored signatures of a record (JSON), or null when it is unsigned. */
function signaturesOf(v: unknown): RecordSignature[] | null {
  return v === null || v === undefined || v === '' ? null : (JSON.parse(String(v)) as RecordSignature[]);
}

function toOrg(r: Row): Org {
  return {
    id: String(r.id),
    name: String(r.name),
    kind: r.kind as Org['kind'],
    address: strOrNull(r.address),
    createdAt: num(r.created_at),
    rules: r.rules === 'warn' ? 'warn' : 'refuse',
    requireSignatures: Number(r.require_signatures) === 1,
  };
}

function toKey(r: Row): ApiKeyInfo {
  return {
    id: String(r.id),
    orgId: String(r.org_id),
    name: String(r.name),
    prefix: String(r.prefix),
    scopes: String(r.scopes).split(',').filter(Boolean) as Scope[],
    createdAt: num(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}

function toMeta(r: Row): RecordMeta {
  return {
    id: String(r.id),
    orgId: String(r.org_id),
    type: String(r.type),
    externalId: strOrNull(r.external_id),
    digest: String(r.digest),
    salt: String(r.salt),
    commitment: String(r.commitment),
    parents: JSON.parse(String(r.parents)) as string[],
    status: r.status as RecordStatus,
    batchId: strOrNull(r.batch_id),
    leafIndex: numOrNull(r.leaf_index),
    supersedes: strOrNull(r.supersedes),
    acceptedAt: num(r.accepted_at),
    signatures: signaturesOf(r.signatures),
  };
}

function toBatch(r: Row): BatchInfo {
  return {
    id: String(r.id),
    orgId: String(r.org_id),
    seq: num(r.seq),
    root: String(r.root),
    prev: String(r.prev),
    leafCount: num(r.leaf_count),
    status: r.status as BatchInfo['status'],
    txId: strOrNull(r.tx_id),
    txHash: strOrNull(r.tx_hash),
    blockNumber: numOrNull(r.block_number),
    blockHash: strOrNull(r.block_hash),
    blockTimestamp: numOrNull(r.block_timestamp),
    chainSeq: numOrNull(r.chain_seq),
    chainId: num(r.chain_id),
    registry: String(r.registry),
    submitter: String(r.submitter),
    error: strOrNull(r.error),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

function toOutbox(r: Row): OutboxTx {
  return {
    id: String(r.id),
    orgId: String(r.org_id),
    address: String(r.address),
    nonce: num(r.nonce),
    kind: r.kind as OutboxTx['kind'],
    refId: String(r.ref_id),
    raw: String(r.raw),
    txHash: String(r.tx_hash),
    status: r.status as OutboxTx['status'],
    blockNumber: numOrNull(r.block_number),
    blockHash: strOrNull(r.block_hash),
    error: strOrNull(r.error),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

const BATCH_COLUMNS: Record<keyof BatchInfo, string> = {
  id: 'id',
  orgId: 'org_id',
  seq: 'seq',
  root: 'root',
  prev: 'prev',
  leafCount: 'leaf_count',
  status: 'status',
  txId: 'tx_id',
  txHash: 'tx_hash',
  blockNumber: 'block_number',
  blockHash: 'block_hash',
  blockTimestamp: 'block_timestamp',
  chainSeq: 'chain_seq',
  chainId: 'chain_id',
  registry: 'registry',
  submitter: 'submitter',
  error: 'error',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
};

const OUTBOX_COLUMNS: Record<keyof OutboxTx, string> = {
  id: 'id',
  orgId: 'org_id',
  address: 'address',
  nonce: 'nonce',
  kind: 'kind',
  refId: 'ref_id',
  raw: 'raw',
  txHash: 'tx_hash',
  status: 'status',
  blockNumber: 'block_number',
  blockHash: 'block_hash',
  error: 'error',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
};

const CLAIM_COLUMNS: Record<keyof ClaimInfo, string> = {
  id: 'id',
  orgId: 'org_id',
  externalId: 'external_id',
  digest: 'digest',
  salt: 'salt',
  commitment: 'commitment',
  invoices: 'invoices',
  invoiceKeys: 'invoice_keys',
  payload: 'payload',
  status: 'status',
  consumeTxId: 'consume_tx_id',
  releaseTxId: 'release_tx_id',
  settleTxId: 'settle_tx_id',
  error: 'error',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
};

function toClaim(r: Row): ClaimInfo {
  return {
    id: String(r.id),
    orgId: String(r.org_id),
    externalId: String(r.external_id),
    digest: String(r.digest),
    salt: String(r.salt),
    commitment: String(r.commitment),
    invoices: JSON.parse(String(r.invoices)) as string[],
    invoiceKeys: JSON.parse(String(r.invoice_keys)) as string[],
    payload: String(r.payload),
    status: r.status as ClaimStatus,
    consumeTxId: strOrNull(r.consume_tx_id),
    releaseTxId: strOrNull(r.release_tx_id),
    settleTxId: strOrNull(r.settle_tx_id),
    error: strOrNull(r.error),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** Claim fields as stored (arrays as JSON). */
function claimRow(c: Partial<ClaimInfo>): Partial<Record<keyof ClaimInfo, unknown>> {
  const out: Partial<Record<keyof ClaimInfo, unknown>> = { ...c };
  if (c.invoices) out.invoices = JSON.stringify(c.invoices);
  if (c.invoiceKeys) out.invoiceKeys = JSON.stringify(c.invoiceKeys);
  return out;
}

function insertSql<T extends object>(table: string, cols: Record<keyof T, string>, row: T): [string, unknown[]] {
  const keys = Object.keys(cols) as (keyof T)[];
  return [
    `INSERT INTO ${table} (${keys.map((k) => cols[k]).join(', ')}) VALUES ${marks(keys.length)}`,
    keys.map((k) => row[k] ?? null),
  ];
}

function updateSql<T extends object>(table: string, cols: Record<keyof T, string>, id: string, patch: Partial<T>) {
  const keys = (Object.keys(patch) as (keyof T)[]).filter((k) => k !== 'id' && patch[k] !== undefined);
  return [
    `UPDATE ${table} SET ${keys.map((k) => `${cols[k]} = ?`).join(', ')} WHERE id = ?`,
    [...keys.map((k) => patch[k] ?? null), id],
  ] as const;
}

/** The repository over one SQL session (a transaction, or the pool for reads). */
export class SqlRepo implements Repo {
  constructor(private readonly sql: Sql) {}

  // ---- organisations and keys -------------------------------------------------------------
  async insertOrg(o: Org): Promise<void> {
    await this.sql.exec(
      'INSERT INTO organisations (id, name, kind, address, created_at, rules, require_signatures) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [o.id, o.name, o.kind, o.address, o.createdAt, o.rules ?? 'refuse', o.requireSignatures ? 1 : 0],
    );
  }
  async setOrgRequireSignatures(id: string, required: boolean): Promise<boolean> {
    return (
      (await this.sql.exec('UPDATE organisations SET require_signatures = ? WHERE id = ?', [required ? 1 : 0, id])) > 0
    );
  }
  async setOrgRules(id: string, rules: 'refuse' | 'warn'): Promise<boolean> {
    return (await this.sql.exec('UPDATE organisations SET rules = ? WHERE id = ?', [rules, id])) > 0;
  }
  async setOrgAddress(id: string, address: string): Promise<boolean> {
    return (await this.sql.exec('UPDATE organisations SET address = ? WHERE id = ?', [address, id])) > 0;
  }
  async getOrg(id: string): Promise<Org | null> {
    const [r] = await this.sql.query('SELECT * FROM organisations WHERE id = ?', [id]);
    return r ? toOrg(r) : null;
  }
  async listOrgs(): Promise<Org[]> {
    return (await this.sql.query('SELECT * FROM organisations ORDER BY created_at, id')).map(toOrg);
  }
  async insertApiKey(k: ApiKeyInfo & { keyHash: string }): Promise<void> {
    await this.sql.exec(
      'INSERT INTO api_keys (id, org_id, name, prefix, key_hash, scopes, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [k.id, k.orgId, k.name, k.prefix, k.keyHash, k.scopes.join(','), k.createdAt, k.revokedAt],
    );
  }
  async findApiKeyByHash(hash: string): Promise<(ApiKeyInfo & { org: Org }) | null> {
    const [r] = await this.sql.query(
      `SELECT k.*, o.name AS o_name, o.kind AS o_kind, o.address AS o_address, o.created_at AS o_created_at, o.rules AS o_rules,
              o.require_signatures AS o_require_signatures
         FROM api_keys k JOIN organisations o ON o.id = k.org_id WHERE k.key_hash = ?`,
      [hash],
    );
    if (!r) return null;
    return {
      ...toKey(r),
      org: toOrg({
        id: r.org_id,
        name: r.o_name,
        kind: r.o_kind,
        address: r.o_address,
        created_at: r.o_created_at,
        rules: r.o_rules,
        require_signatures: r.o_require_signatures,
      }),
    };
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
    await this.sql.exec(
      'INSERT INTO audit_grants (grantee_org_id, org_id, created_at) VALUES (?, ?, ?) ON CONFLICT (grantee_org_id, org_id) DO NOTHING',
      [granteeOrgId, orgId, at],
    );
  }
  async grantsOf(granteeOrgId: string): Promise<string[]> {
    const rows = await this.sql.query('SELECT org_id FROM audit_grants WHERE grantee_org_id = ?', [granteeOrgId]);
    return rows.map((r) => String(r.org_id));
  }
  async setOrgTaxIds(orgId: string, taxIds: { taxId: string; display: string }[], at: number): Promise<void> {
    await this.sql.exec('DELETE FROM org_tax_ids WHERE org_id = ?', [orgId]);
    for (const t of taxIds) {
      // a tax id of another organisation: the primary key refuses it (StoreConflictError through the unit of work)
      await this.sql.exec('INSERT INTO org_tax_ids (tax_id, org_id, display, created_at) VALUES (?, ?, ?, ?)', [
        t.taxId,
        orgId,
        t.display,
        at,
      ]);
    }
  }
  async taxIdsOf(orgIds: string[]): Promise<{ orgId: string; taxId: string; display: string }[]> {
    if (orgIds.length === 0) return [];
    const rows = await this.sql.query(
      `SELECT org_id, tax_id, display FROM org_tax_ids WHERE org_id IN (${orgIds.map(() => '?').join(', ')}) ORDER BY org_id, created_at, tax_id`,
      orgIds,
    );
    return rows.map((r) => ({ orgId: String(r.org_id), taxId: String(r.tax_id), display: String(r.display) }));
  }

  // ---- records ---------------------------------------------------------------------------
  async findByExternalIds(orgId: string, keys: { type: string; externalId: string }[]): Promise<RecordMeta[]> {
    const out: RecordMeta[] = [];
    // Per type, so that the lookup is an index search on UQ_records_external (org_id, type, external_id):
    // without `type` it scans every record of the org (cost grows with the table).
    const byType = new Map<string, Set<string>>();
    for (const k of keys) {
      let ids = byType.get(k.type);
      if (!ids) byType.set(k.type, (ids = new Set()));
      ids.add(k.externalId);
    }
    for (const [type, ids] of byType) {
      for (const part of chunks([...ids], 500)) {
        const rows = await this.sql.query(
          `SELECT ${RECORD_META_COLS} FROM records WHERE org_id = ? AND type = ? AND external_id IN (${list(part.length)})`,
          [orgId, type, ...part],
        );
        out.push(...rows.map(toMeta));
      }
    }
    return out;
  }
  async findByDigests(orgId: string, digests: string[]): Promise<RecordMeta[]> {
    const out: RecordMeta[] = [];
    for (const part of chunks([...new Set(digests)], 500)) {
      const rows = await this.sql.query(
        `SELECT ${RECORD_META_COLS} FROM records WHERE org_id = ? AND external_id IS NULL AND digest IN (${list(part.length)})`,
        [orgId, ...part],
      );
      out.push(...rows.map(toMeta));
    }
    return out;
  }
  async getRecordsMeta(ids: string[]): Promise<RecordMeta[]> {
    const out: RecordMeta[] = [];
    for (const part of chunks([...new Set(ids)], 500)) {
      const rows = await this.sql.query(
        `SELECT ${RECORD_META_COLS} FROM records WHERE id IN (${list(part.length)})`,
        part,
      );
      out.push(...rows.map(toMeta));
    }
    return out;
  }
  async findBySalts(orgId: string, salts: string[]): Promise<RecordMeta[]> {
    const out: RecordMeta[] = [];
    for (const part of chunks([...new Set(salts)], 500)) {
      const rows = await this.sql.query(
        `SELECT ${RECORD_META_COLS} FROM records WHERE org_id = ? AND signatures IS NOT NULL AND salt IN (${list(part.length)})`,
        [orgId, ...part],
      );
      out.push(...rows.map(toMeta));
    }
    return out;
  }
  async getRecord(id: string): Promise<RecordFull | null> {
    const [r] = await this.sql.query(`SELECT ${RECORD_META_COLS}, payload, proof FROM records WHERE id = ?`, [id]);
    if (!r) return null;
    return {
      ...toMeta(r),
      payload: String(r.payload),
      proof: r.proof ? (JSON.parse(String(r.proof)) as string[]) : null,
    };
  }
  async insertRecords(rows: NewRecord[]): Promise<void> {
    if (!rows.length) return;
    const cols =
      'id, org_id, type, external_id, digest, salt, commitment, parents, payload, status, supersedes, accepted_at, signatures';
    const values = (r: NewRecord) => [
      r.id,
      r.orgId,
      r.type,
      r.externalId,
      r.digest,
      r.salt,
      r.commitment,
      JSON.stringify(r.parents),
      r.payload,
      'pending',
      r.supersedes,
      r.acceptedAt,
      // A JSON array (maybe empty) marks a client-chosen salt: UQ_records_org_salt_chosen covers those rows only.
      r.signatures ? JSON.stringify(r.signatures) : null,
    ];
    const links = rows.flatMap((r) => r.parents.map((p) => [r.id, p]));
    if (this.sql.dialect === 'sqlite') {
      // better-sqlite3: one cached prepared statement run per row inside the transaction is the fastest path.
      await this.sql.execMany(`INSERT INTO records (${cols}) VALUES ${marks(13)}`, rows.map(values));
      await this.sql.execMany('INSERT INTO record_links (child_id, parent_id) VALUES (?, ?)', links);
      return;
    }
    // PostgreSQL: multi-row inserts, one round trip per 1,000 rows.
    for (const part of chunks(rows, 1000)) {
      await this.sql.exec(
        `INSERT INTO records (${cols}) VALUES ${part.map(() => marks(13)).join(', ')}`,
        part.flatMap(values),
      );
    }
    for (const part of chunks(links, 5000)) {
      await this.sql.exec(
        `INSERT INTO record_links (child_id, parent_id) VALUES ${part.map(() => '(?, ?)').join(', ')}`,
        part.flat(),
      );
    }
  }
  async childrenOf(ids: string[]): Promise<{ parentId: string; childId: string }[]> {
    if (!ids.length) return [];
    const rows = await this.sql.query(
      `SELECT parent_id, child_id FROM record_links WHERE parent_id IN (${list(ids.length)})`,
      ids,
    );
    return rows.map((r) => ({ parentId: String(r.parent_id), childId: String(r.child_id) }));
  }
  async pendingCommitments(
    orgId: string,
    limit: number,
  ): Promise<{ id: string; commitment: string; signatures: RecordSignature[] | null }[]> {
    const rows = await this.sql.query(
      'SELECT id, commitment, signatures FROM records WHERE org_id = ? AND batch_id IS NULL ORDER BY accepted_at, id LIMIT ?',
      [orgId, limit],
    );
    return rows.map((r) => ({
      id: String(r.id),
      commitment: String(r.commitment),
      signatures: signaturesOf(r.signatures),
    }));
  }
  async orgsWithPending(): Promise<{ orgId: string; count: number; oldest: number }[]> {
    const rows = await this.sql.query(
      'SELECT org_id, COUNT(*) AS n, MIN(accepted_at) AS oldest FROM records WHERE batch_id IS NULL GROUP BY org_id',
    );
    return rows.map((r) => ({ orgId: String(r.org_id), count: num(r.n), oldest: num(r.oldest) }));
  }
  async assignBatch(batchId: string, leaves: { id: string; leafIndex: number }[]): Promise<number> {
    let changed = 0;
    if (this.sql.dialect === 'sqlite') {
      const one = 'UPDATE records SET batch_id = ?, leaf_index = ? WHERE id = ? AND batch_id IS NULL';
      return this.sql.execMany(
        one,
        leaves.map((l) => [batchId, l.leafIndex, l.id]),
      );
    }
    for (const part of chunks(leaves, 5000)) {
      changed += await this.sql.exec(
        `UPDATE records AS r SET batch_id = ?, leaf_index = v.li
           FROM (SELECT unnest(?::text[]) AS id, unnest(?::int[]) AS li) AS v
          WHERE r.id = v.id AND r.batch_id IS NULL`,
        [batchId, part.map((l) => l.id), part.map((l) => l.leafIndex)],
      );
    }
    return changed;
  }
  async setBatchRecordsStatus(batchId: string, status: RecordStatus): Promise<void> {
    await this.sql.exec('UPDATE records SET status = ? WHERE batch_id = ?', [status, batchId]);
  }
  async releaseBatchRecords(batchId: string): Promise<void> {
    await this.sql.exec(
      "UPDATE records SET batch_id = NULL, leaf_index = NULL, proof = NULL, status = 'pending' WHERE batch_id = ?",
      [batchId],
    );
  }
  async recordsOfBatch(batchId: string, limit: number, offset: number): Promise<string[]> {
    const rows = await this.sql.query(
      'SELECT id FROM records WHERE batch_id = ? ORDER BY leaf_index LIMIT ? OFFSET ?',
      [batchId, limit, offset],
    );
    return rows.map((r) => String(r.id));
  }

  // ---- batches -----------------------------------------------------------------------------
  async insertBatch(b: BatchInfo): Promise<void> {
    const [sql, params] = insertSql('batches', BATCH_COLUMNS, b);
    await this.sql.exec(sql, params);
  }
  async getBatch(id: string): Promise<BatchInfo | null> {
    const [r] = await this.sql.query('SELECT * FROM batches WHERE id = ?', [id]);
    return r ? toBatch(r) : null;
  }
  async getBatchByRoot(root: string): Promise<BatchInfo | null> {
    const [r] = await this.sql.query('SELECT * FROM batches WHERE root = ?', [root]);
    return r ? toBatch(r) : null;
  }
  async lastBatch(orgId: string, live = false): Promise<BatchInfo | null> {
    const where = live ? "org_id = ? AND status <> 'failed'" : 'org_id = ?';
    const [r] = await this.sql.query(`SELECT * FROM batches WHERE ${where} ORDER BY seq DESC LIMIT 1`, [orgId]);
    return r ? toBatch(r) : null;
  }
  async unfinishedBatches(orgId?: string): Promise<BatchInfo[]> {
    const where = "status IN ('signed', 'sent', 'anchored')";
    const rows = orgId
      ? await this.sql.query(`SELECT * FROM batches WHERE ${where} AND org_id = ? ORDER BY seq`, [orgId])
      : await this.sql.query(`SELECT * FROM batches WHERE ${where} ORDER BY org_id, seq`);
    return rows.map(toBatch);
  }
  async batchesOf(orgId: string): Promise<BatchInfo[]> {
    return (await this.sql.query('SELECT * FROM batches WHERE org_id = ? ORDER BY seq', [orgId])).map(toBatch);
  }
  async updateBatch(id: string, patch: Partial<BatchInfo>): Promise<void> {
    const [sql, params] = updateSql('batches', BATCH_COLUMNS, id, patch);
    await this.sql.exec(sql, params);
  }
  async deleteBatch(id: string): Promise<void> {
    await this.sql.exec('DELETE FROM batch_trees WHERE batch_id = ?', [id]);
    await this.sql.exec('DELETE FROM batches WHERE id = ?', [id]);
  }
  async insertBatchTree(batchId: string, nodes: Uint8Array): Promise<void> {
    const buf = Buffer.from(nodes.buffer, nodes.byteOffset, nodes.byteLength);
    await this.sql.exec('INSERT INTO batch_trees (batch_id, nodes) VALUES (?, ?)', [batchId, buf]);
  }
  async getBatchTree(batchId: string): Promise<Uint8Array | null> {
    const [r] = await this.sql.query('SELECT nodes FROM batch_trees WHERE batch_id = ?', [batchId]);
    if (!r) return null;
    const b = r.nodes as Buffer;
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }

  // ---- outbox and nonces -------------------------------------------------------------------
  async ensureAccount(address: string, orgId: string, nextNonce: number): Promise<void> {
    // Two processes may meet an account for the first time at once (a claim and the anchoring worker):
    // the second insert is a no-op instead of a unique violation.
    await this.sql.exec(
      'INSERT INTO chain_accounts (address, org_id, next_nonce) VALUES (?, ?, ?) ON CONFLICT (address) DO NOTHING',
      [address, orgId, nextNonce],
    );
  }
  async getAccountNonce(address: string): Promise<number | null> {
    const [r] = await this.sql.query('SELECT next_nonce FROM chain_accounts WHERE address = ?', [address]);
    return r ? num(r.next_nonce) : null;
  }
  async setAccountNonce(address: string, nextNonce: number): Promise<void> {
    await this.sql.exec('UPDATE chain_accounts SET next_nonce = ? WHERE address = ?', [nextNonce, address]);
  }
  async allocateNonce(address: string): Promise<number> {
    const [r] = await this.sql.query(
      'UPDATE chain_accounts SET next_nonce = next_nonce + 1 WHERE address = ? RETURNING next_nonce - 1 AS n',
      [address],
    );
    if (!r) throw new Error(`no chain account ${address}`);
    return num(r.n);
  }
  async insertOutbox(tx: OutboxTx): Promise<void> {
    const [sql, params] = insertSql('tx_outbox', OUTBOX_COLUMNS, tx);
    await this.sql.exec(sql, params);
  }
  async getOutbox(id: string): Promise<OutboxTx | null> {
    const [r] = await this.sql.query('SELECT * FROM tx_outbox WHERE id = ?', [id]);
    return r ? toOutbox(r) : null;
  }
  async getOutboxByHash(txHash: string): Promise<OutboxTx | null> {
    const [r] = await this.sql.query('SELECT * FROM tx_outbox WHERE tx_hash = ?', [txHash]);
    return r ? toOutbox(r) : null;
  }
  async outboxByRef(kind: OutboxTx['kind'], refId: string): Promise<OutboxTx[]> {
    const rows = await this.sql.query(
      'SELECT * FROM tx_outbox WHERE kind = ? AND ref_id = ? ORDER BY created_at, nonce',
      [kind, refId],
    );
    return rows.map(toOutbox);
  }
  async updateOutbox(id: string, patch: Partial<OutboxTx>, expect?: OutboxStatus[]): Promise<boolean> {
    const [sql, params] = updateSql('tx_outbox', OUTBOX_COLUMNS, id, patch);
    if (!expect) return (await this.sql.exec(sql, params)) > 0;
    return (await this.sql.exec(`${sql} AND status IN (${list(expect.length)})`, [...params, ...expect])) > 0;
  }
  async openOutbox(address: string): Promise<OutboxTx[]> {
    const rows = await this.sql.query(
      "SELECT * FROM tx_outbox WHERE address = ? AND status IN ('signed', 'sent') ORDER BY nonce",
      [address],
    );
    return rows.map(toOutbox);
  }

  // ---- lifecycles, lineage and claims -------------------------------------------------------
  async lockRecords(ids: string[]): Promise<void> {
    if (this.sql.dialect !== 'postgres' || !ids.length) return;
    // Sorted, so concurrent transactions take the locks in the same order (no deadlock).
    for (const part of chunks([...new Set(ids)].sort(), 5000)) {
      await this.sql.query('SELECT id FROM records WHERE id = ANY(?::text[]) ORDER BY id FOR UPDATE', [part]);
    }
  }
  async childrenByType(ids: string[], types: string[]): Promise<{ parentId: string; childId: string; type: string }[]> {
    const out: { parentId: string; childId: string; type: string }[] = [];
    if (!types.length) return out;
    for (const part of chunks([...new Set(ids)], 500)) {
      const rows = await this.sql.query(
        `SELECT l.parent_id, l.child_id, r.type FROM record_links l JOIN records r ON r.id = l.child_id
          WHERE l.parent_id IN (${list(part.length)}) AND r.type IN (${list(types.length)})`,
        [...part, ...types],
      );
      for (const r of rows)
        out.push({ parentId: String(r.parent_id), childId: String(r.child_id), type: String(r.type) });
    }
    return out;
  }
  async supersedersOf(ids: string[]): Promise<{ id: string; supersedes: string }[]> {
    const out: { id: string; supersedes: string }[] = [];
    for (const part of chunks([...new Set(ids)], 500)) {
      const rows = await this.sql.query(
        `SELECT id, supersedes FROM records WHERE supersedes IN (${list(part.length)}) ORDER BY accepted_at, id`,
        part,
      );
      for (const r of rows) out.push({ id: String(r.id), supersedes: String(r.supersedes) });
    }
    return out;
  }
  async linkClosure(
    ids: string[],
    direction: 'up' | 'down',
    limit: number,
  ): Promise<{ parentId: string; childId: string }[]> {
    if (!ids.length) return [];
    // Start at the links touching `ids`, then follow them; UNION (not ALL) drops links reached twice.
    const [from, to] = direction === 'up' ? ['child_id', 'parent_id'] : ['parent_id', 'child_id'];
    const rows = await this.sql.query(
      `WITH RECURSIVE walk(parent_id, child_id) AS (
         SELECT parent_id, child_id FROM record_links WHERE ${from} IN (${list(ids.length)})
         UNION
         SELECT l.parent_id, l.child_id FROM record_links l JOIN walk w ON l.${from} = w.${to}
       )
       SELECT parent_id, child_id FROM walk LIMIT ?`,
      [...ids, limit],
    );
    return rows.map((r) => ({ parentId: String(r.parent_id), childId: String(r.child_id) }));
  }
  async getRecords(ids: string[]): Promise<RecordFull[]> {
    const out: RecordFull[] = [];
    for (const part of chunks([...new Set(ids)], 500)) {
      const rows = await this.sql.query(
        `SELECT ${RECORD_META_COLS}, payload, proof FROM records WHERE id IN (${list(part.length)})`,
        part,
      );
      for (const r of rows) {
        out.push({
          ...toMeta(r),
          payload: String(r.payload),
          proof: r.proof ? (JSON.parse(String(r.proof)) as string[]) : null,
        });
      }
    }
    return out;
  }
  async getReceiptRows(ids: string[]): Promise<(RecordMeta & { proof: string[] | null })[]> {
    const out: (RecordMeta & { proof: string[] | null })[] = [];
    for (const part of chunks([...new Set(ids)], 1000)) {
      const rows = await this.sql.query(
        `SELECT ${RECORD_META_COLS}, proof FROM records WHERE id IN (${list(part.length)})`,
        part,
      );
      for (const r of rows)
        out.push({ ...toMeta(r), proof: r.proof ? (JSON.parse(String(r.proof)) as string[]) : null });
    }
    return out;
  }
  async getBatches(ids: string[]): Promise<BatchInfo[]> {
    const out: BatchInfo[] = [];
    for (const part of chunks([...new Set(ids)], 1000)) {
      out.push(
        ...(await this.sql.query(`SELECT * FROM batches WHERE id IN (${list(part.length)})`, part)).map(toBatch),
      );
    }
    return out;
  }
  async findByCommitments(commitments: string[]): Promise<RecordMeta[]> {
    const out: RecordMeta[] = [];
    for (const part of chunks([...new Set(commitments)], 500)) {
      const rows = await this.sql.query(
        `SELECT ${RECORD_META_COLS} FROM records WHERE commitment IN (${list(part.length)})`,
        part,
      );
      out.push(...rows.map(toMeta));
    }
    return out;
  }
  async lockAccount(address: string): Promise<void> {
    if (this.sql.dialect !== 'postgres') return;
    await this.sql.query('SELECT address FROM chain_accounts WHERE address = ? FOR UPDATE', [address]);
  }
  async insertClaim(c: ClaimInfo): Promise<void> {
    const [sql, params] = insertSql('claims', CLAIM_COLUMNS, claimRow(c) as ClaimInfo);
    await this.sql.exec(sql, params);
  }
  async setClaimInvoices(
    claimId: string,
    orgId: string,
    rows: { invoiceId: string; invoiceKey: string; fingerprint: string }[],
    at: number,
  ): Promise<void> {
    await this.sql.exec('DELETE FROM claim_invoices WHERE claim_id = ?', [claimId]);
    for (const r of rows) {
      await this.sql.exec(
        'INSERT INTO claim_invoices (claim_id, invoice_id, org_id, invoice_key, fingerprint, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        [claimId, r.invoiceId, orgId, r.invoiceKey, r.fingerprint, at],
      );
    }
  }
  async claimedByFingerprints(
    fingerprints: string[],
  ): Promise<{ claimId: string; invoiceId: string; orgId: string; invoiceKey: string; fingerprint: string }[]> {
    if (fingerprints.length === 0) return [];
    const rows = await this.sql.query(
      `SELECT ci.claim_id, ci.invoice_id, ci.org_id, ci.invoice_key, ci.fingerprint FROM claim_invoices ci
         JOIN claims c ON c.id = ci.claim_id
        WHERE ci.fingerprint IN (${list(fingerprints.length)}) AND c.status NOT IN ('failed', 'released')
        ORDER BY ci.created_at LIMIT 100`,
      fingerprints,
    );
    return rows.map((r) => ({
      claimId: String(r.claim_id),
      invoiceId: String(r.invoice_id),
      orgId: String(r.org_id),
      invoiceKey: String(r.invoice_key),
      fingerprint: String(r.fingerprint),
    }));
  }
  async getClaim(id: string): Promise<ClaimInfo | null> {
    const [r] = await this.sql.query('SELECT * FROM claims WHERE id = ?', [id]);
    return r ? toClaim(r) : null;
  }
  async getClaimByExternalId(orgId: string, externalId: string): Promise<ClaimInfo | null> {
    const [r] = await this.sql.query('SELECT * FROM claims WHERE org_id = ? AND external_id = ?', [orgId, externalId]);
    return r ? toClaim(r) : null;
  }
  async getClaimByCommitment(commitment: string): Promise<ClaimInfo | null> {
    const [r] = await this.sql.query('SELECT * FROM claims WHERE commitment = ?', [commitment]);
    return r ? toClaim(r) : null;
  }
  async updateClaim(id: string, patch: Partial<ClaimInfo>, expect?: ClaimStatus[]): Promise<boolean> {
    const [sql, params] = updateSql('claims', CLAIM_COLUMNS, id, claimRow(patch) as Partial<ClaimInfo>);
    if (!expect) return (await this.sql.exec(sql, params)) > 0;
    // compare-and-set: only from one of the states the caller last saw
    return (await this.sql.exec(`${sql} AND status IN (${list(expect.length)})`, [...params, ...expect])) > 0;
  }
  async deleteClaim(id: string, expect: ClaimStatus[]): Promise<boolean> {
    await this.sql.exec(
      `DELETE FROM claim_invoices WHERE claim_id = ? AND EXISTS (SELECT 1 FROM claims WHERE id = ? AND status IN (${list(expect.length)}))`,
      [id, id, ...expect],
    );
    return (
      (await this.sql.exec(`DELETE FROM claims WHERE id = ? AND status IN (${list(expect.length)})`, [id, ...expect])) >
      0
    );
  }
  async claimsByStatus(statuses: ClaimStatus[], limit: number): Promise<ClaimInfo[]> {
    const rows = await this.sql.query(
      `SELECT * FROM claims WHERE status IN (${list(statuses.length)}) ORDER BY updated_at LIMIT ?`,
      [...statuses, limit],
    );
    return rows.map(toClaim);
  }
  async rejectedClaimsToRelease(limit: number): Promise<ClaimInfo[]> {
    const rows = await this.sql.query(
      `SELECT c.* FROM claims c
         JOIN record_links l ON l.parent_id = c.id
         JOIN records r ON r.id = l.child_id
        WHERE c.status = 'recorded' AND r.type = 'expense.rejected'
        ORDER BY c.updated_at LIMIT ?`,
      [limit],
    );
    return rows.map(toClaim);
  }

  async reimbursedClaimsToSettle(limit: number): Promise<ClaimInfo[]> {
    const rows = await this.sql.query(
      `SELECT DISTINCT c.* FROM claims c
         JOIN record_links la ON la.parent_id = c.id
         JOIN records a ON a.id = la.child_id AND a.type = 'expense.approved'
         JOIN record_links lr ON lr.parent_id = a.id
         JOIN records re ON re.id = lr.child_id AND re.type = 'expense.reimbursed'
        WHERE c.status = 'recorded'
        ORDER BY c.updated_at LIMIT ?`,
      [limit],
    );
    return rows.map(toClaim);
  }

  // ---- leases ------------------------------------------------------------------------------
  async tryLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const n = await this.sql.exec(
      'UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)',
      [holder, now + ttlMs, name, holder, now],
    );
    if (n > 0) return true;
    const inserted = await this.sql.exec(
      'INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
      [name, holder, now + ttlMs],
    );
    return inserted > 0;
  }
  async dropLease(name: string, holder: string): Promise<void> {
    await this.sql.exec('DELETE FROM leases WHERE name = ? AND holder = ?', [name, holder]);
  }
}

/** The Store port over a Database. */
export class SqlStore implements Store {
  constructor(readonly db: Database) {}
  get dialect() {
    return this.db.dialect;
  }
  async tx<T>(fn: (r: Repo) => Promise<T>): Promise<T> {
    try {
      return await this.db.tx((sql) => fn(new SqlRepo(sql)));
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError('unique constraint violated', { cause: err });
      throw err;
    }
  }
  read<T>(fn: (r: Repo) => Promise<T>): Promise<T> {
    return this.db.read((sql) => fn(new SqlRepo(sql)));
  }
  ping(): Promise<boolean> {
    return this.db.ping();
  }
  close(): Promise<void> {
    return this.db.close();
  }
}
