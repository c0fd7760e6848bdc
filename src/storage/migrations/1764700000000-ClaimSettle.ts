import { TableColumn } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 12: ClaimRegistry v2 settles a claim once its reimbursement is accepted; the claim keeps its settle
// transaction (an outbox row) like its consume and release transactions.
export class ClaimSettle1764700000000 implements MigrationInterface {
  name = 'ClaimSettle1764700000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.addColumn(
      'claims',
      new TableColumn({ name: 'settle_tx_id', type: 'varchar', length: '36', isNullable: true }),
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('claims', 'settle_tx_id');
  }
}
