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
  /** scrypt cost of newly written keystore files (KEYSTORE_SCRYPT_N; dev default 4096, use 131072 in production). */
  keystoreScryptN?: number;
  /** The registries' admin key on an external chain (DEPLOYER_KEY): lets new organisations get their roles at once. */
  deployerKey?: string;
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
  /** Consortium secret for invoice keys (CONSORTIUM_SECRET). */
  consortiumSecret: string;
  /** Run the anchoring worker in this process (WORKER, true). */
  worker: boolean;
  /** Log level of the HTTP server's logger (LOG_LEVEL, warn; info logs every request). */
  logLevel: string;
  /** Requests per minute per API key / IP (RATE_LIMIT_MAX, 6000). */
  rateLimitMax: number;
  /** Largest request body in bytes (BODY_LIMIT, 16 MiB: a 10,000-record batch). */
  bodyLimit: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function int(env: NodeJS.ProcessEnv, key: string, dflt: number, min = 0): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${key} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
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
    keystorePassword: env.KEYSTORE_PASSWORD || (rpcUrl ? '' : 'ledger-notary-embedded-dev'),
    keystoreScryptN: env.KEYSTORE_SCRYPT_N ? int(env, 'KEYSTORE_SCRYPT_N', 4096, 1024) : undefined,
    deployerKey: env.DEPLOYER_KEY || undefined,
    anchorIntervalMs: int(env, 'ANCHOR_INTERVAL_MS', 1000, 10),
    anchorMaxLeaves: int(env, 'ANCHOR_MAX_LEAVES', 50_000, 1),
    confirmations: int(env, 'CONFIRMATIONS', 2, 1),
    leaseMs: int(env, 'LEASE_MS', 15_000, 100),
    gasPrice: gasPrice ? BigInt(gasPrice) : undefined,
    consortiumSecret: env.CONSORTIUM_SECRET || 'ledger-notary-embedded-consortium-secret',
    worker: env.WORKER !== 'false',
    logLevel: env.LOG_LEVEL || 'warn',
    rateLimitMax: int(env, 'RATE_LIMIT_MAX', 6000, 1),
    bodyLimit: int(env, 'BODY_LIMIT', 16 * 1024 * 1024, 1024),
  };
}
