import { recordStatusOf } from '../../service/ports';
import type { BatchStatus, NewRecord, RecordFull, RecordMeta, RecordRepo, RecordStatus } from '../../service/ports';
import type { RecordSignature } from '../../domain/signatures';
import { hex32Keys, hex32ToBytes, table, type Column, type Dialect } from '../mapping';
import { records } from '../tables';
import { chunks, list, marks, num, SqlSession, type Row, type SameKeys } from './session';

// Records, their links and their place in a batch. The statements marked HOT PATH are hand-written for the
// benchmark they name (bench/run.ts figures: ingest, signing, submit, receipts, sustained); their text is kept as
// benchmarked. Their column lists and row mappers still come from the mapping (src/storage/tables.ts), except the
// INSERT column list of insertRecords, whose names the drift test and every ingest test check against the table.
// digest, salt and commitment are stored as their 32 bytes (col.bin32): every value written to or compared with
// them goes through hex32ToBytes / hex32Keys, every value read through the column's reader.

const META_FIELDS = [
  'id',
  'orgId',
  'type',
  'externalId',
  'digest',
  'salt',
  'commitment',
  'parents',
  'batchId',
  'leafIndex',
  'supersedes',
  'acceptedAt',
  'signatures',
] as const;
const FULL_FIELDS = [...META_FIELDS, 'payload', 'proof'] as const;
// A record's status is not stored (migration RecordStatusFromBatch1765000000000): it is its batch's, by
// recordStatusOf, read through a LEFT JOIN of `batches` on the record's batch_id. The record's columns are read as
// `r.<col> AS r_<col>` (the two tables share names: id, org_id, status), the batch's status as `r_status`, so one
// compiled row mapper (the table's reader, with `status` read from the batch) builds each RecordMeta.
const derivedStatus: Column<RecordStatus> = {
  name: 'status',
  type: 'varchar',
  read: (v) => recordStatusOf(v as BatchStatus | null),
  write: (v) => v,
};
const asRead = table('records', 'RecordRead', { ...records.columns, status: derivedStatus });
/** The FROM clause of every read returning RecordMeta / RecordFull: the record and its batch. */
const WITH_BATCH = 'records r LEFT JOIN batches b ON b.id = r.batch_id';
const BATCH_STATUS = 'b.status AS r_status';
const perDialect = (sql: (d: Dialect) => string) => ({ sqlite: sql('sqlite'), postgres: sql('postgres') });
/** Every column but payload and proof (RecordMeta), the hashes read as hex (col.bin32), per dialect. */
const RECORD_META_COLS = perDialect((d) => `${records.cols(META_FIELDS, 'r', d)}, ${BATCH_STATUS}`);
const RECORD_FULL_COLS = perDialect((d) => `${records.cols(FULL_FIELDS, 'r', d)}, ${BATCH_STATUS}`);
const PENDING_COLS = perDialect((d) => records.cols(['id', 'commitment', 'signatures'], undefined, d));
const toMeta: (r: Row) => RecordMeta = asRead.reader([...META_FIELDS, 'status'], 'r');
const toFull: (r: Row) => RecordFull = asRead.reader([...FULL_FIELDS, 'status'], 'r');
const readProof = (r: Row) => records.columns.proof.read(r.r_proof);
const readCommitment = (v: unknown): string => records.columns.commitment.read(v);
const signaturesOf = (v: unknown): RecordSignature[] | null => records.columns.signatures.read(v);
true satisfies SameKeys<Omit<Required<RecordFull>, 'status'>, typeof records.columns>;

export class RecordSql extends SqlSession implements RecordRepo {
  /** HOT PATH: ingest, signing, submit, sustained (idempotency of records with an externalId). */
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
      if (this.sql.dialect === 'postgres') {
        // One probe of the whole key per externalId. `external_id IN (…)` let PostgreSQL's planner, without
        // statistics on `records` (autovacuum off, or before its first ANALYZE), take (org_id, type) as the
        // index condition and filter every record of that type: bulk ingest fell from 13k to 2.6k records/s
        // over the first million records of the sustained bench. LIMIT 1 in the LATERAL keeps the subquery from
        // being flattened, so each probe is an index search on all three columns whatever the statistics say.
        const rows = await this.sql.query(
          `SELECT ${RECORD_META_COLS[this.sql.dialect]} FROM unnest(?::text[]) AS x(e) CROSS JOIN LATERAL
             (SELECT ${records.cols(META_FIELDS)} FROM records
                WHERE org_id = ? AND type = ? AND external_id = x.e LIMIT 1) AS r
             LEFT JOIN batches b ON b.id = r.batch_id`,
          [[...ids], orgId, type],
        );
        out.push(...rows.map(toMeta));
        continue;
      }
      for (const part of chunks([...ids], 500)) {
        const rows = await this.sql.query(
          `SELECT ${RECORD_META_COLS[this.sql.dialect]} FROM ${WITH_BATCH}
            WHERE r.org_id = ? AND r.type = ? AND r.external_id IN (${list(part.length)})`,
          [orgId, type, ...part],
        );
        out.push(...rows.map(toMeta));
      }
    }
    return out;
  }
  /** HOT PATH: submit, ingest (idempotency of records without an externalId). */
  async findByDigests(orgId: string, digests: string[]): Promise<RecordMeta[]> {
    const out: RecordMeta[] = [];
    const unique = [...new Set(digests)];
    if (this.sql.dialect === 'postgres') {
      // One probe of (org_id, digest) per digest, as in findByExternalIds: `digest IN (…)` without statistics on
      // `records` was planned as an index scan on org_id alone, every id-less record of the org filtered. A digest
      // may name several records (other types or parents), so no LIMIT 1: OFFSET 0 keeps the subquery from being
      // flattened into a join (which, unanalysed, scans the org too); each probe searches on both columns.
      const rows = await this.sql.query(
        `SELECT ${RECORD_META_COLS[this.sql.dialect]} FROM unnest(?::bytea[]) AS x(d) CROSS JOIN LATERAL
           (SELECT ${records.cols(META_FIELDS)} FROM records
              WHERE org_id = ? AND external_id IS NULL AND digest = x.d OFFSET 0) AS r
           LEFT JOIN batches b ON b.id = r.batch_id`,
        [hex32Keys(unique), orgId],
      );
      return rows.map(toMeta);
    }
    for (const part of chunks(hex32Keys(unique), 500)) {
      // INDEXED BY: after an ANALYZE, SQLite took UQ_records_external (a skip-scan over every id-less record of
      // the org: `external_id IS NULL` as its key) when statistics showed few organisations and types.
      const rows = await this.sql.query(
        `SELECT ${RECORD_META_COLS[this.sql.dialect]} FROM records r INDEXED BY IDX_records_org_digest_noext
           LEFT JOIN batches b ON b.id = r.batch_id
          WHERE r.org_id = ? AND r.external_id IS NULL AND r.digest IN (${list(part.length)})`,
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
        `SELECT ${RECORD_META_COLS[this.sql.dialect]} FROM ${WITH_BATCH} WHERE r.id IN (${list(part.length)})`,
        part,
      );
      out.push(...rows.map(toMeta));
    }
    return out;
  }
  /** HOT PATH: signing (a client-chosen salt is unique per organisation). */
  async findBySalts(orgId: string, salts: string[]): Promise<RecordMeta[]> {
    const out: RecordMeta[] = [];
    for (const part of chunks(hex32Keys([...new Set(salts)]), 500)) {
      const rows = await this.sql.query(
        `SELECT ${RECORD_META_COLS[this.sql.dialect]} FROM ${WITH_BATCH}
          WHERE r.org_id = ? AND r.signatures IS NOT NULL AND r.salt IN (${list(part.length)})`,
        [orgId, ...part],
      );
      out.push(...rows.map(toMeta));
    }
    return out;
  }
  async getRecord(id: string): Promise<RecordFull | null> {
    const [r] = await this.sql.query(`SELECT ${RECORD_FULL_COLS[this.sql.dialect]} FROM ${WITH_BATCH} WHERE r.id = ?`, [
      id,
    ]);
    return r ? toFull(r) : null;
  }
  /** HOT PATH: ingest, signing, submit, sustained. */
  async insertRecords(rows: NewRecord[]): Promise<void> {
    if (!rows.length) return;
    const cols =
      'id, org_id, type, external_id, digest, salt, commitment, parents, payload, supersedes, accepted_at, signatures';
    const values = (r: NewRecord) => [
      r.id,
      r.orgId,
      r.type,
      r.externalId,
      hex32ToBytes(r.digest),
      hex32ToBytes(r.salt),
      hex32ToBytes(r.commitment),
      JSON.stringify(r.parents),
      r.payload,
      r.supersedes,
      r.acceptedAt,
      // A JSON array (maybe empty) marks a client-chosen salt: UQ_records_org_salt_chosen covers those rows only.
      r.signatures ? JSON.stringify(r.signatures) : null,
    ];
    const links = rows.flatMap((r) => r.parents.map((p) => [r.id, p]));
    if (this.sql.dialect === 'sqlite') {
      // better-sqlite3: one cached prepared statement run per row inside the transaction is the fastest path.
      await this.sql.execMany(`INSERT INTO records (${cols}) VALUES ${marks(12)}`, rows.map(values));
      await this.sql.execMany('INSERT INTO record_links (child_id, parent_id) VALUES (?, ?)', links);
      return;
    }
    // PostgreSQL: multi-row inserts, one round trip per 1,000 rows.
    for (const part of chunks(rows, 1000)) {
      await this.sql.exec(
        `INSERT INTO records (${cols}) VALUES ${part.map(() => marks(12)).join(', ')}`,
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
  /** HOT PATH: sustained (the anchoring worker's next batch). */
  async pendingCommitments(
    orgId: string,
    limit: number,
  ): Promise<{ id: string; commitment: string; signatures: RecordSignature[] | null }[]> {
    const rows = await this.sql.query(
      `SELECT ${PENDING_COLS[this.sql.dialect]} FROM records WHERE org_id = ? AND batch_id IS NULL ORDER BY accepted_at, id LIMIT ?`,
      [orgId, limit],
    );
    return rows.map((r) => ({
      id: String(r.id),
      commitment: readCommitment(r.commitment),
      signatures: signaturesOf(r.signatures),
    }));
  }
  async orgsWithPending(): Promise<{ orgId: string; count: number; oldest: number }[]> {
    const rows = await this.sql.query(
      'SELECT org_id, COUNT(*) AS n, MIN(accepted_at) AS oldest FROM records WHERE batch_id IS NULL GROUP BY org_id',
    );
    return rows.map((r) => ({ orgId: String(r.org_id), count: num(r.n), oldest: num(r.oldest) }));
  }
  /** HOT PATH: sustained (the anchoring worker puts up to a batch of records into it). */
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
  async releaseBatchRecords(batchId: string): Promise<void> {
    await this.sql.exec('UPDATE records SET batch_id = NULL, leaf_index = NULL, proof = NULL WHERE batch_id = ?', [
      batchId,
    ]);
  }
  async recordsOfBatch(batchId: string, limit: number, offset: number): Promise<string[]> {
    const rows = await this.sql.query(
      'SELECT id FROM records WHERE batch_id = ? ORDER BY leaf_index LIMIT ? OFFSET ?',
      [batchId, limit, offset],
    );
    return rows.map((r) => String(r.id));
  }
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
        `SELECT ${RECORD_FULL_COLS[this.sql.dialect]} FROM ${WITH_BATCH} WHERE r.id IN (${list(part.length)})`,
        part,
      );
      out.push(...rows.map(toFull));
    }
    return out;
  }
  /** HOT PATH: receipts (bulk receipts, 10,000 ids a request). */
  async getReceiptRows(ids: string[]): Promise<(RecordMeta & { proof: string[] | null })[]> {
    const out: (RecordMeta & { proof: string[] | null })[] = [];
    for (const part of chunks([...new Set(ids)], 1000)) {
      const rows = await this.sql.query(
        `SELECT ${RECORD_META_COLS[this.sql.dialect]}, r.proof AS r_proof FROM ${WITH_BATCH} WHERE r.id IN (${list(part.length)})`,
        part,
      );
      for (const r of rows) out.push({ ...toMeta(r), proof: readProof(r) });
    }
    return out;
  }
  async findByCommitments(commitments: string[]): Promise<RecordMeta[]> {
    const out: RecordMeta[] = [];
    for (const part of chunks(hex32Keys([...new Set(commitments)]), 500)) {
      const rows = await this.sql.query(
        `SELECT ${RECORD_META_COLS[this.sql.dialect]} FROM ${WITH_BATCH} WHERE r.commitment IN (${list(part.length)})`,
        part,
      );
      out.push(...rows.map(toMeta));
    }
    return out;
  }
}
