import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints of one SQLite file on a worker thread, off the event loop of the process that writes it.
 *
 * With SQLite's automatic checkpoints the connection whose COMMIT pushes the WAL past 1,000 pages copies the
 * WAL into the database file and fsyncs both, synchronously, inside that COMMIT. Under single-record load that
 * was ~30 % of the API thread's time (COMMITs of 1.5 ms on average, up to 20–50 ms) and most of its latency tail.
 * The thread runs PASSIVE checkpoints (they never block the writer: it keeps appending while pages are copied),
 * so the WAL restarts from its beginning at the first write after a checkpoint that caught up. Should the writer
 * never leave it a gap to catch up in, a RESTART checkpoint past {@link RESTART_FRAMES} makes one: it waits for
 * the write transaction in progress and holds the next writer back for the little left to copy (the writers
 * retry SQLITE_BUSY without blocking their event loop, `Database.beginImmediate`).
 *
 * Durability is unchanged: a COMMIT is in the WAL either way (WAL + synchronous=NORMAL survives process
 * crashes); a checkpoint only moves committed pages into the main file. If the thread cannot start or dies,
 * `onStop` restores automatic checkpoints on the writer's connection.
 */

/** PASSIVE checkpoints run when the WAL holds this many frames (SQLite's own automatic threshold). */
export const CHECKPOINT_FRAMES = 1000;
/** Past this many frames (64 MiB of 4 KiB pages) the thread checkpoints with RESTART (waits for the writer). */
export const RESTART_FRAMES = 16384;

const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Sqlite = require(workerData.module);
const db = new Sqlite(workerData.file, { fileMustExist: true });
db.pragma('synchronous = NORMAL'); // the file's writers' setting: a completed checkpoint syncs the database file
db.pragma('busy_timeout = 0');
let stopped = false;
let timer;
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  stopped = true;
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
function checkpoint(mode) {
  const [r] = db.pragma('wal_checkpoint(' + mode + ')');
  return r; // { busy, log, checkpointed }: frames in the WAL and frames copied (-1, -1 when not in WAL mode)
}
function loop() {
  if (stopped) return;
  let next = workerData.pollMs;
  try {
    let r = checkpoint('PASSIVE');
    if (r.log >= workerData.restartFrames) {
      db.pragma('busy_timeout = ' + workerData.restartWaitMs);
      try {
        r = checkpoint('RESTART');
      } finally {
        db.pragma('busy_timeout = 0');
      }
    }
    // Not caught up (the writer appended meanwhile): the rest is short, try again soon.
    if (r.log > 0 && r.checkpointed < r.log) next = 1;
  } catch (err) {
    // SQLITE_BUSY (another checkpoint, a writer past the RESTART wait): next round.
    if (!String(err && err.code).startsWith('SQLITE_BUSY')) throw err;
  }
  timer = setTimeout(loop, next);
}
parentPort.postMessage('ready');
loop();
`;

export interface CheckpointerOptions {
  /** How often the WAL is looked at (default 20 ms; a PASSIVE checkpoint of an empty WAL costs microseconds). */
  pollMs?: number;
  /** Most time a RESTART checkpoint waits for the writer and the readers (default 20 ms, then retried): writers wait meanwhile. */
  restartWaitMs?: number;
  /** Called once when the thread stops for any reason other than {@link Checkpointer.stop}. */
  onStop: (err?: unknown) => void;
}

export class Checkpointer {
  private stopping = false;

  private constructor(private readonly worker: Worker) {}

  /** Starts the thread on `file` and resolves once it has opened the database; rejects if it cannot. */
  static start(file: string, opts: CheckpointerOptions): Promise<Checkpointer> {
    const worker = new Worker(THREAD, {
      eval: true,
      // Plain JavaScript: none of the process's preloads (`-r ts-node/register` under `npm start` and the bench
      // loads ts-node and the TypeScript compiler into every thread: ~40 MiB of heap for this one).
      execArgv: [],
      workerData: {
        module: require.resolve('better-sqlite3'),
        file,
        pollMs: opts.pollMs ?? 20,
        restartWaitMs: opts.restartWaitMs ?? 20,
        restartFrames: RESTART_FRAMES,
      },
    });
    return new Promise((resolve, reject) => {
      let ready: Checkpointer | undefined;
      let down = false;
      worker.once('message', () => {
        worker.unref(); // running, it never keeps the process alive (its start and its stop do)
        ready = new Checkpointer(worker);
        resolve(ready);
      });
      const onDown = (err?: unknown) => {
        if (down) return; // 'error' is followed by 'exit'
        down = true;
        if (!ready) return reject(err ?? new Error('checkpoint thread exited before it started'));
        if (!ready.stopping) opts.onStop(err);
      };
      worker.once('error', onDown);
      worker.once('exit', (code) => onDown(code ? new Error(`checkpoint thread exited with code ${code}`) : undefined));
    });
  }

  /** Stops the thread after its checkpoint in progress and closes its connection. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.worker.ref();
    this.worker.postMessage('stop');
    await exited;
  }
}
