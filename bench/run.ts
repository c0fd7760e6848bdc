// `npm run bench [-- --quick] [-- --only ingest,pg,signing,submit,verify,merkle,gas,latency,receipts,storage,sustained]`: every figure next to its
// limit measured in the same run, medians of >= 3 runs, printed as a table and written to BENCHMARKS.md.
// Each figure gets a fresh instance (own process, SQLite file with WAL in a temp dir unless it is the PostgreSQL
// row); load generators run in other processes. Not a test: nothing here asserts timings.
import fs from 'node:fs';
import path from 'node:path';
import * as prettier from 'prettier';
import { gas, gasV2, type GasRow } from './gas';
import { helloWorld, singleSubmit, verify } from './http';
import { INGEST_WORKER, PER_REQUEST, ingestPg, ingestSqlite } from './ingest';
import { INTERVAL_MS, latency } from './latency';
import { ROOT, machine, median, percentile, runJsonChild, type LoadResult } from './lib';
import type { MerkleFigures } from './merkle';
import { receipts } from './receipts';
import { SIGN_RECORDS, signing } from './signing';
import { storage } from './storage';
import { sustained } from './sustained';

const quick = process.argv.includes('--quick');
const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const only = onlyArg ? new Set(onlyArg.split(',')) : null;
const want = (k: string) => !only || only.has(k);

const P = quick
  ? {
      runs: 3,
      requests: 5,
      seconds: 3,
      merkleRuns: 1,
      leaves: 250_000,
      ozLeaves: 25_000,
      latRecords: 20,
      latWindow: 5000,
      receiptRecords: 10_000,
      storageRecords: 10_000,
    }
  : {
      runs: 3,
      requests: 20,
      seconds: 8,
      merkleRuns: 3,
      leaves: 1_000_000,
      ozLeaves: 100_000,
      latRecords: 24,
      latWindow: 12000,
      receiptRecords: 50_000,
      storageRecords: 50_000,
    };

interface Row {
  figure: string;
  value: string;
  limit: string;
  ratio: string;
  target: string;
  met: boolean | null;
}

const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const runsOf = (xs: number[], d = 0) => xs.map((x) => fmt(x, d)).join(' / ');
const rows: Row[] = [];
const details: string[] = [];

function log(msg: string) {
  process.stderr.write(`[bench] ${msg}\n`);
}

async function figure(key: string, label: string, fn: () => Promise<void>) {
  if (!want(key)) return;
  log(`${label}…`);
  const t = performance.now();
  try {
    await fn();
  } catch (err) {
    rows.push({ figure: label, value: 'FAILED', limit: '', ratio: '', target: '', met: false });
    details.push(
      `### ${label}\n\nFailed: \`${String((err as Error).stack ?? err)
        .split('\n')
        .slice(0, 3)
        .join(' ')}\``,
    );
    log(`${label} failed: ${String(err)}`);
  }
  log(`${label} done in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}

async function main(): Promise<void> {
  const m0 = machine();
  const t0 = performance.now();

  for (const [key, label, fn] of [
    ['ingest', 'bulk ingest, SQLite', ingestSqlite],
    ['pg', 'bulk ingest, PostgreSQL', ingestPg],
  ] as const) {
    await figure(key, label, async () => {
      const r = await fn(P.runs, P.requests);
      const s = median(r.service);
      const l = median(r.limit);
      const ratio = median(r.service.map((x, i) => x / r.limit[i]!));
      const sqlite = key === 'ingest';
      rows.push({
        figure: `${label}: \`POST /v1/records/batch\`, ${fmt(PER_REQUEST)} records/request, worker ${INGEST_WORKER === 'false' ? 'off' : INGEST_WORKER === 'inline' ? 'in the API process' : 'on (own process)'}`,
        value: `${fmt(s)} records/s`,
        limit: `${fmt(l)} rows/s raw ${sqlite ? 'better-sqlite3 prepared INSERT, 1 tx / 1,000 rows' : '`pg` 1,000-row INSERT, 1 tx each'}`,
        ratio: `${ratio.toFixed(2)} ×`,
        target: sqlite ? '≥ 25,000 records/s and ≥ 0.5 × limit' : '≥ 0.5 × limit',
        met: ratio >= 0.5 && (!sqlite || s >= 25_000),
      });
      details.push(
        `### ${label}\n\n${P.runs} runs of ${P.requests} requests × ${fmt(PER_REQUEST)} invoice records (2 requests in flight), ` +
          `interleaved with the limit's runs (same load, same table sizes), each after the instance settled (every record confirmed, WALs checkpointed).\n\n` +
          `- service records/s: ${runsOf(r.service)}\n- limit rows/s: ${runsOf(r.limit)}\n` +
          `- ratio per run (service / limit of the same round): ${r.service.map((x, i) => (x / r.limit[i]!).toFixed(2)).join(' / ')}\n` +
          `- CPU cores the instance used during each limit run (0 = it was quiet): ${runsOf(r.instanceCoresDuringLimit, 2)}\n` +
          `- CPU µs per record, from each service run until its records were confirmed: API process ${runsOf(r.cpuUsPerRecord.api)}; ` +
          `worker process ${runsOf(r.cpuUsPerRecord.worker)}; anvil ${runsOf(r.cpuUsPerRecord.anvil)}`,
      );
    });
  }

  await figure('signing', 'signed records', async () => {
    const f = await signing(P.runs, quick ? 5 : 10);
    const fastest = f.clientSign[0]!;
    const ethersRow = f.clientSign.find((c) => c.backend.startsWith('ethers 6'))!;
    rows.push({
      figure: `client signing of ${fmt(SIGN_RECORDS)} records (id, salt, commitment, EIP-712 signature), native libsecp256k1`,
      value: `${fmt(median(fastest.recordsPerSecond))} records/s`,
      limit: `ethers SigningKey ${fmt(median(ethersRow.recordsPerSecond))} records/s`,
      ratio: `${(median(fastest.recordsPerSecond) / median(ethersRow.recordsPerSecond)).toFixed(1)} ×`,
      target: '—',
      met: null,
    });
    const s = median(f.ingest.signed);
    const u = median(f.ingest.unsigned);
    rows.push({
      figure: `bulk ingest of signed records, SQLite: \`POST /v1/records/batch\`, ${fmt(PER_REQUEST)} records/request`,
      value: `${fmt(s)} records/s`,
      limit: `unsigned ingest, same instance and run: ${fmt(u)} records/s`,
      ratio: `${(s / u).toFixed(2)} ×`,
      target: '≥ 5,000 records/s',
      met: s >= 5000,
    });
    details.push(
      `### signed records

` +
        f.clientSign
          .map((c) => `- ${c.backend}, ${fmt(c.records)} records: records/s ${runsOf(c.recordsPerSecond)}`)
          .join('\n') +
        `\n- ingest (\`document\` records of the bank, signed by its demo SIGNER key, worker off, 2 requests in flight, ` +
        `rounds interleaved with unsigned ones): signed ${runsOf(f.ingest.signed)}; unsigned ${runsOf(f.ingest.unsigned)} records/s`,
    );
  });

  await figure('submit', 'single submit', async () => {
    const hello = await helloWorld(P.runs, P.seconds);
    const sub = await singleSubmit(P.runs, P.seconds);
    const rps = median(sub.map((x) => x.rps));
    const p99 = median(sub.map((x) => x.p99));
    const h = median(hello.map((x) => x.rps));
    rows.push({
      figure: 'single submit `POST /v1/records`, 50 connections',
      value: `${fmt(rps)} req/s, p99 ${fmt(p99)} ms`,
      limit: `${fmt(h)} req/s fastify hello-world (p99 ${fmt(median(hello.map((x) => x.p99)))} ms)`,
      ratio: `${(rps / h).toFixed(3)} ×`,
      target: '≥ 4,000 req/s, p99 ≤ 25 ms',
      met: rps >= 4000 && p99 <= 25,
    });
    details.push(
      `### single submit\n\n${P.runs} runs × ${P.seconds} s, 50 connections, autocannon in its own process; every ` +
        `request a new \`document\` record.\n\n${loadLines('service', sub)}\n${loadLines('hello-world', hello)}`,
    );
  });

  await figure('verify', 'verify', async () => {
    const hello = await helloWorld(P.runs, P.seconds);
    const v = await verify(P.runs, P.seconds);
    const rps = median(v.map((x) => x.rps));
    const h = median(hello.map((x) => x.rps));
    rows.push({
      figure: 'verify receipt + payload `POST /v1/verify`, 50 connections',
      value: `${fmt(rps)} req/s, p99 ${fmt(median(v.map((x) => x.p99)))} ms`,
      limit: `${fmt(h)} req/s fastify hello-world (p99 ${fmt(median(hello.map((x) => x.p99)))} ms)`,
      ratio: `${(rps / h).toFixed(3)} ×`,
      target: '≥ 0.2 × hello-world',
      met: rps / h >= 0.2,
    });
    details.push(
      `### verify\n\n${P.runs} runs × ${P.seconds} s, one real receipt + its payload.\n\n${loadLines('verify', v)}\n${loadLines('hello-world', hello)}`,
    );
  });

  await figure('merkle', 'tree + proofs', async () => {
    const runs: MerkleFigures[] = [];
    for (let i = 0; i < P.merkleRuns; i++) {
      runs.push(await runJsonChild<MerkleFigures>('merkle.ts', [String(P.leaves), String(P.ozLeaves), '--json']));
    }
    const raw = median(runs.map((r) => r.rawMs));
    const idx = median(runs.map((r) => r.buildMs + r.proofIndicesMs));
    const bytes = median(runs.map((r) => r.buildMs + r.proofBytesMs));
    const stored = median(runs.map((r) => r.buildMs + r.storeMs));
    const oz = median(runs.map((r) => (r.ozMs * r.leaves) / r.ozLeaves));
    const rss = Math.max(...runs.map((r) => r.rssTree));
    const GiB = 2 ** 30;
    rows.push({
      figure: `tree + all proofs, ${fmt(P.leaves)} leaves (proofs as node indices)`,
      value: `${fmt(idx)} ms; RSS ${(rss / GiB).toFixed(2)} GiB`,
      limit: `raw keccak loop ${fmt(raw)} ms; OZ ${fmt(oz)} ms (${fmt(P.ozLeaves)} leaves × ${P.leaves / P.ozLeaves})`,
      ratio: `${(idx / raw).toFixed(2)} × raw; ${(oz / idx).toFixed(1)} × faster than OZ`,
      target: '≤ 1.5 × raw, ≥ 30 × faster than OZ, RSS ≤ 1 GiB',
      met: idx / raw <= 1.5 && oz / idx >= 30 && rss <= GiB,
    });
    rows.push({
      figure: `tree built and stored, ${fmt(P.leaves)} leaves (every node once, one SQLite blob: what the worker stores)`,
      value: `${fmt(stored)} ms`,
      limit: `raw keccak loop ${fmt(raw)} ms`,
      ratio: `${(stored / raw).toFixed(2)} × raw`,
      target: '≤ 1.2 × raw',
      met: stored / raw <= 1.2,
    });
    rows.push({
      figure: `same, proofs as 32-byte sibling arrays (what the worker stored per record before issue 18)`,
      value: `${fmt(bytes)} ms`,
      limit: `raw keccak loop ${fmt(raw)} ms; OZ ${fmt(oz)} ms`,
      ratio: `${(bytes / raw).toFixed(2)} × raw; ${(oz / bytes).toFixed(1)} × faster than OZ`,
      target: '≤ 1.5 × raw, ≥ 30 × faster than OZ',
      met: bytes / raw <= 1.5 && oz / bytes >= 30,
    });
    details.push(
      `### tree + proofs\n\n${P.merkleRuns} run(s) of \`bench/merkle.ts\` in a child process (RSS is its own). ` +
        `Same roots as OZ: ${runs.every((r) => r.sameRoot)}.\n\n| run | raw loop | build | + stored | + proof indices | + proof bytes | OZ ${fmt(P.ozLeaves)} | RSS after tree + proofs | peak RSS (incl. OZ) |\n|---|---|---|---|---|---|---|---|---|\n` +
        runs
          .map(
            (r, i) =>
              `| ${i + 1} | ${fmt(r.rawMs)} ms | ${fmt(r.buildMs)} ms | ${fmt(r.storeMs)} ms | ${fmt(r.proofIndicesMs)} ms | ${fmt(r.proofBytesMs)} ms | ${fmt(r.ozMs)} ms | ${fmt(r.rssTree / 2 ** 20)} MiB | ${fmt(r.maxRss / 2 ** 20)} MiB |`,
          )
          .join('\n'),
    );
  });

  await figure('gas', 'gas per anchored batch', async () => {
    const g = await gas();
    const later = g.rows.filter((r) => !r.first);
    const exec = later.map((r) => r.executionGas);
    const constant =
      new Set(exec).size === 1 && new Set(g.rows.filter((r) => r.first).map((r) => r.executionGas)).size === 1;
    const maxExec = Math.max(...g.rows.map((r) => r.executionGas));
    const at = (n: number) => later.find((r) => r.leaves === n)!;
    rows.push({
      figure: 'gas per anchored batch, 1 / 1k / 1M leaves (later anchors)',
      value: `receipt ${[1, 1000, 1_000_000].map((n) => fmt(at(n).receiptGas)).join(' / ')}; execution ${[1, 1000, 1_000_000].map((n) => fmt(at(n).executionGas)).join(' / ')}`,
      limit: `naive 1 anchor/record: ${[1, 1000, 1_000_000].map((n) => fmt(n * g.naivePerRecord)).join(' / ')}`,
      ratio: `naive / batched: ${fmt((1000 * g.naivePerRecord) / at(1000).receiptGas)} × at 1k, ${fmt((1_000_000 * g.naivePerRecord) / at(1_000_000).receiptGas)} × at 1M`,
      // The service anchors through NotaryRegistryV2 (organisation-bound): DESIGN §3 v2's bound.
      target: 'constant, ≤ 90k execution (DESIGN §3 v2)',
      met: constant && maxExec <= 90_000,
    });
    details.push(
      `### gas per anchored batch\n\nReal anchors on the embedded anvil chain. Execution = receipt − 21,000 − calldata.\n\n` +
        `| leaves | submitter's first anchor? | via | receipt gas | execution gas |\n|---|---|---|---|---|\n` +
        g.rows
          .map(
            (r: GasRow) =>
              `| ${fmt(r.leaves)} | ${r.first ? 'yes' : 'no'} | ${r.via} | ${fmt(r.receiptGas)} | ${fmt(r.executionGas)} |`,
          )
          .join('\n') +
        `\n\nConstant in the leaf count: ${constant ? 'yes' : 'NO'}. A later anchor costs ~3k more than a ` +
        "submitter's first: it stores a non-zero `prev` in the new anchor record (a zero → non-zero slot write) and " +
        "reads the previous head's record for `seq`, where the first anchor creates the head slot instead; its " +
        'calldata also carries the non-zero `prev` (+384 gas).',
    );
  });

  await figure('gas', 'gas per anchored batch, NotaryRegistryV2', async () => {
    const v2 = await gasV2();
    const later = v2.filter((r) => !r.first);
    const at = (n: number) => later.find((r) => r.leaves === n)!;
    const exec = later.map((r) => r.executionGas);
    const constant = new Set(exec).size === 1;
    rows.push({
      figure: 'gas per anchored batch, registry v2 (org-bound), 1 / 1k / 1M leaves (later anchors)',
      value: `receipt ${[1, 1000, 1_000_000].map((n) => fmt(at(n).receiptGas)).join(' / ')}; execution ${[1, 1000, 1_000_000].map((n) => fmt(at(n).executionGas)).join(' / ')}`,
      limit: `first anchor of the organisation: execution ${fmt(v2.find((r) => r.first)!.executionGas)}`,
      ratio: '—',
      target: 'constant, ≤ 90k execution (DESIGN §3 v2)',
      met: constant && Math.max(...exec) <= 90_000,
    });
    details.push(
      `### gas per anchored batch, NotaryRegistryV2\n\nDirect anchors by an ANCHORER key of one organisation on a fresh anvil ` +
        `(MemberDirectory + NotaryRegistryV2; the org is read through the submitter, no storage slot per anchor). Execution = receipt − 21,000 − calldata.\n\n` +
        `| leaves | organisation's first anchor? | receipt gas | execution gas |\n|---|---|---|---|\n` +
        v2
          .map(
            (r) => `| ${fmt(r.leaves)} | ${r.first ? 'yes' : 'no'} | ${fmt(r.receiptGas)} | ${fmt(r.executionGas)} |`,
          )
          .join('\n'),
    );
  });

  await figure('latency', 'submit → receipt latency', async () => {
    const l = await latency(P.latRecords, P.latWindow);
    const med = median(l);
    const p95 = percentile(l, 95);
    rows.push({
      figure: 'submit → receipt latency, embedded chain (block time 1 s)',
      value: `median ${fmt(med)} ms, p95 ${fmt(p95)} ms`,
      limit: `anchor interval ${fmt(INTERVAL_MS)} ms`,
      ratio: `p95 = interval + ${fmt(p95 - INTERVAL_MS)} ms`,
      target: '≤ interval + 2 s',
      met: p95 <= INTERVAL_MS + 2000,
    });
    details.push(
      `### submit → receipt latency\n\n${l.length} records submitted at random times over ${P.latWindow / 1000} s; ` +
        `each polled every 25 ms until its receipt answers 200.\n\n- latencies (ms, sorted): ${runsOf([...l].sort((a, b) => a - b))}`,
    );
  });

  await figure('receipts', 'bulk receipts', async () => {
    const f = await receipts(P.receiptRecords, P.runs);
    const bulk = median(f.bulk);
    const single = median(f.single);
    const k = `${fmt(f.records / 1000)}k`;
    rows.push({
      figure: `receipts of a ${k} batch \`POST /v1/receipts\` (10,000 ids/request, through src/client)`,
      value: `${fmt(bulk)} receipts/s (${f.requestsPerRun} requests for ${fmt(f.records)})`,
      limit: `one request per record (\`GET /v1/records/:id/receipt\`, 8 in flight): ${fmt(single)} receipts/s; NDJSON stream of the batch ${fmt(median(f.ndjson))} receipts/s`,
      ratio: `${(bulk / single).toFixed(1)} × one-per-record`,
      target: `${k} receipts in ≤ ${Math.ceil(f.records / 10_000)} requests, ≥ 10 × one-per-record`,
      met: f.requestsPerRun <= Math.ceil(f.records / 10_000) && bulk / single >= 10,
    });
    details.push(
      `### bulk receipts\n\n${fmt(f.records)} \`document\` records anchored in ${f.batches} batch(es) ` +
        `(ANCHOR_MAX_LEAVES=${f.records}), then all their receipts read ${P.runs} times through \`NotaryClient\` ` +
        `(JSON parsing on the client included).\n\n- \`POST /v1/receipts\` receipts/s: ${runsOf(f.bulk)}\n` +
        `- \`GET /v1/batches/:root/receipts\` (NDJSON) receipts/s: ${runsOf(f.ndjson)}\n` +
        `- one \`GET /v1/records/:id/receipt\` per record, ${fmt(f.singleSample)} records per run, receipts/s: ${runsOf(f.single)}`,
    );
  });

  await figure('storage', 'storage and receipt reads', async () => {
    const f = await storage(P.storageRecords, 1000, P.seconds, P.runs);
    const k = `${fmt(f.records / 1000)}k`;
    const p99 = median(f.receipt.map((r) => r.p99));
    rows.push({
      figure: `bytes on disk per anchored record, SQLite (database + WAL after a checkpoint), ${k} records in batches of ${fmt(f.batchSize)}, worker on`,
      value: `${fmt(f.bytesPerRecord)} bytes/record`,
      limit: `payload ${fmt(f.payloadBytesPerRecord)} bytes/record (canonical JSON)`,
      ratio: `${(f.bytesPerRecord / f.payloadBytesPerRecord).toFixed(1)} × payload`,
      target: '≤ 600 bytes/record, payload included',
      met: f.bytesPerRecord <= 600,
    });
    rows.push({
      figure: `receipt read \`GET /v1/records/:id/receipt\`, 50 connections, random records of ${f.batches} batches`,
      value: `${fmt(median(f.receipt.map((r) => r.rps)))} req/s, p99 ${fmt(p99)} ms`,
      limit: `worker's batch transaction ${fmt(f.batchTxMs, 1)} ms per ${fmt(f.batchSize)}-record batch`,
      ratio: '—',
      target: 'p99 ≤ 10 ms',
      met: p99 <= 10,
    });
    details.push(
      `### storage and receipt reads\n\n${fmt(f.records)} \`document\` records submitted (1,000 per request, 2 in flight) ` +
        `and anchored in ${f.batches} batches (worker on, block time 1 s) in ${fmt(f.ingestSeconds)} s; then ` +
        `\`PRAGMA wal_checkpoint(TRUNCATE)\` and the file sizes: database ${fmt(f.dbBytes)} bytes, WAL ${fmt(f.walBytes)} bytes. ` +
        `The batch transaction is \`notary_batch_store_seconds\` / \`notary_batches_built\` from /metrics.\n\n` +
        loadLines('`GET /v1/records/:id/receipt`, 50 connections, 1,000 random records', f.receipt) +
        (f.objects.length
          ? `\n- bytes per record by table and index (dbstat): ${f.objects
              .slice(0, 8)
              .map((o) => `${o.name} ${fmt(o.bytes / f.records)}`)
              .join(', ')}`
          : ''),
    );
  });

  // Sustained end to end (issue 18): one run per database (a million records take minutes); N configurable.
  const sustainedN = Number(process.env.BENCH_SUSTAINED_RECORDS ?? (quick ? 100_000 : 1_000_000));
  for (const db of ['sqlite', 'pg'] as const) {
    const name = db === 'pg' ? 'PostgreSQL' : 'SQLite';
    await figure('sustained', `sustained end to end, ${name}`, async () => {
      const f = await sustained(sustainedN, db);
      const met = f.recordsPerSecond >= 15_000 && f.peakRssMiB <= 1024 && f.bytesPerRecord <= 600;
      rows.push({
        figure: `sustained end to end, ${name}: ${fmt(f.records)} records, 1,000/request, 2 in flight, until all anchored`,
        value: `${fmt(f.recordsPerSecond)} records/s; peak RSS ${fmt(f.peakRssMiB)} MiB (PSS ${fmt(f.peakPssMiB)} MiB); ${fmt(f.bytesPerRecord)} bytes/record`,
        limit: `ingest alone ${fmt(f.records / f.ingestSeconds)} records/s; payload ${fmt(f.payloadBytesPerRecord)} bytes/record`,
        ratio: `end to end / ingest ${(f.ingestSeconds / f.endToEndSeconds).toFixed(2)} ×`,
        target: '≥ 15,000 records/s, peak RSS ≤ 1 GiB, ≤ 600 bytes/record',
        met,
      });
      details.push(
        `### sustained end to end, ${name}\n\n${fmt(f.records)} \`document\` records, ${f.perRequest} per request, ` +
          `${f.inFlight} in flight, worker ${f.worker}; ingest ${fmt(f.ingestSeconds, 1)} s, last anchor at ` +
          `${fmt(f.endToEndSeconds, 1)} s, ${fmt(f.batches)} batches. Ingest rate per ${fmt(f.stepRecords)} records: ` +
          `${f.ingestRatePerStep.map((x) => fmt(x)).join(' → ')} records/s. Peak RSS per process (MiB): ` +
          `${Object.entries(f.peakRssByProcessMiB)
            .map(([k, v]) => `${k} ${fmt(v)}`)
            .join(', ')}; peak PSS per process (MiB): ${Object.entries(f.peakPssByProcessMiB)
            .map(([k, v]) => `${k} ${fmt(v)}`)
            .join(
              ', ',
            )}. On disk ${fmt(f.diskBytes)} bytes${db === 'pg' ? ' (pg_database_size after − before the first record)' : ' (database + WAL after a TRUNCATE checkpoint)'}.`,
      );
    });
  }

  const m1 = machine();
  const totalS = (performance.now() - t0) / 1000;
  const table = [
    '| figure | measured (median) | limit, same run | ratio | target | met |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.figure} | ${r.value} | ${r.limit} | ${r.ratio} | ${r.target} | ${r.met === null ? '' : r.met ? 'yes' : '**no**'} |`,
    ),
  ].join('\n');
  console.log(`\n${table}\n\n(${totalS.toFixed(0)} s; load average ${m0.load} → ${m1.load})`);

  const md = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench' +
      (quick ? ' -- --quick' : '') +
      (onlyArg ? ` -- --only=${onlyArg}` : '') +
      '` (bench/run.ts). Each figure stands next to its limit, measured in the same run on the same machine; figures are medians of the runs listed under Details.',
    '',
    `- machine: ${m0.cores} cores, ${m0.ramGiB} GiB RAM, ${m0.cpu}; ${m0.os}`,
    `- Node ${m0.node}; date ${m0.date}; whole run ${totalS.toFixed(0)} s`,
    `- load average at start ${m0.load}, at end ${m1.load}${quick ? '; **--quick**: smaller sizes, indicative only' : ''}`,
    '',
    table,
    '',
    fs.readFileSync(path.join(ROOT, 'bench', 'NOTES.md'), 'utf8').trim(),
    '',
    '## Details',
    '',
    details.join('\n\n'),
    '',
  ].join('\n');
  const out = path.join(ROOT, 'BENCHMARKS.md');
  // Formatted like the rest of the repository (`npm run format:check` covers it).
  const formatted = await prettier.format(md, { ...(await prettier.resolveConfig(out)), filepath: out });
  if (!only) fs.writeFileSync(out, formatted);
  else log('--only: BENCHMARKS.md not rewritten');
}

function loadLines(name: string, rs: LoadResult[]): string {
  return `- ${name}: req/s ${runsOf(rs.map((r) => r.rps))}; p50 ${runsOf(rs.map((r) => r.p50))} ms; p99 ${runsOf(rs.map((r) => r.p99))} ms`;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
