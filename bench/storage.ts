// Storage per anchored record, the worker's batch transaction, and single receipt reads (issue 18).
// N `document` records submitted through `NotaryClient.submitMany` (1,000 per request, 2 in flight) into the
// `npm start` instance (worker on, SQLite with WAL in a temp dir), anchored in batches of ANCHOR_MAX_LEAVES;
// once every receipt is there:
// - bytes on disk per record: notary.db + notary.db-wal after a TRUNCATE checkpoint (taken from this process on
//   the same file while the instance is idle), next to the records' payload bytes;
// - the worker's batch transaction: `notary_batch_store_seconds` / `notary_batches_built` from /metrics (the
//   wall time of each `store.tx` that stores a new batch: tree, leaf positions, signed transaction);
// - `GET /v1/records/:id/receipt`, 50 connections (autocannon in its own process), random records of all batches.
// Standalone: `node -r ts-node/register bench/storage.ts [records] [batch] [seconds] [runs]` prints one JSON line.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Sqlite from 'better-sqlite3';
import { NotaryClient } from '../src/client';
import { autocannon, sleep, startServer, type LoadResult } from './lib';

export interface StorageFigures {
  records: number;
  batchSize: number;
  batches: number;
  dbBytes: number;
  walBytes: number;
  /** (database + WAL) / records, after the checkpoint. */
  bytesPerRecord: number;
  /** Canonical payload bytes per record (what the records table must hold anyway). */
  payloadBytesPerRecord: number;
  /** Mean wall time of the worker's batch-storing transaction, ms per batch. */
  batchTxMs: number;
  /** Runs of GET /v1/records/:id/receipt at 50 connections. */
  receipt: LoadResult[];
  /**
   * CPU time of the API process (all its threads, /proc) per receipt answered, µs, per run: the cost of a request,
   * which a shared machine's load inflates far less than it does the latencies.
   */
  receiptCpuUs: number[];
  ingestSeconds: number;
  /** Bytes per table and index (SQLite `dbstat`), largest first; empty when dbstat is not compiled in. */
  objects: { name: string; bytes: number }[];
}

/** utime + stime of a process (all its threads), ms; NaN where /proc is not there. */
function cpuMsOf(pid: number | undefined): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [utime, stime] = f
      .slice(f.lastIndexOf(')') + 2)
      .split(' ')
      .slice(11, 13)
      .map(Number);
    return ((utime! + stime!) * 1000) / 100; // USER_HZ: 100 on Linux
  } catch {
    return NaN;
  }
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

export async function storage(
  records = 50_000,
  batchSize = 1000,
  seconds = 8,
  runs = 3,
  /** Called right before the receipt load starts (bench/profile.ts counts only the samples after it). */
  onLoad?: () => void,
): Promise<StorageFigures> {
  const server = await startServer({
    env: {
      RATE_LIMIT_MAX: '100000000',
      ANCHOR_MAX_LEAVES: String(batchSize),
      ANCHOR_INTERVAL_MS: '1000',
      CONFIRMATIONS: '1',
    },
    blockTime: 1,
  });
  try {
    const key = server.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
    const client = new NotaryClient({ baseUrl: server.apiUrl, apiKey: key });
    const tag = randomBytes(4).toString('hex');
    const inputs = Array.from({ length: records }, (_, i) => ({
      type: 'document',
      externalId: `disk-${tag}-${i}`,
      payload: { title: `Storage bench ${i}`, body: `record ${i} of ${records}` },
    }));
    const t0 = performance.now();
    const sub = await client.submitMany(inputs, { chunkSize: 1000, concurrency: 2 });
    if (sub.accepted !== records) throw new Error(`only ${sub.accepted} of ${records} accepted`);
    const ids = sub.records.map((r) => ('id' in r ? r.id : ''));
    const wait = await client.waitForReceipts(ids, { timeoutMs: 900_000, maxIntervalMs: 1000 });
    if (wait.outcome !== 'complete') throw new Error(`receipts: ${wait.outcome}, ${wait.pending.length} pending`);
    const ingestSeconds = (performance.now() - t0) / 1000;
    const batches = new Set([...wait.receipts.values()].map((r) => r.proof.root)).size;

    const metrics = await (await fetch(`${server.apiUrl}/metrics`)).text();
    const built = metric(metrics, 'notary_batches_built');
    const batchTxMs = (metric(metrics, 'notary_batch_store_seconds') * 1000) / built;

    const file = path.join(server.dataDir, 'notary.db');
    const db = new Sqlite(file);
    let payloadBytes = 0;
    let objects: { name: string; bytes: number }[] = [];
    try {
      db.pragma('busy_timeout = 5000');
      for (let i = 0; i < 20; i++) {
        const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        if (r?.busy === 0) break;
        await sleep(250);
      }
      payloadBytes = (db.prepare('SELECT SUM(LENGTH(payload)) AS n FROM records').get() as { n: number }).n;
      try {
        objects = db
          .prepare('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC')
          .all() as { name: string; bytes: number }[];
      } catch {
        objects = [];
      }
    } finally {
      db.close();
    }
    const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
    const dbBytes = size(file);
    const walBytes = size(`${file}-wal`);

    // Random records of every batch; 1,000 paths (autocannon's config travels as one argv string).
    const sample = Array.from({ length: 1000 }, () => ids[Math.floor(Math.random() * ids.length)]!);
    const receipt: LoadResult[] = [];
    const receiptCpuUs: number[] = [];
    onLoad?.();
    for (let run = 0; run < runs; run++) {
      const cpu0 = cpuMsOf(server.child.pid);
      const r = await autocannon(`${server.apiUrl}/v1/records/${sample[0]}/receipt`, {
        connections: 50,
        seconds,
        headers: { authorization: `Bearer ${key}` },
        paths: sample.map((id) => `/v1/records/${id}/receipt`),
      });
      receipt.push(r);
      receiptCpuUs.push(((cpuMsOf(server.child.pid) - cpu0) * 1000) / (r.rps * seconds));
    }
    return {
      records,
      batchSize,
      batches,
      dbBytes,
      walBytes,
      bytesPerRecord: (dbBytes + walBytes) / records,
      payloadBytesPerRecord: payloadBytes / records,
      batchTxMs,
      receipt,
      receiptCpuUs,
      ingestSeconds,
      objects,
    };
  } finally {
    await server.stop();
  }
}

if (require.main === module) {
  const [records, batch, seconds, runs] = process.argv.slice(2).map(Number);
  storage(records || undefined, batch || undefined, seconds || undefined, runs || undefined).then(
    (f) => console.log(JSON.stringify(f)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
