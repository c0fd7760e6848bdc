import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DB_KINDS, PG_AVAILABLE, undoMigrationsThrough } from '../helpers/db';
import { Database, toPgPlaceholders, isUniqueViolation } from '../../src/storage/db';
import { SqlStore } from '../../src/storage/sql-repo';
import { MIGRATIONS } from '../../src/storage/migrations';
import { RecordSql } from '../../src/storage/repos/records';
import { batches } from '../../src/storage/tables';
import type { BatchStatus } from '../../src/service/ports';

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
      await undoMigrationsThrough(db, 'ForeignKeys1764900000000');
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

for (const kind of DB_KINDS) {
  describe(`A record's status from its batch (migration RecordStatusFromBatch1765000000000) on ${kind.name}`, () => {
    const skip = kind.name === 'postgres' && !PG_AVAILABLE;
    let db: Database;
    let close: () => Promise<void>;
    before(async () => {
      if (skip) return;
      ({ db, close } = await kind.open());
    });
    after(async () => close?.());
    const hex = (n: number) => '0x' + n.toString(16).padStart(64, '0');
    const batch = (id: string, seq: number, status: BatchStatus) => {
      const [text, params] = batches.insert({
        id,
        orgId: 'st-org',
        seq,
        root: hex(1000 + seq),
        prev: hex(0),
        leafCount: 1,
        status,
        chainId: 31337,
        registry: '0x' + '1'.repeat(40),
        submitter: '0x' + '2'.repeat(40),
        createdAt: 0,
        updatedAt: 0,
      });
      return db.tx((sql) => sql.exec(text, params));
    };
    /** A record as the schema before the migration stores it: its own `status` column. */
    const oldRecord = (n: number, batchId: string | null, status: string) =>
      db.tx((sql) =>
        sql.exec(
          `INSERT INTO records (id, org_id, type, external_id, digest, salt, commitment, parents, payload, status,
             batch_id, leaf_index, supersedes, accepted_at) VALUES (?, 'st-org', 'document', NULL, ?, ?, ?, '[]', '{}', ?, ?, ?, NULL, ?)`,
          [`rec-${n}`, hex(n), hex(n + 100), hex(n + 200), status, batchId, batchId ? 0 : null, n],
        ),
      );
    const stored = async () =>
      Object.fromEntries(
        (
          await db.read((sql) =>
            sql.query<{ id: string; status: string }>('SELECT id, status FROM records ORDER BY id'),
          )
        ).map((r) => [r.id, r.status]),
      );
    const read = async (ids: string[]) =>
      Object.fromEntries(
        (await db.read((sql) => new RecordSql(sql).getRecordsMeta(ids))).map((r) => [r.id, r.status] as const),
      );

    it(
      'reads every existing record as it was stored, refuses while one disagrees with its batch, and undoes',
      { skip },
      async () => {
        await undoMigrationsThrough(db, 'RecordStatusFromBatch1765000000000');
        await db.tx((sql) =>
          sql.exec(
            "INSERT INTO organisations (id, name, kind, address, created_at) VALUES ('st-org', 'n', 'member', NULL, 0)",
          ),
        );
        // Every state the worker leaves a batch in, with what it wrote to the batch's records.
        const states: [BatchStatus | null, string][] = [
          [null, 'pending'],
          ['signed', 'pending'],
          ['sent', 'pending'],
          ['anchored', 'anchored'],
          ['confirmed', 'confirmed'],
          ['failed', 'pending'], // a failed batch of an earlier version (today's worker deletes it)
        ];
        for (const [i, [status, recStatus]] of states.entries()) {
          if (status) await batch(`b-${i}`, i, status);
          await oldRecord(i, status ? `b-${i}` : null, recStatus);
        }
        await oldRecord(10, 'b-4', 'confirmed'); // two records in one batch
        const before = await stored();
        assert.deepEqual(Object.values(before).sort(), [
          'anchored',
          'confirmed',
          'confirmed',
          'pending',
          'pending',
          'pending',
          'pending',
        ]);

        await oldRecord(11, 'b-2', 'anchored'); // stored anchored, its batch only sent
        await assert.rejects(
          db.migrate(),
          /1 records' stored status is not their batch's \(rec-11 is anchored, its batch says pending\)/,
        );
        assert.notDeepEqual(await db.schemaDrift(), [], 'nothing changed');
        assert.deepEqual(await stored(), { ...before, 'rec-11': 'anchored' });
        await db.tx((sql) => sql.exec("DELETE FROM records WHERE id = 'rec-11'"));

        await db.migrate();
        assert.deepEqual(await db.schemaDrift(), []);
        assert.deepEqual(await read(Object.keys(before)), before, 'every record reads as it was stored');
        // The record moves with its batch, no write to the record.
        await db.tx((sql) => sql.exec("UPDATE batches SET status = 'anchored' WHERE id = 'b-2'"));
        assert.equal((await read(['rec-2']))['rec-2'], 'anchored');

        await undoMigrationsThrough(db, 'RecordStatusFromBatch1765000000000');
        assert.deepEqual(await stored(), { ...before, 'rec-2': 'anchored' }, 'down stores the derived status');
        await db.migrate();
        assert.deepEqual(await db.schemaDrift(), []);
      },
    );
  });
}

for (const kind of DB_KINDS) {
  describe(`Binary hashes (migration BinaryHashes1765100000000) on ${kind.name}`, () => {
    const skip = kind.name === 'postgres' && !PG_AVAILABLE;
    let db: Database;
    let close: () => Promise<void>;
    before(async () => {
      if (skip) return;
      ({ db, close } = await kind.open());
    });
    after(async () => close?.());
    const h = (n: number) => '0x' + n.toString(16).padStart(2, '0').repeat(32);
    /** Rows as the service wrote them before the migration: the hashes as '0x' + 64 hex digits. */
    const old = [
      { id: 'r-plain', ext: null, digest: h(1), salt: h(2), commitment: h(3), signatures: null },
      { id: 'r-ext', ext: 'E-1', digest: h(4), salt: h(5), commitment: h(6), signatures: null },
      { id: 'r-chosen', ext: null, digest: h(7), salt: h(0xab), commitment: h(0xcd), signatures: '[]' },
    ];
    const insertOld = (r: (typeof old)[number]) =>
      db.tx((sql) =>
        sql.exec(
          `INSERT INTO records (id, org_id, type, external_id, digest, salt, commitment, parents, payload,
             supersedes, accepted_at, signatures) VALUES (?, 'bin-org', 'document', ?, ?, ?, ?, '[]', '{"a":1}',
             NULL, 5, ?)`,
          [r.id, r.ext, r.digest, r.salt, r.commitment, r.signatures],
        ),
      );

    it(
      'carries hex rows over as 32 bytes that read back identical, and refuses non-canonical hex',
      { skip },
      async () => {
        await undoMigrationsThrough(db, 'BinaryHashes1765100000000');
        assert.notDeepEqual(await db.schemaDrift(), [], 'the mapping has blob/bytea, the database varchar');
        for (const r of old) await insertOld(r);
        await insertOld({ ...old[0]!, id: 'r-upper', commitment: h(0xfa).toUpperCase().replace('0X', '0x') });
        await assert.rejects(db.migrate(), /records\.commitment: 1 rows/);
        assert.notDeepEqual(await db.schemaDrift(), [], 'nothing changed');
        await db.tx((sql) => sql.exec("DELETE FROM records WHERE id = 'r-upper'"));
        await db.migrate();
        assert.deepEqual(await db.schemaDrift(), []);

        const raw = await db.read((sql) =>
          sql.query<{ id: string; digest: unknown; salt: unknown; commitment: unknown }>(
            'SELECT id, digest, salt, commitment FROM records ORDER BY id',
          ),
        );
        assert.equal(raw.length, 3);
        for (const r of raw) {
          for (const v of [r.digest, r.salt, r.commitment]) assert.ok(Buffer.isBuffer(v) && v.length === 32, String(v));
        }
        const store = new SqlStore(db);
        for (const o of old) {
          const rec = (await store.read((r) => r.getRecord(o.id)))!;
          assert.deepEqual(
            { digest: rec.digest, salt: rec.salt, commitment: rec.commitment, externalId: rec.externalId },
            { digest: o.digest, salt: o.salt, commitment: o.commitment, externalId: o.ext },
          );
        }
        // Every lookup by a hash column finds the migrated rows (each one's parameters converted, on both databases).
        const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();
        assert.deepEqual(ids(await store.read((r) => r.findByCommitments(old.map((o) => o.commitment)))), [
          'r-chosen',
          'r-ext',
          'r-plain',
        ]);
        assert.deepEqual(ids(await store.read((r) => r.findByDigests('bin-org', [h(1), h(4), h(7)]))), [
          'r-chosen',
          'r-plain',
        ]);
        assert.deepEqual(ids(await store.read((r) => r.findBySalts('bin-org', [h(2), h(0xab)]))), ['r-chosen']);
        const pending = await store.read((r) => r.pendingCommitments('bin-org', 10));
        assert.deepEqual(pending.map((p) => p.commitment).sort(), old.map((o) => o.commitment).sort());
        // The indexes still hold: a client-chosen salt is unique per organisation, a commitment unique.
        await assert.rejects(insertOldBin({ ...old[2]!, id: 'r-dup', commitment: h(0xee) }), (e) =>
          isUniqueViolation(e),
        );
        await assert.rejects(insertOldBin({ ...old[0]!, id: 'r-dup2', salt: h(0xef) }), (e) => isUniqueViolation(e));
      },
    );

    it(
      'matches only canonical hex: uppercase or trailing junk finds nothing (as with the hex text)',
      { skip },
      async () => {
        const store = new SqlStore(db);
        const c = old[2]!.commitment;
        assert.deepEqual(
          await store.read((r) => r.findByCommitments([c.toUpperCase().replace('0X', '0x'), c + 'zz'])),
          [],
        );
        assert.deepEqual(await store.read((r) => r.findByDigests('bin-org', [old[0]!.digest + '00'])), []);
        assert.equal((await store.read((r) => r.findByCommitments([c]))).length, 1);
      },
    );

    /** A row of the current format (bytes), through raw SQL like insertOld. */
    const insertOldBin = (r: (typeof old)[number]) =>
      db.tx((sql) =>
        sql.exec(
          `INSERT INTO records (id, org_id, type, external_id, digest, salt, commitment, parents, payload,
             supersedes, accepted_at, signatures) VALUES (?, 'bin-org', 'document', ?, ?, ?, ?, '[]', '{"a":1}',
             NULL, 5, ?)`,
          [r.id, r.ext, ...[r.digest, r.salt, r.commitment].map((x) => Buffer.from(x.slice(2), 'hex')), r.signatures],
        ),
      );
  });
}
