import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { SKIP_BROWSER, launchChromium } from '../helpers/browser';
import { buildApp } from '../../src/api/app';
import { Database } from '../../src/storage/db';
import { SqlStore } from '../../src/storage/sql-repo';
import { MemoryRootSource, type AnchorRecord, type AnchorTransaction } from '../../src/verifier';

// Issue 11: the auditor page served by the real app (its real security headers) over plain HTTP under an intranet
// host name, as with HOST=0.0.0.0 opened at http://notary.corp.internal:<port>/. Before, the CSP carried
// `upgrade-insecure-requests` (and HSTS): Chromium rewrote every script and style request to https and the page
// never came alive. Driven as a user would: paste a golden receipt and its document, press Verify, read the verdict.

const SKIP = SKIP_BROWSER;
const HOST = 'notary.corp.internal';
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'receipts', 'v1');

/* eslint-disable @typescript-eslint/no-explicit-any */
const readFixture = (f: string): any => JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8'));

describe('auditor page over plain HTTP under an intranet host name', { skip: SKIP, timeout: 120_000 }, () => {
  const state = readFixture('chain-state.json') as {
    chainId: number;
    registry: string;
    anchors: Record<string, AnchorRecord>;
    transactions: Record<string, AnchorTransaction>;
    payloads: Record<string, unknown>;
  };
  let db: Database;
  let app: FastifyInstance;
  let port: number;
  let browser: Browser | undefined;

  before(async () => {
    const roots = new MemoryRootSource();
    for (const [root, a] of Object.entries(state.anchors)) {
      roots.set({ chainId: state.chainId, registry: state.registry, root }, a);
    }
    for (const [txHash, tx] of Object.entries(state.transactions)) {
      roots.setTransaction({ chainId: state.chainId, registry: state.registry, txHash }, tx);
    }
    db = await Database.open({ sqlitePath: ':memory:' });
    app = await buildApp({ store: new SqlStore(db), rootSource: roots }, { rateLimitMax: 100_000 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
    browser = await launchChromium([`--host-resolver-rules=MAP ${HOST} 127.0.0.1`]);
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
  });

  it('sends no HSTS and no upgrade-insecure-requests over plain HTTP', async () => {
    const res = await app.inject({ method: 'GET', url: '/', headers: { host: `${HOST}:${port}` } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['strict-transport-security'], undefined);
    assert.doesNotMatch(String(res.headers['content-security-policy']), /upgrade-insecure-requests/);
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
  });

  it('loads its scripts and styles and verifies a golden receipt with its document', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await ctx.newPage();
    const problems: string[] = [];
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    try {
      const base = `http://${HOST}:${port}/`;
      const res = await page.goto(base);
      assert.equal(res?.status(), 200);
      assert.equal(new URL(page.url()).protocol, 'http:', 'the page was not sent to https');

      const receipt = readFixture('valid-invoice-paid.json');
      const payload = state.payloads[receipt.record.id];
      assert.ok(payload, 'the golden chain state holds the document');
      await page.fill('#receipt-text', JSON.stringify(receipt, null, 2), { timeout: 20_000 });
      await page.fill('#payload-text', JSON.stringify(payload, null, 2));
      await page.click('#verify-btn');
      await page.waitForSelector('#verdict', { timeout: 30_000 });
      const got = await page.evaluate(() => ({
        verdict: document.getElementById('verdict')!.getAttribute('data-verdict'),
        checks: Array.from(document.querySelectorAll('.check-row')).map(
          (li) => `${li.getAttribute('data-check')}:${li.getAttribute('data-status')}`,
        ),
        // Styles applied: at least one same-origin stylesheet with rules.
        styled: Array.from(document.styleSheets).some((s) => {
          try {
            return s.cssRules.length > 0;
          } catch {
            return false;
          }
        }),
      }));
      assert.equal(got.verdict, 'valid', `${JSON.stringify(got.checks)}\n${problems.join('\n')}`);
      assert.ok(got.checks.includes('digest:passed') && got.checks.includes('anchor:passed'), got.checks.join(' '));
      assert.ok(got.styled, 'the stylesheet loaded');
      const https = requested.filter((u) => u.startsWith('https:'));
      assert.deepEqual(https, [], 'no request was upgraded to https');
      assert.ok(
        requested.some((u) => u.startsWith(`http://${HOST}:${port}/`) && /\.m?js(\?|$)/.test(u)),
        `scripts came from the intranet host: ${requested.join(' ')}`,
      );
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
    }
  });
});
