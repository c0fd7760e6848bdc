import { TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

// Bulk ingest writes every record into each index of `records`. Three of them only serve rows that are
// rare at insert time (records without externalId, records already in a batch, corrections), so they
// become partial indexes: an insert skips them, the queries that use them still do.
const partial = [
  {
    old: 'IDX_records_org_digest',
    name: 'IDX_records_org_digest_noext',
    columnNames: ['org_id', 'digest'],
    where: 'external_id IS NULL',
  },
  { old: 'IDX_records_batch', name: 'IDX_records_batch_set', columnNames: ['batch_id'], where: 'batch_id IS NOT NULL' },
  {
    old: 'IDX_records_supersedes',
    name: 'IDX_records_supersedes_set',
    columnNames: ['supersedes'],
    where: 'supersedes IS NOT NULL',
  },
];

export class PartialIndexes1764200000000 implements MigrationInterface {
  name = 'PartialIndexes1764200000000';

  public async up(q: QueryRunner): Promise<void> {
    for (const p of partial) {
      await q.dropIndex('records', p.old);
      await q.createIndex('records', new TableIndex({ name: p.name, columnNames: p.columnNames, where: p.where }));
    }
  }

  public async down(q: QueryRunner): Promise<void> {
    for (const p of partial) {
      await q.dropIndex('records', p.name);
      await q.createIndex('records', new TableIndex({ name: p.old, columnNames: p.columnNames }));
    }
  }
}
