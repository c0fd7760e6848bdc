import { computeHmac, toUtf8Bytes } from 'ethers';
import { canonicalize } from './canonicalize';
import { DomainError } from './errors';
import type { Hex32 } from './hex';
import type { InvoiceIdentity } from './record-types';

/**
 * The normalised identity of an invoice that enters its key (DESIGN §2.5, invoice key version 2). Every member
 * derives the same identity for the same invoice however it was typed, OCR'd or formatted.
 */
export interface InvoiceKeyIdentity {
  v: 2;
  sellerTaxId: string;
  invoiceCode: string;
  invoiceNumber: string;
}

/** `norm(s)`: NFKC (full-width digits and letters become ASCII), upper case, every character outside [A-Z0-9] removed. */
export function normaliseInvoiceField(s: string): string {
  return s
    .normalize('NFKC')
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '');
}

/** `stripZeros(s)`: without leading "0"s; "" stays "", all zeros give "0". */
function stripZeros(s: string): string {
  if (s === '') return s;
  const t = s.replace(/^0+/, '');
  return t === '' ? '0' : t;
}

/**
 * DESIGN §2.5: `{v: 2, sellerTaxId: norm(sellerTaxId), invoiceCode: stripZeros(norm(invoiceCode ?? "")),
 * invoiceNumber: stripZeros(norm(invoiceNumber))}`. Refuses an identity whose seller tax id or number normalises
 * to nothing (e.g. "---"): such an invoice cannot be told apart from others.
 */
export function invoiceKeyIdentity(id: InvoiceIdentity): InvoiceKeyIdentity {
  for (const f of ['sellerTaxId', 'invoiceNumber'] as const) {
    if (typeof id?.[f] !== 'string' || normaliseInvoiceField(id[f]).length === 0) {
      throw new DomainError({
        code: 'INVALID_ARGUMENT',
        message: `${f} must hold at least one letter or digit`,
        fields: [f],
      });
    }
  }
  const code = id.invoiceCode ?? '';
  if (typeof code !== 'string') {
    throw new DomainError({
      code: 'INVALID_ARGUMENT',
      message: 'invoiceCode must be a string',
      fields: ['invoiceCode'],
    });
  }
  return {
    v: 2,
    sellerTaxId: normaliseInvoiceField(id.sellerTaxId),
    // An invoice without a code (EN 16931, China's fully digitalized e-invoice) uses "" (DESIGN §2.5).
    invoiceCode: stripZeros(normaliseInvoiceField(code)),
    invoiceNumber: stripZeros(normaliseInvoiceField(id.invoiceNumber)),
  };
}

/**
 * Invoice key version 2 (DESIGN §2.5): `HMAC-SHA256(consortiumSecret, UTF-8(JCS(invoiceKeyIdentity(id))))` as
 * {@link Hex32}. A string secret is used as its UTF-8 bytes. Version 1 (the raw strings, without normalisation) is
 * retired: it let `INV-001` and `inv001` be reimbursed twice.
 */
export function invoiceKey(consortiumSecret: Uint8Array | string, id: InvoiceIdentity): Hex32 {
  const secret = typeof consortiumSecret === 'string' ? toUtf8Bytes(consortiumSecret) : consortiumSecret;
  if (!(secret instanceof Uint8Array) || secret.byteLength < 16) {
    throw new DomainError({ code: 'INVALID_ARGUMENT', message: 'consortium secret must be at least 16 bytes' });
  }
  return computeHmac('sha256', secret, toUtf8Bytes(canonicalize(invoiceKeyIdentity(id))));
}
