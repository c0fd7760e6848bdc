import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_JSON_DEPTH, findPrototypeKey, jsonPointer, walkJson } from '../../src/domain/json-walk';

/**
 * The one walk over untrusted JSON (issue 11): iterative (any depth is answered, never a stack overflow), the
 * same visiting order as a recursive walk, one depth cap, and a prototype-key check that agrees with
 * secure-json-parse (fastify's body parser, i.e. what the single-record route refuses) on every input.
 */

// fastify's own copy of its body parser's prototype check.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sjson = require(require.resolve('secure-json-parse', { paths: [require.resolve('fastify')] })) as {
  parse(text: string, opts: { protoAction: 'error'; constructorAction: 'error' }): unknown;
};

const nest = (n: number) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown;

function recursiveOrder(v: unknown, out: string[] = [], path: (string | number)[] = []): string[] {
  out.push(jsonPointer(path));
  if (Array.isArray(v)) v.forEach((x, i) => recursiveOrder(x, out, [...path, i]));
  else if (v && typeof v === 'object')
    for (const k of Object.keys(v)) recursiveOrder((v as never)[k], out, [...path, k]);
  return out;
}

describe('walkJson', () => {
  it('visits in the order of a recursive depth-first walk, with the right paths', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const seen: string[] = [];
        const r = walkJson(v, (_x, key, parent) => {
          const path: (string | number)[] = [];
          if (key !== undefined) path.push(key);
          for (let f = parent; f && f.key !== undefined; f = f.parent) path.push(f.key);
          seen.push(jsonPointer(path.reverse()));
          return true;
        });
        assert.ok(r.ok);
        assert.deepEqual(seen, recursiveOrder(v));
      }),
      { numRuns: 300, seed: 1101 },
    );
  });

  it(`accepts ${MAX_JSON_DEPTH} nested containers, stops at one more, with the path of the first too-deep one`, () => {
    assert.ok(walkJson(nest(MAX_JSON_DEPTH), () => true).ok);
    const r = walkJson(nest(MAX_JSON_DEPTH + 1), () => true);
    assert.ok(!r.ok);
    assert.equal(r.reason, 'depth');
    const bad = findPrototypeKey(nest(MAX_JSON_DEPTH + 1));
    assert.deepEqual(bad, { reason: 'depth', path: Array.from({ length: MAX_JSON_DEPTH }, () => 0) });
  });

  it('answers a 1,000,000-deep value without overflowing the stack (JSON.parse itself is iterative)', () => {
    const deep = nest(1_000_000);
    assert.equal(findPrototypeKey(deep)?.reason, 'depth');
    assert.ok(walkJson(deep, () => true, { maxDepth: 2_000_000 }).ok);
  });

  it('visits array holes as undefined (the caller can tell them by `key in parent.value`)', () => {
    const holes: number[] = [];
    // eslint-disable-next-line no-sparse-arrays -- the hole is the point
    walkJson([1, , 3], (_v, key, parent) => {
      if (typeof key === 'number' && !(key in parent!.value)) holes.push(key);
      return true;
    });
    assert.deepEqual(holes, [1]);
  });
});

describe('findPrototypeKey agrees with secure-json-parse (the single route) on every input', () => {
  const key = fc.oneof(
    fc.constantFrom('__proto__', '\\u005f_proto__', '__proto\\u005F_', 'constructor', '\\u0063onstructor', 'prototype'),
    fc.constantFrom('a', 'b', 'toString', 'proto', '_proto_'),
  );
  const { value } = fc.letrec<{ value: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom('1', '"x"', 'null', 'true', '{}', '[]'),
      fc.array(tie('value'), { maxLength: 3 }).map((xs) => `[${xs.join(',')}]`),
      fc
        .array(fc.tuple(key, tie('value')), { maxLength: 3 })
        .map((kvs) => `{${kvs.map(([k, v]) => `"${k}":${v}`).join(',')}}`),
    ),
  }));
  it('refuses exactly what fastify’s parser refuses (escaped spellings included)', () => {
    let refused = 0;
    fc.assert(
      fc.property(value, (text) => {
        let parserRefuses = false;
        try {
          sjson.parse(text, { protoAction: 'error', constructorAction: 'error' });
        } catch {
          parserRefuses = true;
        }
        const ours = findPrototypeKey(JSON.parse(text));
        if (parserRefuses) refused++;
        assert.equal(ours !== null, parserRefuses, text);
      }),
      { numRuns: 2000, seed: 1102 },
    );
    assert.ok(refused > 100, `only ${refused} refused inputs generated`);
  });
});
