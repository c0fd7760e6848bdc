import { TableColumn, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 18: a record's status is its batch's (recordStatusOf, src/service/ports.ts: `pending` without a batch or
// while the batch is signed, sent or failed, else the batch's `anchored` / `confirmed`), so `records.status` goes.
// The worker wrote it twice per record (anchored, then confirmed), in the same transactions as the batch's own
// status: two of the three updates of every record row (dead tuples and bytes on PostgreSQL, rows rewritten under
// SQLite's one writer while the API ingests).
// Nothing to carry over when every stored status is the derived one, which the worker kept true (both written in
// one transaction); the migration checks that first and refuses, naming the rows, rather than change what a record
// reads as.
// The worker's pending index becomes partial (rows without a batch only: an anchored record leaves it) over the
// columns of its ORDER BY, so the next batch is read in index order without a sort.
const PENDING = 'IDX_records_pending';
const DERIVED = "CASE WHEN b.status IN ('anchored', 'confirmed') THEN b.status ELSE 'pending' END";

export class RecordStatusFromBatch1765000000000 implements MigrationInterface {
  name = 'RecordStatusFromBatch1765000000000';

  public async up(q: QueryRunner): Promise<void> {
    const differ = (await q.query(
      `SELECT r.id, r.status, ${DERIVED} AS derived FROM records r LEFT JOIN batches b ON b.id = r.batch_id
        WHERE r.status <> ${DERIVED} ORDER BY r.id LIMIT 5`,
    )) as { id: string; status: string; derived: string }[];
    if (differ.length) {
      const [n] = (await q.query(
        `SELECT COUNT(*) AS n FROM records r LEFT JOIN batches b ON b.id = r.batch_id WHERE r.status <> ${DERIVED}`,
      )) as { n: number | string }[];
      const which = differ.map((d) => `${d.id} is ${d.status}, its batch says ${d.derived}`).join('; ');
      throw new Error(
        `RecordStatusFromBatch1765000000000: ${n?.n} records' stored status is not their batch's (${which}); fix them first`,
      );
    }
    await q.dropIndex('records', PENDING);
    await q.createIndex(
      'records',
      new TableIndex({ name: PENDING, columnNames: ['org_id', 'accepted_at', 'id'], where: 'batch_id IS NULL' }),
    );
    // SQLite ≥ 3.35 and PostgreSQL drop the column in place (no table rebuild, no index recreated).
    await q.query('ALTER TABLE records DROP COLUMN status');
  }

  public async down(q: QueryRunner): Promise<void> {
    const column = { name: 'status', type: 'varchar', length: '16' };
    await q.addColumn('records', new TableColumn({ ...column, isNullable: true }));
    await q.query(
      `UPDATE records SET status = COALESCE((SELECT b.status FROM batches b
         WHERE b.id = records.batch_id AND b.status IN ('anchored', 'confirmed')), 'pending')`,
    );
    await q.changeColumn('records', 'status', new TableColumn({ ...column, isNullable: false }));
    await q.dropIndex('records', PENDING);
    await q.createIndex('records', new TableIndex({ name: PENDING, columnNames: ['org_id', 'batch_id'] }));
  }
}
