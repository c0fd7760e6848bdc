import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { add, dec, div, minorUnit, mul, round, str, sub } from '../../src/domain/decimal';
import { amountDue, checkInvoice } from '../../src/domain/invoice-rules';
import type { InvoiceIssuedPayload } from '../../src/domain/record-types';
import { validatePayload } from '../../src/domain/record-types';
import * as P from '../../scripts/lib/pilot-payloads';

const inv = (over: Record<string, unknown> = {}) => P.invoice('T1', '1500.00', over) as InvoiceIssuedPayload;
const rules = (p: InvoiceIssuedPayload) => checkInvoice(p).map((v) => `${v.rule} ${v.expected}/${v.given}`);

describe('exact decimals (BigInt scaled integers)', () => {
  it('adds, subtracts and multiplies without binary floats (0.1 + 0.2 = 0.3)', () => {
    assert.equal(str(add(dec('0.1'), dec('0.2'))), '0.3');
    assert.equal(str(sub(dec('1656.25'), dec('1656.25'))), '0');
    assert.equal(str(mul(dec('-3'), dec('500'))), '-1500');
    assert.equal(str(mul(dec('123456789012345678901234567890'), dec('10'))), '1234567890123456789012345678900');
  });
  it('rounds half away from zero to the minor unit; divides exactly then rounds', () => {
    assert.deepEqual(
      ['2.345', '2.344', '-2.345', '0.005', '-0.004'].map((s) => str(round(dec(s), 2), 2)),
      ['2.35', '2.34', '-2.35', '0.01', '0.00'],
    );
    assert.equal(str(div(dec('200'), dec('3'), 2), 2), '66.67');
    assert.equal(str(div(dec('-1'), dec('8'), 2), 2), '-0.13');
  });
  it('agrees with BigInt arithmetic on random decimals (property)', () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.integer({ min: 0, max: 6 }))
      .map(([u, s]) => ({ u, s, text: str({ units: u, scale: s }) }));
    fc.assert(
      fc.property(decimal, decimal, (a, b) => {
        const s = Math.max(a.s, b.s);
        const want = a.u * 10n ** BigInt(s - a.s) + b.u * 10n ** BigInt(s - b.s);
        const got = add(dec(a.text), dec(b.text));
        return got.units * 10n ** BigInt(s - got.scale) === want || str(got) === str({ units: want, scale: s });
      }),
    );
  });
  it('knows ISO 4217 minor units (JPY 0, KWD 3, EUR 2, unknown 2)', () => {
    assert.deepEqual(['JPY', 'KWD', 'EUR', 'XXX'].map(minorUnit), [0, 3, 2, 2]);
  });
});

describe('EN 16931 calculation rules', () => {
  it('a consistent invoice of the first JSON shape breaks no rule', () => {
    assert.deepEqual(checkInvoice(inv()), []);
    assert.equal(str(amountDue(inv()), 2), '1500.00');
  });
  it('rounds the line net to the currency: JPY has no decimals', () => {
    const jpy = inv({
      currency: 'JPY',
      lines: [{ description: 'x', quantity: '3', unitPrice: '333.5', amount: '1001', taxRate: '0.10' }],
      totalNet: '1001',
      totalTax: '100',
      totalGross: '1101',
    });
    assert.deepEqual(rules(jpy), []); // 3 × 333.5 = 1000.5 → 1001; tax 100.1 → 100
    assert.deepEqual(rules({ ...jpy, lines: [{ ...jpy.lines[0]!, amount: '1000.5' }] }).slice(0, 1), [
      'PEPPOL-EN16931-R120 1001/1000.5',
    ]);
  });
  it('price base quantity, line allowances and charges enter the line net', () => {
    const p = inv({
      lines: [
        {
          description: 'x',
          quantity: '10',
          unitPrice: '200',
          baseQuantity: '2',
          amount: '999.00',
          taxRate: '0.20',
          allowances: [{ amount: '11.00' }],
          charges: [{ amount: '10.00' }],
        },
      ],
      totalNet: '999.00',
      totalTax: '199.80',
      totalGross: '1198.80',
    });
    assert.deepEqual(rules(p), []);
  });
  it('per-line tax rounding is tolerated within half a cent per line when there is no breakdown (BR-CO-14)', () => {
    const line = { description: 'x', quantity: '1', unitPrice: '0.05', amount: '0.05', taxRate: '0.10' };
    // Per line: round(0.005) = 0.01 each, 0.03 in all; per rate: round(0.015) = 0.02.
    const p = inv({ lines: [line, line, line], totalNet: '0.15', totalTax: '0.03', totalGross: '0.18' });
    assert.deepEqual(rules(p), []);
    assert.deepEqual(rules({ ...p, totalTax: '0.05', totalGross: '0.20' }), ['BR-CO-14 0.02/0.05']);
  });
  it('a stated breakdown must add up per category (BR-S-08) and in total (BR-CO-14)', () => {
    const p = inv({ taxBreakdown: [{ category: 'S', rate: '0.20', taxableAmount: '1250.00', taxAmount: '250.00' }] });
    assert.deepEqual(rules(p), []); // lines without a category count towards the row of their rate
    const lines = [{ ...inv().lines[0]!, taxCategory: 'S' }];
    assert.deepEqual(rules({ ...p, lines }), []);
    const wrongTaxable = [{ category: 'S', rate: '0.20', taxableAmount: '1200.00', taxAmount: '250.00' }];
    assert.deepEqual(rules({ ...p, lines, taxBreakdown: wrongTaxable }), [
      'BR-S-08 1250.00/1200.00',
      'BR-CO-17 240.00/250.00',
    ]);
    assert.deepEqual(
      rules({
        ...p,
        lines,
        taxBreakdown: [{ category: 'S', rate: '0.20', taxableAmount: '1250.00', taxAmount: '251.00' }],
        totalTax: '251.00',
        totalGross: '1501.00',
      }),
      ['BR-CO-17 250.00/251.00'],
    );
  });
  it('the schema keeps the first JSON shape valid and takes the EN 16931 fields', () => {
    assert.deepEqual(validatePayload('invoice.issued', inv()), { ok: true });
    const { invoiceCode: _c, ...noCode } = inv();
    assert.deepEqual(validatePayload('invoice.issued', { ...noCode, invoiceType: 'credit-note', typeCode: '381' }), {
      ok: true,
    });
    assert.equal(validatePayload('invoice.issued', { ...inv(), payable: 1500 }).ok, false);
  });
});
