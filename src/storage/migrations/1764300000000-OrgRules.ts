import { TableColumn } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 17: an organisation chooses whether a record that breaks an arithmetic business rule (EN 16931
// calculation rules) is refused (default) or accepted with warnings.
export class OrgRules1764300000000 implements MigrationInterface {
  name = 'OrgRules1764300000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.addColumn(
      'organisations',
      new TableColumn({ name: 'rules', type: 'varchar', length: '8', isNullable: false, default: "'refuse'" }),
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('organisations', 'rules');
  }
}
