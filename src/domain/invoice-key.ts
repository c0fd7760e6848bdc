import { createHmac } from 'node:crypto';
import { canonicalize } from './canonicalize';
import { DomainError } from './errors';
import type { Hex32 } from './hex';
import type { InvoiceIdentity } from './record-types';

/**
 * DESIGN §2.5: `HMAC-SHA256(consortiumSecret, JCS({sellerTaxId, invoiceCode, invoiceNumber}))` as {@link Hex32}.
 * A string secret is used as its UTF-8 bytes. Only the three identity fields enter the key.
 */
export function invoiceKey(consortiumSecret: Uint8Array | string, id: InvoiceIdentity): Hex32 {
  const secretLength =
    typeof consortiumSecret === 'string' ? Buffer.byteLength(consortiumSecret) : consortiumSecret?.byteLength;
  if (!(secretLength >= 16)) {
    throw new DomainError({ code: 'INVALID_ARGUMENT', message: 'consortium secret must be at least 16 bytes' });
  }
  const fields = ['sellerTaxId', 'invoiceCode', 'invoiceNumber'] as const;
  for (const f of fields) {
    if (typeof id?.[f] !== 'string' || id[f].length === 0) {
      throw new DomainError({ code: 'INVALID_ARGUMENT', message: `${f} must be a non-empty string`, fields: [f] });
    }
  }
  const json = canonicalize({
    sellerTaxId: id.sellerTaxId,
    invoiceCode: id.invoiceCode,
    invoiceNumber: id.invoiceNumber,
  });
  return '0x' + createHmac('sha256', consortiumSecret).update(json, 'utf8').digest('hex');
}
