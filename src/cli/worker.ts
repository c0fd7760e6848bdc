import 'reflect-metadata';
import path from 'node:path';
import { initHashing } from '../domain/hashing';
import { Database } from '../storage/db';
import { SqlStore } from '../storage/sql-repo';
import { makeProvider } from '../chain/provider';
import { FileKeystore } from '../chain/keystore';
import { ChainGateway } from '../chain/gateway';
import { AnchorService } from '../service/anchoring';
import { ClaimReconciler, ClaimService } from '../service/claims';
import { RecordService } from '../service/records';
import { WorkerLoop, lineLogger } from '../service/worker-loop';
import type { FromWorker, ToWorker, WorkerInit } from './worker-process';

/**
 * The anchoring worker process (WORKER=process, forked by src/cli/worker-process.ts once the API listens): the
 * anchoring worker and the claims reconciler on their own event loop, with their own database connection (SQLite
 * in WAL mode, so the API's reads never wait for it; its writes wait busy_timeout at most) and chain provider.
 * Everything it does is driven by the database, exactly as inline: a worker killed at any point is replaced by
 * the next one, which resumes from what is stored.
 *
 * It stops (finishes its tick, drops its leases, closes its connections, exits 0) when the API process asks
 * (`stop`) or on SIGTERM, and exits at once when the API process is gone (IPC disconnected: a crash). SIGINT (Ctrl-C reaches the whole
 * process group) is left to the API process, which drains HTTP first and then sends `stop`.
 */

const send = (m: FromWorker) => {
  if (process.connected) process.send!(m);
};
const log = (msg: string) => send({ t: 'log', msg });

let stopping: Promise<void> | undefined;
let stopFn: () => Promise<void> = async () => undefined;
const stop = () =>
  (stopping ??= (async () => {
    try {
      await stopFn();
      process.exit(0);
    } catch (err) {
      console.error(`[notary] anchoring worker: stop failed: ${(err as Error).message}`);
      process.exit(1);
    }
  })());

async function run(init: WorkerInit, pending: ToWorker[], onMessage: (h: (m: ToWorker) => void) => void) {
  const { config } = init;
  await initHashing();
  const db = await Database.open({
    ...(config.databaseUrl ? { url: config.databaseUrl } : { sqlitePath: path.join(config.dataDir, 'notary.db') }),
    migrate: false, // the API process migrated before it started this worker
    role: 'secondary', // and checkpoints the WAL (src/storage/db.ts)
  });
  const store = new SqlStore(db);
  const provider = makeProvider(init.rpcUrl, { chainId: init.chainId, timeoutMs: 5000 });
  const keystore = new FileKeystore(config.keystoreDir, config.keystorePassword, { scryptN: config.keystoreScryptN });
  const gateway = new ChainGateway({
    provider,
    chainId: init.chainId,
    registry: init.deployment.notaryRegistry.address,
    claimRegistry: init.deployment.claimRegistry.address,
    keystore,
    fee: init.fee,
    fromBlock: init.deployment.notaryRegistry.block,
  });

  const workerLog = lineLogger(log);
  let fundSeq = 0;
  const funding = new Map<number, () => void>();
  const anchor = new AnchorService(store, gateway, {
    intervalMs: config.anchorIntervalMs,
    maxLeaves: config.anchorMaxLeaves,
    confirmations: config.confirmations,
    leaseMs: config.leaseMs,
    // Top-ups are sent by the API process (the deployer's transactions stay in one process); best effort there.
    ensureFunds: init.funding
      ? (address: string) =>
          new Promise<void>((resolve) => {
            if (!process.connected) return resolve();
            const id = ++fundSeq;
            funding.set(id, resolve);
            send({ t: 'ensureFunds', id, address });
          })
      : undefined,
    log: workerLog,
  });
  const reconciler = new ClaimReconciler(
    store,
    new ClaimService(store, gateway, new RecordService(store), {
      consortiumSecret: config.consortiumSecret,
      confirmations: config.confirmations,
      log: workerLog,
    }),
    { log: workerLog },
  );
  // One leased polling loop runs both (one holder id, one timer, one drain).
  const loop = new WorkerLoop(store, [anchor, reconciler], { log: workerLog });

  const releases = new Map<number, () => void>();
  const hold = (id: number, orgId: string, reply: boolean) => {
    void anchor
      .holding(orgId, async () => {
        if (reply) send({ t: 'held', id });
        await new Promise<void>((resolve) => releases.set(id, resolve));
      })
      .then(() => send({ t: 'released', id }));
  };
  const handle = (m: ToWorker) => {
    switch (m.t) {
      case 'hold':
        hold(m.id, m.orgId, true);
        return;
      case 'release': {
        const fn = releases.get(m.id);
        releases.delete(m.id);
        if (fn) fn();
        else send({ t: 'released', id: m.id });
        return;
      }
      case 'funded': {
        const fn = funding.get(m.id);
        funding.delete(m.id);
        fn?.();
        return;
      }
      case 'stop':
        void stop();
        return;
    }
  };
  // Holds first (a key rotation started before this worker), then the loop.
  for (const [id, orgId] of init.held) hold(id, orgId, false);
  for (const m of pending) handle(m);
  onMessage(handle);

  const status = () =>
    send({
      t: 'status',
      lastError: [...anchor.lastError.entries()],
      blocked: [...anchor.blocked.entries()],
      stats: { ...anchor.stats },
      chainHealthy: anchor.chainHealthy,
    });
  let statusTimer: NodeJS.Timeout | undefined;
  const heartbeat = async () => {
    // After every tick (so /ready sees a block as soon as the worker does), and every second meanwhile.
    await Promise.race([loop.nextTick(anchor), new Promise((r) => (statusTimer = setTimeout(r, 1000)))]);
    clearTimeout(statusTimer);
    status();
    if (!stopping) void heartbeat();
  };

  stopFn = async () => {
    await loop.stop().catch(() => undefined);
    clearTimeout(statusTimer);
    status();
    for (const fn of funding.values()) fn();
    await store.close();
    provider.destroy?.();
  };
  loop.start();
  send({ t: 'up', holders: [loop.holder] });
  void heartbeat();
}

if (require.main === module) {
  if (!process.send) {
    console.error('notary: src/cli/worker.ts is started by `npm start` (WORKER=process), not directly');
    process.exit(2);
  }
  const pending: ToWorker[] = [];
  let handler: ((m: ToWorker) => void) | undefined;
  let started = false;
  process.on('message', (m: ToWorker) => {
    if (m.t === 'init' && !started) {
      started = true;
      run(m.init, pending, (h) => (handler = h)).catch((err: unknown) => {
        console.error(`[notary] anchoring worker failed to start: ${(err as Error).message}`);
        process.exit(1);
      });
    } else if (m.t === 'stop' && !handler) void stop();
    else if (handler) handler(m);
    else pending.push(m);
  });
  // The API process is gone (it crashed or was killed: a graceful stop sends `stop` first). Exit at once, as the
  // inline worker would have died with it; the next worker resumes from the database.
  process.on('disconnect', () => process.exit(1));
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => undefined); // the API process drains first, then sends `stop`
}
