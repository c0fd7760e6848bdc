import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Store } from './ports';

type Log = Pick<Console, 'info' | 'warn' | 'error'>;

const silent = { info() {}, warn() {}, error() {} };

/** A lease holder id: host, process and a random part (two loops of one process never share one). */
export function newHolder(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/**
 * The database leases of one holder ("exactly one worker per organisation", "one claims reconciler"): a lease is
 * taken, or renewed by the holder that has it, for `ttlMs`; another holder gets it only once it expired or was
 * dropped. Every lease taken is remembered, so {@link dropAll} frees them all when the loop stops.
 */
export class Leases {
  private readonly taken = new Set<string>();

  constructor(
    private readonly store: Store,
    readonly holder: string = newHolder(),
  ) {}

  /** True when this holder has `name` for the next `ttlMs` (taken or renewed); false: another holder has it. */
  async take(name: string, ttlMs: number): Promise<boolean> {
    const ok = await this.store.tx((r) => r.tryLease(name, this.holder, ttlMs, Date.now()));
    if (ok) this.taken.add(name);
    return ok;
  }

  /** Frees every lease this holder took: another holder takes each over at its next tick. */
  async dropAll(): Promise<void> {
    const names = [...this.taken];
    if (!names.length) return;
    await this.store.tx(async (r) => {
      for (const n of names) await r.dropLease(n, this.holder);
    });
    for (const n of names) this.taken.delete(n);
  }
}

/** One use case's background pass, run by the {@link WorkerLoop}. */
export interface LoopJob {
  /** For logs. */
  readonly name: string;
  /** Runs again once this long after its last pass ended (the loop sleeps until the next job is due). */
  readonly everyMs: number;
  /** One pass; it takes (and renews) its leases through `leases`, under the loop's holder id. */
  tick(leases: Leases): Promise<void>;
}

/**
 * The one leased polling loop of the worker (the anchoring worker, per organisation, and the claims reconciler):
 * it owns the holder id, the timer, the leases and the drain; the jobs hold only their use cases.
 *
 * Each tick runs every due job, side by side; a job's error is logged and does not stop the others or the loop.
 * Everything a job does is driven by what is stored, so a killed loop loses nothing: its leases expire (or the
 * worker's supervisor drops them) and another loop resumes. {@link stop} finishes the tick in progress and drops
 * the leases, so another loop takes over at its next tick.
 */
export class WorkerLoop {
  readonly leases: Leases;
  private readonly log: Log;
  private readonly lastEnd = new Map<LoopJob, number>();
  private readonly wake = new Set<() => void>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;

  constructor(
    store: Store,
    private readonly jobs: readonly LoopJob[],
    opts: { log?: Log; holder?: string } = {},
  ) {
    this.leases = new Leases(store, opts.holder);
    this.log = opts.log ?? silent;
  }

  /** The lease holder id of this loop (the supervisor drops a dead worker's leases by it). */
  get holder(): string {
    return this.leases.holder;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.tick();
      await this.running;
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.delay());
    };
    void loop();
  }

  /** Finishes the tick in progress, then drops the leases (SIGTERM drain): another worker takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.leases.dropAll();
  }

  /** One tick: every due job (all of them on the first), side by side; never rejects. */
  async tick(): Promise<void> {
    const now = Date.now();
    await Promise.all(
      this.jobs
        .filter((j) => this.dueIn(j, now) <= 0)
        .map(async (j) => {
          try {
            await j.tick(this.leases);
          } catch (err) {
            this.log.error({ err, job: j.name }, `${j.name} tick failed`);
          } finally {
            this.lastEnd.set(j, Date.now());
          }
        }),
    );
    for (const fn of this.wake) fn();
  }

  /** Resolves after the next completed tick (status heartbeat, tests). */
  nextTick(): Promise<void> {
    return new Promise((resolve) => {
      const fn = () => {
        this.wake.delete(fn);
        resolve();
      };
      this.wake.add(fn);
    });
  }

  /** Milliseconds until `job` is due (≤ 0: due); 2 ms early counts as due (timers and clocks round). */
  private dueIn(job: LoopJob, now: number): number {
    const last = this.lastEnd.get(job);
    return last === undefined ? 0 : last + job.everyMs - now - 2;
  }

  private delay(): number {
    const now = Date.now();
    if (!this.jobs.length) return 1_000;
    return Math.max(0, Math.min(...this.jobs.map((j) => this.dueIn(j, now) + 2)));
  }
}
