/** Realistic payloads of the three pilots (valid against src/domain/record-types.ts), for scenarios and tests. */

export const ISIN = 'XS2345678901';
export const ISSUER_LEI = '5493001KJTIIGC8Y1R12';

export function issuance(n = 1) {
  return {
    isin: ISIN,
    issuerLei: ISSUER_LEI,
    issuerName: 'Northbridge Bank plc',
    instrument: 'bond',
    tranche: {
      trancheId: `T${n}`,
      currency: 'EUR',
      nominal: '500000000',
      denomination: '100000',
      couponRate: '0.0325',
      couponFrequency: 'annual' as const,
      dayCount: 'ACT/ACT',
      issueDate: '2026-12-01',
      maturityDate: '2031-12-01',
    },
    governingLaw: 'English law',
  };
}

export function allocation(investorId: string, quantity: string) {
  return { isin: ISIN, investorId, quantity, price: '99.85', allocatedAt: '2026-11-28T09:00:00Z' };
}

export function transfer(from: string, to: string, quantity: string, day = 2) {
  return {
    isin: ISIN,
    fromHolderId: from,
    toHolderId: to,
    quantity,
    settlementDate: `2027-01-0${day}`,
    price: '100.10',
  };
}

export function redemption(amount = '500000000') {
  return { isin: ISIN, amount, currency: 'EUR', redemptionDate: '2031-12-01', reason: 'maturity' as const };
}

/** Splits a gross amount (2 decimals) at 20 % VAT into net and tax that add up (BR-CO-15), exactly. */
function splitGross(gross: string): { net: string; tax: string } {
  const cents = BigInt(gross.replace('.', '').replace(/^0+(?=\d)/, ''));
  const net = (cents * 10n + 6n) / 12n; // round(cents / 1.2), half up
  const cents2 = (c: bigint) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;
  return { net: cents2(net), tax: cents2(cents - net) };
}

/**
 * An invoice whose amounts add up (EN 16931 BR-CO-10…15) for the given gross: one line at 20 % VAT
 * ('1500.00' → net 1250.00 + tax 250.00). `overrides` may break that on purpose.
 */
export function invoice(number: string, gross = '1500.00', overrides: Record<string, unknown> = {}) {
  const { net, tax } = splitGross(gross);
  return {
    invoiceCode: '044031900111',
    invoiceNumber: number,
    issueDate: '2026-11-20',
    currency: 'EUR',
    seller: { name: 'Aerostar Group', taxId: 'FR12345678901' },
    buyer: { name: 'Chatwave Ltd', taxId: 'GB987654321' },
    lines: [
      {
        description: 'Cabin refit, stage ' + number,
        quantity: '1',
        unitPrice: net,
        amount: net,
        taxRate: '0.20',
      },
    ],
    totalNet: net,
    totalTax: tax,
    totalGross: gross,
    ...overrides,
  };
}

export function voided(creditNoteNumber = 'CN-0001', reason = 'billed twice') {
  return { reason, creditNoteNumber, voidedAt: '2026-11-22T10:00:00Z' };
}

export function paid(ref = 'SEPA-0001', amount = '1500.00') {
  return { amount, currency: 'EUR', paidAt: '2026-11-25T10:00:00Z', paymentReference: ref };
}

export function claim(employeeId = 'E-1042', amount = '1500.00') {
  return {
    employeeId,
    amount,
    currency: 'EUR',
    category: 'travel',
    description: 'Cabin refit visit, Toulouse',
    submittedAt: '2026-11-26T08:00:00Z',
  };
}

export function approved(approver = 'M-7') {
  return { approver, decidedAt: '2026-11-27T08:00:00Z' };
}

export function rejected(approver = 'M-7', reason = 'not a business expense') {
  return { approver, decidedAt: '2026-11-27T08:00:00Z', reason };
}

export function reimbursed(ref = 'PAYROLL-2026-11', amount = '1500.00') {
  return { amount, currency: 'EUR', paidAt: '2026-11-30T08:00:00Z', paymentReference: ref };
}
