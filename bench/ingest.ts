// Bulk ingest: POST /v1/records/batch with 1,000 records per request against a real instance in its own process,
// next to its limit: raw inserts of the same rows into the same schema (better-sqlite3 prepared statement in a
// transaction per 1,000 rows / pg multi-row INSERT of 1,000 rows per transaction).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { Client } from 'pg';
import { canonicalize, digestCanonical } from '../src/domain/canonicalize';
import { computeCommitment } from '../src/domain/commitment';
import { initHashing } from '../src/domain/hashing';
import { Database } from '../src/storage/db';
import { newRecordId } from '../src/service/ids';
import { createPgDatabase } from '../test/helpers/db';
import { invoicePayload } from '../test/helpers/payloads';
import { api, cpuSeconds, processTree, sleep, startServer, type ServerHandle } from './lib';

export const PER_REQUEST = 1000;
const CONFIRMED_SQL = `SELECT COALESCE(SUM(leaf_count), 0) AS n FROM batches WHERE status = 'confirmed'`;
const COLS = 'id, org_id, type, external_id, digest, salt, commitment, parents, payload, supersedes, accepted_at';

let seq = 0;
/** `requests` batches of PER_REQUEST distinct invoice records (unique externalId and invoice number). */
function makeInputs(requests: number) {
  const tag = randomBytes(4).toString('hex');
  return Array.from({ length: requests }, () =>
    Array.from({ length: PER_REQUEST }, () => {
      const n = ++seq;
      return { type: 'invoice.issued', externalId: `inv-${tag}-${n}`, payload: invoicePayload(n) };
    }),
  );
}

/** The rows the service would insert for these inputs (untimed preparation of the limit). */
function rowsOf(batch: ReturnType<typeof makeInputs>[number], orgId: string): unknown[][] {
  return batch.map((r) => {
    const id = newRecordId(); // the same time-ordered ids the service assigns
    const canonical = canonicalize(r.payload);
    const digest = digestCanonical(canonical);
    const salt = '0x' + randomBytes(32).toString('hex');
    const commitment = computeCommitment({ recordId: id, orgId, type: r.type, digest, salt, parents: [] });
    // The hashes as the service stores them: their 32 bytes (col.bin32).
    const [d, s, c] = [digest, salt, commitment].map((h) => Buffer.from(h.slice(2), 'hex'));
    return [id, orgId, r.type, r.externalId, d, s, c, '[]', canonical, null, Date.now()];
  });
}

/** Records/s of the service: `requests` bulk requests, 2 in flight (the next body uploads while one runs). */
async function serviceRun(server: ServerHandle, requests: number): Promise<number> {
  const key = server.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
  const bodies = makeInputs(requests).map((records) => JSON.stringify({ records }));
  let next = 0;
  let accepted = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const raw = bodies[next++]!;
      const res = await api(server.apiUrl, 'POST', '/v1/records/batch', { key, raw });
      if (res.status !== 200) throw new Error(`batch: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      accepted += (res.body as { accepted: number }).accepted;
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: Number(process.env.BENCH_INFLIGHT ?? 2) }, worker));
  const s = (performance.now() - t) / 1000;
  if (accepted !== requests * PER_REQUEST) throw new Error(`only ${accepted} of ${requests * PER_REQUEST} accepted`);
  return accepted / s;
}

/**
 * The default configuration (issue 18): the anchoring worker on, in its own process, building and anchoring the
 * batches while the records arrive — it competes for the one SQLite writer and the two cores, and that is what a
 * user runs. `BENCH_INGEST_WORKER=false|inline` measures the API ingest path alone or the worker in the API process.
 */
export const INGEST_WORKER = process.env.BENCH_INGEST_WORKER ?? 'process';
const SERVER_ENV = { RATE_LIMIT_MAX: '1000000', WORKER: INGEST_WORKER };

/** The bench process's view of one instance's database and of its limit's (read-only queries, checkpoints). */
interface Quiet {
  /** Records in confirmed batches (the worker has nothing left to do for them). */
  confirmed(): Promise<number>;
  /** Checkpoints both databases' WALs into their files (SQLite: TRUNCATE; PostgreSQL: CHECKPOINT). */
  checkpoint(): Promise<void>;
}

export interface IngestFigures {
  service: number[];
  limit: number[];
  /** CPU cores the instance's processes (API, worker, anvil) used while each limit run ran (~0 when it was quiet). */
  instanceCoresDuringLimit: number[];
  /**
   * CPU time per accepted record of each of the instance's processes, from the start of each service run until
   * the instance settled after it (its records confirmed): µs of user + system time, all threads (the API
   * process with its preparation and checkpoint threads, the worker process, anvil). Unlike records/s, it does
   * not count time spent waiting for a core, so it reads the same on a loaded machine (cache sharing aside).
   */
  cpuUsPerRecord: { api: number[]; worker: number[]; anvil: number[] };
}

/** The instance's processes by role: the API process (`root`), the anchoring worker process, anvil. */
function roles(root: number): { api: number[]; worker: number[]; anvil: number[] } {
  const out = { api: [root], worker: [] as number[], anvil: [] as number[] };
  for (const pid of processTree(root)) {
    if (pid === root) continue;
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (/anvil/.test(cmd)) out.anvil.push(pid);
    else if (/worker/.test(cmd)) out.worker.push(pid);
    else out.api.push(pid); // anything else the API process started
  }
  return out;
}

/**
 * Limit and service runs alternate (limit, service, limit, service, …) so that both see the same load on a
 * shared machine and the same table sizes (each run adds `requests` × 1,000 rows to both databases). Before each
 * run, limit or service, the instance is let settle: every record accepted so far in a confirmed batch (the
 * worker's catch-up on the previous service run would otherwise run during the next limit run and take a core
 * from it, by how much depending on where its 1 s tick fell) and both WALs checkpointed (so that neither run
 * pays for the other's checkpoint, and each starts from an empty WAL).
 */
async function interleaved(
  runs: number,
  requests: number,
  limitRun: () => Promise<number>,
  server: ServerHandle,
  quiet: Quiet,
): Promise<IngestFigures> {
  await serviceRun(server, 2); // warm-up (JIT, statement cache)
  let accepted = 2 * PER_REQUEST;
  const settle = async () => {
    if (process.env.BENCH_INGEST_SETTLE === 'false') return; // the old measurement, for comparison
    const deadline = performance.now() + 120_000;
    while ((await quiet.confirmed()) < accepted) {
      if (performance.now() > deadline) throw new Error(`the worker did not confirm ${accepted} records in 120 s`);
      await sleep(100);
    }
    await quiet.checkpoint();
  };
  const out: IngestFigures = {
    service: [],
    limit: [],
    instanceCoresDuringLimit: [],
    cpuUsPerRecord: { api: [], worker: [], anvil: [] },
  };
  for (let i = 0; i < runs; i++) {
    await settle();
    const pids = processTree(server.child.pid!);
    const c0 = cpuSeconds(pids);
    const t0 = performance.now();
    out.limit.push(await limitRun());
    out.instanceCoresDuringLimit.push((cpuSeconds(pids) - c0) / ((performance.now() - t0) / 1000));
    await settle();
    const r = roles(server.child.pid!);
    const before = { api: cpuSeconds(r.api), worker: cpuSeconds(r.worker), anvil: cpuSeconds(r.anvil) };
    out.service.push(await serviceRun(server, requests));
    accepted += requests * PER_REQUEST;
    if (process.env.BENCH_INGEST_SETTLE !== 'false') await settle();
    for (const k of ['api', 'worker', 'anvil'] as const)
      out.cpuUsPerRecord[k].push((1e6 * (cpuSeconds(r[k]) - before[k])) / (requests * PER_REQUEST));
  }
  return out;
}

export async function ingestSqlite(runs: number, requests: number): Promise<IngestFigures> {
  await initHashing();
  // Limit: the same schema and settings (migrations, WAL, synchronous=NORMAL: Database.open as the service),
  // a file in a temp dir.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-bench-raw-'));
  const db = await Database.open({ sqlitePath: path.join(dir, 'raw.db') });
  const h = db.sqliteHandle!;
  const stmt = h.prepare(`INSERT INTO records (${COLS}) VALUES (${Array(11).fill('?').join(', ')})`);
  const insertAll = h.transaction((rows: unknown[][]) => {
    for (const r of rows) stmt.run(...r);
  });
  const limitRun = async () => {
    const batches = makeInputs(requests).map((b) => rowsOf(b, 'aerospace'));
    const t = performance.now();
    for (const rows of batches) insertAll(rows);
    return (requests * PER_REQUEST) / ((performance.now() - t) / 1000);
  };
  const server = await startServer({ env: SERVER_ENV });
  const probe = new Sqlite(path.join(server.dataDir, 'notary.db'));
  try {
    probe.pragma('busy_timeout = 5000');
    const confirmed = probe.prepare(CONFIRMED_SQL);
    const quiet: Quiet = {
      confirmed: async () => Number((confirmed.get() as { n: number }).n),
      checkpoint: async () => {
        for (const conn of [probe, h]) {
          // The instance's checkpoint thread may be on it too (SQLITE_BUSY answers busy = 1): once more.
          for (let i = 0; i < 50 && (conn.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0]?.busy; i++)
            await sleep(100);
        }
      },
    };
    return await interleaved(runs, requests, limitRun, server, quiet);
  } finally {
    probe.close();
    await server.stop();
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function ingestPg(runs: number, requests: number): Promise<IngestFigures> {
  await initHashing();
  const raw = await createPgDatabase();
  const pg = await createPgDatabase();
  let c: Client | undefined;
  let probe: Client | undefined;
  let server: ServerHandle | undefined;
  try {
    const db = await Database.open({ url: raw.url }); // migrations: the same schema as the service's
    await db.close();
    c = new Client({ connectionString: raw.url });
    await c.connect();
    const client = c;
    const marks = (k: number) => `(${Array.from({ length: 11 }, (_, j) => `$${k * 11 + j + 1}`).join(', ')})`;
    const sql = `INSERT INTO records (${COLS}) VALUES ${Array.from({ length: PER_REQUEST }, (_, k) => marks(k)).join(', ')}`;
    const limitRun = async () => {
      const batches = makeInputs(requests).map((b) => rowsOf(b, 'aerospace').flat());
      const t = performance.now();
      for (const params of batches) {
        await client.query('BEGIN');
        await client.query(sql, params);
        await client.query('COMMIT');
      }
      return (requests * PER_REQUEST) / ((performance.now() - t) / 1000);
    };
    server = await startServer({ env: { ...SERVER_ENV, DATABASE_URL: pg.url } });
    probe = new Client({ connectionString: pg.url });
    await probe.connect();
    const instance = probe;
    const quiet: Quiet = {
      confirmed: async () => Number((await instance.query(CONFIRMED_SQL)).rows[0].n),
      checkpoint: async () => void (await instance.query('CHECKPOINT').catch(() => undefined)), // the whole server
    };
    return await interleaved(runs, requests, limitRun, server, quiet);
  } finally {
    await probe?.end();
    await server?.stop();
    await c?.end();
    await raw.drop();
    await pg.drop();
  }
}

if (require.main === module) {
  void (async () => {
    const which = process.argv[2] ?? 'sqlite';
    const r = which === 'pg' ? await ingestPg(3, 20) : await ingestSqlite(3, 20);
    console.log(JSON.stringify(r));
  })();
}
