import { invoice } from '../../scripts/lib/pilot-payloads';

/** Realistic payloads per record type (valid against src/domain/record-types.ts). */
export function invoicePayload(n: number, overrides: Record<string, unknown> = {}) {
  return invoice(String(n).padStart(8, '0'), '1500.00', overrides);
}

export function documentPayload(n: number) {
  return { title: `Board minutes #${n}`, body: `Resolution ${n}: approved.` };
}
