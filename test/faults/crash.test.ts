import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import 'reflect-metadata';
import { freePort } from '../../src/chain/anvil';
import type { DemoFile } from '../../src/cli/runtime';
import {
  HOOKED_START_SCRIPT,
  IngestClient,
  ServerProc,
  auditStored,
  enqueueDemoRecords,
  waitConfirmed,
} from './helpers';

/**
 * kill -9 of the REAL server (node scripts/start.cjs + its embedded anvil, one process group: a machine
 * crash — anvil loses up to its last second of blocks) at every point of the anchoring state machine and at
 * random points of ingest, restarted on the same data folder each time, while a client keeps submitting
 * thousands of records and re-sends what was not acknowledged. In the end every acknowledged record is
 * anchored exactly once and its receipt verifies against the chain.
 */

const RECORDS_PER_ORG = 1500;
const PER_REQUEST = 100;

/** Seeded PRNG (mulberry32): reproducible random kill delays; override with FAULT_SEED. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What each crash cycle waits for before kill -9: a worker step (the hooked start pauses there) or a random delay. */
type Kill =
  { at: 'random'; minMs: number; maxMs: number } | { at: 'built' | 'broadcast-unrecorded' | 'broadcast' | 'mined' };
const CYCLES: Kill[] = [
  { at: 'random', minMs: 200, maxMs: 1500 }, // during ingest, maybe mid-request
  { at: 'built' }, // batch + leaves + signed tx committed, nothing broadcast
  { at: 'broadcast-unrecorded' }, // broadcast, the database still says 'signed'
  { at: 'random', minMs: 0, maxMs: 800 }, // right after a restart: reconcile / resume in progress
  { at: 'broadcast' }, // 'sent', not mined yet
  { at: 'mined' }, // anchored, not confirmed (CONFIRMATIONS=2); anvil may lose that block
  { at: 'random', minMs: 500, maxMs: 2500 },
];

describe(
  'crash: kill -9 of server + chain at every anchoring step, restart, exactly-once',
  { timeout: 240_000 },
  () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-crash-'));
    let server: ServerProc | undefined;

    after(async () => {
      await server?.kill9();
      if (process.env.FAULT_LOG && server) fs.writeFileSync(process.env.FAULT_LOG, server.output.join('\n') + '\n');
      if (process.env.FAULT_KEEP_DATA) console.log(`data kept in ${dataDir}`);
      else fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('every acknowledged record ends anchored exactly once, nothing lost, receipts verify', async () => {
      const seed = Number(process.env.FAULT_SEED ?? 20251125);
      const rnd = prng(seed);
      const [port, chainPort] = [await freePort(), await freePort()];
      server = new ServerProc('server', port, {
        DATA_DIR: dataDir,
        CHAIN_PORT: String(chainPort),
        ANCHOR_INTERVAL_MS: '150',
        ANCHOR_MAX_LEAVES: '400',
        CONFIRMATIONS: '2',
        RATE_LIMIT_MAX: '1000000',
        LOG_LEVEL: 'info',
      });
      const log: string[] = [];
      const t0 = Date.now();

      // First start (deploys the registries, creates the demo organisations).
      const hooked = (env: Record<string, string> = {}) => ({
        script: HOOKED_START_SCRIPT,
        env: { FAULT_LEASE_MS: '1500', ...env },
      });
      server.start(hooked());
      log.push(`first start ready in ${await server.waitReady()} ms`);
      const demo = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo.json'), 'utf8')) as DemoFile;
      const orgs = ['bank', 'aerospace'].map((id) => demo.orgs.find((o) => o.id === id)!);

      const client = new IngestClient();
      enqueueDemoRecords(client, orgs, { perOrg: RECORDS_PER_ORG, perRequest: PER_REQUEST, baseOf: () => server!.url });
      // Paced so that ingest spans several crash cycles (~1.7 requests/s while the server is up; asserted below).
      const ingest = client.run({ concurrency: 2, pauseMs: 1200 });

      const kills: string[] = [];
      const ackedAtKill: number[] = [];
      for (const [i, k] of CYCLES.entries()) {
        if (i > 0) {
          server.start(hooked(k.at === 'random' ? {} : { FAULT_PAUSE_AT: k.at }));
          await server.waitReady();
        }
        let what: string;
        if (k.at === 'random') {
          const ms = Math.round(k.minMs + rnd() * (k.maxMs - k.minMs));
          await new Promise((r) => setTimeout(r, ms));
          what = `random +${ms} ms`;
        } else {
          const line = await server.waitLine(/^\[fault\] paused at /, 15_000);
          what = line ? `at ${k.at}` : `at ${k.at} (step not reached in 15 s: killed anyway)`;
        }
        await server.kill9();
        ackedAtKill.push(client.acked.size);
        kills.push(`${what}, ${client.acked.size} acked`);
        server.output.push(`---- kill -9 ${what} at ${Date.now() - t0} ms`);
      }

      assert.ok(
        ackedAtKill[1]! < RECORDS_PER_ORG * orgs.length,
        `ingest must still be running at the second kill (acked: ${ackedAtKill.join(', ')})`,
      );

      // Last start: plain `node scripts/start.cjs`, no hooks. Ingest finishes, the backlog drains.
      server.start();
      await server.waitReady();
      const tRecover = Date.now();
      server.output.push(`---- last start ready at ${tRecover - t0} ms`);
      await ingest;
      assert.equal(client.acked.size, RECORDS_PER_ORG * orgs.length, 'every record was acknowledged in the end');
      const keyOf = (org: string) => orgs.find((o) => o.id === org)!.apiKey;
      const drainMs = await waitConfirmed(client.acked.values(), () => server!.url, keyOf, 150_000).catch((err) => {
        // Leave the evidence in the CI log: what the server said last.
        console.log(server!.output.slice(-120).join('\n'));
        throw err;
      });
      log.push(`drained in ${Date.now() - tRecover} ms after the last restart (${drainMs} ms after ingest ended)`);

      const { audit: result, more } = await auditStored({
        database: { sqlitePath: path.join(dataDir, 'notary.db') },
        demo,
        orgs,
        base: server.url,
        acked: client.acked.values(),
        more: async (db) => ({
          outbox: await db.dataSource.query(
            `SELECT kind, status, count(*) AS n FROM tx_outbox GROUP BY kind, status ORDER BY kind, status`,
          ),
          replaced: await db.dataSource.query(
            `SELECT error, count(*) AS n FROM tx_outbox WHERE status <> 'mined' GROUP BY error`,
          ),
        }),
      });
      const { outbox, replaced } = more!;
      console.log(
        [
          `crash test (seed ${seed}): ${client.acked.size} records acknowledged, ${kills.length} kill -9:`,
          ...kills.map((k, i) => `  kill ${i + 1}: ${k}`),
          ...log.map((l) => `  ${l}`),
          `  client: ${JSON.stringify(client.stats)}`,
          `  audit: ${JSON.stringify(result)}`,
          `  outbox: ${JSON.stringify(outbox)}`,
          `  non-mined transactions: ${JSON.stringify(replaced)}`,
          `  re-anchor/reorg warnings: ${server.output.filter((l) => /missing on chain|signed again|reorged/.test(l)).length}`,
          `  total ${((Date.now() - t0) / 1000).toFixed(1)} s`,
        ].join('\n'),
      );
      await server.stop();
    });
  },
);
