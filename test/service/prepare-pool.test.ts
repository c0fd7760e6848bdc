import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { PreparePool } from '../../src/service/prepare-pool';
import { prepareBatchBody, type Prepared } from '../../src/service/prepare';
import { computeCommitment } from '../../src/domain/commitment';
import { initHashing } from '../../src/domain/hashing';
import { invoicePayload } from '../helpers/payloads';

describe('PreparePool (batch preparation on a worker thread)', () => {
  const pool = new PreparePool({ minBytesForWorker: 1 });
  after(() => pool.close());

  const body = (records: unknown[]) => JSON.stringify({ records });
  const cases: [string, string][] = [
    [
      'a mix of valid and refused items',
      body([
        { type: 'invoice.issued', externalId: 'A-1', payload: invoicePayload(1) },
        { type: 'invoice.forged', payload: {} },
        { type: 'invoice.issued', payload: invoicePayload(2, { totalGross: 1500 }) },
        { type: 'document', payload: { title: 'x' }, extra: true },
        { type: 'expense.claim', payload: {} },
        {
          type: 'document',
          payload: { title: 'parents', body: 'y' },
          parents: ['01a21335-80c6-7767-8eda-60bd1425eec8'],
        },
      ]),
    ],
    ['malformed JSON', '{"records": [ {"type": '],
    ['a prototype key', '{"records": [{"type": "document", "payload": {"__proto__": {"polluted": true}}}]}'],
    ['no records', '{"records": []}'],
    ['an unknown envelope field', '{"records": [{"type": "document", "payload": {}}], "org": "other"}'],
    ['a lone surrogate in a payload', '{"records": [{"type": "document", "payload": {"title": "\\ud800"}}]}'],
  ];

  it('answers exactly like the calling thread, and really on the worker', async () => {
    await initHashing();
    assert.equal(await pool.whenReady(), true);
    for (const [name, raw] of cases) {
      assert.deepEqual(await pool.prepare(raw), prepareBatchBody(raw), name);
    }
    assert.equal(pool.stats.worker, cases.length);
    assert.equal(pool.stats.inline, 0);
  });

  it('draws id, salt and commitment for records without parents, id or salt, when told the organisation', async () => {
    const raw = body([
      { type: 'document', payload: { title: 'a' } },
      { type: 'document', payload: { title: 'b' }, parents: ['01a21335-80c6-7767-8eda-60bd1425eec8'] },
      { type: 'document', payload: { title: 'c' } },
    ]);
    const r = await pool.prepare(raw, undefined, 'acme');
    assert.ok(!('error' in r));
    const [a, b, c] = r.items as Prepared[];
    assert.equal(b!.drawn, undefined); // parents: its commitment binds theirs, computed in the transaction
    for (const p of [a!, c!]) {
      const d = p.drawn!;
      assert.equal(d.orgId, 'acme');
      assert.match(d.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.match(d.salt, /^0x[0-9a-f]{64}$/);
      const input = { recordId: d.id, orgId: 'acme', type: 'document', digest: p.digest, salt: d.salt, parents: [] };
      assert.equal(d.commitment, computeCommitment(input));
    }
    assert.notEqual(a!.drawn!.id, c!.drawn!.id);
    assert.notEqual(a!.drawn!.salt, c!.drawn!.salt);
    // Without the organisation nothing is drawn (and the answers stay those of the calling thread).
    assert.ok((prepareBatchBody(raw) as { items: Prepared[] }).items.every((p) => p.drawn === undefined));
  });

  it('keeps answering (on the calling thread) after the worker is gone', async () => {
    await pool.close();
    const [, raw] = cases[0]!;
    assert.deepEqual(await pool.prepare(raw), prepareBatchBody(raw));
    assert.equal(pool.stats.inline, 1);
  });
});

describe('PreparePool with two worker threads', () => {
  /** Over the 40 kB worker threshold. */
  const big = (tag: string) =>
    JSON.stringify({
      records: Array.from({ length: 300 }, (_, i) => ({
        type: 'document',
        payload: { title: `${tag} ${i}`, body: 'b'.repeat(200) },
      })),
    });

  for (const threads of [1, 2]) {
    it(`threads: ${threads}: ${threads} worker(s) take the batches in flight together`, async () => {
      const pool = new PreparePool({ threads });
      try {
        assert.equal(await pool.whenReady(), true);
        assert.equal(pool.readyWorkers(), 1);
        // The first large batch starts the others; batches in flight together until they are up.
        const end = Date.now() + 60_000;
        let round = 0;
        while (pool.readyWorkers() < threads && Date.now() < end) {
          const raws = [big(`a${round}`), big(`b${round++}`)];
          const res = await Promise.all(raws.map((r) => pool.prepare(r)));
          res.forEach((r, i) => assert.deepEqual(r, prepareBatchBody(raws[i]!)));
        }
        assert.equal(pool.readyWorkers(), threads);
        const before = pool.stats.worker;
        await Promise.all([pool.prepare(big('x')), pool.prepare(big('y'))]);
        assert.equal(pool.stats.worker, before + 2);
        assert.equal(pool.stats.inline, 0);
      } finally {
        await pool.close();
      }
    });
  }
});
