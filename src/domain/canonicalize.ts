import { randomBytes } from 'node:crypto';
import jcs from 'canonicalize';
import { DomainError } from './errors';
import { sha256Hex } from './hashing';
import { isWellFormed, type Hex32 } from './hex';

/** Deepest nesting accepted, so hostile input cannot exhaust the stack of the recursive serializer. */
export const MAX_CANONICAL_DEPTH = 256;

const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const childPath = (path: string, key: string): string =>
  IDENT_RE.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;

function reject(path: string, why: string): never {
  throw new DomainError({
    code: 'DIGEST_NOT_CANONICALIZABLE',
    message: `cannot canonicalize ${path}: ${why}`,
    fields: [path],
  });
}

// RFC 8785 is defined over I-JSON values only. The `canonicalize` package silently drops or rewrites what JSON
// cannot hold (undefined → omitted, toJSON(), lone surrogates → \udxxx); a notary must refuse instead, because
// two different inputs would otherwise get one digest. So walk first, then serialize with the package.
function check(value: unknown, path: string, depth: number, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) reject(path, 'string contains a lone surrogate');
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) reject(path, `${value} is not a JSON number`);
      return;
    case 'object':
      break;
    default:
      reject(path, `${typeof value} is not a JSON value`);
  }
  if (value === null) return;
  if (depth >= MAX_CANONICAL_DEPTH) reject(path, `nested deeper than ${MAX_CANONICAL_DEPTH}`);
  if (seen.has(value)) reject(path, 'circular reference');
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) reject(`${path}[${i}]`, 'sparse array hole');
      check(value[i], `${path}[${i}]`, depth + 1, seen);
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      reject(path, `${(value as object).constructor?.name ?? 'object'} is not a plain object`);
    }
    if (Object.getOwnPropertySymbols(value).length > 0) reject(path, 'symbol-keyed property');
    for (const key of Object.keys(value)) {
      const p = childPath(path, key);
      if (!isWellFormed(key)) reject(p, 'key contains a lone surrogate');
      check((value as Record<string, unknown>)[key], p, depth + 1, seen);
    }
  }
  seen.delete(value);
}

/**
 * The same rules as {@link check} without building paths or tracking cycles (a cycle ends at the depth
 * limit): the ingest hot path checks every payload, and nearly all are fine. Returns false on the first
 * problem; {@link check} then runs to name it precisely.
 */
function isCanonicalizable(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return isWellFormed(value);
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= MAX_CANONICAL_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !isCanonicalizable(value[i], depth + 1)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(value).length > 0) return false;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (!isWellFormed(key) || !isCanonicalizable((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/**
 * RFC 8785 (JCS) canonical form of a JSON value, via the `canonicalize` package.
 * Throws DIGEST_NOT_CANONICALIZABLE (with the JSON path, `$` being the root) for NaN/±Infinity, lone surrogates
 * in strings or keys, undefined/functions/bigint/symbol at any depth, sparse arrays, cycles, non-plain objects
 * (Date, Map, Buffer, class instances: convert them to JSON values first) and nesting deeper than 256.
 */
export function canonicalize(value: unknown): string {
  if (!isCanonicalizable(value, 0)) check(value, '$', 0, new Set());
  const out = jcs(value);
  if (out === undefined) reject('$', 'not a JSON value');
  return out;
}

/** DESIGN §2.1 digest of an already canonical JSON text: SHA-256 of its UTF-8 bytes. */
export function digestCanonical(canonicalJson: string): Hex32 {
  if (typeof canonicalJson !== 'string' || !isWellFormed(canonicalJson)) {
    throw new DomainError({
      code: 'DIGEST_NOT_CANONICALIZABLE',
      message: 'canonical JSON must be a well-formed string',
    });
  }
  return sha256Hex(Buffer.from(canonicalJson, 'utf8'));
}

/** DESIGN §2.1: `sha256(utf8(JCS(payload)))` as {@link Hex32}. */
export function digestPayload(payload: unknown): Hex32 {
  return digestCanonical(canonicalize(payload));
}

/** 32 random bytes from the CSPRNG as {@link Hex32} (the per-record commitment salt). */
export function newSalt(): Hex32 {
  return '0x' + randomBytes(32).toString('hex');
}
