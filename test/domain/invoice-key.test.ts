import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DomainError, invoiceKey, invoiceKeyIdentity } from '../../src/domain';

// Known answers of invoice key version 2, as published with the design (copied into the repo unchanged).
const vectors = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'invoice-key', 'v2.json'), 'utf8')) as {
  secret: string;
  cases: {
    name: string;
    input: { sellerTaxId: string; invoiceCode?: string; invoiceNumber: string };
    identity: object;
    key: string;
  }[];
};

describe('invoice key v2 (known answers)', () => {
  for (const [i, c] of vectors.cases.entries()) {
    it(`${c.name}: identity and key`, () => {
      const input = { invoiceCode: '', ...c.input };
      assert.deepEqual(invoiceKeyIdentity(input), c.identity);
      assert.equal(invoiceKey(vectors.secret, input), c.key);
      if (c.name.startsWith('same')) assert.equal(c.key, vectors.cases[i - 1]!.key, 'a "same" case keeps the key');
    });
  }

  it('is plain HMAC-SHA256 over the JCS of the identity, as an outsider with openssl would compute it', () => {
    const c = vectors.cases[0]!;
    const jcs = '{"invoiceCode":"44031900111","invoiceNumber":"42","sellerTaxId":"91440300MA5ABCDE1X","v":2}';
    assert.equal(`0x${createHmac('sha256', vectors.secret).update(jcs).digest('hex')}`, c.key);
  });

  it('treats a missing invoice code like ""', () => {
    const eu = vectors.cases.find((c) => c.name === 'eu-invoice')!;
    assert.equal(invoiceKey(vectors.secret, eu.input as never), eu.key);
  });

  it('refuses a seller tax id or number without any letter or digit, and a short secret', () => {
    for (const bad of [
      { sellerTaxId: '--', invoiceCode: '', invoiceNumber: '1' },
      { sellerTaxId: 'FR1', invoiceCode: '', invoiceNumber: ' / ' },
    ]) {
      assert.throws(
        () => invoiceKey(vectors.secret, bad),
        (e: unknown) => e instanceof DomainError && e.code === 'INVALID_ARGUMENT',
      );
    }
    assert.throws(() => invoiceKey('short', vectors.cases[0]!.input as never), DomainError);
  });

  it('differs for another secret', () => {
    const c = vectors.cases[0]!;
    assert.notEqual(invoiceKey('another-consortium-secret-0001!!', { invoiceCode: '', ...c.input }), c.key);
  });
});

/** Formatting variants of one invoice: case, separators, spaces, full-width characters, leading zeros. */
const fullWidth = (s: string) => s.replace(/[0-9A-Za-z]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0));
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const alnum = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...ALNUM.split('')), minLength: min, maxLength: max });

function variant(base: string, zeros: boolean): fc.Arbitrary<string> {
  return fc
    .record({
      cases: fc.array(fc.boolean(), { minLength: base.length, maxLength: base.length }),
      wide: fc.array(fc.boolean(), { minLength: base.length, maxLength: base.length }),
      seps: fc.array(fc.constantFrom('', '', '', '-', ' ', '/', '.', '_', '\u3000'), {
        minLength: base.length + 1,
        maxLength: base.length + 1,
      }),
      lead: zeros ? fc.nat(4) : fc.constant(0),
    })
    .map(({ cases, wide, seps, lead }) => {
      let out = seps[0]!;
      const chars = ('0'.repeat(lead) + base).split('');
      chars.forEach((ch, i) => {
        let c = cases[i % cases.length] ? ch.toLowerCase() : ch;
        if (wide[i % wide.length]) c = fullWidth(c);
        out += c + (seps[(i + 1) % seps.length] ?? '');
      });
      return out;
    });
}

describe('invoice key v2 (property)', () => {
  it('gives one key for every formatting variant of one invoice', () => {
    const secret = 'property-test-consortium-secret!';
    fc.assert(
      fc.property(alnum(5, 18), alnum(0, 12), alnum(1, 20), fc.context(), (taxId, code, number, ctx) => {
        const want = invoiceKey(secret, { sellerTaxId: taxId, invoiceCode: code, invoiceNumber: number });
        const sample = fc.sample(
          fc.tuple(variant(taxId, false), code ? variant(code, true) : fc.constant(''), variant(number, true)),
          5,
        );
        for (const [t, c, n] of sample) {
          ctx.log(JSON.stringify([t, c, n]));
          assert.equal(invoiceKey(secret, { sellerTaxId: t, invoiceCode: c, invoiceNumber: n }), want);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('gives different keys for invoices whose normalised numbers differ', () => {
    const secret = 'property-test-consortium-secret!';
    fc.assert(
      fc.property(alnum(5, 12), alnum(1, 10), alnum(1, 10), (taxId, a, b) => {
        const strip = (s: string) => s.replace(/^0+(?=.)/, '');
        fc.pre(strip(a) !== strip(b));
        assert.notEqual(
          invoiceKey(secret, { sellerTaxId: taxId, invoiceCode: '', invoiceNumber: a }),
          invoiceKey(secret, { sellerTaxId: taxId, invoiceCode: '', invoiceNumber: b }),
        );
      }),
      { numRuns: 200 },
    );
  });
});
