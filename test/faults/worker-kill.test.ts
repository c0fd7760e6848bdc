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
 * The anchoring worker runs in its own process (WORKER=process, the default of `npm start`). kill -9 of THAT
 * process only — the API process and the chain keep running — once right after it committed a batch (`built`:
 * batch, leaf positions and the signed transaction stored, nothing broadcast) and once at a random point, while
 * a client keeps submitting. The API keeps answering, the supervisor starts a new worker process each time, and
 * in the end every acknowledged record is anchored exactly once (auditAnchoring: one Anchored event per root,
 * the registry's chain equals the stored batches, no open transaction, every receipt verifies).
 */

const RECORDS_PER_ORG = 600;
const PER_REQUEST = 100;

const workerPid = (line: string | null) => Number(/process (\d+) running/.exec(line ?? '')?.[1] ?? NaN);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('worker process: kill -9 of the anchoring worker alone, restarted by npm start, exactly-once', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-wkill-'));
  let server: ServerProc | undefined;

  after(async () => {
    await server?.kill9();
    if (process.env.FAULT_LOG && server) fs.writeFileSync(process.env.FAULT_LOG, server.output.join('\n') + '\n');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'nothing lost, nothing anchored twice, the worker restarted, the API up throughout',
    { timeout: 240_000 },
    async () => {
      const [port, chainPort] = [await freePort(), await freePort()];
      server = new ServerProc('server', port, {
        DATA_DIR: dataDir,
        CHAIN_PORT: String(chainPort),
        ANCHOR_INTERVAL_MS: '150',
        ANCHOR_MAX_LEAVES: '200',
        CONFIRMATIONS: '1',
        RATE_LIMIT_MAX: '1000000',
      });
      // The lease stays at its default (15 s): the supervisor drops the dead worker's leases itself.
      server.start({
        script: HOOKED_START_SCRIPT,
        env: { FAULT_PAUSE_AT: 'built', FAULT_PAUSE_ONCE: path.join(dataDir, 'paused-once') },
      });
      await server.waitReady();
      const apiPid = server.child!.pid!;
      const first = workerPid(await server.waitLine(/anchoring worker: process \d+ running/, 60_000));
      assert.ok(first > 0, `no worker process started:\n${server.tail()}`);
      assert.notEqual(first, apiPid);

      const demo = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo.json'), 'utf8')) as DemoFile;
      const orgs = ['bank', 'aerospace'].map((id) => demo.orgs.find((o) => o.id === id)!);
      const client = new IngestClient();
      enqueueDemoRecords(client, orgs, { perOrg: RECORDS_PER_ORG, perRequest: PER_REQUEST, baseOf: () => server!.url });
      const ingest = client.run({ concurrency: 2, pauseMs: 300 });

      // 1. Mid-batch: the worker committed a batch and its signed transaction, then hangs (hook); kill -9 it.
      const paused = await server.waitLine(/^\[fault\] paused at built /, 60_000);
      assert.ok(paused, `the worker never reached 'built':\n${server.tail()}`);
      process.kill(first, 'SIGKILL');
      const restarted1 = await server.waitLine(
        new RegExp(`anchoring worker process ${first} killed by SIGKILL`),
        20_000,
      );
      assert.ok(restarted1, `the supervisor did not notice the dead worker:\n${server.tail()}`);
      const second = workerPid(
        await server.waitLine(new RegExp(`anchoring worker: process (?!${first}\\b)\\d+ running`), 60_000),
      );
      assert.ok(second > 0 && second !== first, `no second worker process:\n${server.tail()}`);
      assert.equal((await fetch(`${server.url}/health`)).status, 200, 'the API answers while the worker restarts');

      // 2. At a random point of the second worker's life (resume of the stored batch, new batches, confirmations).
      await new Promise((r) => setTimeout(r, 400 + Math.floor(Math.random() * 1200)));
      process.kill(second, 'SIGKILL');
      const third = workerPid(
        await server.waitLine(
          new RegExp(`anchoring worker: process (?!(?:${first}|${second})\\b)\\d+ running`),
          60_000,
        ),
      );
      assert.ok(third > 0, `no third worker process:\n${server.tail()}`);

      await ingest;
      assert.equal(client.acked.size, RECORDS_PER_ORG * orgs.length, 'every record was acknowledged');
      const keyOf = (org: string) => orgs.find((o) => o.id === org)!.apiKey;
      await waitConfirmed(client.acked.values(), () => server!.url, keyOf, 120_000).catch((err) => {
        console.log(server!.output.slice(-80).join('\n'));
        throw err;
      });
      assert.equal(server.child?.pid, apiPid, 'the API process never restarted');
      assert.ok(!alive(first) && !alive(second), 'the killed workers are gone');
      assert.ok(alive(third), 'the third worker runs');
      const ready = (await (await fetch(`${server.url}/ready`)).json()) as { checks: { anchoring: { ok: boolean } } };
      assert.equal(ready.checks.anchoring.ok, true, 'anchoring healthy again');

      const { audit } = await auditStored({
        database: { sqlitePath: path.join(dataDir, 'notary.db') },
        demo,
        orgs,
        base: server.url,
        acked: client.acked.values(),
      });
      console.log(`worker kill: workers ${first} → ${second} → ${third}; audit ${JSON.stringify(audit)}`);
      // Graceful stop: the third worker finishes its tick and exits with the API process.
      await server.stop();
      assert.ok(!alive(third), 'the worker stopped with npm start');
    },
  );
});
