import path from 'node:path';

/**
 * Settings, read from the environment once (DESIGN §6). Only the edges (CLI, server) call
 * `loadConfig`; libraries take typed options.
 */
export interface Config {
  /** HTTP port (PORT, 3000). */
  port: number;
  /** Interface to listen on (HOST, 127.0.0.1). */
  host: string;
  /** Data folder (DATA_DIR, ./data): SQLite file, chain state, keystore, demo.json. */
  dataDir: string;
  /** External chain (RPC_URL); unset: the embedded chain on CHAIN_PORT. */
  rpcUrl?: string;
  /** Port of the embedded chain (CHAIN_PORT, 8545). */
  chainPort: number;
  /** PostgreSQL (DATABASE_URL); unset: SQLite in DATA_DIR. */
  databaseUrl?: string;
  /** Deployment file of the registries (DEPLOYMENT_FILE), required with RPC_URL. */
  deploymentFile?: string;
  /** Folder of encrypted account keys (KEYSTORE_DIR, $DATA_DIR/keystore). */
  keystoreDir: string;
  /** Keystore password (KEYSTORE_PASSWORD; the embedded default uses a fixed dev password). */
  keystorePassword: string;
  /** scrypt cost of newly written keystore files (KEYSTORE_SCRYPT_N; dev default 4096; ≥ 131072 required outside the embedded default). */
  keystoreScryptN?: number;
  /** The registries' admin key on an external chain (DEPLOYER_KEY): deploys them if needed, grants roles, funds accounts. */
  deployerKey?: string;
  /** Wei the deployer gives each organisation account on a chain that charges gas (FUND_AMOUNT in ether, 1; 0: never). */
  fundAmount: bigint;
  /** Anchor each organisation's pending records this often (ANCHOR_INTERVAL_MS, 1000). */
  anchorIntervalMs: number;
  /** …or sooner when this many are waiting; also the batch size cap (ANCHOR_MAX_LEAVES, 50000). */
  anchorMaxLeaves: number;
  /** How long one worker holds an organisation's anchoring lease without renewing it (LEASE_MS, 15000). */
  leaseMs: number;
  /** Blocks on top of the anchoring block before a batch counts as confirmed (CONFIRMATIONS, 2). */
  confirmations: number;
  /** Legacy gas price in wei for zero-gas permissioned chains (GAS_PRICE). */
  gasPrice?: bigint;
  /** Consortium secret for invoice keys (CONSORTIUM_SECRET; ≥ 32 bytes required outside the embedded default). */
  consortiumSecret: string;
  /** Run the anchoring worker and the claims reconciler at all (WORKER=false: this API process only serves). */
  worker: boolean;
  /**
   * Where they run (WORKER): `process` (default) in a child process that the API process starts once it listens,
   * restarts with backoff when it dies and stops on shutdown; `inline` on the API's own event loop.
   */
  workerMode: 'process' | 'inline';
  /** Log level of the HTTP server's logger (LOG_LEVEL, warn; info logs every request). */
  logLevel: string;
  /** Requests per minute per API key / IP (RATE_LIMIT_MAX, 6000). */
  rateLimitMax: number;
  /** Largest body of POST /v1/records/batch in bytes (BODY_LIMIT, 16 MiB: a 10,000-record batch); other routes 1 MiB. */
  bodyLimit: number;
  /** The address clients use (PUBLIC_URL); https: the service sends HSTS and CSP upgrade-insecure-requests. */
  publicUrl?: string;
  /** JSON-RPC URL shown at /v1/info for auditors (PUBLIC_RPC_URL); with RPC_URL, nothing is shown without it. */
  publicRpcUrl?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The embedded default's keystore password: public (it is in this file), for the local demo only. */
export const DEV_KEYSTORE_PASSWORD = 'ledger-notary-embedded-dev';
/** The embedded default's consortium secret: public, for the local demo only. */
export const DEV_CONSORTIUM_SECRET = 'ledger-notary-embedded-consortium-secret';
/** Lowest scrypt N of keystore files outside the embedded default (ethers' and geth's standard 2^17). */
export const MIN_PRODUCTION_SCRYPT_N = 1 << 17;
/** The scrypt N the keystore writes when KEYSTORE_SCRYPT_N is unset (src/chain/keystore.ts DEV_SCRYPT_N). */
const DEFAULT_SCRYPT_N = 1 << 12;
/** Shortest CONSORTIUM_SECRET outside the embedded default, in UTF-8 bytes (an HMAC-SHA256 key). */
export const MIN_CONSORTIUM_SECRET_BYTES = 32;

/**
 * Outside the embedded default (RPC_URL or DATABASE_URL set: a real deployment) the development secrets are
 * refused: the service must not start with them. Throws a {@link ConfigError} whose message is one line naming
 * the variable. The embedded default (`npm start` with no settings) passes unchanged. Called by `notary start`
 * (src/cli/start.ts); tests that run the service in-process with DATABASE_URL use the library entry instead.
 */
export function assertProductionSecrets(config: Config): void {
  if (!config.rpcUrl && !config.databaseUrl) return;
  const where = `outside the embedded default (${config.rpcUrl ? 'RPC_URL' : 'DATABASE_URL'} is set)`;
  if (config.keystorePassword === '') {
    throw new ConfigError(
      `KEYSTORE_PASSWORD must be set ${where}: the keystore would be encrypted with an empty password`,
    );
  }
  if (config.keystorePassword === DEV_KEYSTORE_PASSWORD) {
    throw new ConfigError(
      `KEYSTORE_PASSWORD must be set to a password of your own ${where}: it is unset or the public development password`,
    );
  }
  const n = config.keystoreScryptN ?? DEFAULT_SCRYPT_N;
  if (n < MIN_PRODUCTION_SCRYPT_N) {
    throw new ConfigError(
      `KEYSTORE_SCRYPT_N must be at least ${MIN_PRODUCTION_SCRYPT_N} (2^17) ${where}, got ${n}${config.keystoreScryptN === undefined ? ' (the development default)' : ''}`,
    );
  }
  if (config.consortiumSecret === DEV_CONSORTIUM_SECRET) {
    throw new ConfigError(
      `CONSORTIUM_SECRET must be set to the consortium's own secret ${where}: it is unset or the public development secret`,
    );
  }
  const bytes = new TextEncoder().encode(config.consortiumSecret).length;
  if (bytes < MIN_CONSORTIUM_SECRET_BYTES) {
    throw new ConfigError(
      `CONSORTIUM_SECRET must be at least ${MIN_CONSORTIUM_SECRET_BYTES} bytes ${where}, got ${bytes}`,
    );
  }
}

function int(env: NodeJS.ProcessEnv, key: string, dflt: number, min = 0): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${key} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

function url(env: NodeJS.ProcessEnv, key: string): string | undefined {
  const raw = env[key];
  if (!raw) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`${key} must be an http(s) URL`); // no echo: it may hold credentials
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${key} must be an http(s) URL`);
  return raw;
}

function ether(env: NodeJS.ProcessEnv, key: string, dflt: string): bigint {
  const raw = env[key] || dflt;
  if (!/^\d+(\.\d{1,18})?$/.test(raw))
    throw new ConfigError(`${key} must be an amount of ether like 0.5, got "${raw}"`);
  const [whole, frac = ''] = raw.split('.');
  return BigInt(whole!) * 10n ** 18n + BigInt(frac.padEnd(18, '0'));
}

function workerMode(env: NodeJS.ProcessEnv): 'process' | 'inline' {
  const raw = env.WORKER;
  if (raw === undefined || raw === '' || raw === 'true' || raw === 'process' || raw === 'false') return 'process';
  if (raw === 'inline') return 'inline';
  throw new ConfigError(`WORKER must be process, inline or false, got "${raw}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(env.DATA_DIR || './data');
  const rpcUrl = env.RPC_URL || undefined;
  const gasPrice = env.GAS_PRICE;
  if (gasPrice !== undefined && gasPrice !== '' && !/^\d+$/.test(gasPrice)) {
    throw new ConfigError(`GAS_PRICE must be a whole number of wei, got "${gasPrice}"`);
  }
  return {
    port: int(env, 'PORT', 3000),
    host: env.HOST || '127.0.0.1',
    dataDir,
    rpcUrl,
    chainPort: int(env, 'CHAIN_PORT', 8545, 1),
    databaseUrl: env.DATABASE_URL || undefined,
    deploymentFile: env.DEPLOYMENT_FILE || undefined,
    keystoreDir: path.resolve(env.KEYSTORE_DIR || path.join(dataDir, 'keystore')),
    keystorePassword: env.KEYSTORE_PASSWORD || (rpcUrl ? '' : DEV_KEYSTORE_PASSWORD),
    keystoreScryptN: env.KEYSTORE_SCRYPT_N ? int(env, 'KEYSTORE_SCRYPT_N', 4096, 1024) : undefined,
    deployerKey: env.DEPLOYER_KEY || undefined,
    fundAmount: ether(env, 'FUND_AMOUNT', '1'),
    anchorIntervalMs: int(env, 'ANCHOR_INTERVAL_MS', 1000, 10),
    anchorMaxLeaves: int(env, 'ANCHOR_MAX_LEAVES', 50_000, 1),
    confirmations: int(env, 'CONFIRMATIONS', 2, 1),
    leaseMs: int(env, 'LEASE_MS', 15_000, 100),
    gasPrice: gasPrice ? BigInt(gasPrice) : undefined,
    consortiumSecret: env.CONSORTIUM_SECRET || DEV_CONSORTIUM_SECRET,
    worker: env.WORKER !== 'false',
    workerMode: workerMode(env),
    logLevel: env.LOG_LEVEL || 'warn',
    rateLimitMax: int(env, 'RATE_LIMIT_MAX', 6000, 1),
    bodyLimit: int(env, 'BODY_LIMIT', 16 * 1024 * 1024, 1024),
    publicUrl: url(env, 'PUBLIC_URL'),
    publicRpcUrl: url(env, 'PUBLIC_RPC_URL'),
  };
}
