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
const PartySchema = obj({ name: NameSchema, taxId: TaxIdSchema, address: opt(TextSchema) });
export const InvoiceLineSchema = obj({
  description: NameSchema,
  quantity: PositiveDecimalSchema,
  unitPrice: DecimalSchema,
  amount: DecimalSchema,
  taxRate: RateSchema,
  taxAmount: opt(DecimalSchema),
  unit: opt(Type.String({ maxLength: 32 })),
});
export const InvoiceIssuedSchema = obj({
  seller: PartySchema,
  buyer: PartySchema,
  invoiceCode: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9-]+$' }),
  invoiceNumber: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9-]+$' }),
  issueDate: DateSchema,
  currency: CurrencySchema,
  lines: Type.Array(InvoiceLineSchema, { minItems: 1, maxItems: 1000 }),
  totalNet: DecimalSchema,
  totalTax: DecimalSchema,
  totalGross: DecimalSchema,
  dueDate: opt(DateSchema),
  notes: opt(TextSchema),
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
} as const satisfies Record<RecordType, TSchema>;

export type SecurityIssuancePayload = Static<typeof SecurityIssuanceSchema>;
export type InvoiceIssuedPayload = Static<typeof InvoiceIssuedSchema>;
export type ExpenseClaimPayload = Static<typeof ExpenseClaimSchema>;

// Compiled once, on first use (compiling all 12 at import time would slow every importer's start).
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
  return { sellerTaxId: p.seller.taxId, invoiceCode: p.invoiceCode, invoiceNumber: p.invoiceNumber };
}
