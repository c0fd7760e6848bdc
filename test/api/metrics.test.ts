import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { Metrics } from '../../src/api/metrics';
import { Database } from '../../src/storage/db';
import { SqlStore } from '../../src/storage/sql-repo';

// Prometheus text format 0.0.4: a sample line is `name{label="value",…} number`, where a label value escapes
// backslash, double quote and line feed as \\, \" and \n.
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? -?[0-9.e+]+$/;

function assertWellFormed(text: string): void {
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    assert.match(line, SAMPLE, `not a sample line: ${JSON.stringify(line)}`);
  }
}

describe('metrics (prom-client)', () => {
  it('exports counters as counters, adding up per label set', async () => {
    const m = new Metrics();
    m.counter('notary_verifications_total', 'Receipt verifications served');
    m.inc('notary_verifications_total', { valid: 'true' });
    m.inc('notary_verifications_total', { valid: 'true' });
    m.inc('notary_verifications_total', { valid: 'false' }, 5);
    const text = await m.render();
    assert.match(text, /^# TYPE notary_verifications_total counter$/m);
    assert.match(text, /^notary_verifications_total\{valid="true"\} 2$/m);
    assert.match(text, /^notary_verifications_total\{valid="false"\} 5$/m);
    assertWellFormed(text);
  });

  it('escapes quotes, backslashes and newlines in label values instead of mangling or breaking lines', async () => {
    const m = new Metrics();
    m.counter('notary_http_requests_total', 'HTTP requests by route and status');
    m.inc('notary_http_requests_total', { method: 'GET', route: 'a"b\nc\\d', status: 200 });
    const text = await m.render([
      { name: 'notary_records_waiting', help: 'Records waiting', values: [{ labels: { org: 'x"\ny' }, value: 3 }] },
    ]);
    assert.ok(text.includes('route="a\\"b\\nc\\\\d"'), text);
    assert.ok(text.includes('org="x\\"\\ny"'), text);
    assertWellFormed(text);
  });

  it('renders per-request readings with their type: counters as counters, the rest as gauges', async () => {
    const m = new Metrics();
    const text = await m.render([
      { name: 'notary_batches_built', help: 'Batches built', type: 'counter', values: [{ value: 7 }] },
      { name: 'notary_chain_up', help: 'Chain reachable', values: [{ value: 1 }] },
    ]);
    assert.match(text, /^# TYPE notary_batches_built counter$/m);
    assert.match(text, /^notary_batches_built 7$/m);
    assert.match(text, /^# TYPE notary_chain_up gauge$/m);
    // Readings are taken per request: a second render shows the new value, not a sum.
    const again = await m.render([
      { name: 'notary_batches_built', help: 'Batches built', type: 'counter', values: [{ value: 9 }] },
    ]);
    assert.match(again, /^notary_batches_built 9$/m);
  });

  describe('GET /metrics', () => {
    let db: Database;
    let app: FastifyInstance;
    before(async () => {
      db = await Database.open({ sqlitePath: ':memory:' });
      app = await buildApp({ store: new SqlStore(db) }, { web: false });
    });
    after(async () => {
      await app?.close();
      await db?.close();
    });

    it('keeps every metric name, and the process totals are counters', async () => {
      await app.inject({ method: 'GET', url: '/health' });
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(res.statusCode, 200);
      const text = res.body;
      for (const name of [
        'notary_http_requests_total',
        'notary_batches_built',
        'notary_leaves_batched',
        'notary_batches_confirmed',
        'notary_batch_store_seconds',
      ]) {
        assert.match(text, new RegExp(`^# TYPE ${name} counter$`, 'm'), name);
      }
      for (const name of ['notary_records_waiting', 'notary_chain_up']) {
        assert.match(text, new RegExp(`^# TYPE ${name} gauge$`, 'm'), name);
      }
      assert.match(text, /^notary_http_requests_total\{method="GET",route="\/health",status="200"\} 1$/m);
      assertWellFormed(text);
    });
  });
});
