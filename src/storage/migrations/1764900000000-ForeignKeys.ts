import { TableForeignKey } from 'typeorm';
import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 16: foreign keys where the data has them. Keys, grants, tax ids, batches and claims name an existing
// organisation; record links name existing records; a batch tree, a claimed invoice name their batch, claim and
// invoice record. The service never deletes a parent that still has children (a failed batch's tree goes before
// the batch, a claim's invoices before the claim; organisations and records are never deleted), so existing data
// has no orphans. The migration checks that first and refuses, naming the rows, rather than failing half-way or
// dropping anything.
// Not covered: the columns of `records` itself (org_id, batch_id, supersedes): on PostgreSQL a foreign key is a
// trigger per inserted row, ~22% of the bulk-ingest INSERT's execution time for those three (src/storage/tables.ts);
// tx_outbox.ref_id (a batch id or a claim commitment); batches.tx_id and the claims' *_tx_id (set before their
// outbox row is written); chain accounts and outbox rows (accounts of the service itself).
// On SQLite each table is rebuilt with its keys (typeorm, foreign keys off during migrations); on PostgreSQL the
// keys are added and validated. Names are typeorm's defaults, as in the mapping (src/storage/tables.ts).
const FKS: { table: string; column: string; parent: string }[] = [
  { table: 'api_keys', column: 'org_id', parent: 'organisations' },
  { table: 'audit_grants', column: 'grantee_org_id', parent: 'organisations' },
  { table: 'audit_grants', column: 'org_id', parent: 'organisations' },
  { table: 'org_tax_ids', column: 'org_id', parent: 'organisations' },
  { table: 'batches', column: 'org_id', parent: 'organisations' },
  { table: 'batch_trees', column: 'batch_id', parent: 'batches' },
  { table: 'record_links', column: 'child_id', parent: 'records' },
  { table: 'record_links', column: 'parent_id', parent: 'records' },
  { table: 'claims', column: 'org_id', parent: 'organisations' },
  { table: 'claim_invoices', column: 'claim_id', parent: 'claims' },
  { table: 'claim_invoices', column: 'invoice_id', parent: 'records' },
  { table: 'claim_invoices', column: 'org_id', parent: 'organisations' },
];

const byTable = () => {
  const out = new Map<string, TableForeignKey[]>();
  for (const f of FKS) {
    const fk = new TableForeignKey({
      columnNames: [f.column],
      referencedTableName: f.parent,
      referencedColumnNames: ['id'],
    });
    out.set(f.table, [...(out.get(f.table) ?? []), fk]);
  }
  return out;
};

export class ForeignKeys1764900000000 implements MigrationInterface {
  name = 'ForeignKeys1764900000000';

  public async up(q: QueryRunner): Promise<void> {
    const orphans: string[] = [];
    for (const f of FKS) {
      const [r] = (await q.query(
        `SELECT COUNT(*) AS n FROM ${f.table} c WHERE c.${f.column} IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM ${f.parent} p WHERE p.id = c.${f.column})`,
      )) as { n: number | string }[];
      if (Number(r?.n ?? 0) > 0) orphans.push(`${f.table}.${f.column}: ${r!.n} rows name no ${f.parent}.id`);
    }
    if (orphans.length) {
      throw new Error(`ForeignKeys1764900000000: rows without their parent, fix them first (${orphans.join('; ')})`);
    }
    for (const [table, fks] of byTable()) await q.createForeignKeys(table, fks);
  }

  public async down(q: QueryRunner): Promise<void> {
    for (const [table] of byTable()) {
      const t = await q.getTable(table);
      await q.dropForeignKeys(table, t!.foreignKeys);
    }
  }
}
