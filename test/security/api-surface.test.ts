import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyHelmet from '@fastify/helmet';
import { buildApp } from '../../src/api/app';
import { AdminService } from '../../src/service/admin';
import { Database } from '../../src/storage/db';
import { SqlStore } from '../../src/storage/sql-repo';
import { freePort, startAnvil, type AnvilHandle } from '../../src/chain/anvil';
import { loadConfig } from '../../src/config';
import { startRuntime, type DemoFile, type Runtime } from '../../src/cli/runtime';
import {
  CachingRootSource,
  MemoryRootSource,
  type AnchorRecord,
  type AnchorRef,
  type AnchorTransaction,
  type RootSource,
} from '../../src/verifier';
import { RootSourceBusyError } from '../../src/verifier/caching-root-source';
import { ServerProc } from '../faults/helpers';
import { deployV2File } from '../helpers/deployment';
import { api, eventually, startInstance, type Instance, type Json } from '../helpers/instance';
import { documentPayload } from '../helpers/payloads';

/**
 * Issue 11, the API surface: what an anonymous caller can make the service do. Authentication before the body is
 * read; per-route body limits and bounded validation errors; rate-limit buckets that a random Authorization header
 * cannot multiply; a per-address limit and bounded chain reads on POST /v1/verify; TLS-only HSTS; /v1/info,
 * /ready and /metrics that leak nothing anonymous callers should not see; a bounded GET /v1/orgs/:id/chain.
 */

const MiB = 1024 * 1024;
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'receipts', 'v1');
const fixture = (f: string): Json => JSON.parse(fs.readFileSync(path.join(FIXTURES, f), 'utf8'));
const randomKey = () => `Bearer lnk_${randomBytes(32).toString('base64url')}`;
const ZERO_ROOT = `0x${'0'.repeat(64)}`;

/** `{"type":"document","payload":{},"parents":[1,1,1,…]}` of about `bytes` bytes. */
function parentsBody(bytes: number): string {
  const head = '{"type":"document","payload":{},"parents":[';
  const n = Math.floor((bytes - head.length - 2) / 2);
  return `${head}${'1,'.repeat(n - 1)}1]}`;
}

/** A kB figure of /proc/<pid>/status (VmRSS, VmHWM). */
function procKb(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `${key} of ${pid}`);
  return Number(m[1]);
}

function assertProblem(res: { status: number; body: Json; headers: Headers }, status: number, code?: string) {
  assert.equal(res.status, status, JSON.stringify(res.body).slice(0, 500));
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  if (code) assert.equal(res.body.code, code);
}

describe('anonymous bodies cost O(1) on the real server (npm start, separate process)', { timeout: 240_000 }, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-surface-'));
  let server: ServerProc;
  let demo: DemoFile;

  before(async () => {
    server = new ServerProc('server', await freePort(), {
      DATA_DIR: dataDir,
      CHAIN_PORT: String(await freePort()),
      ANCHOR_INTERVAL_MS: '200',
      CONFIRMATIONS: '1',
      RATE_LIMIT_MAX: '1000000',
    });
    server.start();
    await server.waitReady();
    demo = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo.json'), 'utf8')) as DemoFile;
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('six parallel anonymous 7 MiB bodies to POST /v1/records and to the batch route: each 401/413, RSS growth < 300 MB', async (t) => {
    const pid = server.child!.pid!;
    const body = parentsBody(7 * MiB);
    assert.ok(body.length > 7 * MiB - 16 && body.length <= 7 * MiB);
    // Warm up both routes once (lazy compilation is not what is measured).
    for (const url of ['/v1/records', '/v1/records/batch']) await api(server.url, 'POST', url, { raw: '{}' });
    const rss0 = procKb(pid, 'VmRSS');
    let peak = rss0;
    let hwmReset = true;
    try {
      fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM (peak RSS) to the current RSS
    } catch {
      hwmReset = false;
    }
    const sampler = setInterval(() => (peak = Math.max(peak, procKb(pid, 'VmRSS'))), 5);
    const answers = await Promise.all(
      ['/v1/records', '/v1/records/batch'].flatMap((url) =>
        Array.from({ length: 6 }, async () => {
          const res = await fetch(server.url + url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          return { url, status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Json };
        }),
      ),
    );
    clearInterval(sampler);
    if (hwmReset) peak = Math.max(peak, procKb(pid, 'VmHWM'));
    const growthMb = ((peak - rss0) * 1024) / 1e6;
    t.diagnostic(
      `server RSS growth ${growthMb.toFixed(1)} MB (peak ${peak} kB, before ${rss0} kB, VmHWM reset ${hwmReset})`,
    );
    assert.ok(growthMb < 300, `server RSS grew by ${growthMb.toFixed(0)} MB (peak ${peak} kB, before ${rss0} kB)`);
    for (const a of answers) {
      assert.ok(a.status === 401 || a.status === 413, `${a.url}: ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`);
      assert.match(a.type ?? '', /^application\/problem\+json/);
      assert.ok(['UNAUTHORIZED', 'BODY_TOO_LARGE'].includes(a.body.code), a.body.code);
    }
    // The server still serves, on the same keep-alive connections.
    assert.deepEqual((await api(server.url, 'GET', '/health')).body, { status: 'ok' });
    const ok = await api(server.url, 'POST', '/v1/records', {
      key: demo.orgs[0]!.apiKey,
      body: { type: 'document', payload: documentPayload(1) },
    });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
  });

  it('an anonymous body declared over 16 MiB: 401 and the connection closes (no 16 MiB read); the server serves on', async () => {
    // The client is still sending when the server closes: it sees the 401, or the reset of the connection.
    const got = await fetch(`${server.url}/v1/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: parentsBody(20 * MiB),
    }).then(
      async (res) => ({
        status: res.status,
        connection: res.headers.get('connection'),
        body: (await res.json()) as Json,
      }),
      (err: Error & { cause?: { code?: string } }) => ({ error: err.cause?.code ?? err.message }),
    );
    if ('error' in got) assert.ok(['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(got.error), got.error);
    else {
      assert.equal(got.status, 401);
      assert.equal(got.connection, 'close');
      assert.equal(got.body.code, 'UNAUTHORIZED');
    }
    assert.equal((await api(server.url, 'GET', '/health')).status, 200);
  });

  it('with a valid key: 1 MiB for one record (413 at once), 16 MiB for the batch route; one validation error, not one per item', async () => {
    const key = demo.orgs[0]!.apiKey;
    assertProblem(
      await api(server.url, 'POST', '/v1/records', { key, raw: parentsBody(7 * MiB) }),
      413,
      'BODY_TOO_LARGE',
    );
    // Under the limit but hostile: 200,000 wrong parents. Before, ajv (allErrors) reported one error per item.
    const res = await api(server.url, 'POST', '/v1/records', { key, raw: parentsBody(400_000) });
    assertProblem(res, 400, 'VALIDATION_FAILED');
    assert.equal(res.body.errors.length, 1, JSON.stringify(res.body.errors).slice(0, 500));
    assert.match(res.body.errors[0].path, /^\/parents/);
    assert.ok(res.body.errors[0].message, 'the error says what is wrong');
    // The batch route still takes large bodies (2 MiB here).
    const big = await api(server.url, 'POST', '/v1/records/batch', {
      key,
      body: { records: [{ type: 'document', payload: { ...documentPayload(2), note: 'x'.repeat(2 * MiB) } }] },
    });
    assert.equal(big.status, 200, JSON.stringify(big.body).slice(0, 300));
    assert.equal(big.body.accepted, 1);
  });
});

/** `p`, or a rejection if it is still pending after `ms` (a hang guard, not a speed check). */
function within<T>(p: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/** A root source whose reads wait until `open()`: shows how many reach it at once. */
class GatedSource implements RootSource {
  active = 0;
  maxActive = 0;
  calls = 0;
  private opened = false;
  private waiting: (() => void)[] = [];
  constructor(private readonly inner: MemoryRootSource) {}
  open(): void {
    this.opened = true;
    for (const w of this.waiting.splice(0)) w();
  }
  private async gate<T>(read: () => Promise<T>): Promise<T> {
    this.calls++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (!this.opened) await new Promise<void>((r) => this.waiting.push(r));
      return await read();
    } finally {
      this.active--;
    }
  }
  getAnchor(ref: AnchorRef): Promise<AnchorRecord | null> {
    return this.gate(() => this.inner.getAnchor(ref));
  }
  getAnchorTransaction(ref: { chainId: number; registry: string; txHash: string }): Promise<AnchorTransaction | null> {
    return this.gate(() => this.inner.getAnchorTransaction(ref));
  }
}

function goldenSource(): MemoryRootSource {
  const state = fixture('chain-state.json') as {
    chainId: number;
    registry: string;
    anchors: Record<string, AnchorRecord>;
    transactions: Record<string, AnchorTransaction>;
  };
  const s = new MemoryRootSource();
  for (const [root, a] of Object.entries(state.anchors))
    s.set({ chainId: state.chainId, registry: state.registry, root }, a);
  for (const [txHash, tx] of Object.entries(state.transactions)) {
    s.setTransaction({ chainId: state.chainId, registry: state.registry, txHash }, tx);
  }
  return s;
}

describe('rate limits, early authentication, headers, /v1/info (buildApp, SQLite)', () => {
  let db: Database;
  let app: FastifyInstance;
  let submitKey: string;
  const inject = (o: { method: string; url: string; ip: string; auth?: string; body?: string; headers?: object }) =>
    app.inject({
      method: o.method as 'GET',
      url: o.url,
      remoteAddress: o.ip,
      headers: {
        ...(o.auth ? { authorization: o.auth } : {}),
        ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...o.headers,
      },
      payload: o.body,
    });

  before(async () => {
    db = await Database.open({ sqlitePath: ':memory:' });
    const store = new SqlStore(db);
    const admin = new AdminService(store);
    await admin.createOrg({ id: 'acme', name: 'Acme' });
    submitKey = (await admin.createKey('acme', 'erp', ['submit'])).key;
    app = await buildApp({ store, rootSource: goldenSource() }, { web: false, rateLimitMax: 3 });
  });
  after(async () => {
    await app?.close();
    await db?.close();
  });

  it('random Authorization headers from one address share its bucket (429), a known key keeps its own', async () => {
    const url = `/v1/batches/${ZERO_ROOT}`;
    const codes: number[] = [];
    for (let i = 0; i < 5; i++)
      codes.push((await inject({ method: 'GET', url, ip: '10.1.0.1', auth: randomKey() })).statusCode);
    assert.deepEqual(codes, [401, 401, 401, 429, 429]);
    // Another address is not affected.
    assert.equal((await inject({ method: 'GET', url, ip: '10.1.0.2', auth: randomKey() })).statusCode, 401);
    // A key that authenticated once has its own bucket, even from the exhausted address.
    assert.equal(
      (await inject({ method: 'GET', url, ip: '10.1.0.3', auth: `Bearer ${submitKey}` })).statusCode,
      404,
      'first use counts against its address',
    );
    const fromExhausted = await inject({ method: 'GET', url, ip: '10.1.0.1', auth: `Bearer ${submitKey}` });
    assert.equal(fromExhausted.statusCode, 404, fromExhausted.body);
  });

  it('POST /v1/verify is limited per address whatever Authorization comes with it', async () => {
    const receipt = fixture('valid-document.json');
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await inject({
        method: 'POST',
        url: '/v1/verify',
        ip: '10.2.0.1',
        auth: randomKey(),
        body: JSON.stringify({ receipt }),
      });
      codes.push(res.statusCode);
      if (res.statusCode === 200) assert.equal(res.json().valid, true, res.body);
    }
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    assert.equal(
      (await inject({ method: 'POST', url: '/v1/verify', ip: '10.2.0.2', body: JSON.stringify({ receipt }) }))
        .statusCode,
      200,
    );
  });

  it('/ready and /metrics are throttled per address (/health is not)', async () => {
    for (const [url, ip] of [
      ['/ready', '10.3.0.1'],
      ['/metrics', '10.3.0.2'],
    ] as const) {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await inject({ method: 'GET', url, ip, auth: randomKey() })).statusCode);
      // /ready is 503 here (no chain configured): answered, not throttled, until the bucket is empty.
      assert.deepEqual(
        codes.map((c) => (c === 429 ? 429 : 'answered')),
        ['answered', 'answered', 'answered', 429, 429],
        `${url}: ${codes.join(' ')}`,
      );
    }
    for (let i = 0; i < 10; i++)
      assert.equal((await inject({ method: 'GET', url: '/health', ip: '10.3.0.3' })).statusCode, 200);
  });

  it('authenticates before reading the body: no key → 401 for malformed, invalid or oversized bodies; unknown route → 404', async () => {
    const cases: [string, string, string][] = [
      ['POST', '/v1/records', '{"type": "document", "payload": '],
      ['POST', '/v1/records', JSON.stringify({ type: 7, payload: {}, extra: 1 })],
      ['POST', '/v1/records', parentsBody(2 * MiB)],
      ['POST', '/v1/records/batch', '{"records": ['],
      ['POST', '/v1/orgs', JSON.stringify({ id: 'x', name: 'y'.repeat(2 * MiB) })],
    ];
    let ip = 0;
    for (const [method, url, body] of cases) {
      const res = await inject({ method, url, ip: `10.4.0.${++ip}`, body });
      assert.equal(res.statusCode, 401, `${method} ${url}: ${res.body.slice(0, 200)}`);
      assert.equal(res.json().code, 'UNAUTHORIZED');
    }
    const lost = await inject({ method: 'POST', url: '/v1/nothing-here', ip: '10.4.1.1', body: '{"x": ' });
    assert.equal(lost.statusCode, 404, lost.body);
    assert.equal(lost.json().code, 'NOT_FOUND');
    // With the key the same malformed body is what it is.
    const res = await inject({
      method: 'POST',
      url: '/v1/records',
      ip: '10.4.2.1',
      auth: `Bearer ${submitKey}`,
      body: '{"type": "document", "payload": ',
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'MALFORMED_JSON');
  });

  it('HSTS and upgrade-insecure-requests only with PUBLIC_URL=https', async () => {
    const plain = await inject({ method: 'GET', url: '/health', ip: '10.5.0.1' });
    assert.equal(plain.headers['strict-transport-security'], undefined);
    assert.doesNotMatch(String(plain.headers['content-security-policy']), /upgrade-insecure-requests/);
    assert.equal(plain.headers['x-content-type-options'], 'nosniff');
    for (const [publicUrl, tls] of [
      ['http://notary.corp.internal:3000', false],
      ['https://notary.example.org', true],
    ] as const) {
      const a = await buildApp({ store: new SqlStore(db) }, { web: false, publicUrl });
      const res = await a.inject({ method: 'GET', url: '/health' });
      await a.close();
      assert.equal(res.headers['strict-transport-security'] !== undefined, tls, publicUrl);
      assert.equal(/upgrade-insecure-requests/.test(String(res.headers['content-security-policy'])), tls, publicUrl);
      if (tls) assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
    }
  });

  it("every answer carries @fastify/helmet's headers for the same options (built once, not per request)", async () => {
    // The reference: @fastify/helmet with the options buildApp gives helmet over plain HTTP and over TLS.
    const helmetHeaders = async (tls: boolean): Promise<Record<string, unknown>> => {
      const ref = Fastify();
      await ref.register(fastifyHelmet, {
        contentSecurityPolicy: {
          directives: {
            defaultSrc: ["'self'"],
            scriptSrc: ["'self'"],
            styleSrc: ["'self'", "'unsafe-inline'"],
            imgSrc: ["'self'", 'data:'],
            connectSrc: ["'self'"],
            upgradeInsecureRequests: tls ? [] : null,
          },
        },
        strictTransportSecurity: tls ? { maxAge: 31_536_000, includeSubDomains: false } : false,
        ...(tls ? {} : { crossOriginOpenerPolicy: false, originAgentCluster: false }),
      });
      ref.get('/', async () => ({}));
      const res = await ref.inject({ method: 'GET', url: '/' });
      await ref.close();
      const { 'content-type': _t, 'content-length': _l, date: _d, connection: _c, ...rest } = res.headers;
      return rest;
    };
    for (const [publicUrl, tls] of [
      [undefined, false],
      ['https://notary.example.org', true],
    ] as const) {
      const expected = await helmetHeaders(tls);
      assert.ok(Object.keys(expected).length >= 8, JSON.stringify(expected));
      const a = await buildApp({ store: new SqlStore(db) }, { web: false, publicUrl });
      const answers = [
        await a.inject({ method: 'GET', url: '/health' }),
        await a.inject({ method: 'GET', url: '/v1/no-such-route' }),
        await a.inject({
          method: 'POST',
          url: '/v1/verify',
          headers: { 'content-type': 'application/json' },
          body: '{',
        }),
        await a.inject({ method: 'POST', url: '/v1/verify', payload: { receipt: {} } }),
        await a.inject({ method: 'GET', url: '/v1/batches/0x00', headers: { authorization: 'Bearer nope' } }),
      ];
      await a.close();
      for (const res of answers) {
        for (const [name, value] of Object.entries(expected)) {
          assert.equal(res.headers[name], value, `${publicUrl ?? 'http'} ${res.statusCode} ${name}`);
        }
      }
      assert.deepEqual(
        answers.map((r) => r.statusCode),
        [200, 404, 400, 200, 401],
      );
    }
  });

  it('/v1/info never shows credentials of the RPC URL it publishes', async () => {
    const a = await buildApp(
      { store: new SqlStore(db), publicRpcUrl: 'https://auditor:s3cret@rpc.consortium.example/v1' },
      { web: false },
    );
    const res = await a.inject({ method: 'GET', url: '/v1/info' });
    await a.close();
    assert.equal(res.json().rpcUrl, 'https://rpc.consortium.example/v1');
    assert.doesNotMatch(res.body, /s3cret|auditor:/);
    assert.doesNotMatch(String(res.headers['content-security-policy']), /s3cret/);
    assert.match(
      String(res.headers['content-security-policy']),
      /connect-src 'self' https:\/\/rpc\.consortium\.example/,
    );
  });
});

describe('bounded chain reads behind POST /v1/verify', () => {
  const REF = (n: number): AnchorRef => ({
    chainId: 31337,
    registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    root: `0x${n.toString(16).padStart(64, '0')}`,
  });

  it('CachingRootSource: identical reads in flight are shared, at most maxInFlight run, maxQueued wait, the rest fail at once', async () => {
    const inner = new GatedSource(new MemoryRootSource());
    const cache = new CachingRootSource(inner, { maxInFlight: 2, maxQueued: 1 });
    const same = Array.from({ length: 5 }, () => cache.getAnchor(REF(1)));
    const others = [cache.getAnchor(REF(2)), cache.getAnchor(REF(3))]; // REF(2) runs, REF(3) waits
    try {
      await assert.rejects(within(cache.getAnchor(REF(4))), (e) => e instanceof RootSourceBusyError);
      await new Promise((r) => setImmediate(r));
      assert.equal(inner.calls, 2, 'five identical reads are one read; the third distinct one waits');
    } finally {
      inner.open();
    }
    assert.deepEqual(await Promise.all([...same, ...others]), [null, null, null, null, null, null, null]);
    assert.equal(inner.maxActive, 2);
    assert.equal(inner.calls, 3);
  });

  it('a verification refused for load is 503 CHAIN_BUSY with retry-after, not an invalid verdict', async () => {
    const db = await Database.open({ sqlitePath: ':memory:' });
    const gated = new GatedSource(goldenSource());
    const app = await buildApp(
      { store: new SqlStore(db), rootSource: new CachingRootSource(gated, { maxInFlight: 1, maxQueued: 0 }) },
      { web: false },
    );
    try {
      const verify = (f: string) => app.inject({ method: 'POST', url: '/v1/verify', payload: { receipt: fixture(f) } });
      const first = verify('valid-document.json');
      await eventually(async () => gated.active === 1, 5000, 5);
      const second = await within(verify('valid-invoice-paid.json')); // another root: needs a read, none is free
      assert.equal(second.statusCode, 503, second.body);
      assert.equal(second.json().code, 'CHAIN_BUSY');
      assert.equal(second.headers['retry-after'], '5');
      gated.open();
      const one = await first;
      assert.equal(one.statusCode, 200);
      assert.equal(one.json().valid, true, one.body);
      const again = await verify('valid-invoice-paid.json');
      assert.equal(again.json().valid, true, again.body);
    } finally {
      gated.open();
      await app.close();
      await db.close();
    }
  });
});

describe(
  'on the npm start stack: /ready and /metrics anonymously, GET /v1/orgs/:id/chain',
  { timeout: 180_000 },
  () => {
    let inst: Instance;
    let bank: string;
    let admin: string;
    const orgIds: string[] = [];

    before(async () => {
      inst = await startInstance({ env: { RATE_LIMIT_MAX: '1000000', ANCHOR_INTERVAL_MS: '100' } });
      bank = inst.demo.orgs.find((o) => o.id === 'bank')!.apiKey;
      admin = inst.demo.admin.apiKey;
      orgIds.push(...inst.demo.orgs.map((o) => o.id));
    });
    after(async () => inst?.stop());

    it('GET /v1/orgs/:id/chain pages with limit/cursor and says truncated instead of reporting older batches missing', async () => {
      const N = 4;
      for (let i = 0; i < N; i++) {
        const sub = await api(inst.apiUrl, 'POST', '/v1/records', {
          key: bank,
          body: { type: 'document', payload: documentPayload(100 + i) },
        });
        assert.equal(sub.status, 202);
        await eventually(
          async () =>
            (await api(inst.apiUrl, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: bank })).status === 200,
        );
      }
      const whole = await api(inst.apiUrl, 'GET', '/v1/orgs/bank/chain', { key: admin });
      assert.equal(whole.status, 200, JSON.stringify(whole.body));
      const total = whole.body.chain.length as number;
      assert.ok(total >= N, `${total} batches`);
      assert.equal(whole.body.truncated, false);
      assert.equal(whole.body.next, null);
      assert.equal(whole.body.consistent, true, JSON.stringify(whole.body));

      let cursor: string | null = null;
      let walked = 0;
      let pages = 0;
      for (;;) {
        const q = `?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await api(inst.apiUrl, 'GET', `/v1/orgs/bank/chain${q}`, { key: admin });
        assert.equal(page.status, 200, JSON.stringify(page.body));
        pages++;
        walked += page.body.chain.length;
        assert.ok(page.body.chain.length <= 2);
        assert.deepEqual(page.body.missingOnChain, [], `page ${pages}: older batches are not "missing"`);
        assert.deepEqual(page.body.missingInDatabase, []);
        assert.equal(page.body.consistent, true);
        if (!page.body.truncated) {
          assert.equal(page.body.next, null);
          break;
        }
        assert.match(page.body.next, /^0x[0-9a-f]{64}$/);
        cursor = page.body.next;
        assert.ok(pages < 10);
      }
      assert.equal(walked, total);
      assert.equal(pages, Math.ceil(total / 2));
      const bad = await api(inst.apiUrl, 'GET', '/v1/orgs/bank/chain?limit=0', { key: admin });
      assertProblem(bad, 400, 'VALIDATION_FAILED');
    });

    it('anonymous /ready and /metrics name no organisation and show no error text; an admin key sees both', async () => {
      // A real fault: the chain goes away while a record waits.
      await inst.runtime.anvil!.stop();
      const sub = await api(inst.apiUrl, 'POST', '/v1/records', {
        key: bank,
        body: { type: 'document', payload: documentPayload(999) },
      });
      assert.equal(sub.status, 202);
      const detailed = await eventually(async () => {
        const r = await api(inst.apiUrl, 'GET', '/ready', { key: admin });
        return r.body.checks.anchoring.ok === false && /bank/.test(r.body.checks.anchoring.detail) ? r : null;
      }, 30_000);
      assert.equal(detailed.status, 503);

      const anon = await api(inst.apiUrl, 'GET', '/ready');
      assert.equal(anon.status, 503);
      assert.equal(anon.body.checks.anchoring.ok, false);
      assert.equal(anon.body.checks.chain.ok, false);
      const text = JSON.stringify(anon.body);
      for (const id of orgIds) assert.ok(!text.includes(id), `anonymous /ready names ${id}: ${text}`);
      assert.ok(!text.includes(detailed.body.checks.anchoring.detail.split(': ').slice(1).join(': ')), text);
      // A submit key is not an admin key.
      assert.ok(!JSON.stringify((await api(inst.apiUrl, 'GET', '/ready', { key: bank })).body).includes('bank'));

      const metricsAnon = await fetch(`${inst.apiUrl}/metrics`).then((r) => r.text());
      assert.match(metricsAnon, /^notary_records_waiting \d+$/m);
      assert.doesNotMatch(metricsAnon, /org="/);
      const metricsAdmin = await fetch(`${inst.apiUrl}/metrics`, {
        headers: { authorization: `Bearer ${admin}` },
      }).then((r) => r.text());
      assert.match(metricsAdmin, /notary_records_waiting\{org="bank"\} [1-9]/);
    });
  },
);

describe(
  '/v1/info on an external chain: never RPC_URL, only PUBLIC_RPC_URL without credentials',
  { timeout: 180_000 },
  () => {
    let anvil: AnvilHandle;
    let dataDir: string;
    let deploymentFile: string;
    let rt: Runtime | undefined;

    const start = (extra: Record<string, string>) =>
      startRuntime(
        loadConfig({
          RPC_URL: anvil.rpcUrl,
          DEPLOYMENT_FILE: deploymentFile,
          DATA_DIR: dataDir,
          KEYSTORE_PASSWORD: 'a long production keystore password, not the dev one',
          KEYSTORE_SCRYPT_N: '131072',
          CONSORTIUM_SECRET: 'a consortium secret of more than thirty-two bytes',
          PORT: '0',
          WORKER: 'false',
          ...extra,
        }),
      );

    before(async () => {
      anvil = await startAnvil();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-info-'));
      deploymentFile = (await deployV2File(anvil, dataDir)).file;
    });
    after(async () => {
      await rt?.stop();
      await anvil?.stop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('hides the internal RPC URL, and shows the public one without user:password', async () => {
      rt = await start({});
      let info = await api(rt.apiUrl, 'GET', '/v1/info');
      assert.equal(info.status, 200);
      assert.equal(info.body.rpcUrl, null);
      assert.ok(!JSON.stringify(info.body).includes(String(anvil.port)), JSON.stringify(info.body));
      assert.equal(info.body.chainId, anvil.chainId);
      await rt.stop();
      rt = undefined;

      rt = await start({ PUBLIC_RPC_URL: 'https://auditor:s3cret@rpc.consortium.example/' });
      info = await api(rt.apiUrl, 'GET', '/v1/info');
      assert.equal(info.body.rpcUrl, 'https://rpc.consortium.example/');
      assert.ok(!JSON.stringify(info.body).includes('s3cret'));
    });
  },
);
