import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { DataSource } from 'typeorm';
import type { Database as SqliteHandle, Statement } from 'better-sqlite3';
import pg, { type PoolClient, type Pool, type PoolConfig } from 'pg';
import { entitiesFor } from './tables';
import { MIGRATIONS } from './migrations';
import type { Dialect } from './mapping';
import { Checkpointer } from './checkpointer';

export type { Dialect };

/**
 * The SQL surface the repositories use. Statements are written once with `?` placeholders and
 * run on both databases (PostgreSQL gets `$n`).
 */
export interface Sql {
  readonly dialect: Dialect;
  /** Rows of a SELECT (or of a statement with RETURNING). */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement and returns the number of rows it changed. */
  exec(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs one statement once per parameter list (SQLite: one prepared statement, no per-row promise); total rows changed. */
  execMany(sql: string, rows: readonly (readonly unknown[])[]): Promise<number>;
}

export interface DatabaseOptions {
  /** postgres://… ; when unset, SQLite at `sqlitePath`. */
  url?: string;
  /** SQLite file (":memory:" for tests). */
  sqlitePath?: string;
  /** Run pending migrations at open (default true). */
  migrate?: boolean;
  logging?: boolean;
  poolSize?: number;
  /**
   * SQLite file: WAL checkpoints on a worker thread instead of inside this connection's COMMITs (default true;
   * see src/storage/checkpointer.ts).
   */
  backgroundCheckpoints?: boolean;
  /**
   * SQLite file: `primary` (default) is the connection of the process that owns the file (the API process): a
   * 64 MiB page cache, 256 MiB of memory-mapped reads, and the WAL checkpoints (a thread, `backgroundCheckpoints`).
   * `secondary` is another process's connection to a file a primary has open (the anchoring worker process,
   * src/cli/worker.ts): the primary checkpoints the WAL for both (no second thread, no automatic checkpoints
   * in this connection's COMMITs), and this connection keeps a 16 MiB page cache and no memory map: it reads
   * each batch's rows about once, and every process's mapped pages count in its RSS.
   */
  role?: 'primary' | 'secondary';
}

/** Page cache (KiB, SQLite's negative `cache_size`) and memory-map size (bytes) of a SQLite connection by role. */
const SQLITE_MEMORY = {
  primary: { cacheKiB: 65536, mmapBytes: 268435456 },
  secondary: { cacheKiB: 16384, mmapBytes: 0 },
} as const;

/** Rewrites `?` placeholders (outside quotes) to PostgreSQL's `$1, $2, …`. */
export function toPgPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') {
      out += `$${++n}`;
    } else out += ch;
  }
  return out;
}

/**
 * The SQLite file holds payloads and commitment salts: readable by this user only, like the keystore. Creates
 * its folder 0700 when missing and the file 0600 before SQLite opens it (SQLite creates the -wal/-shm/-journal
 * files with the main file's mode), and tightens files an older version created world-readable.
 */
function createPrivately(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    try {
      if ((fs.statSync(f).mode & 0o077) !== 0) fs.chmodSync(f, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** True for a unique-constraint violation on either database. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } };
  const code = e?.code ?? e?.driverError?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** A promise-chain mutex: SQLite has one connection, so transactions must not interleave on it. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

class SqliteSql implements Sql {
  readonly dialect = 'sqlite' as const;
  private readonly cache = new Map<string, Statement>();
  constructor(readonly handle: SqliteHandle) {}
  stmt(sql: string): Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.handle.prepare(sql);
      if (this.cache.size > 500) this.cache.clear();
      this.cache.set(sql, s);
    }
    return s;
  }
  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.stmt(sql).all(...params) as T[];
  }
  async exec(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.stmt(sql).run(...params).changes;
  }
  async execMany(sql: string, rows: readonly (readonly unknown[])[]): Promise<number> {
    const s = this.stmt(sql);
    let n = 0;
    for (const params of rows) n += s.run(...params).changes;
    return n;
  }
}

/** `?` → `$n` rewrites, shared by every PgSql (one is made per transaction; a 1,000-row insert is ~90 kB of text). */
const pgTexts = new Map<string, string>();

class PgSql implements Sql {
  readonly dialect = 'postgres' as const;
  constructor(private readonly client: Pick<PoolClient, 'query'>) {}
  private text(sql: string): string {
    let t = pgTexts.get(sql);
    if (t === undefined) {
      t = toPgPlaceholders(sql);
      if (pgTexts.size > 500) pgTexts.clear();
      pgTexts.set(sql, t);
    }
    return t;
  }
  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const res = await this.client.query(this.text(sql), params as unknown[]);
    return res.rows as T[];
  }
  async exec(sql: string, params: readonly unknown[] = []): Promise<number> {
    const res = await this.client.query(this.text(sql), params as unknown[]);
    return res.rowCount ?? 0;
  }
  async execMany(sql: string, rows: readonly (readonly unknown[])[]): Promise<number> {
    let n = 0;
    for (const params of rows) n += await this.exec(sql, params);
    return n;
  }
}

/**
 * The `pg` module as typeorm's `driver` option (public, PostgresDataSourceOptions.driver): the same module, whose
 * Pool hands the pool typeorm creates to `onPool`, so that the repositories' SQL runs on typeorm's pool without
 * reaching into the driver's private fields.
 */
function capturingPg(onPool: (pool: Pool) => void): typeof pg {
  class CapturedPool extends pg.Pool {
    constructor(config?: PoolConfig) {
      super(config);
      onPool(this);
    }
  }
  return { ...pg, Pool: CapturedPool };
}

/** A transaction waiting for its turn on the SQLite connection (see `Database.tx`). */
interface TxJob {
  fn: (sql: Sql) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Most transactions committed together by one SQLite COMMIT. */
const MAX_GROUP = 64;

/** How long a write transaction waits for another connection's write lock (SQLITE_BUSY) before it fails. */
const BUSY_TIMEOUT_MS = 5000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const isBusy = (err: unknown) => String((err as { code?: unknown })?.code).startsWith('SQLITE_BUSY');

/**
 * The storage handle: a typeorm DataSource (migrations, schema drift checks against src/storage/tables.ts) plus a
 * small transactional SQL runner the repositories use for every read and write.
 * - SQLite (default): better-sqlite3 in WAL mode; one connection, transactions serialized. The connection is the
 *   one typeorm opens, handed over by its public `prepareDatabase` hook.
 * - PostgreSQL (`url`): typeorm's pg pool, handed over by the `driver` option (`capturingPg`); each transaction
 *   on its own pooled client.
 */
export class Database {
  private readonly mutex = new Mutex();
  private sqlite?: SqliteSql;
  private pool?: Pool;
  private readonly txQueue: TxJob[] = [];
  private groupScheduled = false;
  private checkpointer?: Checkpointer;

  private constructor(
    readonly dataSource: DataSource,
    readonly dialect: Dialect,
  ) {}

  static async open(opts: DatabaseOptions): Promise<Database> {
    const common = {
      migrations: MIGRATIONS,
      synchronize: false,
      migrationsRun: false,
      logging: opts.logging ?? false,
    };
    let ds: DataSource;
    const pools: Pool[] = [];
    const handles: SqliteHandle[] = [];
    if (opts.url) {
      ds = new DataSource({
        ...common,
        entities: entitiesFor('postgres'),
        type: 'postgres',
        url: opts.url,
        poolSize: opts.poolSize ?? 10,
        driver: capturingPg((p) => pools.push(p)),
      });
    } else {
      const file = opts.sqlitePath ?? ':memory:';
      if (file !== ':memory:') createPrivately(path.resolve(file));
      const memory = SQLITE_MEMORY[opts.role ?? 'primary'];
      ds = new DataSource({
        ...common,
        entities: entitiesFor('sqlite'),
        type: 'better-sqlite3',
        database: file,
        prepareDatabase: (db: SqliteHandle) => {
          handles.push(db);
          db.pragma('journal_mode = WAL');
          db.pragma('synchronous = NORMAL'); // WAL + NORMAL: durable across process crashes
          db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
          db.pragma('foreign_keys = ON');
          // Records are keyed by random UUIDs and hashes: inserts touch pages all over six B-trees. The primary's
          // 64 MiB page cache and memory-mapped reads keep those pages in memory instead of re-reading them.
          db.pragma(`cache_size = -${memory.cacheKiB}`);
          db.pragma(`mmap_size = ${memory.mmapBytes}`);
          db.pragma('temp_store = MEMORY');
        },
      });
    }
    await ds.initialize();
    const db = new Database(ds, opts.url ? 'postgres' : 'sqlite');
    // typeorm opens one better-sqlite3 connection, or one pg pool (no replication configured): exactly one here.
    const opened = opts.url ? pools.length : handles.length;
    if (opened !== 1) {
      await ds.destroy();
      throw new Error(`expected typeorm to open one ${opts.url ? 'pool' : 'connection'}, got ${opened}`);
    }
    if (opts.url) db.pool = pools[0];
    else db.sqlite = new SqliteSql(handles[0]!);
    if (opts.migrate !== false) await db.migrate();
    const file = opts.sqlitePath ?? ':memory:';
    if (db.sqlite && opts.role === 'secondary')
      db.sqlite.handle.pragma('wal_autocheckpoint = 0'); // the primary's
    else if (db.sqlite && file !== ':memory:' && opts.backgroundCheckpoints !== false) await db.startCheckpointer(file);
    return db;
  }

  /**
   * Moves this connection's WAL checkpoints to a thread (src/storage/checkpointer.ts). Automatic checkpoints
   * stay on (in the COMMITs, as before) if the thread cannot start, and come back on if it stops.
   */
  private async startCheckpointer(file: string): Promise<void> {
    const h = this.sqlite!.handle;
    try {
      this.checkpointer = await Checkpointer.start(path.resolve(file), {
        onStop: (err) => {
          this.checkpointer = undefined;
          if (h.open) h.pragma('wal_autocheckpoint = 1000');
          if (err) console.error(`[notary] SQLite checkpoint thread stopped: ${String(err)}`);
        },
      });
    } catch (err) {
      console.error(`[notary] SQLite checkpoint thread did not start (checkpoints stay in COMMIT): ${String(err)}`);
      return;
    }
    h.pragma('wal_autocheckpoint = 0');
  }

  /** Runs pending migrations (never `synchronize`). */
  async migrate(): Promise<void> {
    await this.mutex.run(async () => {
      if (this.dialect === 'postgres') {
        // Several processes may start together on one PostgreSQL: serialize their migrations.
        const qr = this.dataSource.createQueryRunner();
        await qr.connect();
        try {
          await qr.query('SELECT pg_advisory_lock(7412001)');
          await this.dataSource.runMigrations({ transaction: 'each' });
        } finally {
          await qr.query('SELECT pg_advisory_unlock(7412001)').catch(() => undefined);
          await qr.release();
        }
      } else {
        await this.dataSource.runMigrations({ transaction: 'each' });
      }
    });
  }

  /** SQL statements the entity mappings would still need (empty when migrations match the mappings). */
  async schemaDrift(): Promise<string[]> {
    const log = await this.dataSource.driver.createSchemaBuilder().log();
    return log.upQueries.map((q) => q.query);
  }

  /** The raw better-sqlite3 handle (SQLite only), for the bulk-ingest fast path inside `tx`. */
  get sqliteHandle(): SqliteHandle | undefined {
    return this.sqlite?.handle;
  }

  /**
   * Runs `fn` in one transaction; rolls back if it throws. Resolves only once its writes are committed.
   *
   * SQLite (one connection, transactions serialized): transactions that queued up while the connection was busy
   * are run one after the other inside ONE SQLite transaction, each in its own SAVEPOINT (released when `fn`
   * resolves, rolled back alone when it throws), and committed together (group commit). Each `fn` stays atomic
   * and sees exactly what it would have seen running alone after the previous ones; only the COMMIT (WAL
   * frames, checkpoints) is shared. Under concurrent single-record submissions this is most of the cost.
   */
  async tx<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.sqlite) {
      return new Promise<T>((resolve, reject) => {
        this.txQueue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
        this.scheduleGroup();
      });
    }
    const client = await this.pool!.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(new PgSql(client));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private scheduleGroup(): void {
    if (this.groupScheduled || !this.txQueue.length) return;
    this.groupScheduled = true;
    void this.mutex.run(async () => {
      // Better-sqlite3 is synchronous, so a transaction usually runs to its end before the event loop reads
      // the next request: yield one turn first, so that the requests already received join this group.
      await new Promise<void>((resolve) => setImmediate(resolve));
      let began: unknown = null;
      try {
        await this.beginImmediate();
      } catch (err) {
        began = err;
      }
      // Taken once the write lock is ours: requests received while another process held it join this group.
      this.groupScheduled = false;
      const jobs = this.txQueue.splice(0, MAX_GROUP);
      try {
        if (began) for (const j of jobs) j.reject(began);
        else await this.runGroup(jobs);
      } finally {
        this.scheduleGroup(); // what queued meanwhile (or did not fit)
      }
    });
  }

  /**
   * BEGIN IMMEDIATE without blocking the event loop while another connection (the worker process, the
   * checkpoint thread's RESTART) holds the write lock: SQLite's busy handler would sleep synchronously for up to
   * busy_timeout, stalling every request of this process. Here SQLITE_BUSY is retried every millisecond on a
   * timer, for at most the same {@link BUSY_TIMEOUT_MS}, after which the error is the caller's as before.
   */
  private async beginImmediate(): Promise<void> {
    const h = this.sqlite!.handle;
    const deadline = performance.now() + BUSY_TIMEOUT_MS;
    for (;;) {
      h.pragma('busy_timeout = 0');
      try {
        h.exec('BEGIN IMMEDIATE');
        return;
      } catch (err) {
        if (!isBusy(err) || performance.now() >= deadline) throw err;
      } finally {
        h.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
      await sleep(1);
    }
  }

  /** Runs `jobs` in the write transaction {@link beginImmediate} opened, and commits (or rolls back) it. */
  private async runGroup(jobs: TxJob[]): Promise<void> {
    const h = this.sqlite!.handle;
    const s = this.sqlite!;
    if (!jobs.length) {
      h.exec('ROLLBACK');
      return;
    }
    if (jobs.length === 1) {
      const job = jobs[0]!;
      try {
        const out = await job.fn(s);
        h.exec('COMMIT');
        job.resolve(out);
      } catch (err) {
        if (h.inTransaction) h.exec('ROLLBACK');
        job.reject(err);
      }
      return;
    }
    const done: { job: TxJob; out: unknown }[] = [];
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      h.exec('SAVEPOINT tx_job');
      try {
        const out = await job.fn(s);
        h.exec('RELEASE tx_job');
        done.push({ job, out });
      } catch (err) {
        job.reject(err);
        if (h.inTransaction) {
          h.exec('ROLLBACK TO tx_job');
          h.exec('RELEASE tx_job');
          continue;
        }
        // SQLite rolled the whole transaction back (I/O error, disk full…): the jobs done so far are lost too.
        for (const d of done) d.job.reject(err);
        this.txQueue.unshift(...jobs.slice(i + 1)); // not run yet: next group
        return;
      }
    }
    try {
      h.exec('COMMIT');
    } catch (err) {
      if (h.inTransaction) h.exec('ROLLBACK');
      for (const d of done) d.job.reject(err);
      return;
    }
    for (const d of done) d.job.resolve(d.out);
  }

  /** Runs read-only statements outside an explicit transaction. */
  async read<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.sqlite) {
      const s = this.sqlite;
      return this.mutex.run(() => fn(s));
    }
    return fn(new PgSql(this.pool!));
  }

  async ping(): Promise<boolean> {
    try {
      await this.read((sql) => sql.query('SELECT 1 AS ok'));
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      await this.checkpointer?.stop();
      this.checkpointer = undefined;
      if (this.dataSource.isInitialized) await this.dataSource.destroy();
    });
  }
}
