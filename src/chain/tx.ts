import { Transaction, getAddress, isHexString, toQuantity, type Log, type SigningKey } from 'ethers';
import { ChainError, decodeRevert, toChainError } from './errors';
import { headBlockNumber, type ChainProvider } from './provider';

/**
 * How transactions pay for gas, resolved ONCE per chain at start-up and then used for every offline signature.
 * - legacy (type 0) with a fixed gas price: Besu/Quorum consortium chains run with `GAS_PRICE=0`;
 * - EIP-1559 (type 2) otherwise.
 */
export type FeePolicy =
  | { readonly type: 0; readonly gasPrice: bigint }
  | { readonly type: 2; readonly maxFeePerGas: bigint; readonly maxPriorityFeePerGas: bigint };

export interface FeePolicyOptions {
  /** Fixed legacy gas price (wei); set it for zero-gas permissioned chains. Wins over everything else. */
  gasPrice?: bigint;
  /** Multiplier applied to the current base fee for `maxFeePerGas`; default 3. */
  baseFeeMultiplier?: bigint;
  /** Lower bound for `maxFeePerGas`; default 2 gwei. */
  minMaxFeePerGas?: bigint;
  /** Lower bound for the tip; default 1 gwei (0 if the chain's suggestion is lower and you set it to 0). */
  minPriorityFeePerGas?: bigint;
}

const GWEI = 1_000_000_000n;

/**
 * Resolves the fee policy of a chain. EIP-1559 when the latest block has a base fee:
 * `tip = max(suggested tip, minPriorityFeePerGas)`, `maxFee = max(baseFee × multiplier + tip, minMaxFeePerGas)`.
 * Because the policy is reused for later transactions, the headroom (3× base fee, floor 2 gwei) keeps a signed
 * transaction includable after several full blocks; on anvil/hardhat the base fee only falls on idle chains, so txs
 * never get stuck. Chains without a base fee fall back to legacy with the node's `eth_gasPrice`.
 */
export async function resolveFeePolicy(provider: ChainProvider, opts: FeePolicyOptions = {}): Promise<FeePolicy> {
  if (opts.gasPrice !== undefined) {
    if (opts.gasPrice < 0n) throw new ChainError({ code: 'INVALID_ARGUMENT', message: 'gasPrice must be >= 0' });
    return { type: 0, gasPrice: opts.gasPrice };
  }
  try {
    const [block, feeData] = await Promise.all([provider.getBlock('latest'), provider.getFeeData()]);
    const baseFee = block?.baseFeePerGas ?? null;
    if (baseFee === null) {
      return { type: 0, gasPrice: feeData.gasPrice ?? GWEI };
    }
    const minTip = opts.minPriorityFeePerGas ?? GWEI;
    const tip = maxBig(feeData.maxPriorityFeePerGas ?? 0n, minTip);
    const maxFee = maxBig(baseFee * (opts.baseFeeMultiplier ?? 3n) + tip, opts.minMaxFeePerGas ?? 2n * GWEI, tip);
    return { type: 2, maxFeePerGas: maxFee, maxPriorityFeePerGas: tip };
  } catch (err) {
    throw toChainError(err);
  }
}

const maxBig = (...xs: bigint[]): bigint => xs.reduce((a, b) => (a > b ? a : b));

export interface UnsignedTx {
  chainId: number;
  /** Contract address; `null` deploys `data` as init code. */
  to: string | null;
  data: string;
  nonce: number;
  gasLimit: bigint;
  fee: FeePolicy;
  /** Wei; default 0. */
  value?: bigint;
}

export interface SignedTx {
  /** 0x-prefixed serialized signed transaction, what `eth_sendRawTransaction` takes. */
  raw: string;
  /** Transaction hash (keccak of `raw`), lowercase. */
  hash: string;
  /** Checksummed sender address. */
  from: string;
  nonce: number;
}

/**
 * Signs a transaction OFFLINE with an explicit nonce: no provider is touched, so the caller can store
 * `{raw, hash}` in its outbox before broadcasting. Accepts an ethers `Wallet`/`HDNodeWallet` (anything with a
 * `signingKey`).
 */
export function signTransaction(wallet: { readonly signingKey: SigningKey }, tx: UnsignedTx): SignedTx {
  if (!Number.isSafeInteger(tx.nonce) || tx.nonce < 0) {
    throw new ChainError({ code: 'INVALID_ARGUMENT', message: `invalid nonce ${tx.nonce}` });
  }
  if (!Number.isSafeInteger(tx.chainId) || tx.chainId <= 0) {
    throw new ChainError({ code: 'INVALID_ARGUMENT', message: `invalid chainId ${tx.chainId}` });
  }
  if (!isHexString(tx.data)) throw new ChainError({ code: 'INVALID_ARGUMENT', message: 'data must be 0x-hex' });
  const t = new Transaction();
  t.type = tx.fee.type;
  t.chainId = BigInt(tx.chainId);
  t.nonce = tx.nonce;
  t.to = tx.to === null ? null : getAddress(tx.to);
  t.data = tx.data;
  t.value = tx.value ?? 0n;
  t.gasLimit = tx.gasLimit;
  if (tx.fee.type === 0) {
    t.gasPrice = tx.fee.gasPrice;
  } else {
    t.maxFeePerGas = tx.fee.maxFeePerGas;
    t.maxPriorityFeePerGas = tx.fee.maxPriorityFeePerGas;
  }
  t.signature = wallet.signingKey.sign(t.unsignedHash);
  const from = t.from;
  if (from === null) throw new ChainError({ code: 'INVALID_ARGUMENT', message: 'signature did not recover a sender' });
  return { raw: t.serialized, hash: (t.hash ?? '').toLowerCase(), from, nonce: tx.nonce };
}

/** Parses a stored raw transaction (e.g. from the outbox) back into hash / sender / nonce. */
export function parseRawTransaction(raw: string): { hash: string; from: string; nonce: number; to: string | null } {
  let t: Transaction;
  try {
    t = Transaction.from(raw);
  } catch (err) {
    throw new ChainError({ code: 'INVALID_ARGUMENT', message: 'not a signed raw transaction', cause: err });
  }
  if (!t.hash || !t.from) throw new ChainError({ code: 'INVALID_ARGUMENT', message: 'raw transaction is not signed' });
  return { hash: t.hash.toLowerCase(), from: t.from, nonce: t.nonce, to: t.to };
}

/**
 * Broadcasts a signed raw transaction; returns its hash. Idempotent, so the outbox can rebroadcast after a crash:
 * if the node refuses it ("already known", "known transaction", "nonce too low", Hardhat's revert-on-send, …) but a
 * transaction with THIS hash is in the pool or mined, that is success. Otherwise the refusal is thrown as a
 * ChainError (NONCE_TOO_LOW means another transaction used that nonce; CHAIN_UNREACHABLE means unknown outcome:
 * retry later, it is safe).
 */
export async function broadcastRaw(provider: ChainProvider, raw: string): Promise<string> {
  const { hash } = parseRawTransaction(raw);
  try {
    const returned: unknown = await provider.send('eth_sendRawTransaction', [raw]);
    if (typeof returned === 'string' && returned.toLowerCase() !== hash) {
      throw new ChainError({ code: 'BAD_RESPONSE', message: `node returned hash ${returned}, expected ${hash}` });
    }
    return hash;
  } catch (err) {
    if (err instanceof ChainError) throw err;
    const mapped = toChainError(err);
    if (mapped.code === 'CHAIN_UNREACHABLE') throw mapped;
    let known: unknown = null;
    try {
      known = await provider.send('eth_getTransactionByHash', [hash]);
    } catch {
      throw mapped;
    }
    if (known !== null && typeof known === 'object') return hash;
    throw mapped;
  }
}

export interface ReceiptInfo {
  status: 0 | 1;
  blockNumber: number;
  blockHash: string;
  gasUsed: bigint;
  from: string;
  to: string | null;
  /** Address of the created contract for a deployment, else null. */
  contractAddress: string | null;
  logs: readonly Log[];
}

/** The receipt of a transaction, or null while it is pending/unknown (or after a reorg dropped it). */
export async function getReceiptInfo(provider: ChainProvider, hash: string): Promise<ReceiptInfo | null> {
  let r;
  try {
    r = await provider.getTransactionReceipt(hash);
  } catch (err) {
    throw toChainError(err);
  }
  if (!r) return null;
  if (r.status !== 0 && r.status !== 1) {
    throw new ChainError({ code: 'BAD_RESPONSE', message: `receipt of ${hash} has no status (pre-Byzantium chain?)` });
  }
  return {
    status: r.status,
    blockNumber: r.blockNumber,
    blockHash: r.blockHash.toLowerCase(),
    gasUsed: r.gasUsed,
    from: r.from,
    to: r.to,
    contractAddress: r.contractAddress,
    logs: r.logs,
  };
}

/** Number of confirmations: 0 if not mined, 1 when in the head block, head − block + 1 otherwise. */
export async function confirmationsOf(provider: ChainProvider, hash: string): Promise<number> {
  const receipt = await getReceiptInfo(provider, hash);
  if (!receipt) return 0;
  const head = await headBlockNumber(provider);
  return Math.max(0, head - receipt.blockNumber + 1);
}

/** The hash of the canonical block at `blockNumber` (lowercase), or null if the chain is shorter. */
export async function blockHashAt(provider: ChainProvider, blockNumber: number): Promise<string | null> {
  let block: unknown;
  try {
    block = await provider.send('eth_getBlockByNumber', [toQuantity(blockNumber), false]);
  } catch (err) {
    throw toChainError(err);
  }
  if (block === null) return null;
  const h = (block as { hash?: unknown } | undefined)?.hash;
  if (typeof h !== 'string' || !isHexString(h, 32)) {
    throw new ChainError({ code: 'BAD_RESPONSE', message: `block ${blockNumber} has no valid hash` });
  }
  return h.toLowerCase();
}

/** Reorg check: is the block we saw at `blockNumber` still the canonical one? */
export async function isStillCanonical(
  provider: ChainProvider,
  blockNumber: number,
  blockHash: string,
): Promise<boolean> {
  const current = await blockHashAt(provider, blockNumber);
  return current !== null && current === blockHash.toLowerCase();
}

/** Nonce including pending pool transactions (`eth_getTransactionCount … pending`). */
export async function pendingNonce(provider: ChainProvider, address: string): Promise<number> {
  return nonceAt(provider, address, 'pending');
}

/** Nonce of mined transactions only: the next nonce the chain will accept once the pool drains. */
export async function latestNonce(provider: ChainProvider, address: string): Promise<number> {
  return nonceAt(provider, address, 'latest');
}

async function nonceAt(provider: ChainProvider, address: string, tag: 'pending' | 'latest'): Promise<number> {
  try {
    const n: unknown = await provider.send('eth_getTransactionCount', [getAddress(address), tag]);
    if (typeof n !== 'string' || !/^0x[0-9a-fA-F]+$/.test(n) || !Number.isSafeInteger(Number(n))) {
      throw new ChainError({ code: 'BAD_RESPONSE', message: `eth_getTransactionCount: bad answer ${String(n)}` });
    }
    return Number(n);
  } catch (err) {
    throw toChainError(err);
  }
}

/**
 * Fixed gas limits for offline signing (no estimate needed). Measured on anvil 1.7.1 (cancun, optimizer 200) against
 * the v2 registries (MemberDirectory lookup included), transaction gas, and asserted by test/chain/registries.test.ts:
 * - `anchor`: 107.6k gas (first root of an organisation), 110.8k afterwards; independent of leafCount (1, 1000 and
 *   65535 leaves: equal) → 150k.
 * - `consume(n keys)`: ≈ 125k + 45.3k·n (n=1: 170.2k, 3: 260.9k, 10: 578.4k, 20: 1.032M) → 140k + 55k·n.
 * - `release(n keys)`: ≈ 36k + 8.5k·n (n=1: 44.6k, 3: 61.6k, 20: 206.1k) → 60k + 20k·n.
 * - `settle`: 43.8k whatever the number of keys → 80k.
 */
export const ANCHOR_GAS_LIMIT = 150_000n;
export function consumeGasLimit(keyCount: number): bigint {
  return 140_000n + 55_000n * BigInt(Math.max(1, keyCount));
}
export function releaseGasLimit(keyCount: number): bigint {
  return 60_000n + 20_000n * BigInt(Math.max(1, keyCount));
}
export const SETTLE_GAS_LIMIT = 80_000n;

/**
 * `eth_estimateGas` plus 25 % headroom, or `fallback` when estimation fails for any reason other than an outage
 * (e.g. the call would revert now but the caller still wants to sign — pre-check with `simulate` first).
 */
export async function estimateGasOrFallback(
  provider: ChainProvider,
  tx: { from: string; to: string | null; data: string; value?: bigint },
  fallback: bigint,
): Promise<bigint> {
  try {
    const est = await provider.estimateGas({ from: tx.from, to: tx.to, data: tx.data, value: tx.value ?? 0n });
    return (est * 125n) / 100n;
  } catch (err) {
    const mapped = toChainError(err);
    if (mapped.code === 'CHAIN_UNREACHABLE') throw mapped;
    return fallback;
  }
}

/**
 * Why a mined transaction reverted (receipt status 0). Replays it with `debug_traceTransaction` when the node
 * offers it, else with `eth_call` on the state before its block (exact unless an earlier transaction of the same
 * block changed the outcome). Returns null if the transaction succeeded or is not mined.
 */
export async function revertErrorOf(provider: ChainProvider, hash: string): Promise<ChainError | null> {
  const receipt = await getReceiptInfo(provider, hash);
  if (!receipt || receipt.status === 1) return null;
  try {
    const trace: unknown = await provider.send('debug_traceTransaction', [
      hash,
      { disableStorage: true, disableStack: true, disableMemory: true, enableReturnData: true },
    ]);
    const t = trace as { failed?: unknown; returnValue?: unknown } | null;
    if (t && t.failed === true && typeof t.returnValue === 'string') {
      const data = t.returnValue.startsWith('0x') ? t.returnValue : `0x${t.returnValue}`;
      if (isHexString(data)) return decodeRevert(data);
    }
  } catch (err) {
    if (toChainError(err).code === 'CHAIN_UNREACHABLE') throw toChainError(err);
    /* debug namespace not enabled: fall back to eth_call */
  }
  let tx;
  try {
    tx = await provider.getTransaction(hash);
  } catch (err) {
    throw toChainError(err);
  }
  if (!tx) return null;
  try {
    await provider.send('eth_call', [
      { from: tx.from, to: tx.to, data: tx.data, value: toQuantity(tx.value), gas: toQuantity(tx.gasLimit) },
      toQuantity(Math.max(0, receipt.blockNumber - 1)),
    ]);
    return decodeRevert(undefined); // replay succeeded: revert depended on same-block ordering or ran out of gas
  } catch (err) {
    return toChainError(err);
  }
}
