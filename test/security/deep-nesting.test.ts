import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startInstance, api, eventually, type Instance, type Json } from '../helpers/instance';
import { documentPayload, invoicePayload } from '../helpers/payloads';
import { MAX_JSON_DEPTH } from '../../src/domain/json-walk';

/**
 * Issue 11: deeply nested JSON (JSON.parse itself is iterative, what overflowed was our recursion afterwards)
 * and escaped prototype keys, sent to a real service (embedded chain, SQLite, the worker thread of the batch
 * route). Never a 5xx, the server keeps serving, and the batch route refuses what the single route refuses.
 */

type Res = Awaited<ReturnType<typeof api>>;

const nestArrays = (n: number, inner = '1') => '['.repeat(n) + inner + ']'.repeat(n);
const nestObjects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
/** `n` levels under a "constructor" key, as in the issue. */
const ctorDeep = (n: number) => `{"constructor":${nestArrays(n)}}`;
/** Pads a batch body past the 40 kB threshold of the worker thread with valid records. */
const padding = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    JSON.stringify({ type: 'document', externalId: `DEEP-PAD-${i}`, payload: documentPayload(90_000 + i) }),
  ).join(',');

function assertNo5xx(res: Res, what: string): void {
  const show = `${what} → ${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}`;
  assert.ok(res.status < 500, show);
  if (res.status >= 400) {
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, show);
    assert.match(res.body?.code ?? '', /^[A-Z][A-Z0-9_]+$/, show);
  }
}

describe('deep nesting and escaped prototype keys (issue 11)', { timeout: 300_000 }, () => {
  let inst: Instance;
  let base: string;
  let aero: string;
  let parent: string;
  let dataDir: string;

  before(async () => {
    // A data folder the service creates itself (issue 11: 0700, its SQLite file 0600 under umask 022).
    process.umask(0o022);
    parent = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-deep-'));
    dataDir = path.join(parent, 'data');
    inst = await startInstance({ dataDir, env: { RATE_LIMIT_MAX: '1000000' } });
    base = inst.apiUrl;
    aero = inst.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
  });
  after(async () => {
    await inst?.stop();
    fs.rmSync(parent, { recursive: true, force: true });
  });

  it('the data folder the service created is 0700, its SQLite database and WAL 0600', () => {
    assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
    for (const f of ['notary.db', 'notary.db-wal', 'notary.db-shm']) {
      assert.equal(fs.statSync(path.join(dataDir, f)).mode & 0o777, 0o600, f);
    }
  });

  const post = (url: string, raw: string) => api(base, 'POST', url, { key: aero, raw });

  for (const depth of [6_000, 25_000, 80_000]) {
    it(`batch, small body: a payload ${depth} levels deep under "constructor" is refused per record (JSON_TOO_DEEP)`, async () => {
      const raw = `{"records":[{"type":"document","externalId":"DEEP-S-${depth}","payload":${ctorDeep(depth)}}]}`;
      assert.ok(raw.length < 40_000 || depth > 6_000);
      const res = await post('/v1/records/batch', raw);
      assertNo5xx(res, `small batch ${depth}`);
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      assert.equal(res.body.rejected, 1);
      assert.equal(res.body.records[0].error.code, 'JSON_TOO_DEEP');
      assert.equal(res.body.records[0].error.status, 400);
    });

    it(`batch, body over 40 kB (worker thread): ${depth} levels deep; the valid records around it are accepted`, async () => {
      const raw =
        `{"records":[${padding(150)},` +
        `{"type":"document","externalId":"DEEP-L-${depth}","payload":${ctorDeep(depth)}},` +
        `{"type":"document","externalId":"DEEP-L2-${depth}","payload":{"x":${nestObjects(depth)}}}]}`;
      assert.ok(raw.length > 40_000);
      const res = await post('/v1/records/batch', raw);
      assertNo5xx(res, `large batch ${depth}`);
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      const out = res.body.records as Json[];
      assert.equal(out.length, 152);
      assert.equal(out[150].error.code, 'JSON_TOO_DEEP');
      assert.equal(out[151].error.code, 'JSON_TOO_DEEP');
      assert.equal(res.body.accepted, 150);
    });

    it(`batch: the whole body ${depth} levels deep (no records envelope) → 400, never a 5xx`, async () => {
      for (const raw of [
        `{"records":${nestArrays(depth)}}`,
        `{"records":[${nestArrays(depth)}]}`,
        `{"constructor":${nestArrays(depth)},"records":[]}`,
        nestArrays(depth),
        `{"records":[${padding(150)}, ${nestObjects(depth)}]}`,
      ]) {
        const res = await post('/v1/records/batch', raw);
        assertNo5xx(res, `batch body ${raw.slice(0, 40)} ${depth}`);
      }
    });

    it(`single record: ${depth} levels deep in the payload, in parents, in an unknown field → 4xx`, async () => {
      const deepPayload = await post(
        '/v1/records',
        `{"type":"document","externalId":"DEEP-1-${depth}","payload":${ctorDeep(depth)}}`,
      );
      assertNo5xx(deepPayload, `single payload ${depth}`);
      assert.equal(deepPayload.status, 400);
      assert.equal(deepPayload.body.code, 'JSON_TOO_DEEP');
      for (const raw of [
        `{"type":"document","payload":{},"parents":${nestArrays(depth)}}`,
        `{"type":"document","payload":{},"extra":${nestObjects(depth)}}`,
        `{"type":"document","payload":{"a":${nestObjects(depth)}}}`,
        nestArrays(depth),
      ]) {
        const res = await post('/v1/records', raw);
        assertNo5xx(res, `single ${raw.slice(0, 40)} ${depth}`);
        assert.ok(res.status >= 400, `${res.status}`);
      }
      const verify = await api(base, 'POST', '/v1/verify', {
        raw: `{"receipt":{"version":1},"payload":${ctorDeep(depth)}}`,
      });
      assertNo5xx(verify, `verify ${depth}`);
    });
  }

  it('every POST/PUT/PATCH route answers 80,000-deep bodies with a 4xx (fastify + ajv do not recurse into them)', async () => {
    const admin = inst.demo.admin.apiKey;
    const employer = inst.demo.orgs.find((o) => o.id === 'employer')!.apiKey;
    const d = 80_000;
    const routes: [string, string, string | undefined, string][] = [
      ['POST', '/v1/records', aero, `{"type":"document","payload":{"a":${nestArrays(d)}}}`],
      ['POST', '/v1/receipts', aero, `{"ids":${nestArrays(d)}}`],
      ['POST', '/v1/verify', undefined, `{"receipt":${nestObjects(d)}}`],
      ['POST', '/v1/verify', undefined, `{"receipt":{"version":1,"proof":${nestArrays(d)}},"payload":{}}`],
      ['POST', '/v1/claims', employer, `{"externalId":"C","payload":${ctorDeep(d)},"invoices":[]}`],
      ['POST', '/v1/claims', employer, `{"externalId":"C","payload":{},"invoices":${nestArrays(d)}}`],
      ['POST', '/v1/orgs', admin, `{"id":"deep","name":${nestArrays(d)},"kind":"member"}`],
      ['POST', '/v1/orgs/bank/keys', admin, `{"name":"k","scopes":${nestArrays(d)}}`],
      ['POST', '/v1/orgs/bank/grants', admin, `{"auditorOrgId":${nestObjects(d)}}`],
      ['POST', '/v1/orgs/bank/tax-ids', admin, `{"taxIds":${nestArrays(d)}}`],
      ['PATCH', '/v1/orgs/bank', admin, `{"name":${nestObjects(d)}}`],
      ['PUT', '/v1/orgs/bank/tax-ids', admin, `{"taxIds":${nestArrays(d)}}`],
    ];
    for (const [method, url, key, raw] of routes) {
      const res = await api(base, method, url, { key, raw });
      assertNo5xx(res, `${method} ${url} ${raw.slice(0, 40)}`);
    }
  });

  it(`a payload exactly ${MAX_JSON_DEPTH} levels deep is accepted by both routes; one more is refused by both`, async () => {
    // MAX_JSON_DEPTH containers (depth 0 … MAX-1) are fine, as RFC 8785 canonicalization accepted before.
    const ok = `{"a":${nestArrays(MAX_JSON_DEPTH - 2, '[1]')}}`;
    const tooDeep = `{"a":${nestArrays(MAX_JSON_DEPTH - 1, '[1]')}}`;
    const single = await post('/v1/records', `{"type":"document","externalId":"DEPTH-OK-1","payload":${ok}}`);
    assert.equal(single.status, 202, JSON.stringify(single.body));
    const batch = await post(
      '/v1/records/batch',
      `{"records":[{"type":"document","externalId":"DEPTH-OK-2","payload":${ok}},` +
        `{"type":"document","externalId":"DEPTH-BAD-2","payload":${tooDeep}}]}`,
    );
    assert.equal(batch.status, 200);
    assert.equal(batch.body.records[0].status, 'pending', JSON.stringify(batch.body.records[0]));
    assert.equal(batch.body.records[1].error.code, 'JSON_TOO_DEEP');
    const single2 = await post('/v1/records', `{"type":"document","externalId":"DEPTH-BAD-1","payload":${tooDeep}}`);
    assert.equal(single2.status, 400);
    assert.equal(single2.body.code, 'JSON_TOO_DEEP');
  });

  describe('escaped prototype keys: the batch refuses per record what the single route refuses', () => {
    const hostile: [string, string][] = [
      ['"\\u005f_proto__" in the payload', '{"\\u005f_proto__":{"polluted":true}}'],
      ['"__proto\\u005f_" deeper down', '{"a":[{"b":{"__proto\\u005F_":{"x":1}}}]}'],
      ['"\\u0063onstructor" with a prototype', '{"\\u0063onstructor":{"prototype":{"polluted":true}}}'],
      ['plain "__proto__"', '{"__proto__":{"polluted":true}}'],
    ];
    for (const [what, payload] of hostile) {
      it(`${what}: single → 400 MALFORMED_JSON, batch → that record's error, the others accepted`, async () => {
        const single = await post('/v1/records', `{"type":"document","payload":${payload}}`);
        assert.equal(single.status, 400, JSON.stringify(single.body));
        assert.equal(single.body.code, 'MALFORMED_JSON');
        const ext = `ESC-${Math.random().toString(36).slice(2)}`;
        for (const pad of [0, 150]) {
          const raw =
            `{"records":[${pad ? padding(pad) + ',' : ''}` +
            `{"type":"document","externalId":"${ext}-${pad}-ok","payload":{"title":"fine","body":"b"}},` +
            `{"type":"document","externalId":"${ext}-${pad}-bad","payload":${payload}}]}`;
          const res = await post('/v1/records/batch', raw);
          assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
          const out = res.body.records as Json[];
          assert.equal(out.length, pad + 2);
          assert.ok(!('error' in out[pad]), JSON.stringify(out[pad]));
          assert.equal(out[pad + 1].error.code, 'MALFORMED_JSON', JSON.stringify(out[pad + 1]));
          assert.equal(out[pad + 1].error.status, 400);
        }
      });
    }
    it('an escaped "__proto__" next to "records" refuses the whole body, as the single route does', async () => {
      const res = await post(
        '/v1/records/batch',
        `{"\\u005f_proto__":{"x":1},"records":[{"type":"document","payload":{}}]}`,
      );
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'MALFORMED_JSON');
      const none = await api(base, 'GET', '/v1/records?limit=1', { key: aero });
      assert.ok(none.status < 500);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(({} as Record<string, unknown>).x, undefined);
    });
  });

  it('still serves afterwards: a normal submit, single and batch, is accepted and anchored', async () => {
    assert.equal((await api(base, 'GET', '/health')).status, 200);
    const ok = await api(base, 'POST', '/v1/records', {
      key: aero,
      body: { type: 'invoice.issued', externalId: 'DEEP-AFTER-1', payload: invoicePayload(515151) },
    });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    const batch = await post('/v1/records/batch', `{"records":[${padding(200)}]}`);
    assert.equal(batch.status, 200);
    assert.ok(batch.body.accepted === 200 || batch.body.records.every((r: Json) => !('error' in r)));
    await eventually(
      async () => (await api(base, 'GET', `/v1/records/${ok.body.id}`, { key: aero })).body.status !== 'pending',
    );
    assert.ok(inst.runtime.app.server.listening);
  });
});
