/**
 * Last-resort handlers of the service process (installed by `notary start`, src/cli/start.ts), so that a
 * failure nobody caught leaves its cause in the log instead of vanishing or killing the process silently.
 *
 * - `unhandledRejection`: logged with its cause; the process KEEPS running. A rejected promise nobody awaited
 *   is a fire-and-forget task that failed (a background chain read, a timer's work); it did not leave
 *   half-done synchronous state behind, and the requests and the anchoring loop await their own promises
 *   and answer/retry their own errors. Ending the API and the anchoring worker for it (Node's default since
 *   v15) would turn one stray failure into an outage.
 * - `uncaughtException`: logged with its stack, then the process EXITS with code 1 (after a short, bounded
 *   attempt to run `onFatal`, e.g. closing the database). An exception that unwound past every handler may
 *   have left any object in a half-updated state (Node's documentation: "it is not safe to resume normal
 *   operation"); a notary must not keep signing and anchoring from unknown state. Everything it needs is
 *   durable (records, outbox, leases), so a supervisor's restart resumes where it stopped.
 *
 * Worker threads cannot reach these: the batch-preparation pool answers its own worker's failures
 * (src/service/prepare-pool.ts).
 */
export interface ProcessGuardOptions {
  /** Where the causes go (default: console.error). */
  log?: (line: string) => void;
  /** Best-effort cleanup before exiting on an uncaught exception (bounded by `fatalTimeoutMs`). */
  onFatal?: () => Promise<void>;
  /** Default 3000 ms. */
  fatalTimeoutMs?: number;
  /** Default process.exit (tests may observe instead). */
  exit?: (code: number) => void;
}

const causeOf = (err: unknown): string => {
  if (err instanceof Error) {
    const cause = err.cause === undefined ? '' : `\ncaused by: ${causeOf(err.cause)}`;
    return `${err.stack ?? `${err.name}: ${err.message}`}${cause}`;
  }
  try {
    return `non-error value: ${JSON.stringify(err) ?? String(err)}`;
  } catch {
    return `non-error value: ${String(err)}`;
  }
};

let installed: { remove(): void } | undefined;

/** Installs the handlers once per process (a second call returns the first installation). */
export function installProcessGuards(opts: ProcessGuardOptions = {}): { remove(): void } {
  if (installed) return installed;
  const log = opts.log ?? ((line: string) => console.error(line));
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let dying = false;
  const onRejection = (reason: unknown) => {
    log(`[notary] unhandled promise rejection (the service keeps running): ${causeOf(reason)}`);
  };
  const onException = (err: unknown, origin: string) => {
    log(`[notary] uncaught exception (${origin}), exiting: ${causeOf(err)}`);
    if (dying) return;
    dying = true;
    process.exitCode = 1;
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, opts.fatalTimeoutMs ?? 3000).unref());
    const cleanup = opts.onFatal ? opts.onFatal().catch(() => undefined) : Promise.resolve();
    void Promise.race([cleanup, timeout]).finally(() => exit(1));
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  installed = {
    remove() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
      installed = undefined;
    },
  };
  return installed;
}
