/**
 * The error catalogue of the use cases: every code a client can see, with its HTTP status.
 * Codes are stable API: add new ones, never rename. Grouped by area (fastify `lib/errors.js` style).
 */
export const ERROR_CATALOGUE = {
  /** Request shape */
  VALIDATION_FAILED: { status: 400, title: 'Request failed validation' },
  MALFORMED_JSON: { status: 400, title: 'Malformed JSON body' },
  JSON_TOO_DEEP: { status: 400, title: 'JSON nested too deeply' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  BATCH_TOO_LARGE: { status: 413, title: 'Too many records in one batch' },
  MALFORMED_URL: { status: 400, title: 'Malformed URL' },
  MALFORMED_REQUEST: { status: 400, title: 'Malformed HTTP request' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request headers (or URL) too large' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },

  /** Authentication and authorisation */
  UNAUTHORIZED: { status: 401, title: 'Missing or invalid API key' },
  API_KEY_REVOKED: { status: 401, title: 'API key revoked' },
  FORBIDDEN: { status: 403, title: 'Not allowed for this API key' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },

  /** Lookups */
  NOT_FOUND: { status: 404, title: 'Not found' },
  RECORD_NOT_FOUND: { status: 404, title: 'Record not found' },
  BATCH_NOT_FOUND: { status: 404, title: 'Batch not found' },
  ORG_NOT_FOUND: { status: 404, title: 'Organisation not found' },
  API_KEY_NOT_FOUND: { status: 404, title: 'API key not found' },

  /** Records */
  UNKNOWN_RECORD_TYPE: { status: 422, title: 'Unknown record type' },
  PAYLOAD_INVALID: { status: 422, title: 'Payload does not match its record type' },
  PAYLOAD_NOT_CANONICALIZABLE: { status: 422, title: 'Payload cannot be canonicalized (RFC 8785)' },
  PARENT_NOT_FOUND: { status: 422, title: 'Parent record not found' },
  LINEAGE_VIOLATION: { status: 422, title: 'Parents break the lineage rules' },
  CLAIMS_ENDPOINT_REQUIRED: { status: 422, title: 'Expense claims go through POST /v1/claims' },
  EXTERNAL_ID_CONFLICT: { status: 409, title: 'externalId already used for a different payload' },
  RECEIPT_NOT_READY: { status: 409, title: 'Record not anchored yet' },

  /** Records signed by the organisation's SIGNER keys (receipt version 2) */
  RECORD_ID_INVALID: { status: 422, title: 'Record id is not a lowercase hyphenated UUIDv7' },
  RECORD_ID_TAKEN: { status: 409, title: 'Record id names another record' },
  SALT_INVALID: { status: 422, title: 'Salt is not 0x + 64 lowercase hex' },
  SALT_REUSED: { status: 409, title: 'Salt was used by another record of this organisation' },
  SIGNED_RECORD_INCOMPLETE: { status: 422, title: 'A signed record names its id and salt' },
  SIGNATURE_INVALID: { status: 422, title: 'Signature is not canonical or does not recover to its signer' },
  SIGNER_DUPLICATE: { status: 422, title: 'The same signer signs the record twice' },
  SIGNER_NOT_ACTIVE: { status: 422, title: 'Signer is no active SIGNER key of the organisation in the directory' },
  SIGNER_OF_OTHER_ORG: { status: 422, title: 'Signer is a key of another organisation' },
  TOO_MANY_SIGNERS: { status: 422, title: 'Too many distinct signers in one request' },
  SIGNATURE_REQUIRED: { status: 422, title: 'The organisation requires records signed by its own SIGNER key' },
  SIGNATURES_UNAVAILABLE: { status: 503, title: 'This service cannot check record signatures (no member directory)' },

  /** Lifecycles (DESIGN §1, §6: src/service/lifecycle.ts) */
  INVOICE_VOIDED: { status: 409, title: 'Invoice was voided' },
  INVOICE_ALREADY_PAID: { status: 409, title: 'Invoice was paid already' },
  ALREADY_DECIDED: { status: 409, title: 'Expense claim was approved or rejected already' },
  ALREADY_REIMBURSED: { status: 409, title: 'Approval was reimbursed already' },
  ISSUANCE_REDEEMED: { status: 409, title: 'Security issuance was redeemed' },
  TRANSFER_NOT_LATEST: { status: 409, title: 'Transfer does not follow the latest transfer' },
  ALREADY_SUPERSEDED: { status: 409, title: 'Record was superseded already' },

  /** Business rules (issue 17): EN 16931 arithmetic (src/domain/invoice-rules.ts), amounts against the store */
  INVOICE_LINE_NET_MISMATCH: { status: 422, title: 'Invoice line net amount does not add up (PEPPOL-EN16931-R120)' },
  INVOICE_LINE_TOTAL_MISMATCH: { status: 422, title: 'Sum of line net amounts is not the line total (BR-CO-10)' },
  INVOICE_ALLOWANCE_TOTAL_MISMATCH: { status: 422, title: 'Sum of allowances is not the allowance total (BR-CO-11)' },
  INVOICE_CHARGE_TOTAL_MISMATCH: { status: 422, title: 'Sum of charges is not the charge total (BR-CO-12)' },
  INVOICE_NET_TOTAL_MISMATCH: { status: 422, title: 'Total without tax does not add up (BR-CO-13)' },
  INVOICE_TAXABLE_AMOUNT_MISMATCH: { status: 422, title: 'Taxable amount of a VAT category does not add up (BR-x-08)' },
  INVOICE_TAX_AMOUNT_MISMATCH: { status: 422, title: 'Tax of a VAT category is not taxable × rate (BR-CO-17)' },
  INVOICE_TAX_TOTAL_MISMATCH: { status: 422, title: 'Tax total is not the sum of the tax breakdown (BR-CO-14)' },
  INVOICE_GROSS_TOTAL_MISMATCH: { status: 422, title: 'Total with tax is not total without tax + tax (BR-CO-15)' },
  INVOICE_AMOUNT_DUE_MISMATCH: {
    status: 422,
    title: 'Amount due is not total with tax − prepaid + rounding (BR-CO-16)',
  },
  INVOICE_DUE_DATE_BEFORE_ISSUE: { status: 422, title: 'Due date is before the issue date' },
  CURRENCY_MISMATCH: { status: 422, title: 'Currency differs from the record it refers to' },
  PAYMENT_EXCEEDS_AMOUNT_DUE: { status: 422, title: 'Payments would exceed the amount due' },
  CREDIT_NOTE_EXCEEDS_INVOICE: { status: 422, title: 'Credit notes would exceed the invoice they correct' },
  CLAIM_EXCEEDS_INVOICES: { status: 422, title: 'Claim amount exceeds its invoices in that currency' },
  APPROVAL_EXCEEDS_CLAIM: { status: 422, title: 'Approved amount exceeds the claim' },
  REIMBURSEMENT_NOT_APPROVED_AMOUNT: { status: 422, title: 'Reimbursement differs from the approved amount' },
  ALLOCATION_EXCEEDS_NOMINAL: { status: 422, title: 'Allocations would exceed the issuance nominal' },
  TRANSFER_EXCEEDS_POSITION: { status: 422, title: 'Transfer exceeds the holder position' },
  REDEMPTION_EXCEEDS_OUTSTANDING: { status: 422, title: 'Redemption exceeds what is outstanding' },
  XML_MALFORMED: { status: 400, title: 'Malformed XML body' },
  XML_FORBIDDEN: { status: 400, title: 'XML construct refused (DOCTYPE, entities, too deep)' },
  UBL_INVALID: { status: 422, title: 'Not a UBL 2.1 Invoice or CreditNote this service can map' },

  /** Expense claims (POST /v1/claims) */
  INVOICE_ALREADY_CLAIMED: { status: 409, title: 'Invoice was claimed before in the consortium' },
  CLAIM_NOT_FOUND: { status: 404, title: 'Claim not found' },
  CLAIM_INVOICE_DUPLICATE: { status: 422, title: 'The same invoice is named twice in one claim' },
  INVOICE_SUPERSEDED: { status: 409, title: 'Invoice was corrected: claim its correction instead' },
  CLAIM_TOO_MANY_KEYS: { status: 422, title: 'The claimed invoices and their earlier versions have too many keys' },
  CLAIM_IN_PROGRESS: { status: 409, title: 'This claim is being processed; retry shortly' },
  CLAIMS_UNAVAILABLE: { status: 503, title: 'Claims are not configured on this service' },

  /** Administration */
  ORG_EXISTS: { status: 409, title: 'Organisation already exists' },
  TAX_ID_TAKEN: { status: 409, title: 'Tax id belongs to another organisation' },
  ROTATION_IN_PROGRESS: {
    status: 409,
    title: 'The organisation has a batch or transaction in flight on its chain account; retry the key rotation later',
  },
  SIGNER_KEY_TAKEN: { status: 409, title: 'The address is bound in the member directory already' },
  SIGNER_NOT_FOUND: { status: 404, title: 'No active SIGNER key of this organisation with that address' },
  DIRECTORY_UNAVAILABLE: { status: 503, title: 'This service cannot write to the member directory' },
  REGISTRY_1X: {
    status: 409,
    title: 'The registries are version 1.x: no member directory to register the organisation in',
  },

  /** Dependencies */
  CHAIN_UNAVAILABLE: { status: 503, title: 'Chain unavailable' },
  CHAIN_BUSY: { status: 503, title: 'Too many chain reads in flight; retry shortly' },
  INTERNAL: { status: 500, title: 'Internal Server Error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** A failure the client caused or can act on: carries a stable code; its status comes from the catalogue. */
export class ServiceError extends Error {
  override name = 'ServiceError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  /** `cause`: the error this one reports (e.g. the chain failure behind a 503), kept for logs, never served. */
  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, cause?: unknown) {
    super(message ?? ERROR_CATALOGUE[code].title, cause === undefined ? undefined : { cause });
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = details;
  }
}

/** RFC 9457 problem details body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  [extension: string]: unknown;
}

export function problemOf(err: ServiceError): Problem {
  return {
    type: `urn:ledger-notary:problem:${err.code.toLowerCase().replace(/_/g, '-')}`,
    title: ERROR_CATALOGUE[err.code].title,
    status: err.status,
    detail: err.message,
    code: err.code,
    ...(err.details ?? {}),
  };
}
