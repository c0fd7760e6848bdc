// Sustained end to end (issue 18): N `document` records submitted 1,000 per request (`POST /v1/records/batch`,
// 2 in flight) into the default instance (`npm start`'s path: worker on, in its own process unless WORKER says
// otherwise; ANCHOR_MAX_LEAVES, interval and confirmations at their defaults; block time 1 s) until every one is
// in an anchored batch. Measured:
// - records/s from the first request to the last anchor (the anchored count is read from the database by this
//   process every 250 ms: the sum of `leaf_count` of anchored and confirmed batches), plus the rate per 100k;
// - peak RSS of all the instance's processes (the bench server, the worker process, the embedded anvil: the
//   sum of VmRSS over the process tree, sampled every 250 ms) and each one's peak; beside it the peak of the sum
//   of PSS (/proc/PID/smaps_rollup: a page shared by k processes counts 1/k in each, so the memory-mapped
//   database pages and the node binary that VmRSS counts once per process count once in all);
// - bytes on disk per record: SQLite notary.db + WAL after a TRUNCATE checkpoint, or PostgreSQL
//   pg_database_size after the run minus before the first record (the empty migrated database), next to the
//   canonical payload bytes per record.
// Standalone: `node -r ts-node/register bench/sustained.ts [records] [sqlite|pg]` (env: WORKER=inline|process|false
// passes to the instance) prints one JSON line. BENCH_DBSTAT=1 adds, on SQLite, the bytes per record of each table
// and index after the run (`dbstat`: pages of each B-tree, SUM(pgsize) / records).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Sqlite from 'better-sqlite3';
import { Client } from 'pg';
import { createPgDatabase } from '../test/helpers/db';
import { api, sleep, startServer, type ServerHandle } from './lib';

export interface SustainedFigures {
  db: 'sqlite' | 'pg';
  worker: string;
  records: number;
  perRequest: number;
  inFlight: number;
  /** Seconds from the first request to the last record acknowledged / anchored. */
  ingestSeconds: number;
  endToEndSeconds: number;
  /** records / endToEndSeconds */
  recordsPerSecond: number;
  /** Acknowledged records/s per 100,000 records (or per tenth of N when smaller). */
  ingestRatePerStep: number[];
  stepRecords: number;
  batches: number;
  peakRssMiB: number;
  peakRssByProcessMiB: Record<string, number>;
  /** Peak of the summed PSS over the same process tree, same samples; and each process's peak PSS. */
  peakPssMiB: number;
  peakPssByProcessMiB: Record<string, number>;
  diskBytes: number;
  bytesPerRecord: number;
  payloadBytesPerRecord: number;
  /** BENCH_DBSTAT=1, SQLite: bytes per record of each table and index (dbstat), largest first. */
  bytesPerRecordByObject?: Record<string, number>;
}

/** pid → [ppid, command name] of every process (Linux /proc). */
function processTable(): Map<number, [number, string]> {
  const out = new Map<number, [number, string]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      out.set(Number(e), [ppid, name]);
    } catch {
      /* gone */
    }
  }
  return out;
}

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Proportional set size (KiB): each resident page divided by the number of processes mapping it. */
function pssKiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Samples the RSS and PSS of `root` and its descendants every `ms`: peak of the sums, peak of each process. */
function rssSampler(root: number, ms = 250) {
  let peak = 0;
  let peakPss = 0;
  const byProc = new Map<string, number>();
  const pssByProc = new Map<string, number>();
  const sample = () => {
    const table = processTable();
    const tree = new Set([root]);
    for (let grew = true; grew;) {
      grew = false;
      for (const [pid, [ppid]] of table) {
        if (tree.has(ppid) && !tree.has(pid)) {
          tree.add(pid);
          grew = true;
        }
      }
    }
    let sum = 0;
    let sumPss = 0;
    for (const pid of tree) {
      const kib = rssKiB(pid);
      const pss = pssKiB(pid);
      sum += kib;
      sumPss += pss;
      const name = pid === root ? 'api' : `${table.get(pid)?.[1] ?? '?'}`;
      byProc.set(name, Math.max(byProc.get(name) ?? 0, kib));
      pssByProc.set(name, Math.max(pssByProc.get(name) ?? 0, pss));
    }
    peak = Math.max(peak, sum);
    peakPss = Math.max(peakPss, sumPss);
  };
  sample();
  const t = setInterval(sample, ms);
  return {
    stop() {
      clearInterval(t);
      sample();
      const mib = (m: Map<string, number>) => Object.fromEntries([...m].map(([k, v]) => [k, Math.round(v / 1024)]));
      return { peakMiB: peak / 1024, byProcess: mib(byProc), peakPssMiB: peakPss / 1024, pssByProcess: mib(pssByProc) };
    },
  };
}

interface DbProbe {
  anchored(): Promise<{ leaves: number; batches: number }>;
  sizeBytes(): Promise<number>;
  payloadBytes(): Promise<number>;
  /** Bytes of each table and index (SQLite dbstat); undefined on PostgreSQL. */
  objectBytes?(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const ANCHORED_SQL = `SELECT COALESCE(SUM(leaf_count), 0) AS n, COUNT(*) AS b FROM batches WHERE status IN ('anchored', 'confirmed')`;

function sqliteProbe(dataDir: string): DbProbe {
  const file = path.join(dataDir, 'notary.db');
  const db = new Sqlite(file);
  db.pragma('busy_timeout = 5000');
  const q = db.prepare(ANCHORED_SQL);
  return {
    async anchored() {
      const r = q.get() as { n: number; b: number };
      return { leaves: Number(r.n), batches: Number(r.b) };
    },
    async sizeBytes() {
      for (let i = 0; i < 40; i++) {
        const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        if (r?.busy === 0) break;
        await sleep(250);
      }
      const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
      return size(file) + size(`${file}-wal`);
    },
    async payloadBytes() {
      return (db.prepare('SELECT SUM(LENGTH(payload)) AS n FROM records').get() as { n: number }).n;
    },
    async objectBytes() {
      const rows = db.prepare('SELECT name, SUM(pgsize) AS n FROM dbstat GROUP BY name ORDER BY n DESC').all() as {
        name: string;
        n: number;
      }[];
      return Object.fromEntries(rows.map((r) => [r.name, r.n]));
    },
    async close() {
      db.close();
    },
  };
}

async function pgProbe(url: string): Promise<DbProbe> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return {
    async anchored() {
      const r = (await c.query(ANCHORED_SQL)).rows[0] as { n: string; b: string };
      return { leaves: Number(r.n), batches: Number(r.b) };
    },
    async sizeBytes() {
      await c.query('CHECKPOINT').catch(() => undefined);
      return Number((await c.query('SELECT pg_database_size(current_database()) AS n')).rows[0].n);
    },
    async payloadBytes() {
      return Number((await c.query('SELECT SUM(octet_length(payload)) AS n FROM records')).rows[0].n);
    },
    async close() {
      await c.end();
    },
  };
}

export async function sustained(records = 200_000, db: 'sqlite' | 'pg' = 'sqlite'): Promise<SustainedFigures> {
  const perRequest = 1000;
  const inFlight = Number(process.env.BENCH_INFLIGHT ?? 2);
  const requests = Math.ceil(records / perRequest);
  const pg = db === 'pg' ? await createPgDatabase() : undefined;
  let server: ServerHandle | undefined;
  let probe: DbProbe | undefined;
  try {
    server = await startServer({
      env: {
        RATE_LIMIT_MAX: '1000000000',
        ...(pg ? { DATABASE_URL: pg.url } : {}),
        ...(process.env.WORKER ? { WORKER: process.env.WORKER } : {}),
      },
      blockTime: 1,
    });
    probe = pg ? await pgProbe(pg.url) : sqliteProbe(server.dataDir);
    const baseSize = pg ? await probe.sizeBytes() : 0;
    const key = server.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
    const tag = randomBytes(4).toString('hex');
    const body = (r: number) =>
      JSON.stringify({
        records: Array.from({ length: Math.min(perRequest, records - r * perRequest) }, (_, i) => {
          const n = r * perRequest + i;
          return {
            type: 'document',
            externalId: `e2e-${tag}-${n}`,
            payload: { title: `Sustained bench ${n}`, body: `record ${n} of ${records}` },
          };
        }),
      });

    const rss = rssSampler(server.child.pid!);
    const stepRecords = Math.min(100_000, Math.max(1000, Math.floor(records / 10)));
    const stepTimes: number[] = [];
    let next = 0;
    let accepted = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (next < requests) {
        const raw = body(next++);
        const res = await api(server!.apiUrl, 'POST', '/v1/records/batch', { key, raw });
        if (res.status !== 200) throw new Error(`batch: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        const before = accepted;
        accepted += (res.body as { accepted: number }).accepted;
        if (Math.floor(accepted / stepRecords) > Math.floor(before / stepRecords)) stepTimes.push(performance.now());
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const tIngest = performance.now();
    if (accepted !== records) throw new Error(`only ${accepted} of ${records} accepted`);
    let anchored = { leaves: 0, batches: 0 };
    const deadline = Date.now() + 30 * 60_000;
    while ((anchored = await probe.anchored()).leaves < records) {
      if (Date.now() > deadline) throw new Error(`only ${anchored.leaves} of ${records} anchored after 30 min`);
      await sleep(250);
    }
    const tEnd = performance.now();
    const mem = rss.stop();
    const diskBytes = (await probe.sizeBytes()) - baseSize;
    const payload = await probe.payloadBytes();
    const objects = process.env.BENCH_DBSTAT === '1' ? await probe.objectBytes?.() : undefined;
    const rates: number[] = [];
    let prev = t0;
    for (const t of stepTimes) {
      rates.push(Math.round(stepRecords / ((t - prev) / 1000)));
      prev = t;
    }
    return {
      db,
      worker: process.env.WORKER || 'process (default)',
      records,
      perRequest,
      inFlight,
      ingestSeconds: (tIngest - t0) / 1000,
      endToEndSeconds: (tEnd - t0) / 1000,
      recordsPerSecond: records / ((tEnd - t0) / 1000),
      ingestRatePerStep: rates,
      stepRecords,
      batches: anchored.batches,
      peakRssMiB: Math.round(mem.peakMiB),
      peakRssByProcessMiB: mem.byProcess,
      peakPssMiB: Math.round(mem.peakPssMiB),
      peakPssByProcessMiB: mem.pssByProcess,
      diskBytes,
      bytesPerRecord: diskBytes / records,
      payloadBytesPerRecord: payload / records,
      ...(objects && {
        bytesPerRecordByObject: Object.fromEntries(
          Object.entries(objects)
            .filter(([, v]) => v / records >= 0.05)
            .map(([k, v]) => [k, Math.round((v / records) * 10) / 10]),
        ),
      }),
    };
  } finally {
    await probe?.close();
    await server?.stop();
    await pg?.drop();
  }
}

if (require.main === module) {
  const records = Number(process.argv[2]) || 200_000;
  const db = process.argv[3] === 'pg' ? 'pg' : 'sqlite';
  sustained(records, db).then(
    (f) => console.log(JSON.stringify(f)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
