import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { SKIP_BROWSER, launchChromium } from '../helpers/browser';
import { api, eventually, startInstance, type Instance } from '../helpers/instance';

// Issue 17: the auditor holds the invoice as it travelled (a UBL 2.1 XML file), not our JSON. The page maps the
// file to the record's payload with the service's own code (bundled), including the SHA-256 of the file's exact
// bytes, so the digest check needs nothing but the file. A copy that differs in one element fails it.

const SKIP = SKIP_BROWSER;
const XML = path.join(__dirname, '..', 'fixtures', 'peppol', 'base-example.xml');

describe('auditor page: a receipt verified with the UBL invoice file itself', { skip: SKIP, timeout: 180_000 }, () => {
  let inst: Instance;
  let browser: Browser | undefined;
  let receipt: unknown;
  let dir: string;

  before(async () => {
    inst = await startInstance();
    const key = inst.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
    const res = await fetch(`${inst.apiUrl}/v1/records?externalId=page-ubl`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' },
      body: readFileSync(XML),
    });
    const text = await res.text();
    assert.equal(res.status, 202, text);
    const { id } = JSON.parse(text) as { id: string };
    receipt = await eventually(async () => {
      const r = await api(inst.apiUrl, 'GET', `/v1/records/${id}/receipt`, { key });
      return r.status === 200 ? r.body : null;
    }, 60_000);
    dir = mkdtempSync(path.join(os.tmpdir(), 'ubl-page-'));
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await inst?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function verifyWith(file: string) {
    const ctx = await browser!.newContext();
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    try {
      await page.goto(`${inst.apiUrl}/`);
      await page.fill('#receipt-text', JSON.stringify(receipt, null, 2), { timeout: 20_000 });
      await page.setInputFiles('#payload-file', file);
      await page.waitForFunction(() => (document.getElementById('payload-text') as HTMLTextAreaElement).value !== '');
      await page.click('#verify-btn');
      await page.waitForSelector('#verdict', { timeout: 30_000 });
      const got = await page.evaluate(() => ({
        verdict: document.getElementById('verdict')!.getAttribute('data-verdict'),
        checks: Array.from(document.querySelectorAll('.check-row')).map(
          (li) => `${li.getAttribute('data-check')}:${li.getAttribute('data-status')}`,
        ),
      }));
      return { ...got, problems };
    } finally {
      await ctx.close();
    }
  }

  it('the official Peppol example file: valid, digest passed', async () => {
    const got = await verifyWith(XML);
    assert.equal(got.verdict, 'valid', `${got.checks.join(' ')} ${got.problems.join(' ')}`);
    assert.ok(got.checks.includes('digest:passed'), got.checks.join(' '));
    assert.deepEqual(got.problems, []);
  });

  it('a copy with one more element: the digest check fails (the file is not the one notarized)', async () => {
    const xml = readFileSync(XML, 'utf8');
    const tampered = path.join(dir, 'tampered.xml');
    // the totals still add up, but the bytes differ: source.sha256 (and so the digest) cannot match
    writeFileSync(tampered, xml.replace('</cbc:IssueDate>', '</cbc:IssueDate><cbc:Note>x</cbc:Note>'));
    const got = await verifyWith(tampered);
    assert.equal(got.verdict, 'invalid', got.checks.join(' '));
    assert.ok(got.checks.includes('digest:failed'), got.checks.join(' '));
  });
});
