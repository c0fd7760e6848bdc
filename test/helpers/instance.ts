import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { freePort } from '../../src/chain/anvil';
import { startRuntime, type DemoFile, type Runtime } from '../../src/cli/runtime';

export interface Instance {
  apiUrl: string;
  rpcUrl: string;
  dataDir: string;
  demo: DemoFile;
  runtime: Runtime;
  /** Stops the service (and its embedded chain); removes the data folder unless `keepData`. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export interface InstanceOptions {
  /** Reuse a data folder (restart tests). */
  dataDir?: string;
  /** Extra environment (e.g. DATABASE_URL, ANCHOR_INTERVAL_MS). */
  env?: Record<string, string>;
  /** Embedded chain block time in seconds (default 0: mine every transaction). */
  blockTime?: number;
}

/**
 * A real running service for tests: embedded anvil chain, registries, SQLite (or DATABASE_URL),
 * demo organisations, worker and HTTP API on a free port — the `npm start` code path.
 */
export async function startInstance(opts: InstanceOptions = {}): Promise<Instance> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'notary-test-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    CHAIN_PORT: String(await freePort()),
    ANCHOR_INTERVAL_MS: '200',
    CONFIRMATIONS: '1',
    ...opts.env,
  });
  const runtime = await startRuntime(config, { blockTime: opts.blockTime ?? 0 });
  return {
    apiUrl: runtime.apiUrl,
    rpcUrl: runtime.rpcUrl,
    dataDir,
    demo: runtime.demo!,
    runtime,
    async stop(o = {}) {
      await runtime.stop();
      if (!o.keepData && !opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A parsed JSON response body: tests index into it freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** Small fetch wrapper: JSON in, `{ status, body, headers }` out. */
export async function api(
  base: string,
  method: string,
  url: string,
  opts: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(base + url, {
    method,
    headers,
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

/** Polls until `fn` returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
  stepMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
