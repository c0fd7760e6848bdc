import { FetchRequest, JsonRpcProvider, Network, type Provider } from 'ethers';
import { ChainError, toChainError } from './errors';

/**
 * What this layer needs from a provider: the ethers Provider API plus raw JSON-RPC `send`.
 * Satisfied by `JsonRpcProvider` (from {@link makeProvider}) and by Hardhat's `hre.ethers.provider`.
 */
export interface ChainProvider extends Provider {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  send(method: string, params: any[]): Promise<any>;
}

export interface ProviderOptions {
  /** Expected chain id. With it the provider never probes the network (see below). */
  chainId: number;
  /** Per-request timeout; default 5000 ms. A timed-out request becomes CHAIN_UNREACHABLE. */
  timeoutMs?: number;
  /** Polling interval for ethers' own event polling (unused by this layer); default 1000 ms. */
  pollingIntervalMs?: number;
}

/**
 * A JsonRpcProvider configured for a long-running service:
 *
 * - `staticNetwork`: by default ethers detects the network before the first request and, when the node is down,
 *   retries that detection FOREVER (logging "failed to detect network … retry in 1s") while every call hangs.
 *   A static network skips detection, so a request to a dead node fails at once with ECONNREFUSED, which
 *   {@link toChainError} maps to CHAIN_UNREACHABLE. The chain id is checked once by {@link connectProvider}.
 * - a FetchRequest with `timeout`: ethers' default is 5 minutes per request.
 * - `cacheTimeout: -1`: ethers otherwise reuses identical answers (e.g. eth_blockNumber) for 250 ms.
 * - `batchMaxCount: 1`: no JSON-RPC batching (Besu/Quorum proxies and error attribution behave better).
 */
export function makeProvider(rpcUrl: string, opts: ProviderOptions): JsonRpcProvider {
  const req = new FetchRequest(rpcUrl);
  req.timeout = opts.timeoutMs ?? 5000;
  const network = Network.from(opts.chainId);
  const provider = new JsonRpcProvider(req, network, {
    staticNetwork: network,
    cacheTimeout: -1,
    batchMaxCount: 1,
    polling: true,
    pollingInterval: opts.pollingIntervalMs ?? 1000,
  });
  return provider;
}

/**
 * Asks the node for its chain id (with the timeout) and returns a {@link makeProvider} provider for it.
 * Throws CHAIN_UNREACHABLE if the node does not answer, CHAIN_ID_MISMATCH if `chainId` is given and differs.
 */
export async function connectProvider(rpcUrl: string, opts: Partial<ProviderOptions> = {}): Promise<JsonRpcProvider> {
  const actual = await fetchChainId(rpcUrl, opts.timeoutMs ?? 5000);
  if (opts.chainId !== undefined && opts.chainId !== actual) {
    throw new ChainError({
      code: 'CHAIN_ID_MISMATCH',
      message: `node at ${rpcUrl} serves chain ${actual}, expected ${opts.chainId}`,
      details: { expected: opts.chainId, actual },
    });
  }
  return makeProvider(rpcUrl, { ...opts, chainId: actual });
}

/** Reads eth_chainId from an endpoint with a timeout, validating the answer. */
export async function fetchChainId(rpcUrl: string, timeoutMs = 5000): Promise<number> {
  const req = new FetchRequest(rpcUrl);
  req.timeout = timeoutMs;
  req.setHeader('content-type', 'application/json');
  req.body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] });
  let result: unknown;
  try {
    const res = await req.send();
    res.assertOk();
    result = (res.bodyJson as { result?: unknown }).result;
  } catch (err) {
    const mapped = toChainError(err);
    throw mapped.code === 'CHAIN_UNREACHABLE'
      ? mapped
      : new ChainError({ code: 'CHAIN_UNREACHABLE', message: `no JSON-RPC answer from ${rpcUrl}`, cause: err });
  }
  return parseQuantity(result, 'eth_chainId');
}

/** Parses an RPC hex quantity defensively (RPC answers are untrusted, STYLE rule 3). */
export function parseQuantity(value: unknown, what: string): number {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{1,16}$/.test(value)) {
    throw new ChainError({
      code: 'BAD_RESPONSE',
      message: `${what}: not a hex quantity: ${String(value).slice(0, 80)}`,
    });
  }
  const n = Number(BigInt(value));
  if (!Number.isSafeInteger(n)) throw new ChainError({ code: 'BAD_RESPONSE', message: `${what}: out of range` });
  return n;
}

/** Current block height straight from the node (`eth_blockNumber`), bypassing any provider cache. */
export async function headBlockNumber(provider: ChainProvider): Promise<number> {
  try {
    return parseQuantity(await provider.send('eth_blockNumber', []), 'eth_blockNumber');
  } catch (err) {
    throw toChainError(err);
  }
}
