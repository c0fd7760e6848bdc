import { Table, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 13, possible duplicates: each claimed invoice with a fingerprint of what a person would compare (seller,
// gross amount, currency, issue date), so a claim of an invoice that matches an earlier claimed one under another
// number is accepted with a POSSIBLE_DUPLICATE warning.
export class ClaimInvoices1764500000000 implements MigrationInterface {
  name = 'ClaimInvoices1764500000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'claim_invoices',
        columns: [
          { name: 'claim_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'invoice_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'org_id', type: 'varchar', length: '64' },
          { name: 'invoice_key', type: 'varchar', length: '66' },
          { name: 'fingerprint', type: 'varchar', length: '66' },
          { name: 'created_at', type: 'bigint', isNullable: false },
        ],
        indices: [new TableIndex({ name: 'IDX_claim_invoices_fingerprint', columnNames: ['fingerprint'] })],
      }),
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.dropTable('claim_invoices');
  }
}
