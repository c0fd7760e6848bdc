import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { dec, str } from './decimal';
import { sha256Hex as sha256Prefixed } from './hashing';

/**
 * UBL 2.1 `Invoice` / `CreditNote` (Peppol BIS Billing 3.0, EN 16931) → the `invoice.issued` payload.
 *
 * Hostile input is refused before anything is built: a document type declaration (and with it every entity
 * declaration: no XXE, no billion laughs) is refused outright, entities other than the five predefined ones are
 * never expanded (`processEntities: false`, and the predefined ones only by the parser's fixed table), nesting
 * deeper than {@link MAX_DEPTH} and documents larger than {@link MAX_XML_BYTES} are refused by a linear pre-scan.
 * Values stay strings (`parseTagValue: false`): amounts are never turned into binary floats.
 */
export const MAX_XML_BYTES = 1024 * 1024;
export const MAX_DEPTH = 40;

export type UblErrorCode = 'XML_MALFORMED' | 'XML_FORBIDDEN' | 'UBL_INVALID';

export class UblError extends Error {
  override name = 'UblError';
  constructor(
    readonly code: UblErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type Node = Record<string, unknown>;

const ARRAYS = new Set([
  'InvoiceLine',
  'CreditNoteLine',
  'AllowanceCharge',
  'TaxTotal',
  'TaxSubtotal',
  'PartyTaxScheme',
  'BillingReference',
  'PartyName',
  'Note',
]);

function preScan(xml: string): void {
  if (new TextEncoder().encode(xml).byteLength > MAX_XML_BYTES)
    throw new UblError('XML_FORBIDDEN', `XML larger than ${MAX_XML_BYTES} bytes`);
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml))
    throw new UblError('XML_FORBIDDEN', 'XML with a document type declaration (DOCTYPE / ENTITY) is refused');
  // Nesting depth, linearly: comments, CDATA and processing instructions do not nest.
  let depth = 0;
  const tag = /<(!--[\s\S]*?--|!\[CDATA\[[\s\S]*?\]\]|\?[\s\S]*?\?|\/?)([^>]*?)(\/?)>/g;
  for (let m = tag.exec(xml); m; m = tag.exec(xml)) {
    const [, lead, , selfClose] = m;
    if (lead && lead !== '/') continue;
    if (lead === '/') depth--;
    else if (!selfClose) {
      depth++;
      if (depth > MAX_DEPTH) throw new UblError('XML_FORBIDDEN', `XML nested deeper than ${MAX_DEPTH} elements`);
    }
  }
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => ARRAYS.has(name),
});

const text = (x: unknown): string | undefined => {
  if (x === undefined || x === null) return undefined;
  if (typeof x === 'object') {
    const t = (x as Node)['#text'];
    return t === undefined ? undefined : String(t);
  }
  return String(x);
};
const node = (x: unknown): Node => (x && typeof x === 'object' ? (x as Node) : {});
const list = (x: unknown): Node[] => (Array.isArray(x) ? x.map(node) : x === undefined ? [] : [node(x)]);
const amount = (x: unknown, what: string): string => {
  const t = text(x);
  if (t === undefined || !/^[+-]?\d+(\.\d+)?$/.test(t))
    throw new UblError('UBL_INVALID', `${what} is not an amount: ${String(t)}`);
  return t.startsWith('+') ? t.slice(1) : t;
};
const optAmount = (x: unknown, what: string): string | undefined => (x === undefined ? undefined : amount(x, what));
/** A percentage ("25.0") as a fraction ("0.25"), exactly. */
const rate = (percent: unknown): string => {
  const t = text(percent);
  if (t === undefined) return '0';
  const d = dec(amount(t, 'Percent'));
  return str({ units: d.units, scale: d.scale + 2 });
};
const taxId = (x: string | undefined): string | undefined => {
  const v = x?.replace(/[^A-Za-z0-9-]/g, '');
  return v ? v.slice(0, 64) : undefined;
};
const clean = <T extends Node>(o: T): T => {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
};

function party(p: unknown): Node {
  const party = node(node(p).Party);
  const names = list(party.PartyName);
  const legal = node(party.PartyLegalEntity);
  const vat =
    list(party.PartyTaxScheme).find((s) => text(node(s.TaxScheme).ID) === 'VAT') ?? list(party.PartyTaxScheme)[0];
  const a = node(party.PostalAddress);
  const address = [
    a.StreetName,
    a.AdditionalStreetName,
    a.CityName,
    a.PostalZone,
    a.CountrySubentity,
    node(a.Country).IdentificationCode,
  ]
    .map(text)
    .filter((x) => x)
    .join(', ');
  return clean({
    name: (text(names[0]?.Name) ?? text(legal.RegistrationName) ?? '').slice(0, 512) || 'unnamed',
    // BT-31 / BT-48 VAT identifier; else BT-30 legal registration identifier.
    taxId: taxId(text(vat?.CompanyID) ?? text(legal.CompanyID)),
    address: address ? address.slice(0, 4096) : undefined,
  });
}

function allowanceCharges(xs: unknown, docLevel: boolean): { allowances: Node[]; charges: Node[] } {
  const allowances: Node[] = [];
  const charges: Node[] = [];
  for (const ac of list(xs)) {
    const tc = node(ac.TaxCategory);
    const out = clean({
      amount: amount(ac.Amount, 'AllowanceCharge/Amount'),
      baseAmount: optAmount(ac.BaseAmount, 'AllowanceCharge/BaseAmount'),
      percent: text(ac.MultiplierFactorNumeric),
      reason: text(ac.AllowanceChargeReason)?.slice(0, 1024),
      reasonCode: text(ac.AllowanceChargeReasonCode)?.slice(0, 16),
      taxCategory: docLevel ? text(tc.ID) : undefined,
      taxRate: docLevel ? rate(tc.Percent) : undefined,
    });
    (text(ac.ChargeIndicator) === 'true' ? charges : allowances).push(out);
  }
  return { allowances, charges };
}

export interface UblDocument {
  /** The `invoice.issued` payload, with `source: {format: "ubl-2.1", sha256}`. */
  payload: Record<string, unknown>;
  kind: 'Invoice' | 'CreditNote';
}

/** SHA-256 (lowercase hex, no prefix) of the exact bytes; portable (the auditor page runs this module too). */
export const sha256Hex = (bytes: Uint8Array | string): string => sha256Prefixed(bytes).slice(2);

/** Parses a UBL 2.1 Invoice or CreditNote from its exact bytes (UTF-8) into the typed `invoice.issued` payload. */
export function ublToPayload(bytes: Uint8Array | string): UblDocument {
  const raw = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  if (raw.byteLength > MAX_XML_BYTES) throw new UblError('XML_FORBIDDEN', `XML larger than ${MAX_XML_BYTES} bytes`);
  const xml = new TextDecoder('utf-8', { ignoreBOM: true }).decode(raw).replace(/^\uFEFF/, '');
  preScan(xml);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new UblError('XML_MALFORMED', `Malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const doc = parser.parse(xml) as Node;
  const kind = doc.Invoice ? 'Invoice' : doc.CreditNote ? 'CreditNote' : undefined;
  if (!kind) throw new UblError('UBL_INVALID', 'The root element is neither a UBL Invoice nor a CreditNote');
  const r = node(doc[kind]);
  const cn = kind === 'CreditNote';
  const currency = text(r.DocumentCurrencyCode);
  const typeCode = text(cn ? r.CreditNoteTypeCode : r.InvoiceTypeCode);

  const lines = list(cn ? r.CreditNoteLine : r.InvoiceLine).map((l, i) => {
    const item = node(l.Item);
    const tc = node(item.ClassifiedTaxCategory);
    const price = node(l.Price);
    const qty = cn ? l.CreditedQuantity : l.InvoicedQuantity;
    const { allowances, charges } = allowanceCharges(l.AllowanceCharge, false);
    return clean({
      id: text(l.ID)?.slice(0, 64),
      description: (text(item.Name) ?? text(item.Description) ?? `line ${i + 1}`).slice(0, 512),
      quantity: amount(qty, `line ${i + 1} quantity`),
      unit: text(node(qty)['@unitCode'])?.slice(0, 32),
      unitPrice: amount(price.PriceAmount, `line ${i + 1} price`),
      baseQuantity: optAmount(price.BaseQuantity, `line ${i + 1} base quantity`),
      amount: amount(l.LineExtensionAmount, `line ${i + 1} net amount`),
      taxCategory: text(tc.ID),
      taxRate: rate(tc.Percent),
      allowances: allowances.length ? allowances : undefined,
      charges: charges.length ? charges : undefined,
    });
  });
  const { allowances, charges } = allowanceCharges(r.AllowanceCharge, true);
  // BG-22 tax total in the document currency (a second TaxTotal may be in the tax accounting currency, BT-111).
  const taxTotals = list(r.TaxTotal);
  const taxTotal =
    taxTotals.find((t) => text(node(t.TaxAmount)['@currencyID']) === currency) ??
    taxTotals.find((t) => t.TaxSubtotal) ??
    taxTotals[0];
  const breakdown = list(taxTotal?.TaxSubtotal).map((s) => {
    const tc = node(s.TaxCategory);
    return clean({
      category: text(tc.ID),
      rate: rate(tc.Percent),
      taxableAmount: amount(s.TaxableAmount, 'TaxSubtotal/TaxableAmount'),
      taxAmount: amount(s.TaxAmount, 'TaxSubtotal/TaxAmount'),
      exemptionReason: text(tc.TaxExemptionReason)?.slice(0, 1024),
      exemptionReasonCode: text(tc.TaxExemptionReasonCode)?.slice(0, 64),
    });
  });
  const m = node(r.LegalMonetaryTotal);
  const preceding = node(list(r.BillingReference)[0]?.InvoiceDocumentReference);
  const due =
    text(r.DueDate) ?? text(node(Array.isArray(r.PaymentMeans) ? r.PaymentMeans[0] : r.PaymentMeans).PaymentDueDate);
  const payload = clean({
    seller: party(r.AccountingSupplierParty),
    buyer: party(r.AccountingCustomerParty),
    invoiceNumber: text(r.ID),
    invoiceType: cn || typeCode === '381' ? 'credit-note' : 'invoice',
    typeCode,
    issueDate: text(r.IssueDate),
    currency,
    precedingInvoice: text(preceding.ID)
      ? clean({ number: text(preceding.ID), issueDate: text(preceding.IssueDate) })
      : undefined,
    buyerReference: text(r.BuyerReference)?.slice(0, 256),
    orderReference: text(node(r.OrderReference).ID)?.slice(0, 256),
    lines,
    allowances: allowances.length ? allowances : undefined,
    charges: charges.length ? charges : undefined,
    taxBreakdown: breakdown.length ? breakdown : undefined,
    lineTotal: optAmount(m.LineExtensionAmount, 'LineExtensionAmount'),
    allowanceTotal: optAmount(m.AllowanceTotalAmount, 'AllowanceTotalAmount'),
    chargeTotal: optAmount(m.ChargeTotalAmount, 'ChargeTotalAmount'),
    totalNet: amount(m.TaxExclusiveAmount, 'TaxExclusiveAmount'),
    totalTax: amount(taxTotal?.TaxAmount ?? '0', 'TaxTotal/TaxAmount'),
    totalGross: amount(m.TaxInclusiveAmount, 'TaxInclusiveAmount'),
    prepaid: optAmount(m.PrepaidAmount, 'PrepaidAmount'),
    rounding: optAmount(m.PayableRoundingAmount, 'PayableRoundingAmount'),
    payable: optAmount(m.PayableAmount, 'PayableAmount'),
    dueDate: due,
    source: { format: 'ubl-2.1', sha256: sha256Hex(raw) },
  });
  return { payload, kind };
}
