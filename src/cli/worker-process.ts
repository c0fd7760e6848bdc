import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../config';
import type { FeePolicy } from '../chain/tx';
import { anchorLease, type AnchorBlock } from '../service/anchoring';
import { CLAIMS_LEASE } from '../service/claims';
import type { Store } from '../service/ports';
import type { Deployment } from '../../scripts/lib/deploy-registries';

/**
 * The anchoring worker in its own process (WORKER=process, the default): the API process forks
 * `src/cli/worker.ts` once it listens, and this supervisor
 * - mirrors the worker's state (blocked organisations, counters, chain health) from its heartbeats, so /ready,
 *   /metrics and the `blocked` of pending records read the same as with the worker inline;
 * - restarts it with backoff (0.5 s doubling up to 30 s; back to 0.5 s once a worker ran 30 s) when it dies, and
 *   first drops the dead worker's leases (its process is gone, so no one holds them), so the next one resumes at
 *   once from what is stored: the batch state machine is driven by the database only;
 * - carries key rotations (`holding`) to the worker, and serves its deployer top-ups (`ensureFunds`), so the
 *   deployer's transactions stay in one process;
 * - on `stop` asks it to finish its tick in progress, drop its leases and close its connections (SIGTERM drain:
 *   after HTTP, before the database and the chain), and kills it if it has not exited after `stopTimeoutMs`.
 */

/** What the worker process needs from the API process (structured clone: bigints pass). */
export interface WorkerInit {
  config: Config;
  rpcUrl: string;
  chainId: number;
  deployment: Deployment;
  fee: FeePolicy;
  /** Organisations held (key rotation in progress) when the worker starts: `[hold id, org id]`. */
  held: [number, string][];
  /** The API process tops accounts up (ensureFunds); the worker asks it before building a batch. */
  funding: boolean;
}

export interface WorkerStats {
  batches: number;
  leaves: number;
  confirmed: number;
  buildTxMs: number;
}

export type ToWorker =
  | { t: 'init'; init: WorkerInit }
  | { t: 'hold'; id: number; orgId: string }
  | { t: 'release'; id: number }
  | { t: 'funded'; id: number }
  | { t: 'stop' };

export type FromWorker =
  | { t: 'up'; holders: string[] }
  | {
      t: 'status';
      lastError: [string, string][];
      blocked: [string, AnchorBlock][];
      stats: WorkerStats;
      chainHealthy: boolean;
    }
  | { t: 'held'; id: number }
  | { t: 'released'; id: number }
  | { t: 'ensureFunds'; id: number; address: string }
  | { t: 'log'; msg: string };

/** `lastError` key of the worker process itself (not an organisation) while it is down. */
export const WORKER_DOWN_KEY = '(worker process)';

const zero = (): WorkerStats => ({ batches: 0, leaves: 0, confirmed: 0, buildTxMs: 0 });

export interface WorkerProcessOptions {
  store: Store;
  /** Built once the API listens (the chain URL, deployment and fee policy are known then). */
  init: () => Omit<WorkerInit, 'held'>;
  ensureFunds?: (address: string) => Promise<void>;
  log: (msg: string) => void;
  /** Stop: how long the worker may take to finish its tick before it is killed (default 60 s). */
  stopTimeoutMs?: number;
  /** First restart delay (default 500 ms), doubled per crash up to 30 s. */
  restartMs?: number;
}

/**
 * Built by scripts/test-all.cjs from this run's sources before the node tests (src/cli/worker.ts bundled by
 * esbuild, packages left external), for that run only: the test processes fork it as plain JavaScript instead
 * of loading worker.ts through ts-node and TypeScript again in every worker process.
 */
export const WORKER_BUNDLE_ENV = 'NOTARY_WORKER_BUNDLE';

const isTsNode = (a: string | undefined) => a !== undefined && /(^|[\\/])ts-node[\\/]register/.test(a);

/** `execArgv` without the `--require ts-node/register` (a plain JavaScript entry needs no TypeScript). */
export function withoutTsNode(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i];
    if ((a === '--require' || a === '-r') && isTsNode(execArgv[i + 1])) i++;
    else if (!(a.startsWith('--require=') && isTsNode(a.slice('--require='.length)))) out.push(a);
  }
  return out;
}

/**
 * The entry point forked: this folder's `worker.ts` through ts-node, `worker.js` when compiled, or the bundle of
 * `worker.ts` that NOTARY_WORKER_BUNDLE names (test runs, {@link WORKER_BUNDLE_ENV}).
 */
function workerEntry(): { file: string; execArgv: string[]; env: NodeJS.ProcessEnv } {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `worker${ext}`);
  const env: NodeJS.ProcessEnv = { ...process.env, NOTARY_PROCESS: 'worker' };
  const bundle = process.env[WORKER_BUNDLE_ENV];
  if (bundle) return { file: bundle, execArgv: withoutTsNode(process.execArgv), env };
  if (ext !== '.ts') return { file, execArgv: process.execArgv, env };
  const hasTsNode = process.execArgv.some((a) => a.includes('ts-node'));
  env.TS_NODE_TRANSPILE_ONLY ??= 'true'; // `npm start` runs transpile-only too (scripts/start.cjs)
  return { file, execArgv: hasTsNode ? process.execArgv : [...process.execArgv, '--require', 'ts-node/register'], env };
}

export class WorkerProcess {
  readonly lastError = new Map<string, string>();
  readonly blocked = new Map<string, AnchorBlock>();
  chainHealthy = true;
  /** Times the worker process was started again after it died. */
  restarts = 0;
  private child?: ChildProcess;
  private up = false;
  private holders: string[] = [];
  private base = zero();
  private current = zero();
  private stopping = false;
  private restartTimer?: NodeJS.Timeout;
  private crashes = 0;
  private startedAt = 0;
  private seq = 0;
  private readonly held = new Map<number, string>();
  private readonly replies = new Map<number, () => void>();
  private exited?: Promise<void>;

  constructor(private readonly opts: WorkerProcessOptions) {}

  /** Counters of every worker process this API process started (a restarted worker counts from zero). */
  get stats(): WorkerStats {
    const b = this.base;
    const c = this.current;
    return {
      batches: b.batches + c.batches,
      leaves: b.leaves + c.leaves,
      confirmed: b.confirmed + c.confirmed,
      buildTxMs: b.buildTxMs + c.buildTxMs,
    };
  }

  /** The pid of the running worker process (tests, logs). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  blockedOf(orgId: string): AnchorBlock | null {
    return this.blocked.get(orgId) ?? null;
  }

  /**
   * Forks the worker process without starting it: it loads its modules (seconds through ts-node) while the API
   * process starts the chain and the database, and waits for `init` ({@link start}).
   */
  static fork(): ChildProcess {
    const { file, execArgv, env } = workerEntry();
    return fork(file, [], { execArgv, env, serialization: 'advanced', stdio: 'inherit' });
  }

  /** Starts the worker: in `preforked` (from {@link WorkerProcess.fork}) when given, else in a new process. */
  start(preforked?: ChildProcess): void {
    if (this.child || this.stopping) {
      preforked?.kill('SIGKILL');
      return;
    }
    const child = preforked && preforked.exitCode === null && preforked.connected ? preforked : WorkerProcess.fork();
    if (child !== preforked) preforked?.kill('SIGKILL');
    this.child = child;
    this.up = false;
    this.startedAt = Date.now();
    this.lastError.set(WORKER_DOWN_KEY, 'WORKER_STARTING: the anchoring worker process is starting');
    let resolveExit!: () => void;
    this.exited = new Promise((r) => (resolveExit = r));
    child.on('message', (m: FromWorker) => this.onMessage(m));
    child.on('error', (err) => this.opts.log(`error: anchoring worker process: ${err.message}`));
    child.once('exit', (code, signal) => {
      resolveExit();
      void this.onExit(child, code, signal);
    });
    this.send({ t: 'init', init: { ...this.opts.init(), held: [...this.held.entries()] } });
  }

  private send(m: ToWorker): void {
    const c = this.child;
    if (!c?.connected) return;
    try {
      c.send(m);
    } catch {
      /* the child is exiting: 'exit' handles it */
    }
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'up':
        this.up = true;
        this.holders = m.holders;
        this.lastError.delete(WORKER_DOWN_KEY);
        this.opts.log(`anchoring worker: process ${this.child?.pid} running`);
        return;
      case 'status': {
        for (const k of [...this.lastError.keys()]) if (k !== WORKER_DOWN_KEY) this.lastError.delete(k);
        for (const [k, v] of m.lastError) this.lastError.set(k, v);
        this.blocked.clear();
        for (const [k, v] of m.blocked) this.blocked.set(k, v);
        this.current = m.stats;
        this.chainHealthy = m.chainHealthy;
        return;
      }
      case 'held':
      case 'released': {
        const fn = this.replies.get(m.id);
        this.replies.delete(m.id);
        fn?.();
        return;
      }
      case 'ensureFunds': {
        const done = () => this.send({ t: 'funded', id: m.id });
        (this.opts.ensureFunds ? this.opts.ensureFunds(m.address) : Promise.resolve()).then(done, done);
        return;
      }
      case 'log':
        this.opts.log(m.msg);
        return;
    }
  }

  private async onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.child !== child) return;
    this.child = undefined;
    this.up = false;
    this.base = this.stats;
    this.current = zero();
    // Nothing waits for a reply of a dead process: a hold is carried to the next one through `init.held`.
    for (const fn of this.replies.values()) fn();
    this.replies.clear();
    const holders = this.holders;
    this.holders = [];
    if (this.stopping) return;
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    // Its leases are free: the process that held them is gone (the next worker would otherwise wait LEASE_MS).
    try {
      const orgs = await this.opts.store.read((r) => r.listOrgs());
      await this.opts.store.tx(async (r) => {
        for (const h of holders) {
          for (const o of orgs) await r.dropLease(anchorLease(o.id), h);
          await r.dropLease(CLAIMS_LEASE, h);
        }
      });
    } catch (err) {
      this.opts.log(`warn: dropping the leases of the dead anchoring worker failed: ${(err as Error).message}`);
    }
    if (Date.now() - this.startedAt > 30_000) this.crashes = 0;
    const delay = Math.min(30_000, (this.opts.restartMs ?? 500) * 2 ** this.crashes++);
    this.lastError.set(
      WORKER_DOWN_KEY,
      `WORKER_DOWN: the anchoring worker process ${how}; restarting in ${delay} ms (restart ${this.restarts + 1})`,
    );
    this.opts.log(`error: anchoring worker process ${child.pid} ${how}: restarting in ${delay} ms`);
    if (this.stopping) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.start();
    }, delay);
  }

  /** Sends `m` and resolves on the reply with its id, or when the worker process exits. */
  private ask(m: ToWorker & { id: number }): Promise<void> {
    if (!this.child?.connected) return Promise.resolve();
    return new Promise((resolve) => {
      this.replies.set(m.id, resolve);
      this.send(m);
    });
  }

  /**
   * Runs `fn` while the worker signs nothing for `orgId` (key rotation, AnchorService.holding in the worker
   * process). A worker started meanwhile (after a crash) starts with the hold.
   */
  async holding<T>(orgId: string, fn: () => Promise<T>): Promise<T> {
    const id = ++this.seq;
    this.held.set(id, orgId);
    try {
      await this.ask({ t: 'hold', id, orgId });
      return await fn();
    } finally {
      this.held.delete(id);
      await this.ask({ t: 'release', id });
    }
  }

  /** Finishes the worker's tick in progress and waits for the process to exit (killed after the timeout). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) return;
    this.send({ t: 'stop' });
    const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), this.opts.stopTimeoutMs ?? 60_000).unref());
    const exited = await Promise.race([this.exited!.then(() => true), timeout]);
    if (!exited) {
      this.opts.log('warn: the anchoring worker process did not stop in time: killed');
      child.kill('SIGKILL');
      await this.exited;
    }
  }
}
