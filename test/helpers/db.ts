import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { Client } from 'pg';
import { Database } from '../../src/storage/db';

/** PostgreSQL used by the suite: TEST_DATABASE_URL, else the machine's local server. */
export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Whether PostgreSQL answers, decided synchronously at load time so suites can pass `{ skip }` when
 * they are declared (node:test attaches tests declared after an `await` in a describe to the wrong suite).
 */
export const PG_AVAILABLE: boolean = (() => {
  const probe = `const {Client}=require('pg');const c=new Client({connectionString:process.argv[1],connectionTimeoutMillis:2000});c.connect().then(()=>c.end()).then(()=>process.exit(0),()=>process.exit(1))`;
  const r = spawnSync(process.execPath, ['-e', probe, PG_URL], { cwd: __dirname, timeout: 5000 });
  if (r.status !== 0) {
    console.log(`\n!!! PostgreSQL tests SKIPPED: cannot reach ${PG_URL} (set TEST_DATABASE_URL or start PostgreSQL)\n`);
  }
  return r.status === 0;
})();

let pgReachable: Promise<boolean> | undefined;
export function isPgReachable(): Promise<boolean> {
  pgReachable ??= (async () => {
    const c = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch {
      console.log(
        `\n!!! PostgreSQL tests SKIPPED: cannot reach ${PG_URL} (set TEST_DATABASE_URL or start PostgreSQL)\n`,
      );
      return false;
    }
  })();
  return pgReachable;
}

/** Creates a throwaway PostgreSQL database; returns its URL and a drop function. */
export async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `notary_t_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface DbKind {
  name: 'sqlite' | 'postgres';
  /** Opens a fresh, migrated database; `close` also removes it. */
  open(): Promise<{ db: Database; url?: string; close: () => Promise<void> }>;
}

/** Both databases: the same tests run against each (PostgreSQL skipped loudly when unreachable). */
export const DB_KINDS: DbKind[] = [
  {
    name: 'sqlite',
    async open() {
      const db = await Database.open({ sqlitePath: ':memory:' });
      return { db, close: () => db.close() };
    },
  },
  {
    name: 'postgres',
    async open() {
      const { url, drop } = await createPgDatabase();
      const db = await Database.open({ url, poolSize: 5 });
      return {
        db,
        url,
        close: async () => {
          await db.close();
          await drop();
        },
      };
    },
  },
];

/**
 * Undoes the migrations from the last one back to `name` included (a migration's test: its data carried over
 * whatever migrations come after it).
 */
export async function undoMigrationsThrough(db: Database, name: string): Promise<void> {
  const ran = async () =>
    ((await db.dataSource.query('SELECT name FROM migrations')) as { name: string }[]).map((r) => r.name);
  if (!(await ran()).includes(name)) throw new Error(`migration ${name} has not run`);
  while ((await ran()).includes(name)) await db.dataSource.undoLastMigration({ transaction: 'each' });
}
