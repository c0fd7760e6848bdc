// The TypeScript client (src/client) against a real running instance (embedded anvil, the `npm start` code path).
// Faults the network would cause (a lost answer, a 429) are injected through the client's `fetch` option around
// the real fetch: the server really receives and answers every request.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JsonRpcProvider, Wallet } from 'ethers';
import { freePort } from '../../src/chain/anvil';
import { NotaryApiError, NotaryClient, type Blocked, type RecordInput, type SubmitResult } from '../../src/client';
import { NotaryRegistryV2__factory } from '../../typechain-types';
import { startInstance, type Instance } from '../helpers/instance';

/** anvil's first default account: the embedded chain's deployer, a PAUSER of the registry (public dev key). */
const ANVIL_KEY_0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const ROOT = path.resolve(__dirname, '..', '..');

let inst: Instance;
let key: string;

/** A fetch that counts requests by "METHOD path". */
function counting(): { fetch: typeof fetch; count: (k: string) => number } {
  const n = new Map<string, number>();
  return {
    fetch: (input, init) => {
      const k = `${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`;
      n.set(k, (n.get(k) ?? 0) + 1);
      return fetch(input, init);
    },
    count: (k) => n.get(k) ?? 0,
  };
}

describe('NotaryClient against a running instance', { timeout: 240_000 }, () => {
  before(async () => {
    inst = await startInstance();
    key = inst.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
  });
  after(async () => {
    await inst?.stop();
  });

  let submitted: SubmitResult[] = [];
  let inputs: RecordInput[] = [];

  it('submitMany: chunks with progress; a chunk whose answer was lost is resent and not stored twice', async () => {
    const tag = randomUUID().slice(0, 8);
    // 2,500 records, chunks of 500; the second chunk (offset 500) holds the 250 records WITHOUT externalId.
    inputs = Array.from({ length: 2500 }, (_, i) =>
      i >= 500 && i < 750
        ? { type: 'document', payload: { title: `no-id ${tag} ${i}` } }
        : { type: 'document', externalId: `${tag}-${i}`, payload: { title: `doc ${tag} ${i}` } },
    );
    let batchCalls = 0;
    const lossy: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (String(input).endsWith('/v1/records/batch') && ++batchCalls === 2) {
        await res.arrayBuffer(); // the server stored the chunk and answered; the answer is lost on the way back
        throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
      }
      return res;
    };
    const client = new NotaryClient({ baseUrl: inst.apiUrl, apiKey: key, fetch: lossy });
    const progress: { done: number; offset: number; duplicates: number; retries: number }[] = [];
    const res = await client.submitMany(inputs, {
      chunkSize: 500,
      onProgress: (p) =>
        progress.push({ done: p.done, offset: p.chunk.offset, duplicates: p.duplicates, retries: p.retries }),
    });
    assert.equal(batchCalls, 6, 'five chunks, one sent twice');
    assert.deepEqual(
      progress.map((p) => [p.done, p.offset]),
      [
        [500, 0],
        [1000, 500],
        [1500, 1000],
        [2000, 1500],
        [2500, 2000],
      ],
    );
    assert.equal(progress[1]!.retries, 1);
    assert.equal(res.retries, 1);
    assert.deepEqual(
      { accepted: res.accepted, rejected: res.rejected, created: res.created, duplicates: res.duplicates },
      { accepted: 2500, rejected: 0, created: 2000, duplicates: 500 },
    );
    submitted = res.records.map((r) => {
      assert.ok(!('error' in r), JSON.stringify(r));
      return r as SubmitResult;
    });
    // The resent chunk came back as the records stored by the lost attempt, with and without externalId.
    assert.ok(submitted.slice(500, 1000).every((r) => r.duplicate));
    assert.ok(submitted.slice(0, 500).every((r) => !r.duplicate));
    assert.equal(new Set(submitted.map((r) => r.id)).size, 2500);
    // The database holds each record once.
    const withExt = inputs.filter((r) => r.externalId !== undefined);
    const noExtDigests = submitted.slice(500, 750).map((r) => r.digest);
    const { byExt, byDigest } = await inst.runtime.store.read(async (r) => ({
      byExt: await r.findByExternalIds(
        'aerospace',
        withExt.map((x) => ({ type: x.type, externalId: x.externalId! })),
      ),
      byDigest: await r.findByDigests('aerospace', noExtDigests),
    }));
    assert.equal(byExt.length, 2250);
    assert.equal(byDigest.length, 250);
  });

  it('waitForReceipts: 2,500 receipts in a few POST /v1/receipts requests; they verify offline and remotely', async (t) => {
    const c = counting();
    const client = new NotaryClient({ baseUrl: inst.apiUrl, apiKey: key, fetch: c.fetch });
    const ids = submitted.map((r) => r.id);
    const seen: number[] = [];
    let streamed = 0;
    const res = await client.waitForReceipts(ids, {
      timeoutMs: 120_000,
      onProgress: (p) => seen.push(p.ready),
      onReceipt: () => streamed++,
    });
    assert.equal(res.outcome, 'complete');
    assert.equal(res.receipts.size, 2500);
    assert.equal(streamed, 2500);
    assert.deepEqual(res.pending, []);
    assert.equal(seen.at(-1), 2500);
    assert.ok(
      seen.every((x, i) => i === 0 || x >= seen[i - 1]!),
      'progress never goes back',
    );
    const bulk = c.count('POST /v1/receipts');
    // Every request of the wait was a bulk read or a (one per second at most) probe of one pending record.
    assert.equal(res.requests, bulk + countProbes(c, ids));
    t.diagnostic(`${bulk} POST /v1/receipts, ${res.requests} requests in all, for 2,500 receipts`);
    assert.ok(bulk >= 1 && bulk <= 60, `${bulk} bulk requests for 2,500 receipts (one per record before)`);
    assert.equal(c.count('GET /v1/records/' + ids[1] + '/receipt'), 0);
    for (const [i, r] of ids.entries()) assert.equal(res.receipts.get(r)!.record.id, ids[i]);

    const receipt = res.receipts.get(ids[3])!;
    const offline = await client.verify(receipt, {
      rpcUrl: inst.rpcUrl,
      payload: inputs[3]!.payload,
      trustedRegistries: [inst.demo.registry],
    });
    assert.equal(offline.valid, true, JSON.stringify(offline.checks));
    assert.equal(offline.checks.find((x) => x.name === 'digest')!.status, 'passed');
    const tampered = await client.verify(receipt, { rpcUrl: inst.rpcUrl, payload: { title: 'edited' } });
    assert.equal(tampered.valid, false);
    assert.equal(tampered.checks.find((x) => x.name === 'digest')!.status, 'failed');
    const remote = await client.verifyRemote(receipt, inputs[3]!.payload);
    assert.equal(remote.valid, true);

    // The batch route: the same receipts, streamed.
    let fromBatch = 0;
    for await (const r of client.batchReceipts(receipt.proof.root)) {
      assert.deepEqual(r, res.receipts.get(r.record.id));
      fromBatch++;
    }
    assert.equal(fromBatch, (await client.batch(receipt.proof.root)).leafCount);
  });

  it('errors carry status, code and detail; transport failures and non-idempotent calls are told apart', async () => {
    const client = new NotaryClient({ baseUrl: inst.apiUrl, apiKey: key });
    const unknown = randomUUID();
    await assert.rejects(client.receipt(unknown), (e: unknown) => {
      assert.ok(e instanceof NotaryApiError);
      assert.equal(e.status, 404);
      assert.equal(e.code, 'RECORD_NOT_FOUND');
      assert.match(e.detail, new RegExp(unknown));
      assert.equal(e.problem?.status, 404);
      return true;
    });
    await assert.rejects(
      new NotaryClient({ baseUrl: inst.apiUrl, apiKey: 'lnk_wrong' }).listOrgs(),
      (e: NotaryApiError) => e.status === 401 && e.code === 'UNAUTHORIZED',
    );
    await assert.rejects(client.listOrgs(), (e: NotaryApiError) => e.status === 403 && e.code === 'FORBIDDEN');
    await assert.rejects(
      client.submit({ type: 'no.such.type', payload: {} }),
      (e: NotaryApiError) => e.status === 422 && e.code === 'UNKNOWN_RECORD_TYPE',
    );
    await assert.rejects(
      client.request('POST', '/v1/receipts', { body: { ids: Array.from({ length: 10_001 }, () => randomUUID()) } }),
      (e: NotaryApiError) => e.status === 400 && e.code === 'VALIDATION_FAILED',
    );
    const down = new NotaryClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, apiKey: key, retries: 1 });
    await assert.rejects(down.health(), (e: NotaryApiError) => e.status === 0 && e.code === 'API_UNREACHABLE');
    assert.equal(down.retries, 1, 'a GET is retried after a transport failure');

    // Creating a key is not retried after a lost answer (a second key would exist); a 429 is retried.
    let keyCalls = 0;
    const admin = new NotaryClient({
      baseUrl: inst.apiUrl,
      apiKey: inst.demo.admin.apiKey,
      fetch: async (input, init) => {
        if (String(input).endsWith('/keys') && init?.method === 'POST' && ++keyCalls === 1) {
          await (await fetch(input, init)).arrayBuffer();
          throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
        }
        return fetch(input, init);
      },
    });
    await assert.rejects(admin.createKey('bank', { name: 'lost', scopes: ['audit'] }), /API_UNREACHABLE/);
    assert.equal(keyCalls, 1);
    assert.equal((await admin.listKeys('bank')).filter((k) => k.name === 'lost').length, 1);

    let limited = 0;
    const throttled = new NotaryClient({
      baseUrl: inst.apiUrl,
      apiKey: key,
      fetch: async (input, init) => {
        if (String(input).endsWith('/v1/receipts') && limited++ === 0) {
          return new Response(JSON.stringify({ code: 'RATE_LIMITED', detail: 'slow down', status: 429 }), {
            status: 429,
            headers: { 'retry-after': '0', 'content-type': 'application/problem+json' },
          });
        }
        return fetch(input, init);
      },
    });
    const r = await throttled.receipts([submitted[0]!.id, unknown]);
    assert.equal(throttled.retries, 1);
    assert.deepEqual(
      r.receipts.map((x) => ('receipt' in x ? 'receipt' : x.error.code)),
      ['receipt', 'RECORD_NOT_FOUND'],
    );
  });

  it('waitForReceipts says why records are blocked (registry paused) and stops after blockedTimeoutMs', async () => {
    const client = new NotaryClient({ baseUrl: inst.apiUrl, apiKey: key });
    const registry = NotaryRegistryV2__factory.connect(
      inst.demo.registry,
      new Wallet(ANVIL_KEY_0, new JsonRpcProvider(inst.rpcUrl)),
    );
    await (await registry.pause()).wait();
    try {
      const tag = randomUUID().slice(0, 8);
      const res = await client.submitMany(
        Array.from({ length: 3 }, (_, i) => ({ type: 'document', externalId: `blocked-${tag}-${i}`, payload: { i } })),
      );
      const ids = res.records.map((r) => (r as SubmitResult).id);
      const reasons: (Blocked | null)[] = [];
      const w = await client.waitForReceipts(ids, {
        timeoutMs: 60_000,
        blockedTimeoutMs: 1500,
        onBlocked: (b) => reasons.push(b),
      });
      assert.equal(w.outcome, 'blocked');
      assert.equal(w.blocked?.code, 'REGISTRY_PAUSED');
      assert.deepEqual(w.pending.sort(), [...ids].sort());
      assert.equal(reasons.length, 1, 'reported once');
      assert.equal(reasons[0]!.code, 'REGISTRY_PAUSED');
      assert.ok(!Number.isNaN(Date.parse(reasons[0]!.since)));
      await assert.rejects(client.receipt(ids[0]!), (e: NotaryApiError) => e.code === 'RECEIPT_NOT_READY');
    } finally {
      await (await registry.unpause()).wait();
    }
  });

  it('every other route has its method: ops, admin, batches, trace, claims', async () => {
    const anon = new NotaryClient({ baseUrl: inst.apiUrl });
    assert.deepEqual(await anon.health(), { status: 'ok' });
    const ready = await anon.ready();
    assert.equal(ready.status, 'ready');
    assert.equal(ready.checks.database.ok, true);
    const info = await anon.info();
    assert.equal(info.registry?.toLowerCase(), inst.demo.registry.toLowerCase());

    const admin = new NotaryClient({ baseUrl: inst.apiUrl, apiKey: inst.demo.admin.apiKey });
    const org = await admin.createOrg({ id: 'client-co', name: 'Client Co' });
    assert.equal(org.kind, 'member');
    assert.match(org.address!, /^0x[0-9a-fA-F]{40}$/);
    assert.equal((await admin.getOrg('client-co')).name, 'Client Co');
    assert.ok((await admin.listOrgs()).some((o) => o.id === 'client-co'));
    await assert.rejects(
      admin.createOrg({ id: 'client-co', name: 'again' }),
      (e: NotaryApiError) => e.code === 'ORG_EXISTS',
    );
    const created = await admin.createKey('client-co', { name: 'erp', scopes: ['submit', 'audit'] });
    assert.deepEqual(created.info.scopes, ['submit', 'audit']);
    await admin.grant('client-co', 'auditor');
    const own = new NotaryClient({ baseUrl: inst.apiUrl, apiKey: created.key });
    const rec = await own.submit({ type: 'document', externalId: 'c-1', payload: { title: 'client co' } });
    const w = await own.waitForReceipts([rec.id], { timeoutMs: 30_000 });
    const receipt = w.receipts.get(rec.id)!;
    assert.deepEqual(await own.receipt(rec.id), receipt);
    const auditor = new NotaryClient({ baseUrl: inst.apiUrl, apiKey: inst.demo.auditor.apiKey });
    assert.equal((await auditor.getRecord(rec.id)).orgId, 'client-co');
    const batch = await own.batch(receipt.proof.root);
    assert.equal(batch.orgId, 'client-co');
    const chain = await own.orgChain('client-co');
    assert.equal(chain.consistent, true);
    const trace = await own.trace(rec.id);
    assert.equal(trace.root, rec.id);
    const bundle = await own.traceBundle(rec.id);
    assert.equal(bundle.receipts.length, 1);
    await assert.rejects(own.getClaim(randomUUID()), (e: NotaryApiError) => e.code === 'CLAIM_NOT_FOUND');
    const keys = await admin.listKeys('client-co');
    assert.equal(keys.length, 1);
    await admin.revokeKey('client-co', keys[0]!.id);
    await assert.rejects(
      own.getRecord(rec.id),
      (e: NotaryApiError) => e.status === 401 && e.code === 'API_KEY_REVOKED',
    );
  });

  it('submitUbl: a UBL 2.1 invoice as XML bytes; the same bytes again are a duplicate', async () => {
    const client = new NotaryClient({ baseUrl: inst.apiUrl, apiKey: key });
    const xml = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'peppol', 'base-example.xml'));
    const externalId = `ubl-${randomUUID()}`;
    const first = await client.submitUbl(xml, { externalId });
    assert.equal(first.duplicate, false);
    const again = await client.submitUbl(xml.toString('utf8'), { externalId });
    assert.deepEqual({ id: again.id, duplicate: again.duplicate }, { id: first.id, duplicate: true });
    const view = await client.getRecord(first.id);
    assert.equal(view.type, 'invoice.issued');
    assert.equal(view.externalId, externalId);
    await assert.rejects(
      client.submitUbl('<Invoice', { externalId: `${externalId}-bad` }),
      (e: NotaryApiError) => e.status >= 400 && e.status < 500 && typeof e.code === 'string' && e.code !== '',
    );
  });

  it('the client module loads without fastify, typebox, typeorm or ethers (type-only imports)', () => {
    const probe =
      "require('./src/client');" +
      'const bad = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](fastify|@fastify|typebox|typeorm|ethers|pg|better-sqlite3)[\\\\/]/.test(f));' +
      'console.log(JSON.stringify(bad));';
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register', '-e', probe], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), []);
  });
});

/** Probes of GET /v1/records/:id made by waitForReceipts (any id). */
function countProbes(c: { count: (k: string) => number }, ids: string[]): number {
  return ids.reduce((n, id) => n + c.count(`GET /v1/records/${id}`), 0);
}
