import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config';
import { freePort } from '../../src/chain/anvil';
import { FileKeystore } from '../../src/chain/keystore';
import { startRuntime, type Runtime } from '../../src/cli/runtime';
import { api, eventually } from '../helpers/instance';
import { documentPayload } from '../helpers/payloads';
import * as P from '../../scripts/lib/pilot-payloads';

/**
 * Isolation between organisations, scopes, revocation and admin-only routes over HTTP on the `npm start` stack —
 * with fastify's logger at TRACE and the runtime's log callback captured, to prove that no API key and no
 * private key ever reaches a log line.
 */

type Res = Awaited<ReturnType<typeof api>>;

function assertProblem(res: Res, status: number, code?: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  if (code) assert.equal(res.body.code, code);
}

describe('isolation, scopes, revocation, admin routes — and no secret in any log line', { timeout: 120_000 }, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-sec-'));
  const logLines: string[] = [];
  const runtimeLog: string[] = [];
  /** Every key string this test sent or received, good or bad. */
  const usedKeys = new Set<string>();
  let config: Config;
  let rt: Runtime;
  let base: string;
  let key: Record<'bank' | 'aerospace' | 'employer' | 'auditor' | 'admin', string>;

  const call = (
    k: string | undefined,
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => {
    if (k) usedKeys.add(k);
    return api(base, method, url, { key: k, body, headers });
  };

  before(async () => {
    config = loadConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      CHAIN_PORT: String(await freePort()),
      ANCHOR_INTERVAL_MS: '100',
      CONFIRMATIONS: '1',
      LOG_LEVEL: 'trace',
    });
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        cb();
      },
    });
    rt = await startRuntime(config, {
      blockTime: 0,
      log: (m) => runtimeLog.push(m),
      logger: { level: 'trace', stream },
    });
    base = rt.apiUrl;
    const org = (id: string) => rt.demo!.orgs.find((o) => o.id === id)!.apiKey;
    key = {
      bank: org('bank'),
      aerospace: org('aerospace'),
      employer: org('employer'),
      auditor: rt.demo!.auditor.apiKey,
      admin: rt.demo!.admin.apiKey,
    };
    for (const k of Object.values(key)) usedKeys.add(k);
  });
  after(async () => {
    await rt?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  let bankRecord: { id: string; commitment: string };
  let aeroInvoice: { id: string };
  let employerClaim: { id: string };

  it('org A cannot read, trace, or see the receipt or claim of org B (404, nothing leaked)', async () => {
    const b = await call(key.bank, 'POST', '/v1/records', {
      type: 'document',
      externalId: 'SECRET-1',
      payload: { title: 'bank secret', body: 'TOP-SECRET-PAYLOAD' },
    });
    assert.equal(b.status, 202);
    bankRecord = b.body;
    const inv = await call(key.aerospace, 'POST', '/v1/records', {
      type: 'invoice.issued',
      externalId: 'ISO-INV-1',
      payload: P.invoice('ISO-1'),
    });
    assert.equal(inv.status, 202, JSON.stringify(inv.body));
    aeroInvoice = inv.body;
    await eventually(
      async () => (await call(key.bank, 'GET', `/v1/records/${bankRecord.id}`)).body.status !== 'pending',
    );
    const c = await call(key.employer, 'POST', '/v1/claims', {
      externalId: 'ISO-CLM-1',
      payload: P.claim('E-ISO'),
      invoices: [aeroInvoice.id],
    });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    employerClaim = c.body;

    for (const url of [
      `/v1/records/${bankRecord.id}`,
      `/v1/records/${bankRecord.id}/receipt`,
      `/v1/records/${bankRecord.id}/trace`,
      `/v1/records/${bankRecord.id}/trace?format=bundle`,
    ]) {
      const res = await call(key.aerospace, 'GET', url);
      assert.equal(res.status, 404, `${url}: ${JSON.stringify(res.body)}`);
      assert.ok(!JSON.stringify(res.body).includes('TOP-SECRET'), url);
      assert.ok(!JSON.stringify(res.body).includes(bankRecord.commitment), `${url} leaks the commitment`);
    }
    // Same answer as for an id that does not exist: no existence oracle.
    const unknown = await call(key.aerospace, 'GET', `/v1/records/00000000-0000-4000-8000-000000000000`);
    const other = await call(key.aerospace, 'GET', `/v1/records/${bankRecord.id}`);
    assert.equal(other.body.code, unknown.body.code);
    assertProblem(await call(key.bank, 'GET', `/v1/claims/${employerClaim.id}`), 404);
    assertProblem(await call(key.bank, 'GET', '/v1/orgs/aerospace/chain'), 403, 'FORBIDDEN');
    // The owner and the granted auditor do see it.
    assert.equal((await call(key.bank, 'GET', `/v1/records/${bankRecord.id}`)).body.payload.body, 'TOP-SECRET-PAYLOAD');
    assert.equal((await call(key.auditor, 'GET', `/v1/records/${bankRecord.id}`)).status, 200);
  });

  it('org A cannot submit or claim as org B: no org field is accepted, records are always the caller’s', async () => {
    const asBank = await call(key.aerospace, 'POST', '/v1/records', {
      type: 'document',
      payload: documentPayload(1),
      orgId: 'bank',
    });
    assertProblem(asBank, 400, 'VALIDATION_FAILED');
    const batch = await call(key.aerospace, 'POST', '/v1/records/batch', {
      records: [
        { type: 'document', payload: documentPayload(2), orgId: 'bank' },
        { type: 'document', payload: documentPayload(3) },
      ],
    });
    assert.equal(batch.status, 200);
    assert.equal(batch.body.records[0].error.code, 'VALIDATION_FAILED');
    const mine = await call(key.aerospace, 'GET', `/v1/records/${batch.body.records[1].id}`);
    assert.equal(mine.body.orgId, 'aerospace');
    assertProblem(
      await call(key.aerospace, 'POST', '/v1/claims', {
        externalId: 'AS-BANK',
        payload: P.claim('E-X'),
        invoices: [aeroInvoice.id],
        orgId: 'bank',
      }),
      400,
      'VALIDATION_FAILED',
    );
    // Someone else's externalId space is separate: the same externalId in another org is another record.
    const same = await call(key.aerospace, 'POST', '/v1/records', {
      type: 'document',
      externalId: 'SECRET-1',
      payload: { title: 'not the bank' },
    });
    assert.equal(same.status, 202);
    assert.notEqual(same.body.id, bankRecord.id);
    // A claim's record belongs to the claimant, whatever invoices it names.
    const rec = await call(key.employer, 'GET', `/v1/records/${employerClaim.id}`);
    assert.equal(rec.body.orgId, 'employer');
  });

  it('audit keys cannot write; submit-only keys cannot administer; admin routes need admin', async () => {
    for (const [method, url, body] of [
      ['POST', '/v1/records', { type: 'document', payload: {} }],
      ['POST', '/v1/records/batch', { records: [{ type: 'document', payload: {} }] }],
      ['POST', '/v1/claims', { externalId: 'AUD', payload: P.claim('E-A'), invoices: [aeroInvoice.id] }],
    ] as const) {
      assertProblem(await call(key.auditor, method, url, body), 403, 'FORBIDDEN');
    }
    // An audit-only key of a member org: reads its own records, writes nothing.
    const created = await call(key.admin, 'POST', '/v1/orgs/bank/keys', { name: 'bank audit', scopes: ['audit'] });
    assert.equal(created.status, 201);
    usedKeys.add(created.body.key);
    assertProblem(
      await call(created.body.key, 'POST', '/v1/records', { type: 'document', payload: {} }),
      403,
      'FORBIDDEN',
    );
    assert.equal((await call(created.body.key, 'GET', `/v1/records/${bankRecord.id}`)).status, 200);

    const adminRoutes: [string, string, unknown?][] = [
      ['GET', '/v1/orgs'],
      ['GET', '/v1/orgs/bank'],
      ['POST', '/v1/orgs', { id: 'intruder', name: 'Intruder', kind: 'auditor' }],
      ['GET', '/v1/orgs/bank/keys'],
      ['POST', '/v1/orgs/bank/keys', { name: 'mine now', scopes: ['admin'] }],
      ['POST', '/v1/orgs/aerospace/grants', { auditorOrgId: 'bank' }],
      ['DELETE', `/v1/orgs/aerospace/keys/${created.body.info.id}`],
    ];
    for (const [method, url, body] of adminRoutes) {
      for (const k of [key.bank, key.auditor, created.body.key]) {
        assertProblem(await call(k, method, url, body), 403, 'FORBIDDEN');
      }
      assertProblem(await call(undefined, method, url, body), 401, 'UNAUTHORIZED');
      assertProblem(await call('lnk_' + 'A'.repeat(43), method, url, body), 401, 'UNAUTHORIZED');
    }
    assert.equal((await call(key.admin, 'GET', '/v1/orgs')).status, 200);
    // Nothing was created by the refused calls.
    const orgs = (await call(key.admin, 'GET', '/v1/orgs')).body as { id: string }[];
    assert.ok(!orgs.some((o) => o.id === 'intruder'));
  });

  it('a revoked key stops at once (the very next request), on every route', async () => {
    const created = await call(key.admin, 'POST', '/v1/orgs/bank/keys', {
      name: 'to revoke',
      scopes: ['submit', 'audit'],
    });
    assert.equal(created.status, 201);
    const k = created.body.key as string;
    usedKeys.add(k);
    assert.equal(
      (await call(k, 'POST', '/v1/records', { type: 'document', payload: documentPayload(77) })).status,
      202,
    );
    const del = await call(key.admin, 'DELETE', `/v1/orgs/bank/keys/${created.body.info.id}`);
    assert.equal(del.status, 204);
    assertProblem(
      await call(k, 'POST', '/v1/records', { type: 'document', payload: documentPayload(78) }),
      401,
      'API_KEY_REVOKED',
    );
    assertProblem(await call(k, 'GET', `/v1/records/${bankRecord.id}`), 401, 'API_KEY_REVOKED');
    assertProblem(
      await call(k, 'POST', '/v1/records/batch', { records: [{ type: 'document', payload: {} }] }),
      401,
      'API_KEY_REVOKED',
    );
    // Revoking through another org's path does not work (and does not reveal the key).
    const other = await call(key.admin, 'POST', '/v1/orgs/aerospace/keys', { name: 'aero extra', scopes: ['submit'] });
    usedKeys.add(other.body.key);
    assertProblem(await call(key.admin, 'DELETE', `/v1/orgs/bank/keys/${other.body.info.id}`), 404);
    assert.equal(
      (await call(other.body.key, 'POST', '/v1/records', { type: 'document', payload: documentPayload(79) })).status,
      202,
    );
  });

  it('malformed Authorization headers are 401 problems', async () => {
    for (const h of [
      'Bearer',
      'Bearer ',
      `Basic ${Buffer.from(`admin:${key.admin}`).toString('base64')}`,
      `Bearer ${key.admin} extra`,
      `Token ${key.admin}`,
      `Bearer ${key.admin.slice(0, -1)}`,
      `Bearer ${key.admin}x`,
      'Bearer \u0000',
    ]) {
      let res: Res;
      try {
        res = await api(base, 'GET', '/v1/orgs', { headers: { authorization: h } });
      } catch {
        continue; // fetch refuses to send some header values
      }
      assertProblem(res, 401);
    }
  });

  it('no API key, private key or keystore password appears in any log line (fastify at trace + runtime log)', async () => {
    // Trigger the worker's and the claims' logs too: a batch anchored, a claim signed.
    await eventually(
      async () => (await call(key.bank, 'GET', `/v1/records/${bankRecord.id}`)).body.status === 'confirmed',
    );
    const ks = new FileKeystore(config.keystoreDir, config.keystorePassword);
    const accounts = await ks.list();
    assert.ok(accounts.length >= 3, 'one chain account per member org');
    const privateKeys: string[] = [];
    for (const a of accounts) {
      const w = await ks.load(a.address);
      privateKeys.push(w.privateKey.toLowerCase(), w.privateKey.slice(2).toLowerCase());
    }
    // Keys as they sit in demo-secrets.json / the keys created above / the bad ones sent.
    const secrets = [...usedKeys].filter((k) => k.length >= 20);
    assert.ok(secrets.length >= 8, `only ${secrets.length} keys to look for`);
    const all = [...logLines, ...runtimeLog];
    assert.ok(logLines.length > 100, `fastify logged only ${logLines.length} lines at trace level`);
    assert.ok(
      logLines.some((l) => /incoming request/.test(l)),
      'request logging is on (else this check proves nothing)',
    );
    const haystack = all.join('\n');
    const lower = haystack.toLowerCase();
    for (const s of secrets) {
      assert.ok(!haystack.includes(s), `API key ${s.slice(0, 10)}… appears in the logs`);
      // also its secret part alone (e.g. a logged header split on "lnk_")
      assert.ok(!haystack.includes(s.slice(4)), `API key body ${s.slice(0, 10)}… appears in the logs`);
    }
    for (const pk of privateKeys) assert.ok(!lower.includes(pk), 'a private key appears in the logs');
    assert.ok(!haystack.includes(config.keystorePassword), 'the keystore password appears in the logs');
    assert.ok(!/authorization/i.test(haystack), 'the Authorization header appears in the logs');
    assert.ok(!/bearer /i.test(haystack), 'a Bearer credential appears in the logs');
    console.log(
      `logs checked: ${logLines.length} fastify lines, ${runtimeLog.length} runtime lines, ${secrets.length} API keys, ${accounts.length} private keys`,
    );
    if (process.env.SEC_LOG_DUMP) fs.writeFileSync(process.env.SEC_LOG_DUMP, all.join('\n'));
  });
});
