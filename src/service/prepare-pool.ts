import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { prepareBatchBody, type PrepareFailure, type SigningContext } from './prepare';

type Result = ReturnType<typeof prepareBatchBody>;

interface Job {
  raw: string;
  signing?: SigningContext;
  orgId?: string;
  resolve: (r: Result) => void;
  /** Workers that died while this job was on them. */
  deaths: number;
}

/** The answer for a batch whose preparation failed for a reason the input does not explain (a bug, a crash). */
function failed(why: string): Result {
  const error: PrepareFailure = {
    code: 'INTERNAL',
    message: `The batch could not be prepared (${why}); nothing was stored. Retry, or report it if it persists.`,
  };
  return { error };
}

type Stats = { worker: number; inline: number; crashes: number; restarts: number };

interface PoolOptions {
  minBytesForWorker?: number;
  onError?: (msg: string, err?: unknown) => void;
  workerScript?: string;
  threads?: number;
}

/**
 * Runs {@link prepareBatchBody} for large batches on worker threads, so that JSON parsing, validation,
 * RFC 8785 canonicalization, hashing and the signature recovery of signed records (libsecp256k1, ~45 µs each:
 * most of a signed batch's CPU) of requests N+1, N+2 use the other cores while the main thread runs the
 * database transaction of request N. `threads` workers (default: the cores, at most 2), started by the first large
 * batch; each batch goes to the least loaded ready one. Small batches, and any batch while no worker is ready, are
 * prepared on the calling thread: same function, same answers.
 *
 * Nothing a worker does can end the process: a batch that throws inside a worker is answered with a
 * problem (never re-run on the calling thread, where the same throw would be uncaught); a worker that dies
 * is replaced, the batch it was working on is answered with a problem, and the batches queued behind it go
 * to its replacement. Only a worker that never becomes ready disables the pool (everything then runs inline).
 */
export class PreparePool {
  private readonly lanes: PrepareLane[] = [];
  private readonly maxLanes: number;
  private closed = false;
  /** Batches prepared on a worker thread and on the calling thread; workers replaced after a crash (all workers). */
  readonly stats: Stats = { worker: 0, inline: 0, crashes: 0, restarts: 0 };

  /**
   * `minBytesForWorker`: smaller bodies (default 40 kB, ~200 records) are faster on the calling thread.
   * `onError`: where worker failures are reported (default: stderr). `workerScript`: tests only, another worker.
   * `threads`: most worker threads (default min(2, cores)).
   */
  constructor(private readonly opts: PoolOptions = {}) {
    this.maxLanes = Math.max(1, Math.floor(opts.threads ?? Math.min(2, availableParallelism())));
  }

  private lane(i: number): PrepareLane {
    while (this.lanes.length <= i) this.lanes.push(new PrepareLane(this.opts, this.stats));
    return this.lanes[i]!;
  }

  /** A worker could not start: everything runs inline. */
  private get disabled(): boolean {
    return this.lanes.some((l) => l.disabled);
  }

  /** Worker threads taking batches now. */
  readyWorkers(): number {
    return this.lanes.filter((l) => l.isReady()).length;
  }

  /** Starts the first worker and resolves once it takes batches (false if it cannot start). */
  whenReady(): Promise<boolean> {
    return this.lane(0).whenReady();
  }

  /**
   * Parses and prepares a batch body; resolves with per-item results or a body-level error. Never rejects.
   * `signing` (who submits, on which chain): signatures of records without parents are recovered here too.
   * `orgId` (who submits): unsigned records without parents get their id, salt and commitment drawn here.
   */
  prepare(raw: string, signing?: SigningContext, orgId?: string): Promise<Result> {
    const first = this.lane(0);
    if (this.closed || this.disabled || raw.length < (this.opts.minBytesForWorker ?? 40_000))
      return first.prepare(raw, signing, orgId);
    // The first large batch starts every worker (a thread started while batches wait would compete with them).
    for (let i = 1; i < this.maxLanes; i++) this.lane(i).start();
    // The least loaded ready worker (the first of equals); none ready: the first (inline until it is).
    let best: PrepareLane | undefined;
    for (const l of this.lanes) if (l.isReady() && (!best || l.load() < best.load())) best = l;
    return (best ?? first).prepare(raw, signing, orgId);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}

/** One worker thread of a {@link PreparePool} and the batches sent to it. */
class PrepareLane {
  private worker?: Worker;
  private ready = false;
  /** The worker could not start: everything runs inline from now on. */
  disabled = false;
  private closed = false;
  private nextId = 1;
  /** In the order sent: the worker handles one message at a time, so the first is the one it is working on. */
  private readonly pending = new Map<number, Job>();
  private readyWaiters: (() => void)[] = [];

  constructor(
    private readonly opts: PoolOptions,
    readonly stats: Stats,
  ) {}

  /** Whether batches sent now go to the worker thread. */
  isReady(): boolean {
    return this.ready && this.worker !== undefined;
  }

  /** Batches sent to this worker and not answered yet. */
  load(): number {
    return this.pending.size;
  }

  private report(msg: string, err?: unknown): void {
    if (this.opts.onError) this.opts.onError(msg, err);
    else console.error(`[notary] prepare worker: ${msg}${err ? `: ${(err as Error)?.stack ?? String(err)}` : ''}`);
  }

  /** Starts the worker and resolves once it takes batches (false if it cannot start). */
  async whenReady(): Promise<boolean> {
    this.start();
    if (this.ready || this.disabled || this.closed) return this.ready;
    await new Promise<void>((resolve) => this.readyWaiters.push(resolve));
    return this.ready;
  }

  private inline(raw: string, signing?: SigningContext, orgId?: string): Result {
    this.stats.inline++;
    try {
      return prepareBatchBody(raw, signing, orgId);
    } catch (err) {
      // prepareBatchBody answers bad input itself; a throw is a bug: answer it, never let it escape.
      this.report('batch preparation threw', err);
      return failed('internal error');
    }
  }

  /** {@link PreparePool.prepare} on this worker (or inline: small body, worker not ready). */
  prepare(raw: string, signing?: SigningContext, orgId?: string): Promise<Result> {
    if (raw.length < (this.opts.minBytesForWorker ?? 40_000)) return Promise.resolve(this.inline(raw, signing, orgId));
    this.start();
    if (!this.ready || !this.worker) return Promise.resolve(this.inline(raw, signing, orgId));
    this.stats.worker++;
    const id = this.nextId++;
    return new Promise<Result>((resolve) => {
      this.pending.set(id, { raw, signing, orgId, resolve, deaths: 0 });
      this.send(id, raw, signing, orgId);
    });
  }

  private send(id: number, raw: string, signing?: SigningContext, orgId?: string): void {
    try {
      this.worker!.postMessage({ id, raw, signing, orgId });
    } catch (err) {
      const job = this.pending.get(id);
      this.pending.delete(id);
      this.report('cannot post a batch to the worker', err);
      job?.resolve(this.inline(raw, signing, orgId));
    }
  }

  start(): void {
    if (this.worker || this.disabled || this.closed) return;
    const file = this.opts.workerScript ?? path.join(__dirname, `prepare-worker${path.extname(__filename)}`);
    // From TypeScript sources the thread needs a .ts loader: the one its process preloaded (`--require` runs in
    // worker threads too: the tests' esbuild loader), else ts-node; compiled builds load the .js.
    const code = file.endsWith('.ts')
      ? `if (!require.extensions['.ts']) require('ts-node').register({ transpileOnly: true }); require(${JSON.stringify(file)});`
      : `require(${JSON.stringify(file)});`;
    let w: Worker;
    try {
      w = new Worker(code, { eval: true });
    } catch (err) {
      this.report('cannot start', err);
      this.disable();
      return;
    }
    w.unref();
    this.worker = w;
    let wasReady = false;
    w.on('message', (m: { ready?: boolean; id?: number; result?: Result | { crash: string } }) => {
      if (this.worker !== w) return;
      if (m.ready) {
        wasReady = true;
        this.ready = true;
        // Batches that waited for a replacement worker.
        for (const [id, job] of this.pending) this.send(id, job.raw, job.signing, job.orgId);
        for (const r of this.readyWaiters.splice(0)) r();
        return;
      }
      const job = this.pending.get(m.id!);
      if (!job) return;
      this.pending.delete(m.id!);
      if (m.result && 'crash' in m.result) {
        // The worker caught a throw of prepareBatchBody (a bug: bad input is answered, not thrown). Do not run it
        // again here: the same throw on this thread, inside an event listener, would end the process.
        this.stats.crashes++;
        this.report(`batch preparation threw in the worker: ${m.result.crash}`);
        job.resolve(failed('internal error in the preparation worker'));
      } else job.resolve(m.result as Result);
    });
    let gone = false;
    const onGone = (err?: unknown) => {
      if (gone || this.worker !== w) return;
      gone = true;
      this.worker = undefined;
      this.ready = false;
      if (this.closed) return;
      if (!wasReady) {
        // It never took a batch (cannot load, …): prepare inline from now on.
        if (err) this.report('failed to start; preparing batches on the main thread', err);
        this.disable();
        return;
      }
      this.stats.crashes++;
      this.report('worker stopped', err);
      // The oldest pending batch is the one the worker was on: answer it (it may be what killed the worker).
      // The others go to the replacement (started at once), once it is ready.
      const first = this.pending.keys().next();
      if (!first.done) {
        const job = this.pending.get(first.value)!;
        this.pending.delete(first.value);
        job.resolve(failed('the preparation worker stopped'));
      }
      this.stats.restarts++;
      this.start();
    };
    w.on('error', onGone);
    w.on('exit', (code) => onGone(code === 0 ? undefined : new Error(`exit code ${code}`)));
  }

  /** Prepares everything inline from now on (the worker cannot start). */
  private disable(): void {
    this.disabled = true;
    this.ready = false;
    this.worker = undefined;
    for (const [, job] of this.pending) job.resolve(this.inline(job.raw, job.signing, job.orgId));
    this.pending.clear();
    for (const r of this.readyWaiters.splice(0)) r();
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.closed = true;
    this.ready = false;
    const left = [...this.pending.values()];
    this.pending.clear();
    for (const job of left) job.resolve(this.inline(job.raw, job.signing, job.orgId));
    for (const r of this.readyWaiters.splice(0)) r();
    if (w) await w.terminate();
  }
}
