import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInstance, api, eventually, type Instance, type Json } from '../helpers/instance';
import { invoicePayload, documentPayload } from '../helpers/payloads';
import { buildApp } from '../../src/api/app';
import { Database } from '../../src/storage/db';
import { SqlStore } from '../../src/storage/sql-repo';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

function assertProblem(res: { status: number; body: Json; headers: Headers }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(res.body.code, code);
  assert.equal(res.body.status, status);
  assert.equal(typeof res.body.title, 'string');
  assert.equal(typeof res.body.detail, 'string');
  assert.ok(!JSON.stringify(res.body).includes('    at '), 'no stack trace in a problem');
}

describe('HTTP API (real socket, embedded chain)', () => {
  let inst: Instance;
  let base: string;
  let bank: string;
  let aero: string;
  let auditor: string;
  let admin: string;

  before(async () => {
    inst = await startInstance();
    base = inst.apiUrl;
    bank = inst.demo.orgs.find((o) => o.id === 'bank')!.apiKey;
    aero = inst.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
    auditor = inst.demo.auditor.apiKey;
    admin = inst.demo.admin.apiKey;
  });
  after(async () => inst?.stop());

  describe('records', () => {
    it('accepts a record (202), serves its receipt once anchored, and the receipt verifies', async () => {
      const payload = invoicePayload(1);
      const sub = await api(base, 'POST', '/v1/records', {
        key: aero,
        body: { type: 'invoice.issued', externalId: 'API-1', payload },
      });
      assert.equal(sub.status, 202);
      assert.equal(sub.body.status, 'pending');
      const notReady = await api(base, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: aero });
      if (notReady.status !== 200) assertProblem(notReady, 409, 'RECEIPT_NOT_READY');
      const receipt = await eventually(async () => {
        const r = await api(base, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: aero });
        return r.status === 200 ? r.body : null;
      });
      assert.equal(receipt.commitment, sub.body.commitment);
      assert.equal(receipt.anchor.chainId, 31337);
      const good = await api(base, 'POST', '/v1/verify', { body: { receipt, payload } });
      assert.equal(good.status, 200);
      assert.equal(good.body.valid, true, JSON.stringify(good.body.checks));
      const bad = await api(base, 'POST', '/v1/verify', {
        body: { receipt, payload: { ...payload, totalGross: '1.00' } },
      });
      assert.equal(bad.body.valid, false);
      assert.deepEqual(
        bad.body.checks.filter((c: Json) => c.status === 'failed').map((c: Json) => c.name),
        ['digest'],
      );

      const rec = await api(base, 'GET', `/v1/records/${sub.body.id}`, { key: aero });
      assert.equal(rec.status, 200);
      assert.deepEqual(rec.body.payload, payload);
      const batch = await api(base, 'GET', `/v1/batches/${receipt.proof.root}`, { key: bank });
      assert.equal(batch.status, 200);
      assert.equal(batch.body.orgId, 'aerospace');
      assert.ok(batch.body.confirmations >= 1);
      assert.equal(batch.body.anchor.txHash, receipt.anchor.txHash);
    });

    it('is idempotent: the same record again is 200 duplicate, another payload under the same externalId is 409', async () => {
      const body = { type: 'invoice.issued', externalId: 'API-2', payload: invoicePayload(2) };
      const a = await api(base, 'POST', '/v1/records', { key: aero, body });
      const b = await api(base, 'POST', '/v1/records', { key: aero, body });
      assert.equal(a.status, 202);
      assert.equal(b.status, 200);
      assert.equal(b.body.id, a.body.id);
      assert.equal(b.body.duplicate, true);
      const c = await api(base, 'POST', '/v1/records', { key: aero, body: { ...body, payload: invoicePayload(3) } });
      assertProblem(c, 409, 'EXTERNAL_ID_CONFLICT');
      assert.equal(c.body.existingId, a.body.id);
    });

    it('answers a batch item by item in request order', async () => {
      const res = await api(base, 'POST', '/v1/records/batch', {
        key: aero,
        body: {
          records: [
            { type: 'invoice.issued', externalId: 'B-1', payload: invoicePayload(10) },
            { type: 'nonsense', payload: {} },
            { type: 'invoice.issued', payload: invoicePayload(11), unexpected: true },
            'not an object',
            { type: 'document', payload: documentPayload(12) },
          ],
        },
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.accepted, 2);
      assert.equal(res.body.rejected, 3);
      const [r0, r1, r2, r3, r4] = res.body.records;
      assert.equal(r0.status, 'pending');
      assert.equal(r1.error.code, 'UNKNOWN_RECORD_TYPE');
      assert.equal(r2.error.code, 'VALIDATION_FAILED');
      assert.equal(r3.error.code, 'VALIDATION_FAILED');
      assert.equal(r4.status, 'pending');
    });

    it('refuses more than 10,000 records in one request', async () => {
      const records = Array.from({ length: 10_001 }, () => ({ type: 'document', payload: {} }));
      assertProblem(
        await api(base, 'POST', '/v1/records/batch', { key: aero, body: { records } }),
        400,
        'VALIDATION_FAILED',
      );
    });
  });

  describe('bad input', () => {
    it('malformed JSON → 400 MALFORMED_JSON', async () => {
      assertProblem(
        await api(base, 'POST', '/v1/records', { key: aero, raw: '{"type": "document", "payload": ' }),
        400,
        'MALFORMED_JSON',
      );
    });
    it('wrong content type → 415', async () => {
      assertProblem(
        await api(base, 'POST', '/v1/records', {
          key: aero,
          raw: 'type=document',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
    });
    it('unknown fields and wrong types → 400 VALIDATION_FAILED with the paths', async () => {
      const res = await api(base, 'POST', '/v1/records', { key: aero, body: { type: 7, payload: {}, extra: 1 } });
      assertProblem(res, 400, 'VALIDATION_FAILED');
      assert.ok(Array.isArray(res.body.errors) && res.body.errors.length >= 1);
    });
    it('a malformed id → 400, an unknown one → 404, an unknown route → 404 problem', async () => {
      assertProblem(await api(base, 'GET', '/v1/records/not-a-uuid', { key: aero }), 400, 'VALIDATION_FAILED');
      assertProblem(await api(base, 'GET', `/v1/records/${UNKNOWN_ID}`, { key: aero }), 404, 'RECORD_NOT_FOUND');
      assertProblem(await api(base, 'GET', '/v1/nothing-here'), 404, 'NOT_FOUND');
    });
    it('a body over the limit → 413', async () => {
      const raw = JSON.stringify({ records: [{ type: 'document', payload: { blob: 'x'.repeat(17 * 1024 * 1024) } }] });
      assertProblem(await api(base, 'POST', '/v1/records/batch', { key: aero, raw }), 413, 'BODY_TOO_LARGE');
    });
    it('a payload JCS cannot canonicalize (lone surrogate) → 422', async () => {
      const raw = '{"type":"document","payload":{"title":"\\ud800"}}';
      assertProblem(await api(base, 'POST', '/v1/records', { key: aero, raw }), 422, 'PAYLOAD_NOT_CANONICALIZABLE');
    });
  });

  describe('keys, scopes and isolation', () => {
    it('requires a valid Bearer key', async () => {
      assertProblem(
        await api(base, 'POST', '/v1/records', { body: { type: 'document', payload: {} } }),
        401,
        'UNAUTHORIZED',
      );
      assertProblem(
        await api(base, 'POST', '/v1/records', { key: 'lnk_wrong', body: { type: 'document', payload: {} } }),
        401,
        'UNAUTHORIZED',
      );
    });

    it('an audit-only key cannot write, a submit key cannot administer', async () => {
      assertProblem(
        await api(base, 'POST', '/v1/records', { key: auditor, body: { type: 'document', payload: {} } }),
        403,
        'FORBIDDEN',
      );
      assertProblem(await api(base, 'GET', '/v1/orgs', { key: bank }), 403, 'FORBIDDEN');
    });

    it('an org never reads another org’s record; a granted auditor reads it with its payload', async () => {
      const sub = await api(base, 'POST', '/v1/records', {
        key: aero,
        body: { type: 'document', payload: documentPayload(99) },
      });
      assertProblem(await api(base, 'GET', `/v1/records/${sub.body.id}`, { key: bank }), 404, 'RECORD_NOT_FOUND');
      assertProblem(
        await api(base, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: bank }),
        404,
        'RECORD_NOT_FOUND',
      );
      const seen = await api(base, 'GET', `/v1/records/${sub.body.id}`, { key: auditor });
      assert.equal(seen.status, 200);
      assert.deepEqual(seen.body.payload, documentPayload(99));
    });

    it('an org cannot use another org’s record as a parent', async () => {
      const inv = await api(base, 'POST', '/v1/records', {
        key: aero,
        body: { type: 'invoice.issued', externalId: 'ISO-1', payload: invoicePayload(50) },
      });
      const res = await api(base, 'POST', '/v1/records', {
        key: bank,
        body: { type: 'invoice.voided', payload: { reason: 'x', creditNoteNumber: 'CN-9' }, parents: [inv.body.id] },
      });
      assertProblem(res, 422, 'PARENT_NOT_FOUND');
    });

    it('admin creates an organisation with its own chain account and keys; a revoked key stops at once', async () => {
      const org = await api(base, 'POST', '/v1/orgs', { key: admin, body: { id: 'newco', name: 'NewCo SA' } });
      assert.equal(org.status, 201);
      assert.match(org.body.address, /^0x[0-9a-fA-F]{40}$/);
      assertProblem(
        await api(base, 'POST', '/v1/orgs', { key: admin, body: { id: 'newco', name: 'again' } }),
        409,
        'ORG_EXISTS',
      );
      const k = await api(base, 'POST', '/v1/orgs/newco/keys', {
        key: admin,
        body: { name: 'erp', scopes: ['submit'] },
      });
      assert.equal(k.status, 201);
      const sub = await api(base, 'POST', '/v1/records', {
        key: k.body.key,
        body: { type: 'document', payload: documentPayload(7) },
      });
      assert.equal(sub.status, 202);
      // The new org's own account anchors it.
      const receipt = await eventually(async () => {
        const r = await api(base, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: k.body.key });
        return r.status === 200 ? r.body : null;
      });
      assert.equal(receipt.anchor.submitter, org.body.address);
      const keys = await api(base, 'GET', '/v1/orgs/newco/keys', { key: admin });
      assert.equal(keys.body.length, 1);
      assert.ok(!JSON.stringify(keys.body).includes(k.body.key), 'key secrets are never listed');
      assert.equal((await api(base, 'DELETE', `/v1/orgs/newco/keys/${k.body.info.id}`, { key: admin })).status, 204);
      assertProblem(
        await api(base, 'POST', '/v1/records', { key: k.body.key, body: { type: 'document', payload: {} } }),
        401,
        'API_KEY_REVOKED',
      );
      assertProblem(
        await api(base, 'DELETE', `/v1/orgs/newco/keys/${k.body.info.id}`, { key: admin }),
        404,
        'API_KEY_NOT_FOUND',
      );
    });
  });

  describe('operations', () => {
    it('serves health, readiness, metrics, OpenAPI and Swagger UI', async () => {
      assert.deepEqual((await api(base, 'GET', '/health')).body, { status: 'ok' });
      const ready = await api(base, 'GET', '/ready');
      assert.equal(ready.status, 200);
      assert.equal(ready.body.checks.chain.ok, true);
      const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
      assert.match(metrics, /notary_http_requests_total\{/);
      assert.match(metrics, /notary_records_submitted_total/);
      const spec = await api(base, 'GET', '/openapi.json');
      for (const p of [
        '/v1/records',
        '/v1/records/batch',
        '/v1/records/{id}',
        '/v1/records/{id}/receipt',
        '/v1/verify',
        '/v1/batches/{root}',
        '/v1/orgs',
      ]) {
        assert.ok(spec.body.paths[p], `OpenAPI documents ${p}`);
      }
      assert.equal((await fetch(`${base}/docs/static/swagger-ui.css`)).status, 200);
      const info = await api(base, 'GET', '/v1/info');
      assert.equal(info.body.chainId, 31337);
    });

    it('sends security headers', async () => {
      const res = await fetch(`${base}/health`);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.ok(res.headers.get('content-security-policy'));
    });
  });
});

describe('HTTP API failure modes', () => {
  it('answers an internal failure with a generic 500 problem that leaks nothing', async () => {
    const db = await Database.open({ sqlitePath: ':memory:' });
    const store = new SqlStore(db);
    const app = await buildApp({ store }, { web: false });
    await db.close(); // a real fault: the database is gone
    const res = await app.inject({
      method: 'GET',
      url: `/v1/records/${UNKNOWN_ID}`,
      headers: { authorization: 'Bearer lnk_x' },
    });
    assert.equal(res.statusCode, 500);
    assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
    const body = res.json();
    assert.equal(body.code, 'INTERNAL');
    assert.equal(body.detail, 'Internal Server Error');
    assert.ok(!res.body.includes('database') && !res.body.includes(' at '), res.body);
    await app.close();
  });

  it('rate-limits per key with 429 RATE_LIMITED', async () => {
    const db = await Database.open({ sqlitePath: ':memory:' });
    const app = await buildApp({ store: new SqlStore(db) }, { web: false, rateLimitMax: 3 });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await app.inject({ method: 'GET', url: '/v1/info' })).statusCode);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    const last = await app.inject({ method: 'GET', url: '/v1/info' });
    assert.equal(last.json().code, 'RATE_LIMITED');
    await app.close();
    await db.close();
  });
});
