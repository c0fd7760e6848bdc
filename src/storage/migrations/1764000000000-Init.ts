import { Table, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';

// Driver-agnostic (SQLite and PostgreSQL) first schema. Never edit a released migration: add a new one.
const str = (name: string, length: number, extra: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  ...extra,
});
const hex32 = (name: string, nullable = false) => str(name, 66, { isNullable: nullable });
const int = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'integer', isNullable: nullable });
const big = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable: nullable });
const text = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable });
const org = str('org_id', 64);

export class Init1764000000000 implements MigrationInterface {
  name = 'Init1764000000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'organisations',
        columns: [
          str('id', 64, { isPrimary: true }),
          str('name', 200),
          str('kind', 16),
          str('address', 42, { isNullable: true }),
          big('created_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          str('id', 36, { isPrimary: true }),
          org,
          str('name', 200),
          str('prefix', 24),
          str('key_hash', 64),
          str('scopes', 64),
          big('created_at'),
          big('revoked_at', true),
        ],
        indices: [
          new TableIndex({ name: 'UQ_api_keys_key_hash', columnNames: ['key_hash'], isUnique: true }),
          new TableIndex({ name: 'IDX_api_keys_org', columnNames: ['org_id'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'audit_grants',
        columns: [str('grantee_org_id', 64, { isPrimary: true }), { ...org, isPrimary: true }, big('created_at')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'records',
        columns: [
          str('id', 36, { isPrimary: true }),
          org,
          str('type', 40),
          str('external_id', 200, { isNullable: true }),
          hex32('digest'),
          hex32('salt'),
          hex32('commitment'),
          text('parents'),
          text('payload'),
          str('status', 16),
          str('batch_id', 36, { isNullable: true }),
          int('leaf_index', true),
          text('proof', true),
          str('supersedes', 36, { isNullable: true }),
          big('accepted_at'),
        ],
        indices: [
          new TableIndex({ name: 'UQ_records_commitment', columnNames: ['commitment'], isUnique: true }),
          new TableIndex({
            name: 'UQ_records_external',
            columnNames: ['org_id', 'type', 'external_id'],
            isUnique: true,
          }),
          new TableIndex({ name: 'IDX_records_org_digest', columnNames: ['org_id', 'digest'] }),
          new TableIndex({ name: 'IDX_records_pending', columnNames: ['org_id', 'batch_id'] }),
          new TableIndex({ name: 'IDX_records_batch', columnNames: ['batch_id'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'record_links',
        columns: [str('child_id', 36, { isPrimary: true }), str('parent_id', 36, { isPrimary: true })],
        indices: [new TableIndex({ name: 'IDX_record_links_parent', columnNames: ['parent_id'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'batches',
        columns: [
          str('id', 36, { isPrimary: true }),
          org,
          int('seq'),
          hex32('root'),
          hex32('prev'),
          int('leaf_count'),
          str('status', 16),
          str('tx_id', 36, { isNullable: true }),
          hex32('tx_hash', true),
          int('block_number', true),
          hex32('block_hash', true),
          big('block_timestamp', true),
          int('chain_seq', true),
          int('chain_id'),
          str('registry', 42),
          str('submitter', 42),
          text('error', true),
          big('created_at'),
          big('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'UQ_batches_root', columnNames: ['root'], isUnique: true }),
          new TableIndex({ name: 'UQ_batches_org_seq', columnNames: ['org_id', 'seq'], isUnique: true }),
          new TableIndex({ name: 'IDX_batches_status', columnNames: ['status'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'tx_outbox',
        columns: [
          str('id', 36, { isPrimary: true }),
          org,
          str('address', 42),
          int('nonce'),
          str('kind', 16),
          str('ref_id', 66),
          text('raw'),
          hex32('tx_hash'),
          str('status', 16),
          int('block_number', true),
          hex32('block_hash', true),
          text('error', true),
          big('created_at'),
          big('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'UQ_tx_outbox_hash', columnNames: ['tx_hash'], isUnique: true }),
          new TableIndex({ name: 'IDX_tx_outbox_address_nonce', columnNames: ['address', 'nonce'] }),
          new TableIndex({ name: 'IDX_tx_outbox_status', columnNames: ['status'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'chain_accounts',
        columns: [str('address', 42, { isPrimary: true }), org, int('next_nonce')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'leases',
        columns: [str('name', 100, { isPrimary: true }), str('holder', 100), big('expires_at')],
      }),
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'leases',
      'chain_accounts',
      'tx_outbox',
      'batches',
      'record_links',
      'records',
      'audit_grants',
      'api_keys',
      'organisations',
    ]) {
      await q.dropTable(t);
    }
  }
}
