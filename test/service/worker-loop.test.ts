import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPgDatabase, PG_AVAILABLE } from '../helpers/db';
import { invoicePayload } from '../helpers/payloads';
import { ORG_A, setUpChain, type ChainFixture } from '../chain/helpers';
import type { ChainProvider } from '../../src/chain/provider';
import { fromPrivateKeys } from '../../src/chain/keystore';
import { ChainGateway } from '../../src/chain/gateway';
import { Database } from '../../src/storage/db';
import { SqlStore } from '../../src/storage/sql-repo';
import { RecordService } from '../../src/service/records';
import { AnchorService, anchorLease } from '../../src/service/anchoring';
import { ClaimReconciler, ClaimService, CLAIMS_LEASE } from '../../src/service/claims';
import { WorkerLoop, type Leases, type LoopJob } from '../../src/service/worker-loop';
import { initHashing } from '../../src/domain/hashing';
import { api, eventually, startInstance, type Instance } from '../helpers/instance';

/**
 * The one leased polling loop of the worker (src/service/worker-loop.ts): two loops on one database (two worker
 * processes, each with its own connection), real leases in the `leases` table.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Two {
  a: SqlStore;
  b: SqlStore;
  close(): Promise<void>;
}

/** One database, two connections (as two worker processes have). */
const kinds: { name: string; skip: boolean; open(): Promise<Two> }[] = [
  {
    name: 'sqlite',
    skip: false,
    async open() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-loop-'));
      const file = path.join(dir, 'notary.db');
      const a = await Database.open({ sqlitePath: file });
      const b = await Database.open({ sqlitePath: file, migrate: false });
      return {
        a: new SqlStore(a),
        b: new SqlStore(b),
        close: async () => {
          await a.close();
          await b.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: !PG_AVAILABLE,
    async open() {
      const { url, drop } = await createPgDatabase();
      const a = await Database.open({ url, poolSize: 3 });
      const b = await Database.open({ url, poolSize: 3, migrate: false });
      return {
        a: new SqlStore(a),
        b: new SqlStore(b),
        close: async () => {
          await a.close();
          await b.close();
          await drop();
        },
      };
    },
  },
];

async function leaseRows(s: SqlStore): Promise<Record<string, string>> {
  const rows = await s.db.read((sql) => sql.query<{ name: string; holder: string }>('SELECT name, holder FROM leases'));
  return Object.fromEntries(rows.map((r) => [r.name, r.holder]));
}

/** Who was inside a lease's critical section, and when each successful take began and returned. */
interface Inside {
  holders: string[];
  now: Set<string>;
  overlaps: number;
  takes: { holder: string; before: number; after: number }[];
}
const newInside = (): Inside => ({ holders: [], now: new Set(), overlaps: 0, takes: [] });

/** A job that works only under lease `name`, and records who was inside when. */
function leasedJob(name: string, leaseMs: number, inside: Inside) {
  let ticks = 0;
  const job: LoopJob & { ticks(): number } = {
    name: `job ${name}`,
    everyMs: 5,
    ticks: () => ticks,
    async tick(leases: Leases) {
      ticks++;
      const before = Date.now();
      if (!(await leases.take(name, leaseMs))) return;
      inside.takes.push({ holder: leases.holder, before, after: Date.now() });
      if (inside.now.size) inside.overlaps++;
      inside.now.add(leases.holder);
      if (inside.holders[inside.holders.length - 1] !== leases.holder) inside.holders.push(leases.holder);
      await sleep(15);
      inside.now.delete(leases.holder);
    },
  };
  return job;
}

for (const kind of kinds) {
  describe(`WorkerLoop: two loops on one ${kind.name} database`, { skip: kind.skip }, () => {
    let db: Two;
    before(async () => {
      db = await kind.open();
    });
    after(async () => db?.close());

    it('one holder per lease at a time: the other loop keeps ticking but never enters', async () => {
      const inside = newInside();
      const ja = leasedJob('t:one', 10_000, inside);
      const jb = leasedJob('t:one', 10_000, inside);
      const a = new WorkerLoop(db.a, [ja]);
      const b = new WorkerLoop(db.b, [jb]);
      a.start();
      await a.nextTick();
      b.start();
      await sleep(300);
      await b.stop();
      await a.stop();
      assert.equal(inside.overlaps, 0, 'two holders inside at once');
      assert.deepEqual(inside.holders, [a.holder], 'only the first holder worked under the lease');
      assert.ok(jb.ticks() >= 5 && ja.ticks() >= 5, `both loops ticked: ${ja.ticks()} / ${jb.ticks()}`);
    });

    it('a lease that expired (a killed holder) goes to the other loop; never both at once', async () => {
      const inside = newInside();
      // 1 s leases, 15 ms inside: the holder renews it every tick; a killed one (no stop, no drop) loses it.
      const LEASE = 1_000;
      const ja = leasedJob('t:expire', LEASE, inside);
      const jb = leasedJob('t:expire', LEASE, inside);
      const a = new WorkerLoop(db.a, [ja]);
      const b = new WorkerLoop(db.b, [jb]);
      try {
        a.start();
        await a.nextTick();
        b.start();
        await sleep(200);
        assert.deepEqual(inside.holders, [a.holder]);
        // "kill" a: its timer stops (as a dead process's would), its lease is not dropped.
        (a as unknown as { stopped: boolean }).stopped = true;
        await eventually(async () => inside.holders.length > 1, 10_000, 20);
        assert.equal((await leaseRows(db.a))['t:expire'], b.holder);
        assert.deepEqual(inside.holders, [a.holder, b.holder]);
        assert.equal(inside.overlaps, 0);
        // Not before a's last renewal expired.
        const lastA = inside.takes.filter((t) => t.holder === a.holder).pop()!;
        const firstB = inside.takes.find((t) => t.holder === b.holder)!;
        assert.ok(
          firstB.after >= lastA.before + LEASE,
          `b took over ${firstB.after - lastA.before} ms after a renewed`,
        );
      } finally {
        await b.stop();
        await a.stop();
      }
    });

    it('stop finishes the tick in progress, drops the leases; the other loop takes over at its next tick', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let finished = false;
      let entered!: () => void;
      const inTick = new Promise<void>((r) => (entered = r));
      const slow: LoopJob = {
        name: 'slow',
        everyMs: 5,
        async tick(leases) {
          if (!(await leases.take('t:stop', 60_000))) return;
          if (!(await leases.take('t:stop:2', 60_000))) return;
          entered();
          await gate;
          finished = true;
        },
      };
      const took = new Set<string>();
      const other: LoopJob = {
        name: 'other',
        everyMs: 5,
        async tick(leases) {
          for (const n of ['t:stop', 't:stop:2']) if (await leases.take(n, 60_000)) took.add(n);
        },
      };
      const a = new WorkerLoop(db.a, [slow]);
      const b = new WorkerLoop(db.b, [other]);
      a.start();
      await inTick;
      b.start();
      await b.nextTick();
      await b.nextTick();
      assert.deepEqual([...took], [], 'leases of 60 s: the other loop waits');
      let stopped = false;
      const stopping = a.stop().then(() => (stopped = true));
      await sleep(50);
      assert.equal(stopped, false, 'stop waits for the tick in progress');
      assert.deepEqual(await leaseRows(db.b), { 't:stop': a.holder, 't:stop:2': a.holder });
      release();
      await stopping;
      assert.ok(finished, 'the tick in progress finished');
      // Dropped on stop (the other loop, ticking every 5 ms, may have taken them already).
      const rows = await leaseRows(db.b);
      assert.notEqual(rows['t:stop'], a.holder, 'dropped on stop');
      assert.notEqual(rows['t:stop:2'], a.holder, 'dropped on stop');
      await b.nextTick(); // a tick that may have begun before the drop
      await b.nextTick();
      assert.deepEqual([...took].sort(), ['t:stop', 't:stop:2']);
      assert.deepEqual(await leaseRows(db.a), { 't:stop': b.holder, 't:stop:2': b.holder });
      await b.stop();
      assert.deepEqual(await leaseRows(db.a), {});
    });

    it('an error in one job is logged and stops neither the other job nor the loop', async () => {
      let bad = 0;
      let good = 0;
      const errors: string[] = [];
      const loop = new WorkerLoop(
        db.a,
        [
          {
            name: 'bad',
            everyMs: 5,
            async tick() {
              bad++;
              throw new Error('boom');
            },
          },
          {
            name: 'good',
            everyMs: 5,
            async tick(leases) {
              if (await leases.take('t:good', 10_000)) good++;
            },
          },
        ],
        {
          log: {
            info() {},
            warn() {},
            error: (o: { err: Error; job: string }, m?: string) => errors.push(`${o.job}: ${o.err.message}: ${m}`),
          } as unknown as Pick<Console, 'info' | 'warn' | 'error'>,
        },
      );
      loop.start();
      await sleep(150);
      await loop.stop();
      assert.ok(bad >= 5 && good >= 5, `bad ${bad}, good ${good}`);
      assert.equal(errors[0], 'bad: boom: bad tick failed');
      assert.ok(errors.every((e) => e.startsWith('bad:')));
    });

    it('a slow pass of one job does not delay the other', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let fast = 0;
      const loop = new WorkerLoop(db.a, [
        { name: 'stuck', everyMs: 5, tick: () => gate },
        { name: 'fast', everyMs: 5, tick: async () => void fast++ },
      ]);
      loop.start();
      await sleep(150);
      const during = fast;
      release();
      await loop.stop();
      assert.ok(during >= 5, `the fast job ran ${during} times while the other was stuck`);
    });

    it('each job runs at its own pace (everyMs after its last pass)', async () => {
      const runs = { fast: 0, slow: 0 };
      const loop = new WorkerLoop(db.a, [
        { name: 'fast', everyMs: 10, tick: async () => void runs.fast++ },
        { name: 'slow', everyMs: 100, tick: async () => void runs.slow++ },
      ]);
      loop.start();
      await sleep(330);
      await loop.stop();
      assert.ok(runs.fast >= 10, `fast ran ${runs.fast}`);
      assert.ok(runs.slow >= 2 && runs.slow <= 4, `slow ran ${runs.slow}`);
    });
  });
}

/**
 * The real jobs under two loops: the anchoring worker and the claims reconciler keep their lease names (`anchor:<org>`,
 * `claims`: a worker of another version, and the supervisor's drop of a dead worker's leases, use them), one
 * loop's holder holds both, and a stopped loop hands both to the other.
 */
describe('WorkerLoop with the anchoring worker and the claims reconciler (Hardhat network, SQLite)', () => {
  let fx: ChainFixture;
  let db: Two;
  let gateway: ChainGateway;

  before(async () => {
    await initHashing();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const hre = require('hardhat') as typeof import('hardhat');
    const provider = hre.ethers.provider as unknown as ChainProvider;
    fx = await setUpChain(provider);
    db = await kinds[0]!.open();
    await db.a.tx((r) =>
      r.insertOrg({ id: ORG_A, name: 'Acme', kind: 'member', address: fx.anchorer.address, createdAt: 1 }),
    );
    gateway = new ChainGateway({
      provider,
      chainId: fx.chainId,
      registry: fx.notary,
      claimRegistry: fx.claims,
      keystore: fromPrivateKeys({ [ORG_A]: fx.anchorer.privateKey }),
      fee: fx.fee,
    });
  });
  after(async () => db?.close());

  const loopOn = (store: SqlStore) => {
    const anchor = new AnchorService(store, gateway, { intervalMs: 10, maxLeaves: 1000, confirmations: 1 });
    const claims = new ClaimService(store, gateway, new RecordService(store), {
      consortiumSecret: 'a consortium secret of the tests',
      confirmations: 1,
    });
    return { anchor, loop: new WorkerLoop(store, [anchor, new ClaimReconciler(store, claims)]) };
  };

  it('anchors under anchor:<org>, reconciles under claims; a stopped loop hands both over', async () => {
    const records = new RecordService(db.a);
    const submit = (n: number) =>
      records.submit(
        ORG_A,
        Array.from({ length: n }, (_, i) => ({
          type: 'invoice.issued',
          externalId: `LOOP-${n}-${i}-${Date.now()}`,
          payload: invoicePayload(i),
        })),
      );
    const first = loopOn(db.a);
    const second = loopOn(db.b);
    try {
      first.loop.start();
      await first.loop.nextTick();
      second.loop.start();
      await submit(3);
      const anchored = async () =>
        (await db.a.read((r) => r.batchesOf(ORG_A))).filter((b) => b.status === 'confirmed').length;
      for (let i = 0; i < 100 && (await anchored()) < 1; i++) await sleep(20);
      assert.equal(await anchored(), 1, JSON.stringify([...first.anchor.lastError, ...second.anchor.lastError]));
      const both = (holder: string) => ({ [anchorLease(ORG_A)]: holder, [CLAIMS_LEASE]: holder });
      assert.deepEqual(await leaseRows(db.a), both(first.loop.holder));
      assert.equal(first.anchor.stats.batches, 1);
      assert.equal(second.anchor.stats.batches, 0, 'the second loop waits for the lease');

      await first.loop.stop();
      const left = Object.values(await leaseRows(db.a));
      assert.ok(!left.includes(first.loop.holder), `dropped on stop: ${left.join(', ')}`);
      await submit(2);
      for (let i = 0; i < 100 && (await anchored()) < 2; i++) await sleep(20);
      assert.equal(await anchored(), 2, JSON.stringify([...second.anchor.lastError]));
      assert.equal(second.anchor.stats.batches, 1, 'the second loop took over');
      await second.loop.nextTick(); // the reconciler runs every 500 ms
      for (let i = 0; i < 50 && Object.keys(await leaseRows(db.b)).length < 2; i++) await sleep(20);
      assert.deepEqual(await leaseRows(db.b), both(second.loop.holder));
      await second.loop.stop();
      assert.deepEqual(await leaseRows(db.b), {});
    } finally {
      await first.loop.stop();
      await second.loop.stop();
    }
  });
});

/**
 * WORKER=inline: the runtime runs the same loop in the API process (anchoring and the claims reconciler, one holder);
 * its stop drops the leases.
 */
describe('WorkerLoop in the API process (WORKER=inline)', () => {
  let inst: Instance | undefined;
  after(async () => inst?.stop());

  it('anchors, holds anchor:<org> and claims under one holder, and drops them on stop', async () => {
    inst = await startInstance({ env: { WORKER: 'inline' } });
    const aero = inst.demo.orgs.find((o) => o.id === 'aerospace')!;
    const sub = await api(inst.apiUrl, 'POST', '/v1/records', {
      key: aero.apiKey,
      body: { type: 'invoice.issued', externalId: 'LOOP-INLINE-1', payload: invoicePayload(1) },
    });
    assert.equal(sub.status, 202);
    await eventually(async () => {
      const r = await api(inst!.apiUrl, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: aero.apiKey });
      return r.status === 200;
    });
    const db = await Database.open({ sqlitePath: path.join(inst.dataDir, 'notary.db'), migrate: false });
    try {
      const rows = await eventually(async () => {
        const r = await leaseRows(new SqlStore(db));
        return r[CLAIMS_LEASE] && r[anchorLease('aerospace')] ? r : null;
      });
      assert.equal(new Set(Object.values(rows)).size, 1, `one holder: ${JSON.stringify(rows)}`);
      await inst.stop({ keepData: true });
      assert.deepEqual(await leaseRows(new SqlStore(db)), {});
    } finally {
      await db.close();
      fs.rmSync(inst.dataDir, { recursive: true, force: true });
      inst = undefined;
    }
  });
});
