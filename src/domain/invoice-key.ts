import { computeHmac, toUtf8Bytes } from 'ethers';
import { canonicalize } from './canonicalize';
import { DomainError } from './errors';
import type { Hex32 } from './hex';
import type { InvoiceIdentity } from './record-types';

/**
 * DESIGN §2.5: `HMAC-SHA256(consortiumSecret, JCS({sellerTaxId, invoiceCode, invoiceNumber}))` as {@link Hex32}.
 * A string secret is used as its UTF-8 bytes. Only the three identity fields enter the key.
 */
export function invoiceKey(consortiumSecret: Uint8Array | string, id: InvoiceIdentity): Hex32 {
  const secret = typeof consortiumSecret === 'string' ? toUtf8Bytes(consortiumSecret) : consortiumSecret;
  if (!(secret instanceof Uint8Array) || secret.byteLength < 16) {
    throw new DomainError({ code: 'INVALID_ARGUMENT', message: 'consortium secret must be at least 16 bytes' });
  }
  const fields = ['sellerTaxId', 'invoiceCode', 'invoiceNumber'] as const;
  for (const f of fields) {
    // An invoice without a code (EN 16931, China's fully digitalized e-invoice) uses "" (DESIGN §2.5).
    if (typeof id?.[f] !== 'string' || (id[f].length === 0 && f !== 'invoiceCode')) {
      throw new DomainError({ code: 'INVALID_ARGUMENT', message: `${f} must be a non-empty string`, fields: [f] });
    }
  }
  const json = canonicalize({
    sellerTaxId: id.sellerTaxId,
    invoiceCode: id.invoiceCode,
    invoiceNumber: id.invoiceNumber,
  });
  return computeHmac('sha256', secret, toUtf8Bytes(json));
}
