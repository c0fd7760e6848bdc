import { Table, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';

// Pilot workflows: expense claims (prepared before their consume transaction is signed, so a retry after a
// crash reuses the same claim commitment) and the index behind "superseded by".
const str = (name: string, length: number, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  ...extra,
});
const hex32 = (name: string) => str(name, 66);
const big = (name: string): TableColumnOptions => ({ name, type: 'bigint', isNullable: false });
const text = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable });

export class Pilots1764100000000 implements MigrationInterface {
  name = 'Pilots1764100000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'claims',
        columns: [
          str('id', 36, { isPrimary: true }),
          str('org_id', 64),
          str('external_id', 200),
          hex32('digest'),
          hex32('salt'),
          hex32('commitment'),
          text('invoices'),
          text('invoice_keys'),
          text('payload'),
          str('status', 16),
          str('consume_tx_id', 36, { isNullable: true }),
          str('release_tx_id', 36, { isNullable: true }),
          text('error', true),
          big('created_at'),
          big('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'UQ_claims_org_external', columnNames: ['org_id', 'external_id'], isUnique: true }),
          new TableIndex({ name: 'UQ_claims_commitment', columnNames: ['commitment'], isUnique: true }),
          new TableIndex({ name: 'IDX_claims_status', columnNames: ['status'] }),
        ],
      }),
    );
    await q.createIndex('records', new TableIndex({ name: 'IDX_records_supersedes', columnNames: ['supersedes'] }));
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('records', 'IDX_records_supersedes');
    await q.dropTable('claims');
  }
}
