import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { prepareBatchBody, type PrepareFailure, type SigningContext } from './prepare';

type Result = ReturnType<typeof prepareBatchBody>;

interface Job {
  raw: string;
  signing?: SigningContext;
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

/**
 * Runs {@link prepareBatchBody} for large batches on a worker thread, so that JSON parsing, validation,
 * RFC 8785 canonicalization and hashing of request N+1 use the second core while the main thread runs
 * the database transaction of request N. Small batches, and any batch while the worker is not ready, are
 * prepared on the calling thread: same function, same answers.
 *
 * Nothing the worker does can end the process: a batch that throws inside the worker is answered with a
 * problem (never re-run on the calling thread, where the same throw would be uncaught); a worker that dies
 * is replaced, the batch it was working on is answered with a problem, and the batches queued behind it go
 * to the replacement. Only a worker that never becomes ready disables the pool (everything then runs inline).
 */
export class PreparePool {
  private worker?: Worker;
  private ready = false;
  /** The worker could not start: everything runs inline from now on. */
  private disabled = false;
  private closed = false;
  private nextId = 1;
  /** In the order sent: the worker handles one message at a time, so the first is the one it is working on. */
  private readonly pending = new Map<number, Job>();
  private readyWaiters: (() => void)[] = [];
  /** Batches prepared on the worker thread and on the calling thread; workers replaced after a crash. */
  readonly stats = { worker: 0, inline: 0, crashes: 0, restarts: 0 };

  /**
   * `minBytesForWorker`: smaller bodies (default 40 kB, ~200 records) are faster on the calling thread.
   * `onError`: where worker failures are reported (default: stderr). `workerScript`: tests only, another worker.
   */
  constructor(
    private readonly opts: {
      minBytesForWorker?: number;
      onError?: (msg: string, err?: unknown) => void;
      workerScript?: string;
    } = {},
  ) {}

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

  private inline(raw: string, signing?: SigningContext): Result {
    this.stats.inline++;
    try {
      return prepareBatchBody(raw, signing);
    } catch (err) {
      // prepareBatchBody answers bad input itself; a throw is a bug: answer it, never let it escape.
      this.report('batch preparation threw', err);
      return failed('internal error');
    }
  }

  /**
   * Parses and prepares a batch body; resolves with per-item results or a body-level error. Never rejects.
   * `signing` (who submits, on which chain): signatures of records without parents are recovered here too.
   */
  prepare(raw: string, signing?: SigningContext): Promise<Result> {
    if (raw.length < (this.opts.minBytesForWorker ?? 40_000)) return Promise.resolve(this.inline(raw, signing));
    this.start();
    if (!this.ready || !this.worker) return Promise.resolve(this.inline(raw, signing));
    this.stats.worker++;
    const id = this.nextId++;
    return new Promise<Result>((resolve) => {
      this.pending.set(id, { raw, signing, resolve, deaths: 0 });
      this.send(id, raw, signing);
    });
  }

  private send(id: number, raw: string, signing?: SigningContext): void {
    try {
      this.worker!.postMessage({ id, raw, signing });
    } catch (err) {
      const job = this.pending.get(id);
      this.pending.delete(id);
      this.report('cannot post a batch to the worker', err);
      job?.resolve(this.inline(raw, signing));
    }
  }

  private start(): void {
    if (this.worker || this.disabled || this.closed) return;
    const file = this.opts.workerScript ?? path.join(__dirname, `prepare-worker${path.extname(__filename)}`);
    // Under ts-node (npm start, tests) the worker registers ts-node itself; compiled builds load the .js.
    const code = file.endsWith('.ts')
      ? `require('ts-node').register({ transpileOnly: true }); require(${JSON.stringify(file)});`
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
        for (const [id, job] of this.pending) this.send(id, job.raw, job.signing);
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
    for (const [, job] of this.pending) job.resolve(this.inline(job.raw, job.signing));
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
    for (const job of left) job.resolve(this.inline(job.raw, job.signing));
    for (const r of this.readyWaiters.splice(0)) r();
    if (w) await w.terminate();
  }
}
