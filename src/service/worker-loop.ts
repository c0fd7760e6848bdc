import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Store } from './ports';

type Log = Pick<Console, 'info' | 'warn' | 'error'>;

const silent = { info() {}, warn() {}, error() {} };

/** A lease holder id: host, process and a random part (two loops of one process never share one). */
/**
 * The worker's console for a line logger (`log(msg)`): warnings and errors as one line each (errors by their
 * message), info dropped — what the anchoring worker and the loop log through, inline and in the worker process.
 */
export function lineLogger(log: (msg: string) => void): Pick<Console, 'info' | 'warn' | 'error'> {
  return {
    info: () => undefined,
    warn: (o: unknown, m?: string) => log(`warn: ${m ?? ''} ${JSON.stringify(o)}`),
    error: (o: unknown, m?: string) =>
      log(`error: ${m ?? ''} ${JSON.stringify(o, (_k, v: unknown) => (v instanceof Error ? v.message : v))}`),
  } as unknown as Pick<Console, 'info' | 'warn' | 'error'>;
}

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
  /** Runs again once this long after its last pass ended (on its own timer). */
  readonly everyMs: number;
  /** One pass; it takes (and renews) its leases through `leases`, under the loop's holder id. */
  tick(leases: Leases): Promise<void>;
}

/** One job on the loop: its timer, its pass in progress and who waits for its next pass. */
interface Beat {
  job: LoopJob;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  readonly waiters: Set<() => void>;
}

/**
 * The one leased polling loop of the worker (the anchoring worker, per organisation, and the claims reconciler):
 * it owns the holder id, the timers, the leases and the drain; the jobs hold only their use cases.
 *
 * Each job runs on its own beat (`everyMs` after its last pass ended), so a slow pass of one (a chain that answers
 * slowly) never delays the other; a job's error is logged and stops neither the others nor the loop. Everything a
 * job does is driven by what is stored, so a killed loop loses nothing: its leases expire (or the worker's
 * supervisor drops them) and another loop resumes. {@link stop} finishes the passes in progress and drops the
 * leases, so another loop takes over at its next tick.
 */
export class WorkerLoop {
  readonly leases: Leases;
  private readonly log: Log;
  private readonly beats: Beat[];
  private stopped = true;

  constructor(store: Store, jobs: readonly LoopJob[], opts: { log?: Log; holder?: string } = {}) {
    this.leases = new Leases(store, opts.holder);
    this.log = opts.log ?? silent;
    this.beats = jobs.map((job) => ({ job, waiters: new Set() }));
  }

  /** The lease holder id of this loop (the supervisor drops a dead worker's leases by it). */
  get holder(): string {
    return this.leases.holder;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const b of this.beats) {
      const loop = async () => {
        if (this.stopped) return;
        b.running = this.pass(b);
        await b.running;
        if (!this.stopped) b.timer = setTimeout(() => void loop(), b.job.everyMs);
      };
      void loop();
    }
  }

  /** Finishes the passes in progress, then drops the leases (SIGTERM drain): another worker takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const b of this.beats) clearTimeout(b.timer);
    await Promise.all(this.beats.map((b) => b.running));
    await this.leases.dropAll();
  }

  /** One pass of every job, side by side, outside the timers (tools, tests); never rejects. */
  async tick(): Promise<void> {
    await Promise.all(this.beats.map((b) => this.pass(b)));
  }

  /** Resolves once `job` (by default: every job) has completed its next pass (status heartbeat, tests). */
  async nextTick(job?: LoopJob): Promise<void> {
    const beats = job ? this.beats.filter((b) => b.job === job) : this.beats;
    await Promise.all(beats.map((b) => new Promise<void>((resolve) => b.waiters.add(resolve))));
  }

  private async pass(b: Beat): Promise<void> {
    try {
      await b.job.tick(this.leases);
    } catch (err) {
      this.log.error({ err, job: b.job.name }, `${b.job.name} tick failed`);
    }
    const waiters = [...b.waiters];
    b.waiters.clear();
    for (const fn of waiters) fn();
  }
}
