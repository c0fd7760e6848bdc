import jcs from 'canonicalize';
import { DomainError } from './errors';
import { randomHex32, sha256Hex } from './hashing';
import { isWellFormed, type Hex32 } from './hex';
import { MAX_JSON_DEPTH, jsonPathOf, walkJson, type JsonFrame } from './json-walk';

/** Deepest nesting accepted: the one cap of src/domain/json-walk.ts, so the recursive serializer never nears its stack limit. */
export const MAX_CANONICAL_DEPTH = MAX_JSON_DEPTH;

const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `$`, `$.a[1]`, `$["a b"]`: the JSON path of a location, for messages. */
function pathOf(key: string | number | undefined, parent: JsonFrame | undefined): string {
  let path = '$';
  for (const k of jsonPathOf(key, parent)) {
    path += typeof k === 'number' ? `[${k}]` : IDENT_RE.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  }
  return path;
}

function reject(path: string, why: string): never {
  throw new DomainError({
    code: 'DIGEST_NOT_CANONICALIZABLE',
    message: `cannot canonicalize ${path}: ${why}`,
    fields: [path],
  });
}

// RFC 8785 is defined over I-JSON values only. The `canonicalize` package silently drops or rewrites what JSON
// cannot hold (undefined → omitted, toJSON(), lone surrogates → \udxxx); a notary must refuse instead, because
// two different inputs would otherwise get one digest. So walk first (iteratively, with the shared depth cap),
// then serialize with the package, which recurses, but only over values this walk accepted.

/** Why `value` (at `key` in `parent`) is not an I-JSON value, or null. `onPath`: the containers above it. */
function problemOf(
  value: unknown,
  key: string | number | undefined,
  parent: JsonFrame | undefined,
  onPath: Set<object>,
): string | null {
  if (typeof key === 'number' && !(key in parent!.value)) return 'sparse array hole';
  if (typeof key === 'string' && !isWellFormed(key)) return 'key contains a lone surrogate';
  switch (typeof value) {
    case 'string':
      return isWellFormed(value) ? null : 'string contains a lone surrogate';
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : `${value} is not a JSON number`;
    case 'object':
      break;
    default:
      return `${typeof value} is not a JSON value`;
  }
  if (value === null) return null;
  if (onPath.has(value)) return 'circular reference';
  if (!Array.isArray(value)) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      return `${(value as object).constructor?.name ?? 'object'} is not a plain object`;
    }
    if (Object.getOwnPropertySymbols(value).length > 0) return 'symbol-keyed property';
  }
  return null;
}

/** Throws DIGEST_NOT_CANONICALIZABLE naming the first value (depth-first) that JCS cannot represent faithfully. */
function check(root: unknown): void {
  // The containers on the current path: a cycle is named where it closes (a shared, acyclic reference is fine).
  const onPath = new Set<object>();
  let why: string | null = null;
  const r = walkJson(root, (value, key, parent) => (why = problemOf(value, key, parent, onPath)) === null, {
    enter: (f) => onPath.add(f.value),
    leave: (f) => onPath.delete(f.value),
  });
  if (r.ok) return;
  const path = pathOf(r.key, r.parent);
  reject(path, r.reason === 'depth' ? `nested deeper than ${MAX_CANONICAL_DEPTH}` : (why ?? 'not a JSON value'));
}

/**
 * RFC 8785 (JCS) canonical form of a JSON value, via the `canonicalize` package.
 * Throws DIGEST_NOT_CANONICALIZABLE (with the JSON path, `$` being the root) for NaN/±Infinity, lone surrogates
 * in strings or keys, undefined/functions/bigint/symbol at any depth, sparse arrays, cycles, non-plain objects
 * (Date, Map, Buffer, class instances: convert them to JSON values first) and nesting deeper than 256.
 */
export function canonicalize(value: unknown): string {
  check(value);
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
  return sha256Hex(canonicalJson);
}

/** DESIGN §2.1: `sha256(utf8(JCS(payload)))` as {@link Hex32}. */
export function digestPayload(payload: unknown): Hex32 {
  return digestCanonical(canonicalize(payload));
}

/** 32 random bytes from the CSPRNG as {@link Hex32} (the per-record commitment salt). */
export function newSalt(): Hex32 {
  return randomHex32();
}
