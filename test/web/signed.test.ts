import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SKIP_BROWSER, closePages, launchChromium, openPage } from '../helpers/browser';
import { startVerifierPage, type VerifierPage } from '../helpers/verifier-page';
import { JsonRpcServer } from 'hardhat/internal/hardhat-network/jsonrpc/server';
import { webPlugin } from '../../src/api/web';
import { buildSignedSet, type SignedCase } from '../../scripts/make-golden-receipts-signed';
import { loadHardhat } from '../helpers/notary-chain';
import {
  ChainRootSource,
  checkReceiptLocally,
  MemoryRootSource,
  verifyReceipt,
  type AnchorRecord,
  type AnchorTransaction,
  type MemberKey,
} from '../../src/verifier';

// The auditor page (src/api/public, real Chromium) on the signed golden receipts (receipt v2,
// test/fixtures/receipts/signed): a minimal server whose POST /v1/verify is the real verifier over the recorded chain
// and directory state. The page computes schema, digest, commitment and the sealed-leaf Merkle proof itself with the
// bundled src/verifier, takes `signatures` and the chain checks from the server, and says who signed.

const SHOTS = path.join(__dirname, '..', '..', 'test-results', 'web');
const DIR = path.join(__dirname, '..', 'fixtures', 'receipts', 'signed');
/* eslint-disable @typescript-eslint/no-explicit-any */
const read = (f: string): any => JSON.parse(readFileSync(path.join(DIR, f), 'utf8'));

interface Row {
  name: string;
  status: string;
  reason: string | null;
}

describe('auditor web page: signed receipts (v2)', { skip: SKIP_BROWSER }, () => {
  const state = read('chain-state.json') as {
    chainId: number;
    registry: string;
    anchors: Record<string, AnchorRecord>;
    transactions: Record<string, AnchorTransaction>;
    members: Record<string, MemberKey>;
    payloads: Record<string, unknown>;
  };
  const source = () => {
    const s = new MemoryRootSource();
    const at = { chainId: state.chainId, registry: state.registry };
    for (const [root, a] of Object.entries(state.anchors)) s.set({ ...at, root }, a);
    for (const [txHash, tx] of Object.entries(state.transactions)) s.setTransaction({ ...at, txHash }, tx);
    for (const [account, k] of Object.entries(state.members)) s.setMemberKey({ ...at, account }, k);
    return s;
  };
  const files = readdirSync(DIR).filter((f) => /^(valid|tampered)-/.test(f));

  let srv: VerifierPage | undefined;
  let url: string;
  let ctx: BrowserContext;
  const bodies: unknown[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    srv = await startVerifierPage({ rootSource: source, viewport: { width: 1100, height: 1000 }, bodies: bodies });
    ({ url, ctx } = srv);
  });

  afterEach(() => closePages(ctx));
  after(async () => srv?.close());

  async function verifyPasted(page: Page, receipt: unknown, payload: unknown) {
    await page.fill('#receipt-text', JSON.stringify(receipt, null, 2));
    await page.fill('#payload-text', JSON.stringify(payload, null, 2));
    await page.evaluate(() => document.getElementById('results')!.replaceChildren());
    await page.click('#verify-btn');
    await page.waitForSelector('#verdict', { timeout: 20_000 });
    return page.evaluate(() => ({
      verdict: document.getElementById('verdict')!.getAttribute('data-verdict')!,
      rows: Array.from(document.querySelectorAll('.check-row')).map((li) => ({
        name: li.getAttribute('data-check')!,
        status: li.getAttribute('data-status')!,
        reason: li.querySelector('.reason')?.textContent ?? null,
      })) as Row[],
      facts: Object.fromEntries(
        Array.from(document.querySelectorAll('[data-fact]')).map((dd) => [
          dd.getAttribute('data-fact')!,
          dd.textContent,
        ]),
      ) as Record<string, string>,
    }));
  }

  it('the bundled checkReceiptLocally agrees with src/verifier on every signed receipt (sealed leaf)', async () => {
    const { page, errors } = await openPage(ctx, url);
    for (const f of files) {
      const receipt = read(f);
      const payload = state.payloads[receipt.record.id];
      const inPage = await page.evaluate(
        ([r, p]) =>
          (
            window as unknown as { NotaryVerifier: { checkReceiptLocally(r: unknown, o: unknown): unknown } }
          ).NotaryVerifier.checkReceiptLocally(r, { payload: p }),
        [receipt, payload] as const,
      );
      assert.deepEqual(inPage, JSON.parse(JSON.stringify(checkReceiptLocally(receipt, { payload }))), f);
    }
    assert.deepEqual(errors, []);
  });

  it('shows every signed receipt as src/verifier does, check by check, in its order; never uploads the document', async () => {
    const { page, errors } = await openPage(ctx, url);
    bodies.length = 0;
    for (const f of files) {
      const receipt = read(f);
      const payload = state.payloads[receipt.record.id];
      const expected = await verifyReceipt(receipt, { payload, rootSource: source() });
      const got = await verifyPasted(page, receipt, payload);
      assert.deepEqual(
        got.rows.map((r) => [r.name, r.status]),
        expected.checks.map((c) => [c.name, c.status]),
        `${f}: ${JSON.stringify(got.rows)}`,
      );
      assert.equal(got.verdict, expected.valid ? 'valid' : 'invalid', f);
    }
    assert.equal(bodies.length, files.length);
    for (const b of bodies) assert.deepEqual(Object.keys(b as object), ['receipt']);
    assert.deepEqual(errors, []);
  });

  it('a receipt signed by two keys: green, and the page names both signers', async () => {
    const { page } = await openPage(ctx, url);
    const receipt = read('valid-two-signers.json');
    const got = await verifyPasted(page, receipt, state.payloads[receipt.record.id]);
    assert.equal(got.verdict, 'valid', JSON.stringify(got.rows));
    const sig = got.rows.find((r) => r.name === 'signatures')!;
    assert.equal(sig.status, 'passed');
    for (const s of receipt.signatures) {
      assert.ok(sig.reason?.includes(s.signer), sig.reason ?? '');
      assert.ok(got.facts['Signed by']?.includes(s.signer), got.facts['Signed by']);
    }
    assert.match(got.facts['Signed by']!, /SIGNER key of aero-parts/);
    await page.screenshot({ path: path.join(SHOTS, 'signed-valid.png'), fullPage: true });
  });

  it('a signer removed before the anchor: red, signatures failed with the reason, no signer named', async () => {
    const { page } = await openPage(ctx, url);
    const receipt = read('tampered-signer-removed-before-anchor.json');
    const got = await verifyPasted(page, receipt, state.payloads[receipt.record.id]);
    assert.equal(got.verdict, 'invalid');
    const sig = got.rows.find((r) => r.name === 'signatures')!;
    assert.equal(sig.status, 'failed');
    assert.match(sig.reason ?? '', /not active at block \d+/);
    assert.match(got.facts['Signed by']!, /^not verified/);
    await page.screenshot({ path: path.join(SHOTS, 'signed-removed-before.png'), fullPage: true });
  });

  it('a signature swapped after anchoring: the browser itself fails the Merkle proof', async () => {
    const { page } = await openPage(ctx, url);
    const receipt = read('tampered-signature-swapped.json');
    const got = await verifyPasted(page, receipt, state.payloads[receipt.record.id]);
    assert.equal(got.verdict, 'invalid');
    const merkle = got.rows.find((r) => r.name === 'merkle')!;
    assert.equal(merkle.status, 'failed');
    assert.match(merkle.reason ?? '', /sealed leaf/);
  });
});

// The page's own chain query ("Also ask the chain directly"): the bundled ChainRootSource reads the registry and
// its member directory over JSON-RPC from the browser. The signed set is built on the in-process Hardhat network and
// served over HTTP; the server's /v1/verify reads the same chain.
describe('auditor web page: signed receipts checked on chain from the browser', { skip: SKIP_BROWSER }, () => {
  let rpc: { close(): Promise<void> } | undefined;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser | undefined;
  let ctx: BrowserContext;
  let cases: SignedCase[];

  before(async () => {
    const hre = await loadHardhat();
    const built = await buildSignedSet(hre);
    cases = built.cases;
    const server = new JsonRpcServer({ hostname: '127.0.0.1', port: 0, provider: hre.network.provider });
    const { port } = await server.listen();
    rpc = server;
    const rpcUrl = `http://127.0.0.1:${port}`;
    const chain = new ChainRootSource({ provider: hre.ethers.provider });
    app = Fastify({ forceCloseConnections: true });
    await app.register(helmet, {
      contentSecurityPolicy: {
        directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], connectSrc: ["'self'", rpcUrl] },
      },
    });
    await app.register(webPlugin);
    app.get('/v1/info', async () => ({ version: 'test', chainId: 31337, registry: built.registry, rpcUrl }));
    app.post('/v1/verify', async (req) =>
      verifyReceipt((req.body as { receipt: unknown }).receipt, { rootSource: chain }),
    );
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    ctx = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await rpc?.close();
  });

  async function direct(name: string): Promise<{ verdict: string; direct: Row; rows: Row[] }> {
    const c = cases.find((x) => x.name === name)!;
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('html[data-ready="true"]');
    await page.fill('#receipt-text', JSON.stringify(c.receipt));
    await page.fill('#payload-text', JSON.stringify(c.payload));
    await page.check('#direct-chain');
    await page.click('#verify-btn');
    await page.waitForSelector('#verdict', { timeout: 30_000 });
    const got = await page.evaluate(() => ({
      verdict: document.getElementById('verdict')!.getAttribute('data-verdict')!,
      rows: Array.from(document.querySelectorAll('.check-row')).map((li) => ({
        name: li.getAttribute('data-check')!,
        status: li.getAttribute('data-status')!,
        reason: li.querySelector('.reason')?.textContent ?? null,
      })),
    }));
    await page.close();
    assert.deepEqual(errors, []);
    return { ...got, direct: got.rows.find((r) => r.name === 'direct')! };
  }

  it('a valid signed receipt: the browser reads the directory itself and names the signer', async () => {
    const c = cases.find((x) => x.name === 'valid-one-signer')!;
    const got = await direct('valid-one-signer');
    assert.equal(got.verdict, 'valid', JSON.stringify(got.rows));
    assert.equal(got.direct.status, 'passed', got.direct.reason ?? '');
    assert.ok(got.direct.reason?.includes(`signed by ${c.receipt.signatures[0]!.signer}`), got.direct.reason ?? '');
  });

  it("a signer removed before the anchor: the browser's own chain query fails on signatures", async () => {
    const got = await direct('tampered-signer-removed-before-anchor');
    assert.equal(got.verdict, 'invalid');
    assert.equal(got.direct.status, 'failed');
    assert.match(got.direct.reason ?? '', /^signatures: .*not active at block/);
  });
});
