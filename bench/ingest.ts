// Bulk ingest: POST /v1/records/batch with 1,000 records per request against a real instance in its own process,
// next to its limit: raw inserts of the same rows into the same schema (better-sqlite3 prepared statement in a
// transaction per 1,000 rows / pg multi-row INSERT of 1,000 rows per transaction).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { canonicalize, digestCanonical } from '../src/domain/canonicalize';
import { computeCommitment } from '../src/domain/commitment';
import { initHashing } from '../src/domain/hashing';
import { Database } from '../src/storage/db';
import { newRecordId } from '../src/service/ids';
import { createPgDatabase } from '../test/helpers/db';
import { invoicePayload } from '../test/helpers/payloads';
import { api, startServer, type ServerHandle } from './lib';

export const PER_REQUEST = 1000;
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
    return [id, orgId, r.type, r.externalId, digest, salt, commitment, '[]', canonical, null, Date.now()];
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

/**
 * Limit and service runs are interleaved (limit, service, limit, service, …) so that both see the same load on a
 * shared machine and the same table sizes (each run adds `requests` × 1,000 rows to both databases).
 */
async function interleaved(
  runs: number,
  requests: number,
  limitRun: () => Promise<number>,
  server: ServerHandle,
): Promise<{ service: number[]; limit: number[] }> {
  await serviceRun(server, 2); // warm-up (JIT, statement cache)
  const out = { service: [] as number[], limit: [] as number[] };
  for (let i = 0; i < runs; i++) {
    out.limit.push(await limitRun());
    out.service.push(await serviceRun(server, requests));
  }
  return out;
}

export async function ingestSqlite(runs: number, requests: number): Promise<{ service: number[]; limit: number[] }> {
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
  try {
    return await interleaved(runs, requests, limitRun, server);
  } finally {
    await server.stop();
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function ingestPg(runs: number, requests: number): Promise<{ service: number[]; limit: number[] }> {
  await initHashing();
  const raw = await createPgDatabase();
  const pg = await createPgDatabase();
  let c: Client | undefined;
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
    return await interleaved(runs, requests, limitRun, server);
  } finally {
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
