/** Realistic payloads per record type (valid against src/domain/record-types.ts). */
export function invoicePayload(n: number, overrides: Record<string, unknown> = {}) {
  return {
    invoiceCode: '044031900111',
    invoiceNumber: String(n).padStart(8, '0'),
    issueDate: '2026-11-20',
    currency: 'EUR',
    seller: { name: 'Aerostar Group', taxId: 'FR12345678901' },
    buyer: { name: 'Chatwave Ltd', taxId: 'GB987654321' },
    lines: [
      {
        description: 'Cabin refit, stage ' + n,
        quantity: '1',
        unitPrice: '1250.00',
        amount: '1250.00',
        taxRate: '0.20',
      },
    ],
    totalNet: '1250.00',
    totalTax: '250.00',
    totalGross: '1500.00',
    ...overrides,
  };
}

export function documentPayload(n: number) {
  return { title: `Board minutes #${n}`, body: `Resolution ${n}: approved.` };
}
