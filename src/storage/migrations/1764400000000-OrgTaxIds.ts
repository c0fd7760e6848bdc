import { Table, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 13: organisations have tax ids. A claim may name an invoice whose buyer tax id is one of the claimant's,
// so a tax id belongs to one organisation only; it is stored normalised (as in the invoice key, DESIGN §2.5) and
// as given.
export class OrgTaxIds1764400000000 implements MigrationInterface {
  name = 'OrgTaxIds1764400000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'org_tax_ids',
        columns: [
          { name: 'tax_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'org_id', type: 'varchar', length: '64' },
          { name: 'display', type: 'varchar', length: '64' },
          { name: 'created_at', type: 'bigint', isNullable: false },
        ],
        indices: [new TableIndex({ name: 'IDX_org_tax_ids_org', columnNames: ['org_id'] })],
      }),
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.dropTable('org_tax_ids');
  }
}
