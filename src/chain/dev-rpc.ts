import { getAddress, toQuantity, type Signer } from 'ethers';
import { ChainError, toChainError } from './errors';
import type { ChainProvider } from './provider';

/**
 * Helpers for DEV chains only (anvil, hardhat node, in-process Hardhat). None of these exist on Besu/Quorum.
 * Both anvil 1.7.1 and Hardhat 2.29 accept the `hardhat_*` / `evm_*` names used here unless noted.
 */

async function rpc(provider: ChainProvider, method: string, params: unknown[]): Promise<unknown> {
  try {
    return await provider.send(method, params);
  } catch (err) {
    throw toChainError(err);
  }
}

/** Mines `n` empty blocks at once (`hardhat_mine`). */
export async function mine(provider: ChainProvider, n = 1): Promise<void> {
  await rpc(provider, 'hardhat_mine', [toQuantity(n)]);
}

/** Turns automine on/off (`evm_setAutomine`). Off: transactions wait in the pool until {@link mine}. */
export async function setAutomine(provider: ChainProvider, on: boolean): Promise<void> {
  await rpc(provider, 'evm_setAutomine', [on]);
}

/**
 * Interval mining, one block every `seconds`. Anvil: `anvil_setIntervalMining` (seconds); Hardhat:
 * `evm_setIntervalMining` (milliseconds). GOTCHA: 0 turns ALL mining off on anvil (not back to automine), so 0 is
 * refused here — call {@link setAutomine}(true) to go back to automine.
 */
export async function setIntervalMining(provider: ChainProvider, seconds: number): Promise<void> {
  if (!(seconds > 0)) {
    throw new ChainError({ code: 'INVALID_ARGUMENT', message: 'interval must be > 0; use setAutomine(true) instead' });
  }
  try {
    await provider.send('anvil_setIntervalMining', [seconds]);
  } catch {
    await rpc(provider, 'evm_setIntervalMining', [Math.round(seconds * 1000)]);
  }
}

/** `evm_snapshot`: returns an id for {@link revertTo}. A snapshot can be reverted to once. */
export async function snapshot(provider: ChainProvider): Promise<string> {
  const id = await rpc(provider, 'evm_snapshot', []);
  if (typeof id !== 'string') throw new ChainError({ code: 'BAD_RESPONSE', message: 'evm_snapshot: no id' });
  return id;
}

/** `evm_revert` to a snapshot; throws if the node refused. */
export async function revertTo(provider: ChainProvider, id: string): Promise<void> {
  const ok = await rpc(provider, 'evm_revert', [id]);
  if (ok !== true) throw new ChainError({ code: 'TX_REJECTED', message: `evm_revert(${id}) refused` });
}

/**
 * Anvil only: `anvil_reorg` with positional params `[depth, []]` — replaces the last `depth` blocks by new empty
 * blocks with new hashes; their transactions are dropped (receipts become null). Hardhat has no equivalent.
 */
export async function anvilReorg(provider: ChainProvider, depth: number): Promise<void> {
  if (!Number.isInteger(depth) || depth < 1) {
    throw new ChainError({ code: 'INVALID_ARGUMENT', message: `reorg depth must be >= 1, got ${depth}` });
  }
  await rpc(provider, 'anvil_reorg', [depth, []]);
}

/** Sets an account's balance (`hardhat_setBalance`, accepted by anvil too). */
export async function setBalance(provider: ChainProvider, address: string, wei: bigint): Promise<void> {
  await rpc(provider, 'hardhat_setBalance', [getAddress(address), toQuantity(wei)]);
}

/**
 * Gives each address `amountWei` on a dev chain: with `hardhat_setBalance` when the node supports it (balance SET to
 * the amount), otherwise by plain transfers from `funder` (amount ADDED; each transfer is awaited). Returns the
 * method used. On zero-gas permissioned chains funding is unnecessary.
 */
export async function fundAccounts(
  provider: ChainProvider,
  funder: Signer | null,
  addresses: readonly string[],
  amountWei: bigint,
): Promise<'setBalance' | 'transfer'> {
  try {
    for (const a of addresses) await provider.send('hardhat_setBalance', [getAddress(a), toQuantity(amountWei)]);
    return 'setBalance';
  } catch (err) {
    const mapped = toChainError(err);
    if (mapped.code === 'CHAIN_UNREACHABLE' || !funder) throw mapped;
  }
  try {
    for (const a of addresses) {
      const tx = await funder.sendTransaction({ to: getAddress(a), value: amountWei });
      await tx.wait();
    }
  } catch (err) {
    throw toChainError(err);
  }
  return 'transfer';
}
