// Receipts of a 50k batch: 50,000 records anchored in ONE batch (ANCHOR_MAX_LEAVES=50000 and a long interval, so
// the worker builds the batch once all are waiting), then all their receipts fetched through the client:
// POST /v1/receipts (10,000 ids per request), the batch streamed as NDJSON (GET /v1/batches/:root/receipts),
// and next to them the one-request-per-record way (GET /v1/records/:id/receipt, 8 in flight, on a sample).
// Standalone: `node -r ts-node/register bench/receipts.ts [records] [runs]` prints one JSON line.
import { randomBytes } from 'node:crypto';
import { NotaryClient } from '../src/client';
import { median, startServer } from './lib';

export interface ReceiptsFigures {
  records: number;
  batches: number;
  /** receipts/s of each timed run through POST /v1/receipts. */
  bulk: number[];
  /** receipts/s of each run of the NDJSON stream of the batch. */
  ndjson: number[];
  /** receipts/s of GET /v1/records/:id/receipt, one request per record (8 in flight), per run. */
  single: number[];
  singleSample: number;
  requestsPerRun: number;
}

export async function receipts(records = 50_000, runs = 3, singleSample = 2000): Promise<ReceiptsFigures> {
  const server = await startServer({
    env: {
      RATE_LIMIT_MAX: '1000000',
      ANCHOR_MAX_LEAVES: String(records),
      ANCHOR_INTERVAL_MS: '600000',
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
      externalId: `rcpt-${tag}-${i}`,
      payload: { title: `Receipt bench ${i}`, body: `record ${i} of ${records}` },
    }));
    const sub = await client.submitMany(inputs, { chunkSize: 10_000, concurrency: 2 });
    if (sub.accepted !== records) throw new Error(`only ${sub.accepted} of ${records} accepted`);
    const ids = sub.records.map((r) => ('id' in r ? r.id : ''));
    const wait = await client.waitForReceipts(ids, { timeoutMs: 600_000, maxIntervalMs: 1000 });
    if (wait.outcome !== 'complete') throw new Error(`receipts: ${wait.outcome}, ${wait.pending.length} pending`);
    const roots = new Set([...wait.receipts.values()].map((r) => r.proof.root));

    const bulk: number[] = [];
    const ndjson: number[] = [];
    const single: number[] = [];
    let requestsPerRun = 0;
    for (let run = 0; run < runs; run++) {
      const before = client.requests;
      let t = performance.now();
      const r = await client.receipts(ids);
      bulk.push(records / ((performance.now() - t) / 1000));
      requestsPerRun = client.requests - before;
      if (r.ready !== records) throw new Error(`bulk: ${r.ready} of ${records} ready`);

      t = performance.now();
      let n = 0;
      for (const root of roots) for await (const _ of client.batchReceipts(root)) n++;
      ndjson.push(n / ((performance.now() - t) / 1000));
      if (n !== records) throw new Error(`ndjson: ${n} of ${records}`);

      const sample = ids.slice(run * singleSample, (run + 1) * singleSample);
      t = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < sample.length) await client.receipt(sample[next++]!);
        }),
      );
      single.push(sample.length / ((performance.now() - t) / 1000));
    }
    return { records, batches: roots.size, bulk, ndjson, single, singleSample, requestsPerRun };
  } finally {
    await server.stop();
  }
}

if (require.main === module) {
  const [records, runs] = process.argv.slice(2).map(Number);
  receipts(records || 50_000, runs || 3).then(
    (f) => {
      process.stderr.write(
        `[receipts] ${f.records} records in ${f.batches} batch(es): bulk ${Math.round(median(f.bulk))} receipts/s ` +
          `(${f.requestsPerRun} requests), NDJSON ${Math.round(median(f.ndjson))}/s, single ${Math.round(median(f.single))}/s\n`,
      );
      console.log(JSON.stringify(f));
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
