import { amountDue, checkInvoice, type RuleViolation } from './invoice-rules';
import { str } from './decimal';
import type { InvoiceIssuedPayload } from './record-types';

export type { RuleViolation } from './invoice-rules';

/**
 * The few amounts of a record that the business rules compare with stored records (src/service/business-rules.ts),
 * as plain data (decimal strings), so they cross the preparation worker's thread boundary and are read the same
 * way from a new payload and from a stored one.
 */
export type RuleFacts =
  | {
      t: 'invoice';
      creditNote: boolean;
      number: string;
      currency: string;
      due: string;
      gross: string;
      preceding?: string;
    }
  | { t: 'payment'; amount: string; currency?: string }
  | { t: 'claim'; amount: string; currency: string }
  | { t: 'approval'; amount?: string; currency?: string }
  | { t: 'reimbursement'; amount: string; currency?: string }
  | { t: 'issuance'; nominal: string; denomination: string; currency: string }
  | { t: 'allocation'; holder: string; quantity: string }
  | { t: 'transfer'; from: string; to: string; quantity: string }
  | { t: 'redemption'; amount: string; currency?: string };

type Obj = Record<string, unknown>;
const s = (x: unknown): string => String(x);
const o = (x: unknown): string | undefined => (x === undefined || x === null ? undefined : String(x));

/** Facts of a payload already valid for `type` (undefined: the rules need nothing of it). */
export function factsOf(type: string, payload: unknown): RuleFacts | undefined {
  const p = payload as Obj;
  switch (type) {
    case 'invoice.issued': {
      const inv = payload as InvoiceIssuedPayload;
      return {
        t: 'invoice',
        creditNote: inv.invoiceType === 'credit-note',
        number: inv.invoiceNumber,
        currency: inv.currency,
        due: str(amountDue(inv)),
        gross: inv.totalGross,
        ...(inv.precedingInvoice ? { preceding: inv.precedingInvoice.number } : {}),
      };
    }
    case 'invoice.paid':
      return { t: 'payment', amount: s(p.amount), currency: o(p.currency) };
    case 'expense.claim':
      return { t: 'claim', amount: s(p.amount), currency: s(p.currency) };
    case 'expense.approved':
      return { t: 'approval', amount: o(p.amount), currency: o(p.currency) };
    case 'expense.reimbursed':
      return { t: 'reimbursement', amount: s(p.amount), currency: o(p.currency) };
    case 'security.issuance': {
      const tr = p.tranche as Obj;
      return { t: 'issuance', nominal: s(tr.nominal), denomination: s(tr.denomination), currency: s(tr.currency) };
    }
    case 'security.allocation':
      return { t: 'allocation', holder: s(p.investorId), quantity: s(p.quantity) };
    case 'security.transfer':
      return { t: 'transfer', from: s(p.fromHolderId), to: s(p.toHolderId), quantity: s(p.quantity) };
    case 'security.redemption':
      return { t: 'redemption', amount: s(p.amount), currency: o(p.currency) };
    default:
      return undefined;
  }
}

/** The stateless (arithmetic) rule violations of a payload already valid for `type`. */
export function arithmeticViolations(type: string, payload: unknown): RuleViolation[] {
  return type === 'invoice.issued' ? checkInvoice(payload as InvoiceIssuedPayload) : [];
}

/** What the preparation adds to a record: its facts and its arithmetic violations (both omitted when empty). */
export function evaluateRecord(type: string, payload: unknown): { facts?: RuleFacts; violations?: RuleViolation[] } {
  const facts = factsOf(type, payload);
  const violations = arithmeticViolations(type, payload);
  return { ...(facts ? { facts } : {}), ...(violations.length ? { violations } : {}) };
}
