import assert from 'node:assert/strict';
import { readFileSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import vm from 'node:vm';
import { isVerifierBundleStale, VERIFIER_BUNDLE, verifierBundle } from '../../src/api/verifier-bundle';
import { checkReceiptLocally } from '../../src/verifier';

// The auditor page's verifier bundle (dist/web/notary-verifier.js): rebuilt when stale, and self-contained
// browser code — it runs with only the globals a browser page has (no require, process or Buffer).
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'receipts', 'v1');
/* eslint-disable-next-line @typescript-eslint/no-explicit-any */
const read = (f: string): any => JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8'));

describe('the web verifier bundle', () => {
  it('is rebuilt when older than its sources, and not otherwise', () => {
    verifierBundle();
    assert.equal(isVerifierBundleStale(), false);
    utimesSync(VERIFIER_BUNDLE, new Date(0), new Date(0)); // older than every source
    assert.equal(isVerifierBundleStale(), true);
    verifierBundle();
    assert.ok(statSync(VERIFIER_BUNDLE).mtimeMs > 0);
    assert.equal(isVerifierBundleStale(), false);
  });

  it('runs with browser globals only and checks receipts as src/verifier does', () => {
    const code = verifierBundle().toString('utf8');
    assert.doesNotMatch(code, /\brequire\(["']/, 'no require() left in the bundle');
    const outer = new TextEncoder();
    const sandbox: Record<string, unknown> = {
      encodeOutside: (x: string) => Array.from(outer.encode(x)),
      TextDecoder,
      crypto: globalThis.crypto,
      URL,
      setTimeout,
      clearTimeout,
      console,
    };
    sandbox.globalThis = sandbox;
    sandbox.window = sandbox;
    vm.createContext(sandbox);
    // A TextEncoder whose bytes belong to the sandbox's realm, as a page's own TextEncoder's do.
    vm.runInContext(
      `globalThis.TextEncoder = class TextEncoder {
        encode(s) { return Uint8Array.from(encodeOutside(s)); }
        encodeInto(s, dest) { const b = encodeOutside(s); dest.set(b.slice(0, dest.length)); return { read: s.length, written: Math.min(b.length, dest.length) }; }
      };`,
      sandbox,
    );
    vm.runInContext(code, sandbox, { filename: 'notary-verifier.js' });
    const nv = sandbox.NotaryVerifier as { checkReceiptLocally: unknown; verifyOnChain: unknown };
    assert.equal(typeof nv.checkReceiptLocally, 'function');
    assert.equal(typeof nv.verifyOnChain, 'function');
    const state = read('chain-state.json');
    for (const f of ['valid-invoice-paid.json', 'tampered-digest.json', 'tampered-extra-field.json']) {
      const receipt = read(f);
      const payload = state.payloads[read('valid-invoice-paid.json').record.id];
      // Parsed inside the sandbox, as the page parses them: objects of its own realm.
      sandbox.input = JSON.stringify({ receipt, payload });
      const inBundle = vm.runInContext(
        'JSON.stringify(((i) => NotaryVerifier.checkReceiptLocally(i.receipt, { payload: i.payload }))(JSON.parse(input)))',
        sandbox,
      ) as string;
      assert.deepEqual(JSON.parse(inBundle), JSON.parse(JSON.stringify(checkReceiptLocally(receipt, { payload }))), f);
    }
  });
});
