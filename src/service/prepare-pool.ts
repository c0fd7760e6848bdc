import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { prepareBatchBody } from './prepare';

type Result = ReturnType<typeof prepareBatchBody>;

/**
 * Runs {@link prepareBatchBody} for large batches on a worker thread, so that JSON parsing, validation,
 * RFC 8785 canonicalization and hashing of request N+1 use the second core while the main thread runs
 * the database transaction of request N. Small batches, and any batch while the worker is not ready or
 * after it failed, are prepared on the calling thread: same function, same answers.
 */
export class PreparePool {
  private worker?: Worker;
  private ready = false;
  private failed = false;
  private nextId = 1;
  private readonly pending = new Map<number, { raw: string; resolve: (r: Result) => void }>();
  private readyWaiters: (() => void)[] = [];
  /** Batches prepared on the worker thread and on the calling thread. */
  readonly stats = { worker: 0, inline: 0 };

  /** `minBytesForWorker`: smaller bodies (default 40 kB, ~200 records) are faster on the calling thread. */
  constructor(private readonly opts: { minBytesForWorker?: number } = {}) {}

  /** Starts the worker and resolves once it takes batches (false if it cannot start). */
  async whenReady(): Promise<boolean> {
    this.start();
    if (this.ready || this.failed) return this.ready;
    await new Promise<void>((resolve) => this.readyWaiters.push(resolve));
    return this.ready;
  }

  private inline(raw: string): Result {
    this.stats.inline++;
    return prepareBatchBody(raw);
  }

  /** Parses and prepares a batch body; resolves with per-item results or a body-level error. */
  prepare(raw: string): Promise<Result> {
    if (raw.length < (this.opts.minBytesForWorker ?? 40_000)) return Promise.resolve(this.inline(raw));
    this.start();
    if (!this.ready || !this.worker) return Promise.resolve(this.inline(raw));
    this.stats.worker++;
    const id = this.nextId++;
    return new Promise<Result>((resolve) => {
      this.pending.set(id, { raw, resolve });
      this.worker!.postMessage({ id, raw });
    });
  }

  private start(): void {
    if (this.worker || this.failed) return;
    const file = path.join(__dirname, `prepare-worker${path.extname(__filename)}`);
    // Under ts-node (npm start, tests) the worker registers ts-node itself; compiled builds load the .js.
    const code = file.endsWith('.ts')
      ? `require('ts-node').register({ transpileOnly: true }); require(${JSON.stringify(file)});`
      : `require(${JSON.stringify(file)});`;
    const w = new Worker(code, { eval: true });
    w.unref();
    w.on('message', (m: { ready?: boolean; id?: number; result?: Result | { crash: string } }) => {
      if (m.ready) {
        this.ready = true;
        for (const w of this.readyWaiters.splice(0)) w();
        return;
      }
      const job = this.pending.get(m.id!);
      if (!job) return;
      this.pending.delete(m.id!);
      // A crash inside the worker is answered like the inline path would: run it here (it throws the same way).
      job.resolve(m.result && 'crash' in m.result ? prepareBatchBody(job.raw) : (m.result as Result));
    });
    const fail = () => {
      this.failed = true;
      this.ready = false;
      this.worker = undefined;
      for (const [, job] of this.pending) job.resolve(this.inline(job.raw));
      this.pending.clear();
      for (const w of this.readyWaiters.splice(0)) w();
    };
    w.on('error', fail);
    w.on('exit', fail);
    this.worker = w;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.failed = true;
    if (w) await w.terminate();
  }
}
