import { add, cmp, dec, div, eq, mul, round, str, sub, sum, abs, minorUnit, ZERO, type Dec } from './decimal';
import type { AllowanceChargePayload, InvoiceIssuedPayload } from './record-types';

/**
 * EN 16931 calculation rules on an `invoice.issued` payload (already valid against its schema), in exact
 * decimal arithmetic (BigInt scaled integers, src/domain/decimal.ts), rounded to the currency's ISO 4217
 * minor unit where a product is involved. Each failure names its rule and gives the expected and the given value.
 *
 * | code                              | rule                 | check                                                          |
 * |-----------------------------------|----------------------|----------------------------------------------------------------|
 * | INVOICE_LINE_NET_MISMATCH         | PEPPOL-EN16931-R120  | line net = round(quantity × price / base quantity) + charges − allowances |
 * | INVOICE_LINE_TOTAL_MISMATCH       | BR-CO-10             | Σ line net = line total (BT-106; `totalNet` when there is no BT-106 and no document allowance/charge) |
 * | INVOICE_ALLOWANCE_TOTAL_MISMATCH  | BR-CO-11             | Σ document allowances = allowance total (BT-107), when given    |
 * | INVOICE_CHARGE_TOTAL_MISMATCH     | BR-CO-12             | Σ document charges = charge total (BT-108), when given          |
 * | INVOICE_NET_TOTAL_MISMATCH        | BR-CO-13             | total without tax = Σ line net − allowances + charges           |
 * | INVOICE_TAXABLE_AMOUNT_MISMATCH   | BR-{cat}-08          | per VAT category and rate: taxable = Σ line net + charges − allowances there |
 * | INVOICE_TAX_AMOUNT_MISMATCH       | BR-CO-17             | per breakdown row: tax = round(taxable × rate), within 1 currency unit (as EN 16931's schematron) |
 * | INVOICE_TAX_TOTAL_MISMATCH        | BR-CO-14             | tax total = Σ tax breakdown (derived from the lines when absent) |
 * | INVOICE_GROSS_TOTAL_MISMATCH      | BR-CO-15             | total with tax = total without tax + tax total                  |
 * | INVOICE_AMOUNT_DUE_MISMATCH       | BR-CO-16             | amount due = total with tax − prepaid + rounding, when given    |
 * | INVOICE_DUE_DATE_BEFORE_ISSUE     | NOTARY-DUE-DATE      | due date not before the issue date                              |
 *
 * Without a tax breakdown (the first JSON shape: lines with a `taxRate` and one `totalTax`), the breakdown is
 * derived per rate from the lines; the submitter may have rounded per line instead of per rate, so BR-CO-14
 * then allows half a minor unit per line of difference (⌊(n+1)/2⌋ minor units for n > 1 lines of a rate).
 */
export type InvoiceRuleCode =
  | 'INVOICE_LINE_NET_MISMATCH'
  | 'INVOICE_LINE_TOTAL_MISMATCH'
  | 'INVOICE_ALLOWANCE_TOTAL_MISMATCH'
  | 'INVOICE_CHARGE_TOTAL_MISMATCH'
  | 'INVOICE_NET_TOTAL_MISMATCH'
  | 'INVOICE_TAXABLE_AMOUNT_MISMATCH'
  | 'INVOICE_TAX_AMOUNT_MISMATCH'
  | 'INVOICE_TAX_TOTAL_MISMATCH'
  | 'INVOICE_GROSS_TOTAL_MISMATCH'
  | 'INVOICE_AMOUNT_DUE_MISMATCH'
  | 'INVOICE_DUE_DATE_BEFORE_ISSUE';

export interface RuleViolation {
  code: InvoiceRuleCode;
  /** The EN 16931 (or Peppol, or this service's) rule id. */
  rule: string;
  /** JSON pointer of the given value. */
  path: string;
  expected: string;
  given: string;
  message: string;
}

const ac = (xs: AllowanceChargePayload[] | undefined): Dec => sum((xs ?? []).map((x) => dec(x.amount)));

/** What an invoice leaves to be paid (BT-115, or computed as BR-CO-16 says when absent). */
export function amountDue(p: InvoiceIssuedPayload): Dec {
  if (p.payable !== undefined) return dec(p.payable);
  return add(sub(dec(p.totalGross), dec(p.prepaid ?? '0')), dec(p.rounding ?? '0'));
}

export function checkInvoice(p: InvoiceIssuedPayload): RuleViolation[] {
  const out: RuleViolation[] = [];
  const minor = minorUnit(p.currency);
  const show = (d: Dec) => str(d, minor);
  const fail = (
    code: InvoiceRuleCode,
    rule: string,
    path: string,
    expected: Dec | string,
    given: Dec | string,
    what: string,
  ) => {
    const e = typeof expected === 'string' ? expected : show(expected);
    const g = typeof given === 'string' ? given : show(given);
    out.push({ code, rule, path, expected: e, given: g, message: `${rule}: ${what} should be ${e}, is ${g}` });
  };

  // Lines (PEPPOL-EN16931-R120).
  const lineNets: Dec[] = [];
  for (const [i, l] of p.lines.entries()) {
    const given = dec(l.amount);
    lineNets.push(given);
    const gross = div(mul(dec(l.quantity), dec(l.unitPrice)), dec(l.baseQuantity ?? '1'), minor);
    const expected = sub(add(gross, ac(l.charges)), ac(l.allowances));
    if (!eq(given, expected))
      fail(
        'INVOICE_LINE_NET_MISMATCH',
        'PEPPOL-EN16931-R120',
        `/lines/${i}/amount`,
        expected,
        given,
        `line ${i + 1} net amount (quantity × price ± allowances/charges)`,
      );
  }
  const linesSum = sum(lineNets);
  const allowances = ac(p.allowances);
  const charges = ac(p.charges);
  const hasDocAc = (p.allowances?.length ?? 0) + (p.charges?.length ?? 0) > 0;

  // BR-CO-10..13.
  if (p.lineTotal !== undefined) {
    if (!eq(linesSum, dec(p.lineTotal)))
      fail(
        'INVOICE_LINE_TOTAL_MISMATCH',
        'BR-CO-10',
        '/lineTotal',
        linesSum,
        dec(p.lineTotal),
        'sum of line net amounts',
      );
  } else if (!hasDocAc && !eq(linesSum, dec(p.totalNet))) {
    fail('INVOICE_LINE_TOTAL_MISMATCH', 'BR-CO-10', '/totalNet', linesSum, dec(p.totalNet), 'sum of line net amounts');
  }
  if (p.allowanceTotal !== undefined && !eq(allowances, dec(p.allowanceTotal)))
    fail(
      'INVOICE_ALLOWANCE_TOTAL_MISMATCH',
      'BR-CO-11',
      '/allowanceTotal',
      allowances,
      dec(p.allowanceTotal),
      'sum of document allowances',
    );
  if (p.chargeTotal !== undefined && !eq(charges, dec(p.chargeTotal)))
    fail(
      'INVOICE_CHARGE_TOTAL_MISMATCH',
      'BR-CO-12',
      '/chargeTotal',
      charges,
      dec(p.chargeTotal),
      'sum of document charges',
    );
  if (p.lineTotal !== undefined || hasDocAc) {
    const base = p.lineTotal !== undefined ? dec(p.lineTotal) : linesSum;
    const allowanceTotal = p.allowanceTotal !== undefined ? dec(p.allowanceTotal) : allowances;
    const chargeTotal = p.chargeTotal !== undefined ? dec(p.chargeTotal) : charges;
    const expected = add(sub(base, allowanceTotal), chargeTotal);
    if (!eq(expected, dec(p.totalNet)))
      fail(
        'INVOICE_NET_TOTAL_MISMATCH',
        'BR-CO-13',
        '/totalNet',
        expected,
        dec(p.totalNet),
        'total without tax (line total − allowances + charges)',
      );
  }

  // Tax breakdown: per (category, rate), taxable amounts from the lines and document allowances/charges.
  interface Group {
    taxable: Dec;
    lines: number;
  }
  const groups = new Map<string, Group>();
  const keyOf = (category: string | undefined, rate: string) => `${category ?? ''}|${str(dec(rate))}`;
  const group = (k: string) => {
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { taxable: ZERO, lines: 0 }));
    return g;
  };
  for (const [i, l] of p.lines.entries()) {
    const g = group(keyOf(l.taxCategory, l.taxRate));
    g.taxable = add(g.taxable, lineNets[i]!);
    g.lines++;
  }
  let unassigned = false;
  for (const [sign, xs] of [
    [-1, p.allowances],
    [1, p.charges],
  ] as const) {
    for (const x of xs ?? []) {
      if (x.taxRate === undefined) {
        unassigned = true;
        continue;
      }
      const g = group(keyOf(x.taxCategory, x.taxRate));
      g.taxable = sign < 0 ? sub(g.taxable, dec(x.amount)) : add(g.taxable, dec(x.amount));
    }
  }

  const totalTax = dec(p.totalTax);
  if (p.taxBreakdown) {
    const seen = new Set<string>();
    for (const [i, row] of p.taxBreakdown.entries()) {
      const rate = dec(row.rate);
      const taxable = dec(row.taxableAmount);
      const tax = dec(row.taxAmount);
      const k = keyOf(row.category, row.rate);
      seen.add(k);
      // Lines (or allowances) without a category count towards the row of their rate.
      const g = groups.get(k) ?? groups.get(keyOf(undefined, row.rate));
      if (!unassigned && !eq(g?.taxable ?? ZERO, taxable)) {
        fail(
          'INVOICE_TAXABLE_AMOUNT_MISMATCH',
          `BR-${row.category ?? 'S'}-08`,
          `/taxBreakdown/${i}/taxableAmount`,
          g?.taxable ?? ZERO,
          taxable,
          `taxable amount at ${row.category ?? ''} ${str(mul(rate, dec('100')))} %`,
        );
      }
      const expected = round(mul(taxable, rate), minor);
      if (cmp(abs(sub(tax, expected)), dec('1')) >= 0)
        fail(
          'INVOICE_TAX_AMOUNT_MISMATCH',
          'BR-CO-17',
          `/taxBreakdown/${i}/taxAmount`,
          expected,
          tax,
          `tax amount of ${show(taxable)} at ${str(mul(rate, dec('100')))} %`,
        );
    }
    const expected = sum(p.taxBreakdown.map((r) => dec(r.taxAmount)));
    if (!eq(expected, totalTax))
      fail(
        'INVOICE_TAX_TOTAL_MISMATCH',
        'BR-CO-14',
        '/totalTax',
        expected,
        totalTax,
        'tax total (sum of the tax breakdown)',
      );
  } else if (!unassigned) {
    let expected = ZERO;
    let slack = 0n;
    for (const [k, g] of groups) {
      const rate = dec(k.slice(k.indexOf('|') + 1));
      expected = add(expected, round(mul(g.taxable, rate), minor));
      if (g.lines > 1) slack += BigInt(Math.floor((g.lines + 1) / 2));
    }
    const diff = abs(sub(totalTax, expected));
    if (cmp(diff, { units: slack, scale: minor }) > 0)
      fail(
        'INVOICE_TAX_TOTAL_MISMATCH',
        'BR-CO-14',
        '/totalTax',
        expected,
        totalTax,
        'tax total (sum of tax per rate)',
      );
  }

  // BR-CO-15, BR-CO-16.
  const gross = add(dec(p.totalNet), totalTax);
  if (!eq(gross, dec(p.totalGross)))
    fail(
      'INVOICE_GROSS_TOTAL_MISMATCH',
      'BR-CO-15',
      '/totalGross',
      gross,
      dec(p.totalGross),
      'total with tax (total without tax + tax total)',
    );
  if (p.payable !== undefined) {
    const due = add(sub(dec(p.totalGross), dec(p.prepaid ?? '0')), dec(p.rounding ?? '0'));
    if (!eq(due, dec(p.payable)))
      fail(
        'INVOICE_AMOUNT_DUE_MISMATCH',
        'BR-CO-16',
        '/payable',
        due,
        dec(p.payable),
        'amount due (total with tax − prepaid + rounding)',
      );
  }
  if (p.dueDate !== undefined && p.dueDate < p.issueDate)
    fail(
      'INVOICE_DUE_DATE_BEFORE_ISSUE',
      'NOTARY-DUE-DATE',
      '/dueDate',
      `on or after ${p.issueDate}`,
      p.dueDate,
      'due date',
    );
  return out;
}
