import { TableColumn, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 14: records signed by the organisation's own SIGNER key (receipt version 2). A record keeps its
// signatures (JSON `[{signer, signature}]`): the anchoring worker seals them into the leaf and the receipt carries
// them. `signatures` is null when the service drew the record's id and salt, a JSON array (empty when unsigned)
// when the client chose them. A client-chosen salt is unique per organisation (a replayed salt is refused): a
// partial unique index over the rows with `signatures` set, so bulk ingest of service-salted records skips it.
// An organisation may refuse unsigned records (`require_signatures`).
export class RecordSignatures1764800000000 implements MigrationInterface {
  name = 'RecordSignatures1764800000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.addColumn('records', new TableColumn({ name: 'signatures', type: 'text', isNullable: true }));
    await q.createIndex(
      'records',
      new TableIndex({
        name: 'UQ_records_org_salt_chosen',
        columnNames: ['org_id', 'salt'],
        isUnique: true,
        where: 'signatures IS NOT NULL',
      }),
    );
    await q.addColumn(
      'organisations',
      new TableColumn({ name: 'require_signatures', type: 'smallint', isNullable: false, default: 0 }),
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('organisations', 'require_signatures');
    await q.dropIndex('records', 'UQ_records_org_salt_chosen');
    await q.dropColumn('records', 'signatures');
  }
}
