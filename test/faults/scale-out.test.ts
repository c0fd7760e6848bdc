import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import 'reflect-metadata';
import { Client } from 'pg';
import { freePort } from '../../src/chain/anvil';
import type { DemoFile } from '../../src/cli/runtime';
import { PG_AVAILABLE, createPgDatabase } from '../helpers/db';
import { api } from '../helpers/instance';
import { documentPayload } from '../helpers/payloads';
import * as P from '../../scripts/lib/pilot-payloads';
import {
  HOOKED_START_SCRIPT,
  IngestClient,
  ServerProc,
  auditStored,
  enqueueDemoRecords,
  waitConfirmed,
  type Submitted,
} from './helpers';

/**
 * Scale-out: two API processes, each with its anchoring worker, on ONE PostgreSQL database and ONE chain.
 * Process 1 is the embedded default (starts anvil, deploys, creates the demo orgs); process 2 joins with RPC_URL,
 * DEPLOYMENT_FILE and the same keystore. Both take submissions at once (some requests raced through both),
 * claims of the same invoice race through both, and the per-organisation leases are short (0.5 s, via the
 * hooked start) so they change hands under load. Then: no batch anchored twice, each record in exactly one
 * batch, every org's batches one hash chain equal to the registry's, nothing lost, one winner per invoice.
 */

const RECORDS_PER_ORG = 800;
const PER_REQUEST = 100;
// DATABASE_URL makes this a production-like run: notary start refuses the development secrets (issue 11).
const KEYSTORE_PASSWORD = 'scale-out-test-keystore-password';
const PRODUCTION_SECRETS = {
  KEYSTORE_PASSWORD,
  KEYSTORE_SCRYPT_N: '131072',
  CONSORTIUM_SECRET: 'scale-out-test-consortium-secret-of-32-bytes',
};

describe(
  'scale-out: two API processes + two workers on one PostgreSQL database and one chain',
  { skip: !PG_AVAILABLE, timeout: 200_000 },
  () => {
    const dir1 = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-scale1-'));
    const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-scale2-'));
    let p1: ServerProc | undefined;
    let p2: ServerProc | undefined;
    let drop: (() => Promise<void>) | undefined;

    after(async () => {
      await p2?.stop();
      await p1?.stop();
      if (process.env.FAULT_LOG)
        fs.writeFileSync(process.env.FAULT_LOG, [...(p1?.output ?? []), ...(p2?.output ?? [])].join('\n'));
      await drop?.();
      fs.rmSync(dir1, { recursive: true, force: true });
      fs.rmSync(dir2, { recursive: true, force: true });
    });

    it('no batch twice, no record lost, one hash chain per org, one winner per claimed invoice', async () => {
      const pg = await createPgDatabase();
      drop = pg.drop;
      const common = {
        DATABASE_URL: pg.url,
        ANCHOR_INTERVAL_MS: '150',
        ANCHOR_MAX_LEAVES: '300',
        CONFIRMATIONS: '1',
        RATE_LIMIT_MAX: '1000000',
        FAULT_LEASE_MS: '500',
        ...PRODUCTION_SECRETS,
      };
      p1 = new ServerProc('api1', await freePort(), {
        ...common,
        DATA_DIR: dir1,
        CHAIN_PORT: String(await freePort()),
      });
      p1.start({ script: HOOKED_START_SCRIPT });
      await p1.waitReady();
      const demo = JSON.parse(fs.readFileSync(path.join(dir1, 'demo.json'), 'utf8')) as DemoFile;
      p2 = new ServerProc('api2', await freePort(), {
        ...common,
        DATA_DIR: dir2,
        RPC_URL: demo.rpcUrl,
        DEPLOYMENT_FILE: path.join(dir1, 'deployment.json'),
        KEYSTORE_DIR: path.join(dir1, 'keystore'),
      });
      p2.start({ script: HOOKED_START_SCRIPT });
      await p2.waitReady();
      const bases = [p1.url, p2.url];

      // Lease monitor: who holds each organisation's anchoring lease, sampled every 25 ms.
      const mon = new Client({ connectionString: pg.url });
      await mon.connect();
      const holders = new Map<string, string[]>(); // lease -> sequence of distinct holders
      let monitoring = true;
      const monitor = (async () => {
        while (monitoring) {
          const { rows } = await mon.query<{ name: string; holder: string }>('SELECT name, holder FROM leases');
          for (const r of rows) {
            const seq = holders.get(r.name) ?? [];
            if (seq[seq.length - 1] !== r.holder) seq.push(r.holder);
            holders.set(r.name, seq);
          }
          await new Promise((r) => setTimeout(r, 25));
        }
      })();

      const orgs = ['bank', 'aerospace', 'employer'].map((id) => demo.orgs.find((o) => o.id === id)!);
      const client = new IngestClient();
      enqueueDemoRecords(client, orgs, {
        perOrg: RECORDS_PER_ORG,
        perRequest: PER_REQUEST,
        prefix: 'SC-',
        baseOf: (i) => bases[i % 2]!,
      });
      const ingest = client.run({ concurrency: 4, pauseMs: 50 });

      // The same request through both APIs at once: both answers name the same records.
      const raced: Submitted[] = Array.from({ length: 50 }, (_, j) => ({
        org: 'bank',
        type: 'document',
        externalId: `SC-RACE-${j}`,
        payload: documentPayload(100_000 + j),
      }));
      const body = { records: raced.map(({ type, externalId, payload }) => ({ type, externalId, payload })) };
      const bank = orgs[0]!;
      const [r1, r2] = await Promise.all(
        bases.map((b) => api(b, 'POST', '/v1/records/batch', { key: bank.apiKey, body })),
      );
      assert.equal(r1.status, 200);
      assert.equal(r2.status, 200);
      assert.deepEqual(
        r1.body.records.map((r: { id: string }) => r.id),
        r2.body.records.map((r: { id: string }) => r.id),
        'one record per externalId, whichever API answered',
      );
      raced.forEach((it, j) =>
        client.acked.set(`bank/${it.externalId}`, {
          ...it,
          id: r1.body.records[j].id,
          commitment: r1.body.records[j].commitment,
        }),
      );

      // Claims of the same invoice through both processes at once (employer via api1, bank via api2).
      const aero = orgs[1]!;
      const employer = orgs[2]!;
      const claimResults: number[][] = [];
      for (let i = 0; i < 3; i++) {
        const inv = await api(p1.url, 'POST', '/v1/records', {
          key: aero.apiKey,
          body: { type: 'invoice.issued', externalId: `SC-CLAIM-INV-${i}`, payload: P.invoice(`SC-${i}`) },
        });
        assert.equal(inv.status, 202, JSON.stringify(inv.body));
        // The bank claims through its own record of the same paper invoice (a claim names only invoices its
        // organisation may read); one invoice key, so the chain lets one claim win.
        const copy = await api(p2.url, 'POST', '/v1/records', {
          key: bank.apiKey,
          body: { type: 'invoice.issued', externalId: `SC-CLAIM-INV-COPY-${i}`, payload: P.invoice(`SC-${i}`) },
        });
        assert.equal(copy.status, 202, JSON.stringify(copy.body));
        const [a, b]: Awaited<ReturnType<typeof api>>[] = await Promise.all([
          api(p1.url, 'POST', '/v1/claims', {
            key: employer.apiKey,
            body: { externalId: `SC-E-${i}`, payload: P.claim(`E-${i}`), invoices: [inv.body.id] },
          }),
          api(p2.url, 'POST', '/v1/claims', {
            key: bank.apiKey,
            body: { externalId: `SC-B-${i}`, payload: P.claim(`B-${i}`), invoices: [copy.body.id] },
          }),
        ]);
        const statuses: number[] = [a!.status, b!.status].sort();
        claimResults.push(statuses);
        assert.deepEqual(statuses, [201, 409], `claim race ${i}: ${JSON.stringify([a!.body, b!.body]).slice(0, 600)}`);
        const loser = a!.status === 409 ? a! : b!;
        assert.equal(loser.body.code, 'INVOICE_ALREADY_CLAIMED');
      }

      await ingest;
      assert.equal(client.acked.size, RECORDS_PER_ORG * orgs.length + raced.length);
      const keyOf = (org: string) => orgs.find((o) => o.id === org)!.apiKey;
      let turn = 0;
      const drainMs = await waitConfirmed(client.acked.values(), () => bases[turn++ % 2]!, keyOf, 120_000);
      monitoring = false;
      await monitor;
      await mon.end();

      const { audit: result } = await auditStored({
        database: { url: pg.url, poolSize: 2 },
        demo,
        orgs,
        base: p2!.url,
        acked: client.acked.values(),
        // Each record in exactly one batch; batches of one org never share records.
        more: async (db) => {
          const dup: { n: string }[] = await db.dataSource.query(
            `SELECT count(*) AS n FROM (SELECT org_id, type, external_id FROM records WHERE external_id IS NOT NULL GROUP BY org_id, type, external_id HAVING count(*) > 1) d`,
          );
          assert.equal(Number(dup[0]!.n), 0, 'one record per (org, type, externalId)');
        },
      });
      const handovers = [...holders.entries()].map(
        ([name, seq]) => `${name}: ${seq.length} holder change(s) over ${new Set(seq).size} worker(s)`,
      );
      const built = [p1, p2].map(
        (p) => `${p.name} ${p.output.filter((l) => /batch raced/.test(l)).length} fenced batch builds`,
      );
      console.log(
        [
          `scale-out: ${client.acked.size} records through 2 APIs, drained ${drainMs} ms after ingest`,
          `  audit: ${JSON.stringify(result)}`,
          `  claim races: ${JSON.stringify(claimResults)}`,
          `  leases: ${handovers.join('; ')}`,
          `  ${built.join(', ')}`,
          `  client: ${JSON.stringify(client.stats)}`,
        ].join('\n'),
      );
    });
  },
);
