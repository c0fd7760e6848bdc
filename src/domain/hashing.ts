import { getBytes, keccak256 as ethersKeccak256, sha256 as ethersSha256 } from 'ethers';
import { createKeccak, type IHasher } from 'hash-wasm';
import { bytesToHex32 } from './hex';

// Portable: no Node built-in is imported here, so the same code runs in the auditor page's bundle (ethers picks
// Node's crypto or its own JS implementation; hash-wasm runs wherever WebAssembly may be compiled).
//
// Keccak-256 has two engines behind one synchronous function:
// - hash-wasm's WASM keccak (~0.8 µs per 64-byte hash here, ~10x faster than noble/ethers). Creating it is
//   async (WASM compile) and happens only when `initHashing()` is first called: importing this module does
//   no work (a browser page under a CSP without 'wasm-unsafe-eval' never calls it);
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

/** Starts (once) and awaits the fast WASM keccak. Idempotent; safe to call often. */
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
  return getBytes(ethersKeccak256(data));
}

/** The WASM hasher, for hot loops that manage init/update/digest themselves (undefined before init). */
export function fastKeccak(): IHasher | undefined {
  return wasm;
}

const utf8 = new TextEncoder();

// SHA-256 runs on every ingested record and every verification: in Node it is the native one (several times faster
// than any JS or WASM SHA-256), found at run time through process.getBuiltinModule so that nothing here imports a
// Node built-in; a browser has no `process` and gets ethers' JS SHA-256 (same output). Node's one-shot
// `crypto.hash` (Node ≥ 20.12) skips the Hash object of `createHash`: about half the cost for a small input.
type NodeHash = { update(data: string | Uint8Array, enc?: 'utf8'): NodeHash; digest(enc: 'hex'): string };
type NodeCrypto = {
  createHash?: (a: 'sha256') => NodeHash;
  hash?: (a: 'sha256', data: string | Uint8Array, enc: 'hex') => string;
};
const nodeCrypto: NodeCrypto | undefined = (() => {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
})();
const nodeHash = nodeCrypto?.hash;
const nodeCreateHash = nodeCrypto?.createHash;

/** SHA-256 of `data` (a string is hashed as its UTF-8 bytes) as `0x` + lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  if (nodeHash !== undefined) return '0x' + nodeHash('sha256', data, 'hex');
  if (nodeCreateHash !== undefined) return '0x' + nodeCreateHash('sha256').update(data, 'utf8').digest('hex');
  return ethersSha256(typeof data === 'string' ? utf8.encode(data) : data);
}

/** `n` bytes from the platform's CSPRNG (Web Crypto: Node ≥ 19 and every browser). */
export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** 32 random bytes as `0x` + lowercase hex. */
export function randomHex32(): string {
  return bytesToHex32(randomBytes(32));
}
