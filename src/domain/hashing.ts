import { createHash } from 'node:crypto';
import { keccak256 as ethersKeccak256 } from 'ethers';
import { createKeccak, type IHasher } from 'hash-wasm';

// Keccak-256 has two engines behind one synchronous function:
// - hash-wasm's WASM keccak (~0.8 µs per 64-byte hash here, ~10x faster than noble/ethers). Creating it is
//   async (WASM compile), so it starts when this module loads and `initHashing()` awaits it;
// - until then (or if WASM is unavailable), ethers' keccak256 (@noble/hashes): same output, slower.
// So every sync function is always correct; call `await initHashing()` once at startup for speed.

let wasm: IHasher | undefined;
let pending: Promise<void> | undefined;

function startWasm(): Promise<void> {
  pending ??= createKeccak(256).then(
    (h) => {
      wasm = h;
    },
    () => {
      // Stay on the ethers fallback; initHashing() reports nothing because results are identical.
      pending = undefined;
    },
  );
  return pending;
}
void startWasm();

/** Resolves once the fast WASM keccak is ready. Idempotent; safe to call often. */
export async function initHashing(): Promise<void> {
  await startWasm();
}

/** True once the WASM keccak is in use (otherwise the slower ethers keccak is). */
export function isFastHashingReady(): boolean {
  return wasm !== undefined;
}

/** keccak256 of `data` as 32 fresh bytes. */
export function keccak256Bytes(data: Uint8Array): Uint8Array {
  if (wasm !== undefined) return wasm.init().update(data).digest('binary');
  return Buffer.from(ethersKeccak256(data).slice(2), 'hex');
}

/** The WASM hasher, for hot loops that manage init/update/digest themselves (undefined before init). */
export function fastKeccak(): IHasher | undefined {
  return wasm;
}

/** SHA-256 of `data` as `0x` + lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return '0x' + createHash('sha256').update(data).digest('hex');
}
