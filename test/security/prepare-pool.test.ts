import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { PreparePool } from '../../src/service/prepare-pool';
import { isPrepareFailure, type PrepareFailure } from '../../src/service/prepare';

/**
 * Issue 11: nothing the batch-preparation worker thread does can end the process. With the real worker, a
 * deeply nested batch is answered (before: the worker's stack overflowed, the pool re-ran the batch inside the
 * worker's `message` listener, the RangeError there was uncaught and ended the process). With a worker that
 * really fails (test/fixtures/workers), every batch is answered and the dead worker is replaced.
 */

const doc = (i: number, extra = '') =>
  `{"type":"document","externalId":"POOL-${i}${extra}","payload":{"title":"t${i}","body":"${'b'.repeat(200)}"}}`;
/** A batch body over the worker threshold (40 kB): 200 valid records plus `tail`. */
const bigBatch = (tail = '') =>
  `{"records":[${Array.from({ length: 200 }, (_, i) => doc(i)).join(',')}${tail ? ',' + tail : ''}]}`;
const nest = (n: number) => '['.repeat(n) + '1' + ']'.repeat(n);

type Res = Awaited<ReturnType<PreparePool['prepare']>>;
const items = (r: Res) => {
  assert.ok('items' in r, JSON.stringify(r).slice(0, 300));
  return r.items;
};
const errorOf = (r: Res): PrepareFailure => {
  assert.ok('error' in r, JSON.stringify(r).slice(0, 300));
  return r.error;
};

describe('PreparePool: the worker thread cannot end the process (issue 11)', { timeout: 120_000 }, () => {
  const pools: PreparePool[] = [];
  after(async () => Promise.all(pools.map((p) => p.close())));

  it('the real worker answers batches nested 80k/25k/6k deep under "constructor" (JSON_TOO_DEEP per record)', async () => {
    const pool = new PreparePool();
    pools.push(pool);
    assert.equal(await pool.whenReady(), true);
    // Deepest first: before the fix, 80k levels overflowed the worker's stack and the re-run ended the process.
    for (const depth of [80_000, 25_000, 6_000]) {
      const tail = `{"type":"document","externalId":"DEEP-${depth}","payload":{"constructor":${nest(depth)}}}`;
      const res = await pool.prepare(bigBatch(tail));
      const out = items(res);
      assert.equal(out.length, 201);
      assert.ok(out.slice(0, 200).every((x) => !isPrepareFailure(x)));
      const last = out[200]!;
      assert.ok(isPrepareFailure(last));
      assert.equal(last.code, 'JSON_TOO_DEEP');
    }
    assert.equal(pool.stats.worker, 3, JSON.stringify(pool.stats));
    assert.equal(pool.stats.crashes, 0);
  });

  describe('a worker that really fails', () => {
    const faulty = path.join(__dirname, '..', 'fixtures', 'workers', 'faulty-prepare-worker.ts');
    const make = async () => {
      const reports: string[] = [];
      const pool = new PreparePool({ workerScript: faulty, onError: (m) => reports.push(m) });
      pools.push(pool);
      assert.equal(await pool.whenReady(), true);
      return { pool, reports };
    };

    it('a throw reported by the worker: that batch gets a clear INTERNAL problem, not a re-run on this thread', async () => {
      const { pool, reports } = await make();
      const err = errorOf(await pool.prepare(bigBatch('"CRASH-RESULT"')));
      assert.equal(err.code, 'INTERNAL');
      assert.match(err.message, /could not be prepared.*nothing was stored/);
      assert.ok(
        reports.some((r) => /Maximum call stack/.test(r)),
        reports.join('\n'),
      );
      assert.equal(items(await pool.prepare(bigBatch())).length, 200);
      assert.equal(pool.stats.worker, 2);
    });

    for (const how of ['EXIT-WORKER', 'THROW-WORKER']) {
      it(`the worker dies (${how}): its batch is answered, the queued ones go to a replacement worker`, async () => {
        const { pool, reports } = await make();
        // Sent together: the worker dies on the first; the second and third wait in its queue.
        const [killer, next, third] = await Promise.all([
          pool.prepare(bigBatch(`"${how}"`)),
          pool.prepare(bigBatch()),
          pool.prepare(bigBatch(doc(999))),
        ]);
        assert.equal(errorOf(killer!).code, 'INTERNAL');
        assert.match(errorOf(killer!).message, /worker stopped/);
        assert.equal(items(next!).length, 200);
        assert.equal(items(third!).length, 201);
        assert.equal(pool.stats.crashes, 1);
        assert.equal(pool.stats.restarts, 1);
        assert.ok(
          reports.some((r) => /worker stopped/.test(r)),
          reports.join('\n'),
        );
        // The replacement takes new batches on its thread.
        assert.equal(await pool.whenReady(), true);
        const before = pool.stats.worker;
        assert.equal(items(await pool.prepare(bigBatch())).length, 200);
        assert.equal(pool.stats.worker, before + 1);
        assert.equal(pool.stats.inline, 0);
      });
    }
  });
});
