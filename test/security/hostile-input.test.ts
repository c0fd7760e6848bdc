import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startInstance, api, eventually, type Instance } from '../helpers/instance';
import { documentPayload, invoicePayload } from '../helpers/payloads';
import * as P from '../../scripts/lib/pilot-payloads';

/**
 * Hostile input on every route (fast-check): malformed JSON, wrong types, huge strings, deep nesting, unicode
 * edge cases, injection strings, prototype-pollution keys, unknown fields. Always a 4xx problem+json with a
 * `code` (or a 2xx when the input happens to be valid), never a 5xx; afterwards the server still serves.
 */

type Res = Awaited<ReturnType<typeof api>>;
/** A parsed JSON response body (the helper types it loosely). */
type Json = Res['body'];

const NASTY: string[] = [
  '\uD800',
  'a\uDFFFb',
  '\uDBFF\uDBFF',
  '\u0000',
  'x\u0000y',
  '\u202Eevil\u202C',
  '\u200F\u05D0\u05D1',
  '😀🏳️‍🌈👩‍👩‍👧',
  '\uFEFF',
  '\uFFFF\uFFFE',
  "'; DROP TABLE records;--",
  "' OR '1'='1",
  '" OR 1=1 --',
  '1; SELECT pg_sleep(5)',
  '__proto__',
  'constructor',
  'prototype',
  '{"$gt": ""}',
  '../../../../etc/passwd',
  '%2e%2e%2f%00',
  '<script>alert(1)</script>',
  '${7*7}{{7*7}}',
  '\r\nX-Injected: 1',
  'a'.repeat(70_000),
  '',
  ' ',
  '0x',
  '0x' + 'g'.repeat(64),
  '0x' + 'f'.repeat(63),
  '00000000-0000-0000-0000-000000000000',
  'NaN',
  '-1',
  '1e309',
  'null',
];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
);
const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'type',
    'payload',
    '$where',
    '',
  ),
  fc.string({ maxLength: 8 }),
);
const { value: hostileValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostileString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 4 }),
  ),
}));

/** All paths (arrays of keys) of a JSON value, the root included. */
function pathsOf(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...pathsOf(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...pathsOf(x, [...prefix, k]));
  return out;
}

type Mutation = { kind: 'set' | 'delete' | 'add'; pathIndex: number; key: string; value: unknown };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('set' as const, 'set' as const, 'delete' as const, 'add' as const),
  pathIndex: fc.nat(),
  key: hostileKey,
  value: hostileValue,
});

/** Applies a mutation to a deep copy; own properties only (a `__proto__` key stays a plain key). */
function mutate(base: unknown, m: Mutation): unknown {
  const copy = JSON.parse(JSON.stringify(base)) as unknown;
  const paths = pathsOf(copy);
  const path = paths[m.pathIndex % paths.length]!;
  if (path.length === 0) {
    if (m.kind === 'set') return m.value;
    if (m.kind === 'add' && copy && typeof copy === 'object' && !Array.isArray(copy)) {
      Object.defineProperty(copy, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
    }
    return copy;
  }
  let parent: Json = copy;
  for (const k of path.slice(0, -1)) parent = parent[k];
  const last = path[path.length - 1]!;
  if (m.kind === 'set')
    Object.defineProperty(parent, last, { value: m.value, enumerable: true, writable: true, configurable: true });
  else if (m.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    if (target && typeof target === 'object' && !Array.isArray(target)) {
      Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
    } else if (Array.isArray(target)) target.push(m.value);
  }
  return copy;
}

/** encodeURIComponent that also encodes lone surrogates (as WTF-8 bytes: invalid UTF-8 for the server to cope with). */
function encodeLoose(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff)
      out += `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`;
    else out += encodeURIComponent(ch);
  }
  return out;
}

function assertSafe(res: Res, what: string): void {
  const show = () => `${what} → ${res.status} ${JSON.stringify(res.body)?.slice(0, 400)}`;
  assert.ok(res.status < 500, show());
  if (res.status >= 400) {
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, show());
    assert.equal(typeof res.body?.code, 'string', show());
    assert.match(res.body.code, /^[A-Z][A-Z0-9_]+$/, show());
    assert.equal(res.body.status, res.status, show());
    assert.ok(!JSON.stringify(res.body).includes('    at '), `${show()}: stack trace in a problem`);
  }
}

const OBJECT_PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

describe('hostile input on every route: never a 5xx, always problem+json with a code', { timeout: 180_000 }, () => {
  let inst: Instance;
  let base: string;
  let aero: string;
  let employer: string;
  let admin: string;
  let auditor: string;
  let invoiceId: string;
  let receipt: Json;
  let receiptPayload: unknown;
  const stats = { requests: 0, by: {} as Record<string, number> };

  const send = async (method: string, url: string, opts: Parameters<typeof api>[3] = {}): Promise<Res> => {
    const res = await api(base, method, url, opts);
    stats.requests++;
    stats.by[res.status] = (stats.by[res.status] ?? 0) + 1;
    return res;
  };

  before(async () => {
    inst = await startInstance({ env: { RATE_LIMIT_MAX: '1000000', ANCHOR_INTERVAL_MS: '100' } });
    base = inst.apiUrl;
    aero = inst.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
    employer = inst.demo.orgs.find((o) => o.id === 'employer')!.apiKey;
    admin = inst.demo.admin.apiKey;
    auditor = inst.demo.auditor.apiKey;
    receiptPayload = invoicePayload(1);
    const sub = await send('POST', '/v1/records', {
      key: aero,
      body: { type: 'invoice.issued', externalId: 'HOSTILE-1', payload: receiptPayload },
    });
    assert.equal(sub.status, 202);
    invoiceId = sub.body.id;
    receipt = await eventually(async () => {
      const r = await send('GET', `/v1/records/${invoiceId}/receipt`, { key: aero });
      return r.status === 200 ? r.body : null;
    });
  });
  after(async () => {
    console.log(`hostile input: ${stats.requests} requests, by status ${JSON.stringify(stats.by)}`);
    await inst?.stop();
  });

  const postRoutes = () => [
    { url: '/v1/records', key: aero, body: { type: 'invoice.issued', externalId: 'M-1', payload: invoicePayload(7) } },
    {
      url: '/v1/records',
      key: aero,
      body: { type: 'document', externalId: 'M-2', payload: documentPayload(7), parents: [invoiceId] },
    },
    {
      url: '/v1/records/batch',
      key: aero,
      body: { records: [{ type: 'document', externalId: 'M-3', payload: documentPayload(8) }] },
    },
    { url: '/v1/verify', key: undefined, body: { receipt, payload: receiptPayload } },
    { url: '/v1/claims', key: employer, body: { externalId: 'CLM-H', payload: P.claim('E-H'), invoices: [invoiceId] } },
    { url: '/v1/orgs', key: admin, body: { id: 'hostile-org', name: 'Hostile', kind: 'auditor' } },
    { url: '/v1/orgs/bank/keys', key: admin, body: { name: 'k', scopes: ['audit'] } },
    { url: '/v1/orgs/bank/grants', key: admin, body: { auditorOrgId: 'auditor' } },
  ];

  it('mutated valid bodies (wrong types, unknown fields, hostile strings and keys) on every POST route', async () => {
    const routes = postRoutes();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: routes.length - 1 }), mutationArb, async (i, m) => {
        const r = routes[i]!;
        const body = mutate(r.body, m);
        const res = await send('POST', r.url, { key: r.key, raw: JSON.stringify(body) ?? 'null' });
        assertSafe(res, `POST ${r.url} ${JSON.stringify(m).slice(0, 200)}`);
      }),
      { numRuns: 400, seed: 7001 },
    );
  });

  it('random JSON values and malformed JSON text as bodies', async () => {
    const routes = postRoutes();
    const validText = routes.map((r) => JSON.stringify(r.body));
    const rawBody = fc.oneof(
      hostileValue.map((v) => JSON.stringify(v) ?? 'null'),
      fc.string({ unit: 'binary', maxLength: 200 }),
      // a valid body cut short, or with a random character inserted
      fc
        .tuple(fc.nat({ max: validText.length - 1 }), fc.nat(), fc.string({ minLength: 1, maxLength: 3 }))
        .map(([i, at, s]) => {
          const t = validText[i]!;
          const p = at % t.length;
          return at % 2 ? t.slice(0, p) : t.slice(0, p) + s + t.slice(p);
        }),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: routes.length - 1 }), rawBody, async (i, raw) => {
        const r = routes[i]!;
        assertSafe(
          await send('POST', r.url, { key: r.key, raw }),
          `POST ${r.url} raw ${JSON.stringify(raw).slice(0, 200)}`,
        );
      }),
      { numRuns: 300, seed: 7002 },
    );
  });

  it('hostile path and query parameters on every GET/DELETE route', async () => {
    const templates: [string, string, string | undefined][] = [
      ['GET', '/v1/records/:p', aero],
      ['GET', '/v1/records/:p/receipt', aero],
      ['GET', '/v1/records/:p/trace', auditor],
      ['GET', `/v1/records/${'$ID'}/trace?format=:p`, aero],
      ['GET', '/v1/batches/:p', aero],
      ['GET', '/v1/claims/:p', employer],
      ['GET', '/v1/orgs/:p', admin],
      ['GET', '/v1/orgs/:p/keys', admin],
      ['GET', '/v1/orgs/:p/chain', aero],
      ['DELETE', '/v1/orgs/:p/keys/:p', admin],
      ['DELETE', '/v1/orgs/bank/keys/:p', admin],
      ['GET', '/v1/records?:p=:p', aero],
    ];
    const param = fc.oneof(hostileString, fc.string({ unit: 'binary', maxLength: 300 }));
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: templates.length - 1 }), param, fc.boolean(), async (i, p, raw) => {
        const [method, tpl, key] = templates[i]!;
        // encoded (the normal case) or only minimally escaped (what a hostile client may send)
        const enc = raw ? p.replace(/[%#?/\s]/g, (c) => encodeLoose(c)) : encodeLoose(p);
        const url = tpl.replace('$ID', invoiceId).replaceAll(':p', enc);
        let res: Res;
        try {
          res = await send(method, url, { key });
        } catch (err) {
          // fetch itself refuses some URLs (e.g. invalid characters): nothing reached the server
          if (/Invalid URL|Failed to parse URL/i.test(String((err as Error).cause ?? err))) return;
          throw err;
        }
        assertSafe(res, `${method} ${url.slice(0, 200)}`);
      }),
      { numRuns: 300, seed: 7003 },
    );
  });

  it('fixed nasties: 10,000-deep nesting, huge bodies, odd numbers, prototype pollution, content types', async () => {
    const deepArray = '['.repeat(10_000) + ']'.repeat(10_000);
    const deepObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const cases: { url: string; key?: string; raw: string; headers?: Record<string, string>; expect?: number }[] = [];
    for (const r of postRoutes()) {
      cases.push({ url: r.url, key: r.key, raw: deepArray }, { url: r.url, key: r.key, raw: deepObject });
    }
    const rec = (payload: string, type = 'document') =>
      `{"type":"${type}","externalId":"F-${cases.length}","payload":${payload}}`;
    cases.push(
      { url: '/v1/records', key: aero, raw: rec(deepArray) },
      { url: '/v1/records', key: aero, raw: rec(deepObject) },
      { url: '/v1/records/batch', key: aero, raw: `{"records":[${rec(deepObject)}]}` },
      { url: '/v1/verify', raw: `{"receipt":${deepObject}}` },
      { url: '/v1/verify', raw: `{"receipt":${JSON.stringify(receipt)},"payload":${deepArray}}` },
      { url: '/v1/records', key: aero, raw: rec('{"n":1e400}') },
      { url: '/v1/records', key: aero, raw: rec('{"n":-1e400}') },
      { url: '/v1/records', key: aero, raw: rec('{"n":-0}') },
      { url: '/v1/records', key: aero, raw: rec('{"n":123456789012345678901234567890}') },
      { url: '/v1/records', key: aero, raw: rec('{"n":5e-324,"m":1.7976931348623157e308}') },
      { url: '/v1/records', key: aero, raw: rec(JSON.stringify({ t: '\uD800 lone' })) },
      { url: '/v1/records', key: aero, raw: rec('"\\ud800\\udc00\\udbff"') },
      { url: '/v1/records', key: aero, raw: rec('{"\\u0000":"\\u0000"}') },
      { url: '/v1/records', key: aero, raw: rec('{"a":1,"a":2}') },
      { url: '/v1/records', key: aero, raw: rec(JSON.stringify({ big: 'x'.repeat(4 * 1024 * 1024) })) },
      {
        url: '/v1/records',
        key: aero,
        raw: `{"type":"document","externalId":"${'e'.repeat(1024 * 1024)}","payload":{}}`,
      },
      {
        url: '/v1/records',
        key: aero,
        raw: `{"type":"document","payload":{}, "pad":"${'p'.repeat(17 * 1024 * 1024)}"}`,
        expect: 413,
      },
      { url: '/v1/records', key: aero, raw: `{"__proto__":{"polluted":true},"type":"document","payload":{}}` },
      {
        url: '/v1/records',
        key: aero,
        raw: `{"constructor":{"prototype":{"polluted":true}},"type":"document","payload":{}}`,
      },
      { url: '/v1/records', key: aero, raw: rec('{"__proto__":{"polluted":true}}') },
      { url: '/v1/records', key: aero, raw: rec('{"constructor":{"prototype":{"polluted":true}}}') },
      { url: '/v1/records/batch', key: aero, raw: `{"records":[{"__proto__":{"isAdmin":true}}]}` },
      { url: '/v1/verify', raw: `{"receipt":{"__proto__":{"valid":true}}}` },
      { url: '/v1/orgs', key: admin, raw: `{"id":"x","name":"y","__proto__":{"kind":"operator"}}` },
      { url: '/v1/records', key: aero, raw: rec('{}', "invoice.issued'; DROP TABLE records;--") },
      { url: '/v1/records', key: aero, raw: '', headers: { 'content-type': 'application/json' } },
      { url: '/v1/records', key: aero, raw: '{}', headers: { 'content-type': 'text/plain' } },
      { url: '/v1/records', key: aero, raw: '{}', headers: { 'content-type': 'application/json; charset=utf-16' } },
      { url: '/v1/records', key: aero, raw: '{}', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      {
        url: '/v1/records',
        key: aero,
        raw: '\u0000\u0001\u0002',
        headers: { 'content-type': 'application/octet-stream' },
      },
      { url: '/v1/records', key: aero, raw: '\uFEFF{"type":"document","payload":{}}' },
    );
    for (const c of cases) {
      const res = await send('POST', c.url, { key: c.key, raw: c.raw, headers: c.headers });
      assertSafe(res, `POST ${c.url} ${c.raw.slice(0, 120)}`);
      if (c.expect) assert.equal(res.status, c.expect);
    }
    // 10,000-deep payloads as query strings too
    assertSafe(
      await send('GET', `/v1/records/${invoiceId}/trace?${'a[b]'.repeat(2000)}=1`, { key: aero }),
      'deep query',
    );
    // Nothing was polluted (the instance runs in this process).
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), OBJECT_PROTO_KEYS);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
  });

  it('receipts fuzzed into POST /v1/verify: never a 5xx, never valid for a changed receipt', async () => {
    const good = await send('POST', '/v1/verify', { body: { receipt, payload: receiptPayload } });
    assert.equal(good.body.valid, true);
    const paths = pathsOf(receipt).filter((p) => p.length > 0);
    type RM = { path: number; how: 'hex' | 'value' | 'delete' | 'swap' | 'type'; n: number; value: unknown };
    const rm: fc.Arbitrary<RM> = fc.record({
      path: fc.nat({ max: paths.length - 1 }),
      how: fc.constantFrom(
        'hex' as const,
        'hex' as const,
        'value' as const,
        'delete' as const,
        'swap' as const,
        'type' as const,
      ),
      n: fc.nat(),
      value: hostileValue,
    });
    let changed = 0;
    await fc.assert(
      fc.asyncProperty(rm, fc.boolean(), async (m, withPayload) => {
        const r = JSON.parse(JSON.stringify(receipt));
        const p = paths[m.path]!;
        let parent = r;
        for (const k of p.slice(0, -1)) parent = parent[k];
        const k = p[p.length - 1]!;
        const old = parent[k];
        if (m.how === 'hex' && typeof old === 'string' && /^0x[0-9a-fA-F]+$/.test(old) && old.length > 2) {
          const i = 2 + (m.n % (old.length - 2));
          const digits = '0123456789abcdef'.replace(old[i]!.toLowerCase(), '');
          parent[k] = old.slice(0, i) + digits[m.n % digits.length] + old.slice(i + 1);
        } else if (m.how === 'value' && typeof old === 'number') parent[k] = old + 1 + (m.n % 1000);
        else if (m.how === 'delete') {
          if (Array.isArray(parent)) parent.splice(k as number, 1);
          else delete parent[k];
        } else if (m.how === 'swap' && Array.isArray(old) && old.length > 1 && old[0] !== old[1]) {
          [old[0], old[1]] = [old[1], old[0]];
        } else if (m.how === 'type') parent[k] = m.value;
        else return; // mutation not applicable to this field
        if (JSON.stringify(r).toLowerCase() === JSON.stringify(receipt).toLowerCase()) return; // no real change
        changed++;
        const res = await send('POST', '/v1/verify', {
          body: withPayload ? { receipt: r, payload: receiptPayload } : { receipt: r },
        });
        assertSafe(res, `verify ${JSON.stringify(m).slice(0, 200)}`);
        if (res.status === 200) {
          assert.equal(res.body.valid, false, `mutated receipt accepted: ${JSON.stringify(m)} at ${p.join('.')}`);
        }
      }),
      { numRuns: 300, seed: 7004 },
    );
    assert.ok(changed > 100, `only ${changed} effective mutations`);
    // The payload is part of the verdict too: any changed payload fails.
    await fc.assert(
      fc.asyncProperty(mutationArb, async (m) => {
        const payload = mutate(receiptPayload, m);
        if (JSON.stringify(payload) === JSON.stringify(receiptPayload)) return;
        const res = await send('POST', '/v1/verify', { body: { receipt, payload } });
        assertSafe(res, 'verify payload');
        if (res.status === 200) assert.equal(res.body.valid, false, `changed payload accepted: ${JSON.stringify(m)}`);
      }),
      { numRuns: 100, seed: 7005 },
    );
  });

  it('still serves afterwards: health, a valid submission, its anchoring, the tables', async () => {
    assert.equal((await send('GET', '/health')).status, 200);
    assert.equal((await send('GET', '/ready')).status, 200);
    const ok = await send('POST', '/v1/records', {
      key: aero,
      body: { type: 'invoice.issued', externalId: 'AFTER-1', payload: invoicePayload(424242) },
    });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    await eventually(
      async () => (await send('GET', `/v1/records/${ok.body.id}`, { key: aero })).body.status !== 'pending',
    );
    const { store } = inst.runtime;
    const tables: { name: string }[] = await store.db.dataSource.query(
      `SELECT name FROM sqlite_master WHERE type = 'table'`,
    );
    const names = tables.map((t) => t.name);
    for (const t of ['records', 'batches', 'tx_outbox', 'api_keys', 'organisations', 'chain_accounts'])
      assert.ok(names.includes(t), `table ${t}`);
    const orgs = await store.read((r) => r.listOrgs());
    assert.ok(orgs.some((o) => o.id === 'bank'));
  });
});
