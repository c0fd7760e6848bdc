// Shared helpers of the benchmarks: statistics, machine facts, child processes, autocannon, a tiny fetch client.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DemoFile } from '../src/cli/runtime';

export const ROOT = path.resolve(__dirname, '..');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    ramGiB: Math.round(os.totalmem() / 2 ** 30),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
    load: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
}

/** node + ts-node (transpile only) arguments for a TypeScript entry point of this repo. */
const TS_EXEC_ARGV = ['-r', 'ts-node/register'];
const TS_ENV = { TS_NODE_TRANSPILE_ONLY: 'true' };

/** Runs `bench/<script>` in a child node process and resolves with the last JSON line it prints. */
export function runJsonChild<T>(script: string, args: string[] = [], execArgv: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TS_EXEC_ARGV, ...execArgv, path.join(ROOT, 'bench', script), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...TS_ENV },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${out.slice(-2000)}`));
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`${script} printed no JSON: ${out.slice(-2000)}`));
      }
    });
  });
}

export interface ServerHandle {
  apiUrl: string;
  demo: DemoFile;
  dataDir: string;
  child: ChildProcess;
  /** Stops the instance (SIGTERM: the child drains, closes, writes its CPU profile if asked). */
  stop(): Promise<void>;
}

/** How long the last `startServer` took (profile.ts skips that part of a CPU profile). */
export const startup = { lastMs: 0 };

/**
 * Starts a real service (`startInstance`: embedded anvil, registries, demo orgs, worker, API — the `npm start`
 * code path, SQLite in a temp dir with WAL unless DATABASE_URL) in its OWN process, so that the load generator
 * and the server do not share a core.
 */
export function startServer(
  opts: {
    env?: Record<string, string>;
    blockTime?: number;
    /** --cpu-prof into this folder (default: $BENCH_CPU_PROF_DIR, if set). */
    cpuProfDir?: string;
    kind?: 'notary' | 'hello';
  } = {},
): Promise<ServerHandle> {
  const execArgv = [...TS_EXEC_ARGV];
  const profDir = opts.cpuProfDir ?? process.env.BENCH_CPU_PROF_DIR;
  if (profDir) execArgv.push('--cpu-prof', '--cpu-prof-dir', profDir);
  const t0 = performance.now();
  const child = fork(path.join(ROOT, 'bench', 'server.ts'), [], {
    cwd: ROOT,
    execArgv,
    env: {
      ...process.env,
      ...TS_ENV,
      BENCH_KIND: opts.kind ?? 'notary',
      BENCH_ENV: JSON.stringify(opts.env ?? {}),
      BENCH_BLOCK_TIME: String(opts.blockTime ?? 1),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench server exited early (${code})`)));
    child.once('message', (m: { apiUrl: string; demo: DemoFile; dataDir: string }) => {
      child.removeAllListeners('exit');
      startup.lastMs = performance.now() - t0;
      resolve({
        ...m,
        child,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** autocannon in a child process (bench/load.ts): the load generator gets its own core. */
export async function autocannon(
  url: string,
  o: {
    connections: number;
    seconds: number;
    method?: 'GET' | 'POST';
    headers?: Record<string, string>;
    body?: string;
    /** Replace `[<id>]` in the body with a fresh id per request. */
    unique?: boolean;
    /** GET these paths (same origin as `url`) in random order. */
    paths?: string[];
  },
): Promise<LoadResult> {
  const r = await runJsonChild<{
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
    '2xx': number;
    duration: number;
  }>('load.ts', [JSON.stringify({ url, ...o })]);
  return {
    rps: r['2xx'] / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

/** Small fetch wrapper: JSON in, `{ status, body }` out. */
export async function api(
  base: string,
  method: string,
  url: string,
  opts: { key?: string; body?: unknown; raw?: string } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of many shapes, read field by field
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + url, {
    method,
    headers,
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Polls until `fn` returns a truthy value. */
export async function eventually<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
  stepMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}

/** Runs `fn` `n` times sequentially. */
export async function repeat<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return out;
}

/** `root` and its descendants (Linux /proc; just `root` where there is none). */
export function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  try {
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
        parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        /* gone */
      }
    }
  } catch {
    return [root];
  }
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return [...tree];
}

/** CPU seconds (user + system, all threads) used so far by these processes (Linux /proc; 0 where unknown). */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      /* gone */
    }
  }
  return ticks / 100; // USER_HZ
}
