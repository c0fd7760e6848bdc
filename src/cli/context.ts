import fs from 'node:fs';
import path from 'node:path';
import { NotaryApiError, NotaryClient } from '../client';
import { CliError, usageError } from './errors';

/** What `npm start` writes to `$DATA_DIR/demo.json` (DESIGN §6); every field optional here. */
export interface DemoDefaults {
  apiUrl?: string;
  rpcUrl?: string;
  chainId?: number;
  registry?: string;
  claimRegistry?: string;
  admin?: { apiKey?: string };
  auditor?: { apiKey?: string };
  orgs?: { id: string; name?: string; apiKey?: string; address?: string }[];
}

/** Options every command sees (program-level ones merged with the command's own). */
export interface GlobalOptions {
  json?: boolean;
  dataDir?: string;
  api?: string;
  key?: string;
  as?: string;
}

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

/** demo.json from `--data-dir`, else $DATA_DIR, else ./data; null when absent or unreadable. */
export function readDemo(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): DemoDefaults | null {
  const explicit = opts.dataDir ?? (env.DATA_DIR || undefined);
  const file = path.resolve(explicit ?? './data', 'demo.json');
  if (!fs.existsSync(file)) {
    if (opts.dataDir) throw usageError(`--data-dir ${opts.dataDir}: no demo.json there`);
    return null;
  }
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as DemoDefaults;
  } catch (err) {
    throw new CliError('DEMO_FILE_INVALID', `${file}: ${(err as Error).message}`, { exitCode: 2 });
  }
}

/** Which demo key an API command falls back to when neither --key nor NOTARY_API_KEY is set. */
export type KeyRole = 'admin' | 'auditor' | 'submitter';

export interface ApiTarget {
  apiUrl: string;
  apiKey: string;
}

/**
 * API URL: --api, NOTARY_API_URL, demo.json, http://127.0.0.1:3000.
 * API key: --key, NOTARY_API_KEY, `--as <org>` (that organisation's demo key), the demo key for the role.
 */
export function resolveApi(opts: GlobalOptions, role: KeyRole, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  let demo: DemoDefaults | null | undefined;
  const getDemo = () => (demo === undefined ? (demo = readDemo(opts, env)) : demo);
  const apiUrl = (opts.api ?? (env.NOTARY_API_URL || undefined) ?? getDemo()?.apiUrl ?? DEFAULT_API_URL).replace(
    /\/+$/,
    '',
  );
  if (!/^https?:\/\//.test(apiUrl)) throw usageError(`--api ${apiUrl}: not an http(s) URL`);
  let apiKey = opts.key ?? (env.NOTARY_API_KEY || undefined);
  if (!apiKey && opts.as) {
    const d = getDemo();
    if (!d) throw usageError(`--as ${opts.as}: no demo.json found (use --data-dir)`);
    apiKey =
      opts.as === 'admin'
        ? d.admin?.apiKey
        : opts.as === 'auditor'
          ? d.auditor?.apiKey
          : d.orgs?.find((o) => o.id === opts.as)?.apiKey;
    if (!apiKey) throw usageError(`--as ${opts.as}: no such demo key in demo.json`);
  }
  if (!apiKey) {
    const d = getDemo();
    apiKey = role === 'admin' ? d?.admin?.apiKey : role === 'auditor' ? d?.auditor?.apiKey : undefined;
  }
  if (!apiKey) throw usageError('no API key: pass --key KEY or set NOTARY_API_KEY');
  return { apiUrl, apiKey };
}

/** Comma-separated list option. */
export function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The API client of a command (src/client: the one HTTP layer of the CLI). */
export function apiClient(t: ApiTarget): NotaryClient {
  return new NotaryClient({ baseUrl: t.apiUrl, apiKey: t.apiKey });
}

/** True when the server has no such route (as opposed to, e.g., an unknown record). */
export function isMissingRoute(err: unknown): boolean {
  return err instanceof NotaryApiError && err.status === 404 && (err.code === 'NOT_FOUND' || err.code === 'HTTP_404');
}

/** An API failure as the CLI's one-line error (`notary: <code>: <detail>`, exit 1). */
export function cliErrorOf(err: NotaryApiError): CliError {
  return new CliError(err.code, err.detail, { status: err.status || undefined, cause: err });
}
