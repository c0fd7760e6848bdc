import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DB_KINDS, PG_AVAILABLE } from '../helpers/db';
import { Database, toPgPlaceholders, isUniqueViolation } from '../../src/storage/db';
import { MIGRATIONS } from '../../src/storage/migrations';

describe('toPgPlaceholders', () => {
  it('numbers ? outside quotes only', () => {
    assert.equal(toPgPlaceholders('SELECT ? , \'?\' , "a?", ?'), 'SELECT $1 , \'?\' , "a?", $2');
  });
});

for (const kind of DB_KINDS) {
  describe(`Database on ${kind.name}`, () => {
    const skip = kind.name === 'postgres' && !PG_AVAILABLE;
    let db: Database;
    let close: () => Promise<void>;
    before(async () => {
      if (skip) return;
      ({ db, close } = await kind.open());
    });
    after(async () => close?.());

    it('runs the committed migrations and the mappings match them (no drift)', { skip }, async () => {
      assert.deepEqual(await db.schemaDrift(), []);
      const done = await db.dataSource.query('SELECT name FROM migrations');
      // Every committed migration ran, in order (the first one is the initial schema).
      const names = done.map((r: { name: string }) => r.name);
      assert.deepEqual(
        names,
        MIGRATIONS.map((m) => new m().name),
      );
      assert.equal(names[0], 'Init1764000000000');
    });

    it('runs its SQL on the connection typeorm opened (public hooks, no second connection)', { skip }, async () => {
      // A TEMP table lives on one SQLite connection; on PostgreSQL, on one session: a pool of one client then.
      if (kind.name === 'sqlite') {
        await db.dataSource.query('CREATE TEMP TABLE conn_probe (x TEXT)');
        await db.dataSource.query("INSERT INTO conn_probe VALUES ('typeorm')");
        const rows = await db.read((sql) => sql.query<{ x: string }>('SELECT x FROM conn_probe'));
        assert.deepEqual(rows, [{ x: 'typeorm' }]);
        await db.dataSource.query('DROP TABLE conn_probe');
      } else {
        const { url, close: closeOne } = await kind.open();
        const one = await Database.open({ url, poolSize: 1, migrate: false });
        try {
          await one.dataSource.query('CREATE TEMP TABLE conn_probe (x TEXT)');
          await one.dataSource.query("INSERT INTO conn_probe VALUES ('typeorm')");
          const rows = await one.tx((sql) => sql.query<{ x: string }>('SELECT x FROM conn_probe'));
          assert.deepEqual(rows, [{ x: 'typeorm' }]);
        } finally {
          await one.close();
          await closeOne();
        }
      }
    });

    it('rolls a failed transaction back', { skip }, async () => {
      await assert.rejects(
        db.tx(async (sql) => {
          await sql.exec('INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)', ['a', 'h', 1]);
          throw new Error('boom');
        }),
        /boom/,
      );
      const rows = await db.read((sql) => sql.query('SELECT * FROM leases'));
      assert.equal(rows.length, 0);
    });

    it('reports unique violations the same way on both databases', { skip }, async () => {
      await db.tx((sql) => sql.exec('INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)', ['u', 'h', 1]));
      const err = await db
        .tx((sql) => sql.exec('INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)', ['u', 'h', 1]))
        .catch((e: unknown) => e);
      assert.ok(isUniqueViolation(err), String(err));
    });

    it('serializes concurrent transactions without losing writes', { skip }, async () => {
      await db.tx((sql) =>
        sql.exec('INSERT INTO chain_accounts (address, org_id, next_nonce) VALUES (?, ?, ?)', ['0xabc', 'o', 0]),
      );
      const got = await Promise.all(
        Array.from({ length: 20 }, () =>
          db.tx(async (sql) => {
            const [row] = await sql.query<{ n: number }>(
              'UPDATE chain_accounts SET next_nonce = next_nonce + 1 WHERE address = ? RETURNING next_nonce - 1 AS n',
              ['0xabc'],
            );
            return Number(row!.n);
          }),
        ),
      );
      assert.deepEqual(
        [...got].sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i),
      );
    });
  });
}

for (const kind of DB_KINDS) {
  describe(`Foreign keys (migration ForeignKeys1764900000000) on ${kind.name}`, () => {
    const skip = kind.name === 'postgres' && !PG_AVAILABLE;
    let db: Database;
    let close: () => Promise<void>;
    before(async () => {
      if (skip) return;
      ({ db, close } = await kind.open());
    });
    after(async () => close?.());
    const org = (id: string) =>
      db.tx((sql) =>
        sql.exec("INSERT INTO organisations (id, name, kind, address, created_at) VALUES (?, 'n', 'member', NULL, 0)", [
          id,
        ]),
      );
    const key = (id: string, orgId: string) =>
      db.tx((sql) =>
        sql.exec(
          "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, scopes, created_at) VALUES (?, ?, 'k', 'p', ?, 'submit', 0)",
          [id, orgId, `h-${id}`],
        ),
      );
    const link = (child: string, parent: string) =>
      db.tx((sql) => sql.exec('INSERT INTO record_links (child_id, parent_id) VALUES (?, ?)', [child, parent]));

    it('refuses a row naming no parent', { skip }, async () => {
      await org('fk-org');
      await key('k1', 'fk-org');
      await assert.rejects(key('k2', 'no-such-org'), (e: { code?: string }) =>
        ['23503', 'SQLITE_CONSTRAINT_FOREIGNKEY'].includes(String(e.code)),
      );
      await assert.rejects(link('no-child', 'no-parent'));
      await assert.rejects(
        db.tx((sql) =>
          sql.exec('INSERT INTO batch_trees (batch_id, nodes) VALUES (?, ?)', ['no-batch', Buffer.alloc(32)]),
        ),
      );
    });

    it('migrates existing data, and refuses (changing nothing) while a row names no parent', { skip }, async () => {
      await db.dataSource.undoLastMigration({ transaction: 'each' });
      assert.notDeepEqual(await db.schemaDrift(), [], 'the mapping has the keys, the database no longer');
      await key('orphan', 'gone-org'); // possible without the keys
      await assert.rejects(db.migrate(), /api_keys\.org_id: 1 rows name no organisations\.id/);
      assert.notDeepEqual(await db.schemaDrift(), []);
      await db.tx((sql) => sql.exec("DELETE FROM api_keys WHERE id = 'orphan'"));
      await db.migrate();
      assert.deepEqual(await db.schemaDrift(), []);
      const rows = await db.read((sql) => sql.query<{ id: string }>('SELECT id FROM api_keys ORDER BY id'));
      assert.deepEqual(
        rows.map((r) => r.id),
        ['k1'],
        'existing rows kept through the rebuild',
      );
    });
  });
}
