import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { ChainError } from './errors';
import { fetchChainId } from './provider';

export interface AnvilOptions {
  /** TCP port on 127.0.0.1; default: a free port picked by the OS. */
  port?: number;
  /**
   * Persist the chain in this file: `--state FILE --state-interval 1`. The file is loaded at start, written every
   * second, and written on a clean exit (SIGTERM/SIGINT — verified with anvil 1.7.1). After `kill -9` up to the last
   * second of blocks is lost.
   */
  stateFile?: string;
  chainId?: number; // default 31337
  /** Interval mining (seconds); default automine (a block per transaction). */
  blockTime?: number;
  /** Number of dev accounts (the "test test … junk" mnemonic); default 10. */
  accounts?: number;
  balanceEth?: number; // default 10000
  /** Pass `--silent` (no per-request logging); default true. Output is always kept for error messages. */
  silent?: boolean;
  /** Wait at most this long for `eth_chainId` to answer; default 15 s. */
  startTimeoutMs?: number;
  /** Extra raw arguments. */
  extraArgs?: string[];
}

export interface AnvilHandle {
  rpcUrl: string;
  port: number;
  pid: number;
  chainId: number;
  /** SIGTERM, then wait for exit (anvil writes its state file on the way out); SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** Simulated crash: SIGKILL, no state written. Use `exited` to wait. */
  kill9(): void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** Last lines anvil wrote (stdout + stderr). */
  outputTail(): string;
}

/** Path of the anvil binary shipped by the optional dependency (NOT the npx/bin.mjs wrapper, see STACK.md §7). */
export function anvilBinaryPath(): string {
  try {
    return require.resolve('@foundry-rs/anvil-linux-amd64/bin/anvil');
  } catch (err) {
    throw new ChainError({
      code: 'CHAIN_UNREACHABLE',
      message: 'anvil binary not found: @foundry-rs/anvil-linux-amd64 is missing (installed with --omit=optional?)',
      cause: err,
    });
  }
}

/** A TCP port that was free a moment ago (bind to :0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort against orphans if the test runner / service exits without stop(): SIGTERM (state is still dumped).
  process.once('exit', () => {
    for (const child of live) child.kill('SIGTERM');
  });
}

/** Spawns the anvil binary directly and resolves once it answers JSON-RPC. */
export async function startAnvil(opts: AnvilOptions = {}): Promise<AnvilHandle> {
  const port = opts.port ?? (await freePort());
  // Check first: otherwise the readiness probe could reach the OTHER node on that port before anvil exits.
  if (!(await isPortFree(port))) {
    throw new ChainError({
      code: 'CHAIN_UNREACHABLE',
      message: `cannot start anvil: 127.0.0.1:${port} address already in use (another node still running?)`,
      details: { port },
    });
  }
  const chainId = opts.chainId ?? 31337;
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId)];
  if (opts.stateFile) args.push('--state', opts.stateFile, '--state-interval', '1');
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime));
  if (opts.accounts !== undefined) args.push('--accounts', String(opts.accounts));
  if (opts.balanceEth !== undefined) args.push('--balance', String(opts.balanceEth));
  if (opts.silent ?? true) args.push('--silent');
  args.push(...(opts.extraArgs ?? []));

  const child = spawn(anvilBinaryPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  installExitHook();
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitInfo: string | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `code ${code}`;
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      exitInfo = `spawn error ${err.message}`;
      live.delete(child);
      resolve();
    });
  });

  const rpcUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  for (;;) {
    if (exitInfo !== null) {
      throw new ChainError({
        code: 'CHAIN_UNREACHABLE',
        message: `anvil exited during start-up (${exitInfo}) on port ${port}: ${tail.trim().slice(-500)}`,
        details: { port },
      });
    }
    try {
      const actual = await fetchChainId(rpcUrl, 500);
      if (actual !== chainId) {
        child.kill('SIGKILL');
        throw new ChainError({
          code: 'CHAIN_ID_MISMATCH',
          message: `port ${port} answers chain ${actual}, expected ${chainId} (another node on this port?)`,
          details: { port, expected: chainId, actual },
        });
      }
      break;
    } catch (err) {
      if (err instanceof ChainError && err.code === 'CHAIN_ID_MISMATCH') throw err;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await exited;
        throw new ChainError({
          code: 'CHAIN_UNREACHABLE',
          message: `anvil did not answer on ${rpcUrl} within ${opts.startTimeoutMs ?? 15_000} ms: ${tail.trim().slice(-500)}`,
          details: { port },
          cause: err,
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const pid = child.pid ?? -1;
  return {
    rpcUrl,
    port,
    pid,
    chainId,
    exited,
    outputTail: () => tail,
    kill9: () => {
      if (exitInfo === null) child.kill('SIGKILL');
    },
    stop: async () => {
      if (exitInfo !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
