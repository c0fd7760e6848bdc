import { Type, type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { DomainError } from './errors';

/** Every record type the service notarizes (DESIGN §1). */
export const RECORD_TYPES = [
  'security.issuance',
  'security.allocation',
  'security.transfer',
  'security.redemption',
  'invoice.issued',
  'invoice.voided',
  'invoice.paid',
  'expense.claim',
  'expense.approved',
  'expense.rejected',
  'expense.reimbursed',
  'document',
  'cosignature',
] as const;

export type RecordType = (typeof RECORD_TYPES)[number];

const RECORD_TYPE_SET: ReadonlySet<string> = new Set(RECORD_TYPES);

export function isRecordType(x: unknown): x is RecordType {
  return typeof x === 'string' && RECORD_TYPE_SET.has(x);
}

// ---- shared primitives: strict on amounts, dates and ids; permissive on free text ----

/** Decimal amount as a JSON string (DESIGN §2.1: never a binary float). */
export const DecimalSchema = Type.String({ pattern: '^-?\\d{1,30}(\\.\\d{1,18})?$', maxLength: 50 });
/** Strictly positive decimal (quantities, nominal amounts). */
export const PositiveDecimalSchema = Type.String({
  pattern: '^(0\\.\\d*[1-9]\\d*|[1-9]\\d{0,29}(\\.\\d{1,18})?)$',
  maxLength: 50,
});
/** Non-negative decimal. */
export const AmountSchema = Type.String({ pattern: '^\\d{1,30}(\\.\\d{1,18})?$', maxLength: 50 });
export const CurrencySchema = Type.String({ pattern: '^[A-Z]{3}$' }); // ISO 4217
export const DateSchema = Type.String({ format: 'date' }); // YYYY-MM-DD
export const DateTimeSchema = Type.String({ format: 'date-time' }); // RFC 3339
export const IsinSchema = Type.String({ pattern: '^[A-Z]{2}[A-Z0-9]{9}[0-9]$' }); // ISO 6166
export const LeiSchema = Type.String({ pattern: '^[A-Z0-9]{18}[0-9]{2}$' }); // ISO 17442
export const IdSchema = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]*$' });
export const TaxIdSchema = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' });
export const NameSchema = Type.String({ minLength: 1, maxLength: 512 });
export const TextSchema = Type.String({ maxLength: 4096 });
/** Rate as a decimal fraction string, e.g. "0.13" for 13%. */
export const RateSchema = Type.String({ pattern: '^\\d{1,3}(\\.\\d{1,8})?$' });

const obj = <P extends Parameters<typeof Type.Object>[0]>(props: P) =>
  Type.Object(props, { additionalProperties: false });
const opt = Type.Optional;

// ---- securities (bank pilot) ----
export const SecurityIssuanceSchema = obj({
  isin: IsinSchema,
  issuerLei: LeiSchema,
  issuerName: opt(NameSchema),
  instrument: opt(Type.String({ maxLength: 64 })), // e.g. "bond", "note"
  tranche: obj({
    trancheId: opt(IdSchema),
    currency: CurrencySchema,
    nominal: PositiveDecimalSchema,
    denomination: PositiveDecimalSchema,
    couponRate: RateSchema,
    couponFrequency: opt(
      Type.Union([
        Type.Literal('none'),
        Type.Literal('annual'),
        Type.Literal('semiannual'),
        Type.Literal('quarterly'),
        Type.Literal('monthly'),
      ]),
    ),
    dayCount: opt(Type.String({ maxLength: 32 })),
    issueDate: DateSchema,
    maturityDate: DateSchema,
  }),
  governingLaw: opt(Type.String({ maxLength: 64 })),
  terms: opt(TextSchema),
});
export const SecurityAllocationSchema = obj({
  isin: IsinSchema,
  investorId: IdSchema,
  investorLei: opt(LeiSchema),
  quantity: PositiveDecimalSchema,
  price: opt(AmountSchema),
  allocatedAt: opt(DateTimeSchema),
});
export const SecurityTransferSchema = obj({
  isin: IsinSchema,
  fromHolderId: IdSchema,
  toHolderId: IdSchema,
  quantity: PositiveDecimalSchema,
  settlementDate: DateSchema,
  price: opt(AmountSchema),
  tradeDate: opt(DateSchema),
});
export const SecurityRedemptionSchema = obj({
  isin: IsinSchema,
  amount: PositiveDecimalSchema,
  currency: opt(CurrencySchema),
  redemptionDate: DateSchema,
  reason: opt(Type.Union([Type.Literal('maturity'), Type.Literal('early'), Type.Literal('call'), Type.Literal('put')])),
});

// ---- e-invoices (aerospace pilot) ----
// The invoice model follows EN 16931's business terms (BT-n); every field added since the first version is
// optional, so that earlier payloads stay valid and keep their digest. Amounts may be negative where EN 16931
// allows it (correction lines, negative totals); the calculation rules are in src/domain/invoice-rules.ts.
const PartySchema = obj({
  name: NameSchema,
  /** BT-31 / BT-48 VAT identifier (BT-30 legal registration id when a UBL seller has no VAT id). */
  taxId: opt(TaxIdSchema),
  address: opt(TextSchema),
});
/** An invoice number (BT-1) or a reference to one (BT-25). */
export const InvoiceNumberSchema = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._/:#-]*$',
});
/** VAT category code (UNCL 5305 subset of EN 16931: S, Z, E, AE, K, G, O, L, M). */
export const TaxCategorySchema = Type.String({ pattern: '^(S|Z|E|AE|K|G|O|L|M|B)$' });
/** Allowance (BG-20, BG-27) or charge (BG-21, BG-28). */
export const AllowanceChargeSchema = obj({
  amount: DecimalSchema,
  baseAmount: opt(DecimalSchema),
  percent: opt(Type.String({ pattern: '^\\d{1,3}(\\.\\d{1,8})?$' })),
  reason: opt(Type.String({ maxLength: 1024 })),
  reasonCode: opt(Type.String({ maxLength: 16 })),
  /** Document level only: the VAT category and rate the allowance or charge falls under. */
  taxCategory: opt(TaxCategorySchema),
  taxRate: opt(RateSchema),
});
export const InvoiceLineSchema = obj({
  id: opt(Type.String({ minLength: 1, maxLength: 64 })), // BT-126
  description: NameSchema, // BT-153 item name
  /** BT-129 invoiced quantity: negative on a correction line. */
  quantity: DecimalSchema,
  /** BT-146 item net price (never negative in EN 16931, BR-27). */
  unitPrice: DecimalSchema,
  /** BT-149 price base quantity (the price is per this many units; default 1). */
  baseQuantity: opt(PositiveDecimalSchema),
  /** BT-131 line net amount = quantity × unitPrice / baseQuantity + charges − allowances. */
  amount: DecimalSchema,
  taxRate: RateSchema, // BT-152 as a fraction ("0.25" for 25 %)
  taxCategory: opt(TaxCategorySchema), // BT-151
  taxAmount: opt(DecimalSchema),
  unit: opt(Type.String({ maxLength: 32 })), // BT-130
  allowances: opt(Type.Array(AllowanceChargeSchema, { maxItems: 100 })), // BG-27
  charges: opt(Type.Array(AllowanceChargeSchema, { maxItems: 100 })), // BG-28
});
/** One row of the VAT breakdown (BG-23). */
export const TaxBreakdownSchema = obj({
  category: opt(TaxCategorySchema), // BT-118
  rate: RateSchema, // BT-119 as a fraction
  taxableAmount: DecimalSchema, // BT-116
  taxAmount: DecimalSchema, // BT-117
  exemptionReason: opt(Type.String({ maxLength: 1024 })), // BT-120
  exemptionReasonCode: opt(Type.String({ maxLength: 64 })), // BT-121
});
export const InvoiceIssuedSchema = obj({
  seller: PartySchema,
  buyer: PartySchema,
  /** Invoice code (China's invoice series); absent on EN 16931 invoices. */
  invoiceCode: opt(Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9-]+$' })),
  invoiceNumber: InvoiceNumberSchema, // BT-1
  /** BT-3 in words: a credit note corrects (and, when linked, reduces what is due on) an earlier invoice. */
  invoiceType: opt(Type.Union([Type.Literal('invoice'), Type.Literal('credit-note')])),
  /** BT-3 code (UNCL 1001: 380 commercial invoice, 381 credit note, 384 corrected invoice, …). */
  typeCode: opt(Type.String({ pattern: '^\\d{3}$' })),
  issueDate: DateSchema, // BT-2
  currency: CurrencySchema, // BT-5
  /** BT-25 / BT-26: the invoice a credit note (or corrected invoice) refers to. */
  precedingInvoice: opt(obj({ number: InvoiceNumberSchema, issueDate: opt(DateSchema) })),
  buyerReference: opt(Type.String({ maxLength: 256 })), // BT-10
  orderReference: opt(Type.String({ maxLength: 256 })), // BT-13
  lines: Type.Array(InvoiceLineSchema, { minItems: 1, maxItems: 1000 }),
  allowances: opt(Type.Array(AllowanceChargeSchema, { maxItems: 100 })), // BG-20
  charges: opt(Type.Array(AllowanceChargeSchema, { maxItems: 100 })), // BG-21
  taxBreakdown: opt(Type.Array(TaxBreakdownSchema, { minItems: 1, maxItems: 100 })), // BG-23
  lineTotal: opt(DecimalSchema), // BT-106 Σ line net amounts
  allowanceTotal: opt(DecimalSchema), // BT-107
  chargeTotal: opt(DecimalSchema), // BT-108
  totalNet: DecimalSchema, // BT-109 total without VAT
  totalTax: DecimalSchema, // BT-110
  totalGross: DecimalSchema, // BT-112 total with VAT
  prepaid: opt(DecimalSchema), // BT-113
  rounding: opt(DecimalSchema), // BT-114
  payable: opt(DecimalSchema), // BT-115 amount due for payment
  dueDate: opt(DateSchema), // BT-9
  notes: opt(TextSchema),
  /** Where the record came from when it was not submitted as JSON: the SHA-256 of the exact document bytes. */
  source: opt(obj({ format: Type.Literal('ubl-2.1'), sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }) })),
});
export const InvoiceVoidedSchema = obj({
  reason: Type.String({ minLength: 1, maxLength: 1024 }),
  creditNoteNumber: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9-]+$' }),
  voidedAt: opt(DateTimeSchema),
});
export const InvoicePaidSchema = obj({
  amount: PositiveDecimalSchema,
  currency: opt(CurrencySchema),
  paidAt: DateTimeSchema,
  paymentReference: Type.String({ minLength: 1, maxLength: 128 }),
});

// ---- expenses (messaging company pilot) ----
export const ExpenseClaimSchema = obj({
  employeeId: IdSchema,
  amount: PositiveDecimalSchema,
  currency: CurrencySchema,
  category: Type.String({ minLength: 1, maxLength: 64 }),
  description: Type.String({ minLength: 1, maxLength: 1024 }),
  submittedAt: DateTimeSchema,
});
const DecisionSchema = obj({
  approver: IdSchema,
  decidedAt: DateTimeSchema,
  reason: opt(Type.String({ maxLength: 1024 })),
  /** The amount approved when it is not the claim's (a reimbursement must equal it). */
  amount: opt(PositiveDecimalSchema),
  currency: opt(CurrencySchema),
});
export const ExpenseApprovedSchema = DecisionSchema;
export const ExpenseRejectedSchema = obj({
  approver: IdSchema,
  decidedAt: DateTimeSchema,
  reason: Type.String({ minLength: 1, maxLength: 1024 }),
});
export const ExpenseReimbursedSchema = obj({
  amount: PositiveDecimalSchema,
  currency: opt(CurrencySchema),
  paidAt: DateTimeSchema,
  paymentReference: Type.String({ minLength: 1, maxLength: 128 }),
});

// ---- generic document: anything JSON, an optional title ----
export const DocumentSchema = Type.Object({ title: opt(Type.String({ maxLength: 512 })) });

// ---- co-signature (receipt version 2): another organisation stands behind a record (its only parent) ----
export const CosignatureSchema = obj({
  /** What the co-signer attests, in its own words. */
  statement: opt(TextSchema),
  /** In which capacity it signs, e.g. "registrar", "trustee", "auditor". */
  role: opt(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9 ._-]*$' })),
});

/** Payload schema per record type (plain JSON Schema; usable by fastify as is). */
export const PAYLOAD_SCHEMAS = {
  'security.issuance': SecurityIssuanceSchema,
  'security.allocation': SecurityAllocationSchema,
  'security.transfer': SecurityTransferSchema,
  'security.redemption': SecurityRedemptionSchema,
  'invoice.issued': InvoiceIssuedSchema,
  'invoice.voided': InvoiceVoidedSchema,
  'invoice.paid': InvoicePaidSchema,
  'expense.claim': ExpenseClaimSchema,
  'expense.approved': ExpenseApprovedSchema,
  'expense.rejected': ExpenseRejectedSchema,
  'expense.reimbursed': ExpenseReimbursedSchema,
  document: DocumentSchema,
  cosignature: CosignatureSchema,
} as const satisfies Record<RecordType, TSchema>;

export type SecurityIssuancePayload = Static<typeof SecurityIssuanceSchema>;
export type InvoiceIssuedPayload = Static<typeof InvoiceIssuedSchema>;
export type InvoiceLinePayload = Static<typeof InvoiceLineSchema>;
export type AllowanceChargePayload = Static<typeof AllowanceChargeSchema>;
export type ExpenseClaimPayload = Static<typeof ExpenseClaimSchema>;

// Compiled once, on first use (compiling all 13 at import time would slow every importer's start).
let validators: Map<RecordType, ReturnType<typeof Compile>> | undefined;
function validatorOf(type: RecordType): ReturnType<typeof Compile> {
  validators ??= new Map();
  let v = validators.get(type);
  if (v === undefined) {
    v = Compile(PAYLOAD_SCHEMAS[type] as TSchema);
    validators.set(type, v);
  }
  return v;
}

export type PayloadValidation = { ok: true } | { ok: false; errors: { path: string; message: string }[] };

/** Validates `payload` against the schema of `type`. Paths are JSON pointers ('' = the payload itself). */
export function validatePayload(type: RecordType, payload: unknown): PayloadValidation {
  if (!isRecordType(type)) return { ok: false, errors: [{ path: '', message: `unknown record type ${String(type)}` }] };
  const v = validatorOf(type);
  if (v.Check(payload)) return { ok: true };
  const errors = v.Errors(payload).map((e) => ({ path: e.instancePath, message: e.message }));
  return { ok: false, errors: errors.length > 0 ? errors : [{ path: '', message: 'invalid payload' }] };
}

/** Throws PAYLOAD_INVALID (fields = JSON pointers) unless `payload` is valid for `type`. */
export function assertPayload(type: RecordType, payload: unknown): void {
  const r = validatePayload(type, payload);
  if (!r.ok) {
    throw new DomainError({
      code: 'PAYLOAD_INVALID',
      message: `invalid ${type} payload: ${r.errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}`,
      fields: [...new Set(r.errors.map((e) => e.path))],
    });
  }
}

/** The fields that identify an invoice across the consortium (input of the DESIGN §2.5 invoice key). */
export interface InvoiceIdentity {
  sellerTaxId: string;
  invoiceCode: string;
  invoiceNumber: string;
}

/** Identity of an `invoice.issued` payload; throws PAYLOAD_INVALID if the payload is not one. */
export function invoiceIdentity(payload: unknown): InvoiceIdentity {
  assertPayload('invoice.issued', payload);
  const p = payload as InvoiceIssuedPayload;
  if (!p.seller.taxId) {
    throw new DomainError({
      code: 'PAYLOAD_INVALID',
      message: 'an invoice without a seller tax id has no invoice key',
      fields: ['/seller/taxId'],
    });
  }
  // An EN 16931 invoice has no invoice code: "" (DESIGN §2.5), so the same invoice as JSON or UBL has one key.
  return { sellerTaxId: p.seller.taxId, invoiceCode: p.invoiceCode ?? '', invoiceNumber: p.invoiceNumber };
}
