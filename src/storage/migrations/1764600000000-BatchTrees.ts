import { Table } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 18 (DESIGN §4: a batch's tree is stored once, O(n) per batch): one row per batch holding every node of
// its Merkle tree as raw bytes (2n-1 nodes × 32 bytes, OZ array layout, root first). A receipt's path is derived
// from it and the record's `leaf_index`; new batches no longer write `records.proof`. Records of batches built
// before this migration keep their stored `proof` and it is still served (both read paths remain).
export class BatchTrees1764600000000 implements MigrationInterface {
  name = 'BatchTrees1764600000000';

  public async up(q: QueryRunner): Promise<void> {
    const blob = q.connection.driver.options.type === 'postgres' ? 'bytea' : 'blob';
    await q.createTable(
      new Table({
        name: 'batch_trees',
        columns: [
          { name: 'batch_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'nodes', type: blob, isNullable: false },
        ],
      }),
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.dropTable('batch_trees');
  }
}
