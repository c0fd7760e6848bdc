import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { sha256 as ethersSha256 } from 'ethers';
import { canonicalize, digestCanonical, digestPayload, DomainError, newSalt } from '../../src/domain';
import { sha256Hex } from '../../src/domain/hashing';

// Inputs of the JCS authors' public test data (cyberphone/json-canonicalization, testdata/input), as shipped in
// shared/vectors/rfc8785; copied here so the suite needs nothing outside the repository.
const VECTORS = path.join(__dirname, '..', 'fixtures', 'rfc8785');

// Expected canonical forms: cyberphone/json-canonicalization testdata/output/<name>.json (the RFC 8785 authors'
// reference outputs), cross-checked with Python (json.loads(expected) == json.load(input)). Digests: the expected
// text written to a file as UTF-8 and hashed with `sha256sum` on the shell.
const KNOWN: Record<string, { canonical: string; sha256: string }> = {
  french: {
    canonical:
      '{"peach":"This sorting order","p\u00e9ch\u00e9":"is wrong according to French","p\u00eache":"but canonicalization MUST","sin":"ingnore locale"}',
    sha256: '7b46dab8b872302e65108eb2881bfa8964fe32221d5b509bd7c9e323775ba4f9',
  },
  structures: {
    canonical: '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}',
    sha256: '513d0c0f2524a8b295a9bbd982a37b7a000f1c5f915bf2d6d8cfdf75347bacad',
  },
  unicode: {
    canonical: '{"Unnormalized Unicode":"\u1e0d\u0307"}',
    sha256: 'bd0218d3ca16a6bc3ec9802582742855a025566a0e2f76c93fc0ffb2541ecb19',
  },
  values: {
    canonical:
      '{"escaping":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/","literals":[null,true,false],"numbers":[1e+30,4.5,333333333.3333333,0.002,1e-27]}',
    sha256: '0af3685dce30daa753153aadb1956b0f3133642fbe5d4a5e3a4267f94814ba87',
  },
  weird: {
    canonical:
      '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude02":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    sha256: '92591c387de83f90a4f5a7b853081c9482ee5bf076e8e309366de6f215cfcbfb',
  },
};

function assertCode(fn: () => unknown, code: string, field?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DomainError, `expected DomainError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (field !== undefined) assert.deepEqual(err.fields, [field]);
    return true;
  });
}

describe('canonicalize', () => {
  describe('when given the RFC 8785 reference inputs', () => {
    for (const [name, want] of Object.entries(KNOWN)) {
      it(`produces the reference canonical form of ${name}.json`, () => {
        const input: unknown = JSON.parse(readFileSync(path.join(VECTORS, `${name}.json`), 'utf8'));
        assert.equal(canonicalize(input), want.canonical);
      });
    }
  });

  describe('when the value cannot be represented in JSON', () => {
    const cases: [string, unknown, string][] = [
      ['NaN', { a: [1, NaN] }, '$.a[1]'],
      ['Infinity', { a: { b: Infinity } }, '$.a.b'],
      ['-Infinity', [-Infinity], '$[0]'],
      ['a lone high surrogate in a string', { s: 'x\ud800' }, '$.s'],
      ['a lone low surrogate in a key', { ['k\udc00']: 1 }, '$["k\\udc00"]'],
      ['undefined in an object', { a: undefined }, '$.a'],
      ['undefined in an array', [1, undefined], '$[1]'],
      ['a function', { f: () => 1 }, '$.f'],
      ['a bigint', { n: 1n }, '$.n'],
      ['a symbol', { s: Symbol('x') }, '$.s'],
      ['a Date', { d: new Date(0) }, '$.d'],
      ['a Map', { m: new Map() }, '$.m'],
      // eslint-disable-next-line no-sparse-arrays -- the hole is the point of this case
      ['a sparse array', { a: [1, , 3] }, '$.a[1]'],
      ['a key with spaces holding NaN', { 'a b': NaN }, '$["a b"]'],
      ['undefined at the root', undefined, '$'],
    ];
    for (const [what, value, field] of cases) {
      it(`throws DIGEST_NOT_CANONICALIZABLE naming ${field} for ${what}`, () => {
        assertCode(() => canonicalize(value), 'DIGEST_NOT_CANONICALIZABLE', field);
      });
    }
    it('throws on a cycle instead of overflowing the stack', () => {
      const a: Record<string, unknown> = {};
      a.self = a;
      assertCode(() => canonicalize(a), 'DIGEST_NOT_CANONICALIZABLE', '$.self');
    });
    it('throws on nesting deeper than the limit', () => {
      let deep: unknown = 1;
      for (let i = 0; i < 300; i++) deep = [deep];
      assertCode(() => canonicalize(deep), 'DIGEST_NOT_CANONICALIZABLE');
    });
  });

  describe('when the same object is referenced twice without a cycle', () => {
    it('canonicalizes both occurrences', () => {
      const shared = { z: 1, a: '2' };
      assert.equal(canonicalize({ b: shared, a: [shared] }), '{"a":[{"a":"2","z":1}],"b":{"a":"2","z":1}}');
    });
  });

  describe('when given -0 and an object with a null prototype', () => {
    it('writes 0 and treats the object as plain', () => {
      const o = Object.create(null) as Record<string, unknown>;
      o.x = -0;
      assert.equal(canonicalize(o), '{"x":0}');
    });
  });
});

describe('digestPayload', () => {
  describe('when given the RFC 8785 reference inputs', () => {
    for (const [name, want] of Object.entries(KNOWN)) {
      it(`equals sha256sum of the canonical form of ${name}.json`, () => {
        const input: unknown = JSON.parse(readFileSync(path.join(VECTORS, `${name}.json`), 'utf8'));
        assert.equal(digestPayload(input), `0x${want.sha256}`);
      });
    }
  });
  describe('when key order and insignificant whitespace differ', () => {
    it('gives the same digest (sha256sum of {"a":"1250.00","b":[true,null]})', () => {
      const want = '0x8b5e23b39dfd42060be533bb73398cad777938e636741de52cf26d60ba9903b6';
      assert.equal(digestPayload({ b: [true, null], a: '1250.00' }), want);
      assert.equal(digestPayload(JSON.parse('{ "a" : "1250.00",\n "b": [ true , null ] }')), want);
    });
  });
});

describe('digestCanonical', () => {
  it('hashes the text as given (sha256sum of the empty string)', () => {
    assert.equal(digestCanonical(''), '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
  it('refuses a string with a lone surrogate', () => {
    assertCode(() => digestCanonical('"\ud800"'), 'DIGEST_NOT_CANONICALIZABLE');
  });
});

describe('newSalt', () => {
  it('returns distinct 32-byte lowercase hex values', () => {
    const a = newSalt();
    const b = newSalt();
    assert.match(a, /^0x[0-9a-f]{64}$/);
    assert.notEqual(a, b);
  });
});

describe('sha256Hex', () => {
  // Node's one-shot crypto.hash, createHash and the browser's JS SHA-256 (ethers) must agree on every input.
  const inputs: (string | Uint8Array)[] = [
    '',
    'abc',
    '{"p\u00e9ch\u00e9":"\u20ac 1250.00","emoji":"\ud83d\ude00"}',
    'x'.repeat(1 << 20),
    new Uint8Array([0, 1, 2, 255]),
    new TextEncoder().encode('\u00e9\u20ac\ud83d\ude00'),
  ];
  it('equals createHash and the JS SHA-256 of the UTF-8 bytes, for strings and bytes', () => {
    for (const x of inputs) {
      const bytes = typeof x === 'string' ? new TextEncoder().encode(x) : x;
      const js = ethersSha256(bytes);
      assert.equal(sha256Hex(x), js, typeof x === 'string' ? x.slice(0, 40) : 'bytes');
      assert.equal(sha256Hex(x), '0x' + createHash('sha256').update(bytes).digest('hex'));
    }
    assert.equal(sha256Hex('abc'), '0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
