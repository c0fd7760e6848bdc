// POST /v1/receipts (bulk receipts) and GET /v1/batches/:root/receipts (NDJSON) against a real instance, on
// SQLite and on PostgreSQL: mixed known / unknown / pending / another organisation's ids, order, limits, scope.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { QueryService } from '../../src/service/queries';
import { createPgDatabase, PG_AVAILABLE } from '../helpers/db';
import { api, eventually, startInstance, type Instance, type Json } from '../helpers/instance';

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`bulk receipts on ${dialect}`, { skip: dialect === 'postgres' && !PG_AVAILABLE, timeout: 180_000 }, () => {
    let inst: Instance;
    let dropDb: (() => Promise<void>) | undefined;
    let aero: string;
    let bank: string;
    let auditor: string;
    const anchored: string[] = [];
    let bankId: string;
    const pending: string[] = [];

    const submit = async (key: string, n: number, tag: string): Promise<string[]> => {
      const records = Array.from({ length: n }, (_, i) => ({
        type: 'document',
        externalId: `${tag}-${i}`,
        payload: { title: `${tag} ${i}` },
      }));
      const r = await api(inst.apiUrl, 'POST', '/v1/records/batch', { key, body: { records } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.accepted, n);
      return r.body.records.map((x: Json) => x.id as string);
    };
    const receiptOf = async (key: string, id: string) => api(inst.apiUrl, 'GET', `/v1/records/${id}/receipt`, { key });

    before(async () => {
      let env: Record<string, string> = {};
      if (dialect === 'postgres') {
        const db = await createPgDatabase();
        dropDb = db.drop;
        env = { DATABASE_URL: db.url };
      }
      inst = await startInstance({ env });
      aero = inst.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
      bank = inst.demo.orgs.find((o) => o.id === 'bank')!.apiKey;
      auditor = inst.demo.auditor.apiKey;
      anchored.push(...(await submit(aero, 5, 'anchored')));
      [bankId] = await submit(bank, 1, 'bank');
      for (const [key, id] of [...anchored.map((id) => [aero, id]), [bank, bankId]] as const) {
        await eventually(async () => (await receiptOf(key, id!)).status === 200, 30_000);
      }
      // Mining stops: the next records stay pending (their batch is sent but never mined).
      await rpc(inst.rpcUrl, 'evm_setAutomine', [false]);
      pending.push(...(await submit(aero, 2, 'pending')));
    });
    after(async () => {
      if (inst) {
        await rpc(inst.rpcUrl, 'evm_setAutomine', [true]).catch(() => undefined);
        await inst.stop();
      }
      await dropDb?.();
    });

    it('answers each id in request order: receipt, RECEIPT_NOT_READY, or RECORD_NOT_FOUND', async () => {
      const unknown = randomUUID();
      const ids = [anchored[0]!, unknown, pending[0]!, bankId, anchored[1]!, anchored[0]!, pending[1]!];
      const r = await api(inst.apiUrl, 'POST', '/v1/receipts', { key: aero, body: { ids } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const items = r.body.receipts as Json[];
      assert.deepEqual(
        items.map((x) => x.id),
        ids,
      );
      assert.deepEqual(
        items.map((x) => (x.receipt ? 'receipt' : x.error.code)),
        [
          'receipt',
          'RECORD_NOT_FOUND',
          'RECEIPT_NOT_READY',
          'RECORD_NOT_FOUND',
          'receipt',
          'receipt',
          'RECEIPT_NOT_READY',
        ],
      );
      assert.deepEqual(
        { ready: r.body.ready, notReady: r.body.notReady, notFound: r.body.notFound },
        {
          ready: 3,
          notReady: 2,
          notFound: 2,
        },
      );
      // Each receipt is exactly what the single route answers.
      for (const i of [0, 4, 5]) {
        const single = await receiptOf(aero, ids[i]!);
        assert.deepEqual(items[i].receipt, single.body);
      }
      assert.equal(items[2].error.recordStatus, 'pending');
      assert.equal(items[2].error.status, 409);
      // Another organisation's record answers exactly like an unknown id (only the id in the detail differs).
      const strip = (e: Json, id: string) => ({ ...e, detail: e.detail.replace(id, '<id>') });
      assert.deepEqual(strip(items[3].error, bankId), strip(items[1].error, unknown));
      assert.equal(items[1].error.status, 404);
    });

    it('a granted auditor reads every organisation; the owner of another org does not', async () => {
      const r = await api(inst.apiUrl, 'POST', '/v1/receipts', {
        key: auditor,
        body: { ids: [bankId, anchored[2]!] },
      });
      assert.equal(r.status, 200);
      assert.deepEqual(
        r.body.receipts.map((x: Json) => x.receipt?.record.orgId),
        ['bank', 'aerospace'],
      );
      const other = await api(inst.apiUrl, 'POST', '/v1/receipts', { key: bank, body: { ids: [anchored[2]!] } });
      assert.equal(other.body.receipts[0].error.code, 'RECORD_NOT_FOUND');
    });

    it('limits: 10,000 ids pass, 10,001 are a 400, as are no ids, a malformed id and no key', async () => {
      const many = Array.from({ length: 10_000 }, (_, i) => (i === 9_999 ? anchored[3]! : randomUUID()));
      const ok = await api(inst.apiUrl, 'POST', '/v1/receipts', { key: aero, body: { ids: many } });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.receipts.length, 10_000);
      assert.equal(ok.body.notFound, 9_999);
      assert.equal(ok.body.receipts[9_999].receipt.record.id, anchored[3]);

      const tooMany = await api(inst.apiUrl, 'POST', '/v1/receipts', {
        key: aero,
        body: { ids: [...many, randomUUID()] },
      });
      assert.equal(tooMany.status, 400);
      assert.equal(tooMany.body.code, 'VALIDATION_FAILED');
      assert.match(tooMany.headers.get('content-type') ?? '', /application\/problem\+json/);
      for (const body of [{ ids: [] }, { ids: ['not-a-uuid'] }, {}, { ids: [anchored[0]], extra: 1 }]) {
        const r = await api(inst.apiUrl, 'POST', '/v1/receipts', { key: aero, body });
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(r.body.code, 'VALIDATION_FAILED');
      }
      const anon = await api(inst.apiUrl, 'POST', '/v1/receipts', { body: { ids: [anchored[0]] } });
      assert.equal(anon.status, 401);
    });

    it('GET /v1/batches/:root/receipts streams the batch as NDJSON, scoped to its owner and auditors', async () => {
      const first = (await receiptOf(aero, anchored[0]!)).body;
      const root = first.proof.root as string;
      const res = await fetch(`${inst.apiUrl}/v1/batches/${root}/receipts`, {
        headers: { authorization: `Bearer ${aero}` },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/x-ndjson/);
      const lines = (await res.text()).trim().split('\n');
      const receipts = lines.map((l) => JSON.parse(l) as Json);
      const batch = await api(inst.apiUrl, 'GET', `/v1/batches/${root}`, { key: aero });
      assert.equal(receipts.length, batch.body.leafCount);
      for (const rc of receipts) {
        assert.equal(rc.proof.root, root);
        assert.deepEqual(rc, (await receiptOf(aero, rc.record.id)).body);
      }
      assert.ok(receipts.some((rc) => rc.record.id === anchored[0]));
      // Paged reads (2 per page here) give the same receipts in the same leaf order.
      const { pages } = await new QueryService(inst.runtime.store).batchReceipts(root, new Set(['aerospace']), 2);
      const paged: Json[][] = [];
      for await (const p of pages) paged.push(p);
      assert.deepEqual(
        paged.map((p) => p.length),
        Array.from({ length: Math.ceil(receipts.length / 2) }, (_, i) => Math.min(2, receipts.length - 2 * i)),
      );
      assert.deepEqual(paged.flat(), receipts);

      const viaAuditor = await fetch(`${inst.apiUrl}/v1/batches/${root}/receipts`, {
        headers: { authorization: `Bearer ${auditor}` },
      });
      assert.equal((await viaAuditor.text()).trim().split('\n').length, receipts.length);
      const asBank = await api(inst.apiUrl, 'GET', `/v1/batches/${root}/receipts`, { key: bank });
      assert.equal(asBank.status, 404);
      assert.equal(asBank.body.code, 'BATCH_NOT_FOUND');
      const unknownRoot = await api(inst.apiUrl, 'GET', `/v1/batches/0x${'ab'.repeat(32)}/receipts`, { key: aero });
      assert.equal(unknownRoot.status, 404);
      assert.equal(unknownRoot.body.code, 'BATCH_NOT_FOUND');
    });

    it('both routes are in the OpenAPI document', async () => {
      const doc = await api(inst.apiUrl, 'GET', '/openapi.json');
      assert.equal(doc.status, 200);
      const post = doc.body.paths['/v1/receipts']?.post;
      assert.ok(post, Object.keys(doc.body.paths).join(' '));
      assert.equal(post.requestBody.content['application/json'].schema.properties.ids.maxItems, 10_000);
      assert.ok(post.responses['200']);
      assert.ok(doc.body.paths['/v1/batches/{root}/receipts']?.get);
    });

    it('pending records get their receipts once mining resumes', async () => {
      await rpc(inst.rpcUrl, 'evm_setAutomine', [true]);
      await rpc(inst.rpcUrl, 'evm_mine');
      const r = await eventually(async () => {
        const x = await api(inst.apiUrl, 'POST', '/v1/receipts', { key: aero, body: { ids: pending } });
        return x.body.ready === 2 ? x : null;
      }, 30_000);
      assert.deepEqual(
        r.body.receipts.map((x: Json) => x.receipt.record.id),
        pending,
      );
    });
  });
}
