import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/chain/anvil';
import { api } from '../helpers/instance';

/**
 * Issue 11, as reported: against the real `notary start` process (embedded chain, SQLite, the batch worker
 * thread), a submit-scoped POST /v1/records/batch over 40 kB holding "constructor": and 60,000 nested `[`
 * ended the whole process (API and anchoring worker); 6,000 levels answered 500. Sent repeatedly (the worker
 * thread becomes ready a moment after the first large batch), every answer is now a 200 with that record
 * refused, and the same process keeps serving.
 */

const ROOT = path.join(__dirname, '..', '..');

describe('the real start command survives deep batches (issue 11)', { timeout: 240_000 }, () => {
  let child: ChildProcess;
  let dir: string;
  let base: string;
  let key: string;
  let exited: number | null | undefined;
  let logs = '';

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-survive-'));
    child = spawn(process.execPath, [path.join(ROOT, 'bin', 'notary.js'), 'start'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? os.homedir(),
        DATA_DIR: dir,
        PORT: String(await freePort()),
        CHAIN_PORT: String(await freePort()),
        RATE_LIMIT_MAX: '1000000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.on('exit', (code) => (exited = code));
    child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    const deadline = Date.now() + 180_000;
    while (!/ready in/.test(logs)) {
      if (exited !== undefined || Date.now() > deadline) throw new Error(`notary start did not come up:\n${logs}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const demo = JSON.parse(fs.readFileSync(path.join(dir, 'demo.json'), 'utf8'));
    base = demo.apiUrl;
    key = demo.orgs.find((o: { id: string }) => o.id === 'aerospace').apiKey;
  });
  after(async () => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('20 deep batches (60k levels, > 40 kB) over ~10 s: each answered, the process alive, a normal submit works', async () => {
    const pad = Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({ type: 'document', externalId: `SURV-${i}`, payload: { title: `t${i}`, body: 'b'.repeat(100) } }),
    ).join(',');
    const deep = `{"type":"document","externalId":"SURV-DEEP","payload":{"constructor":${'['.repeat(60_000)}${']'.repeat(60_000)}}}`;
    const raw = `{"records":[${pad},${deep}]}`;
    assert.ok(raw.length > 40_000);
    for (let i = 0; i < 20; i++) {
      const res = await api(base, 'POST', '/v1/records/batch', { key, raw });
      assert.equal(
        res.status,
        200,
        `attempt ${i}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}\n${logs.slice(-2000)}`,
      );
      assert.equal(res.body.records[200].error.code, 'JSON_TOO_DEEP');
      assert.equal(exited, undefined, `the process exited:\n${logs.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const ok = await api(base, 'POST', '/v1/records', {
      key,
      body: { type: 'document', externalId: 'SURV-AFTER', payload: { title: 'after' } },
    });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    assert.equal(exited, undefined);
    assert.doesNotMatch(logs, /uncaught exception|Maximum call stack/);
  });
});
