import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 18 (≤ 600 bytes on disk per record): the three hashes of `records` (digest, salt, commitment) are stored
// as their 32 bytes (blob on SQLite, bytea on PostgreSQL) instead of '0x' + 64 hex digits: 99 bytes less per row
// and about half of UQ_records_commitment, UQ_records_org_salt_chosen and IDX_records_org_digest_noext. Every API,
// receipt and domain value stays the 0x-hex string (the mapping converts: col.bin32 in src/storage/mapping.ts).
// Existing rows are carried over; a value that is not canonical hex (0x + 64 lowercase digits) would not read back
// the same, so the migration refuses, naming the column, before changing anything.
// SQLite: typeorm rebuilds the table with the new column types (indexes recreated, foreign keys off during
// migrations), then the copied hex text is decoded in place (unhex, SQLite 3.41+). PostgreSQL: one ALTER TABLE
// rewrites the table and rebuilds its indexes.
const HASHES = ['digest', 'salt', 'commitment'] as const;

export class BinaryHashes1765100000000 implements MigrationInterface {
  name = 'BinaryHashes1765100000000';

  public async up(q: QueryRunner): Promise<void> {
    const pg = q.connection.driver.options.type === 'postgres';
    const bad: string[] = [];
    for (const c of HASHES) {
      const notHex = pg
        ? `${c} !~ '^0x[0-9a-f]{64}$'`
        : `length(${c}) <> 66 OR substr(${c}, 1, 2) <> '0x' OR lower(${c}) <> ${c} OR unhex(substr(${c}, 3)) IS NULL`;
      const [r] = (await q.query(`SELECT COUNT(*) AS n FROM records WHERE ${notHex}`)) as { n: number | string }[];
      if (Number(r?.n ?? 0) > 0) bad.push(`records.${c}: ${r!.n} rows`);
    }
    if (bad.length) {
      throw new Error(
        `BinaryHashes1765100000000: values that are not 0x + 64 lowercase hex digits, fix them first (${bad.join('; ')})`,
      );
    }
    if (pg) {
      await q.query(
        `ALTER TABLE records ${HASHES.map((c) => `ALTER COLUMN ${c} TYPE bytea USING decode(substr(${c}, 3), 'hex')`).join(', ')}`,
      );
      return;
    }
    await retype(q, 'blob');
    await q.query(`UPDATE records SET ${HASHES.map((c) => `${c} = unhex(substr(${c}, 3))`).join(', ')}`);
  }

  public async down(q: QueryRunner): Promise<void> {
    if (q.connection.driver.options.type === 'postgres') {
      await q.query(
        `ALTER TABLE records ${HASHES.map((c) => `ALTER COLUMN ${c} TYPE varchar(66) USING '0x' || encode(${c}, 'hex')`).join(', ')}`,
      );
      return;
    }
    await retype(q, 'varchar', '66');
    await q.query(`UPDATE records SET ${HASHES.map((c) => `${c} = '0x' || lower(hex(${c}))`).join(', ')}`);
  }
}

/** SQLite: the hash columns of `records` with another type (typeorm rebuilds the table once, rows copied as-is). */
async function retype(q: QueryRunner, type: string, length = ''): Promise<void> {
  const t = (await q.getTable('records'))!;
  await q.changeColumns(
    t,
    HASHES.map((c) => {
      const oldColumn = t.findColumnByName(c)!;
      const newColumn = oldColumn.clone();
      newColumn.type = type;
      newColumn.length = length;
      return { oldColumn, newColumn };
    }),
  );
}
