/**
 * The one walk over untrusted JSON values (request bodies, payloads, CLI input files): iterative, with an
 * explicit stack, so no input can exhaust the call stack, and with ONE depth cap shared by every caller
 * (prototype-key checks, RFC 8785 canonicalization checks, CLI inputs). `JSON.parse` itself is iterative in
 * V8 and accepts any depth; everything after it must go through here before it recurses (the `canonicalize`
 * package and `JSON.stringify` do recurse, so they only ever see values this walk accepted).
 *
 * No Node.js imports: the browser verifier bundle uses it too.
 */

/**
 * Deepest nesting accepted anywhere: containers (arrays, objects) may sit at depths 0 … MAX_JSON_DEPTH − 1
 * (the root being depth 0), i.e. at most 256 nested containers. Real business documents nest a handful of
 * levels; 256 leaves room for any of them and keeps every recursive consumer far from its stack limit.
 */
export const MAX_JSON_DEPTH = 256;

/** A container (array or object) on the walk's current path. */
export interface JsonFrame {
  readonly value: object;
  /** Its key in its parent (undefined for the root). */
  readonly key: string | number | undefined;
  readonly parent: JsonFrame | undefined;
  /** 0 for the root. */
  readonly depth: number;
}

/**
 * Called for every value (the root first, then depth-first in key order, as a recursive walk would).
 * `key`/`parent` locate it (both undefined for the root). Return false to stop the walk there.
 */
export type JsonVisitor = (value: unknown, key: string | number | undefined, parent: JsonFrame | undefined) => boolean;

export interface JsonWalkOptions {
  /** Default {@link MAX_JSON_DEPTH}. */
  maxDepth?: number;
  /** Called when a container is entered (after its visit accepted it) and left. */
  enter?: (frame: JsonFrame) => void;
  leave?: (frame: JsonFrame) => void;
}

/** Where a walk stopped: `'depth'` (a container nested too deep) or `'visitor'` (the visitor returned false). */
export interface JsonWalkStop {
  ok: false;
  reason: 'depth' | 'visitor';
  value: unknown;
  key: string | number | undefined;
  parent: JsonFrame | undefined;
}

export type JsonWalkResult = { ok: true } | JsonWalkStop;

interface Frame extends JsonFrame {
  /** Object keys (null for arrays) and the next child to visit. */
  keys: string[] | null;
  n: number;
  i: number;
}

const OK: JsonWalkResult = { ok: true };

/**
 * Walks `root` depth-first without recursion. Arrays are walked by index `0 … length − 1` (holes are
 * visited as `undefined`: check `key in parent.value` to tell), objects by `Object.keys`. Memory is
 * O(depth): one frame per container on the current path.
 */
export function walkJson(root: unknown, visit: JsonVisitor, opts: JsonWalkOptions = {}): JsonWalkResult {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  if (!visit(root, undefined, undefined))
    return { ok: false, reason: 'visitor', value: root, key: undefined, parent: undefined };
  if (root === null || typeof root !== 'object') return OK;
  if (maxDepth <= 0) return { ok: false, reason: 'depth', value: root, key: undefined, parent: undefined };
  const stack: Frame[] = [frameOf(root, undefined, undefined, 0)];
  opts.enter?.(stack[0]!);
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.i >= f.n) {
      stack.pop();
      opts.leave?.(f);
      continue;
    }
    const key = f.keys === null ? f.i : f.keys[f.i]!;
    f.i++;
    const value: unknown = (f.value as Record<string | number, unknown>)[key];
    if (!visit(value, key, f)) return { ok: false, reason: 'visitor', value, key, parent: f };
    if (value !== null && typeof value === 'object') {
      if (f.depth + 1 >= maxDepth) return { ok: false, reason: 'depth', value, key, parent: f };
      const child = frameOf(value, key, f, f.depth + 1);
      stack.push(child);
      opts.enter?.(child);
    }
  }
  return OK;
}

function frameOf(value: object, key: string | number | undefined, parent: Frame | undefined, depth: number): Frame {
  const keys = Array.isArray(value) ? null : Object.keys(value);
  return { value, key, parent, depth, keys, n: keys === null ? (value as unknown[]).length : keys.length, i: 0 };
}

/** The keys from the root down to (`key` in) `parent`: `[]` for the root. */
export function jsonPathOf(key: string | number | undefined, parent: JsonFrame | undefined): (string | number)[] {
  const out: (string | number)[] = [];
  if (key !== undefined) out.push(key);
  for (let f = parent; f && f.key !== undefined; f = f.parent) out.push(f.key);
  return out.reverse();
}

/** RFC 6901 JSON Pointer of a path (`''` for the root), as in ajv/TypeBox `instancePath`. */
export function jsonPointer(path: readonly (string | number)[]): string {
  return path.map((k) => '/' + String(k).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** Whether `root` nests containers deeper than the cap allows (see {@link MAX_JSON_DEPTH}). */
export function jsonDepthExceeds(root: unknown, maxDepth: number = MAX_JSON_DEPTH): boolean {
  return !walkJson(root, () => true, { maxDepth }).ok;
}

/** Property names that write through to a prototype when a consumer assigns them (`o[k] = v`) or merges them. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Whether an own property `key: value` is what `secure-json-parse` (fastify's body parser) refuses: a
 * `__proto__` key, or a `constructor` key whose value is an object with an own `prototype`. JSON.parse turns
 * escaped spellings (`"\u005f_proto__"`) into the same own keys, so checking parsed values sees them too.
 */
export function isPrototypeKey(key: string | number | undefined, value: unknown): boolean {
  return (
    key === '__proto__' ||
    (key === 'constructor' &&
      value !== null &&
      typeof value === 'object' &&
      Object.prototype.hasOwnProperty.call(value, 'prototype'))
  );
}

/**
 * The first prototype key ({@link isPrototypeKey}) in a parsed JSON value, or the first container past the
 * depth cap, with its path; null when the value is fine.
 */
export function findPrototypeKey(
  root: unknown,
  opts: { maxDepth?: number } = {},
): { reason: 'prototype-key' | 'depth'; path: (string | number)[] } | null {
  const r = walkJson(root, (value, key) => !isPrototypeKey(key, value), opts);
  if (r.ok) return null;
  return { reason: r.reason === 'depth' ? 'depth' : 'prototype-key', path: jsonPathOf(r.key, r.parent) };
}
