import { add, cmp, dec, minorUnit, mul, str, sub, ZERO, type Dec } from '../domain/decimal';
import { factsOf, type RuleFacts } from '../domain/record-rules';
import { ServiceError, type ErrorCode } from './errors';
import type { LifecycleState } from './lifecycle';
import type { RecordMeta, Repo } from './ports';

/**
 * Business rules on amounts, against what the store holds (issue 17), on top of the lifecycles
 * (src/service/lifecycle.ts) and in the same submission transaction: the parents they read are the ones the
 * lifecycle locked (`FOR UPDATE` on PostgreSQL), so two concurrent requests cannot both pass. Records accepted
 * earlier in the same request count (see {@link RuleState.add}). All refusals are 422 with `rule`, `expected`
 * and `given`.
 *
 * | record              | refused when                                                                        | code |
 * |---------------------|-------------------------------------------------------------------------------------|------|
 * | invoice.paid        | the invoice is paid in full already                                                 | INVOICE_ALREADY_PAID (409) |
 * | invoice.paid        | payments so far + this one > amount due (BT-115) − credit notes                      | PAYMENT_EXCEEDS_AMOUNT_DUE |
 * | invoice.paid        | its currency is not the invoice's                                                    | CURRENCY_MISMATCH |
 * | credit note (invoice.issued, invoiceType credit-note, parent: the invoice) | credit notes so far + this one > the invoice's amount due | CREDIT_NOTE_EXCEEDS_INVOICE |
 * | expense.claim       | amount > Σ (gross − credit notes) of its invoices in the claim's currency            | CLAIM_EXCEEDS_INVOICES |
 * | expense.approved    | an approved `amount` above the claim's, or in another currency                       | APPROVAL_EXCEEDS_CLAIM / CURRENCY_MISMATCH |
 * | expense.reimbursed  | amount ≠ the approved amount (the approval's `amount`, else the claim's)             | REIMBURSEMENT_NOT_APPROVED_AMOUNT |
 * | security.allocation | Σ allocated quantity × denomination > the tranche's nominal                          | ALLOCATION_EXCEEDS_NOMINAL |
 * | security.transfer   | quantity > the sender's position (allocations + transfers in − transfers out)        | TRANSFER_EXCEEDS_POSITION |
 * | security.redemption | amount > nominal − redeemed so far, or another currency                              | REDEMPTION_EXCEEDS_OUTSTANDING / CURRENCY_MISMATCH |
 *
 * The invoice is "paid" once its payments reach the amount due: {@link RuleState.paidInFull}.
 */

const RULED: ReadonlySet<string> = new Set([
  'invoice.issued',
  'invoice.paid',
  'expense.claim',
  'expense.approved',
  'expense.reimbursed',
  'security.allocation',
  'security.transfer',
  'security.redemption',
]);
const MAX_HISTORY = 1_000_000;

interface InvoiceAgg {
  paid: Dec;
  firstPayment?: string;
  credited: Dec;
}
interface IssuanceAgg {
  allocated: Dec;
  redeemed: Dec;
  positions: Map<string, Dec>;
}

type Item = { type: string; parents: string[]; facts?: RuleFacts };

const money = (d: Dec, currency: string) => str(d, minorUnit(currency));

const problem = (code: ErrorCode, message: string, details: Record<string, unknown>) =>
  new ServiceError(code, message, details);

export class RuleState {
  readonly facts = new Map<string, RuleFacts>();
  private readonly invoices = new Map<string, InvoiceAgg>();
  private readonly issuances = new Map<string, IssuanceAgg>();
  /** approval id → claim id */
  readonly claimOf = new Map<string, string>();

  constructor(private readonly lifecycle: LifecycleState | null) {}

  /** @internal */
  invoice(id: string): InvoiceAgg {
    let a = this.invoices.get(id);
    if (!a) this.invoices.set(id, (a = { paid: ZERO, credited: ZERO }));
    return a;
  }
  /** @internal */
  issuance(id: string): IssuanceAgg {
    let a = this.issuances.get(id);
    if (!a) this.issuances.set(id, (a = { allocated: ZERO, redeemed: ZERO, positions: new Map() }));
    return a;
  }
  /** @internal the issuance of an issuance, allocation, redemption or transfer */
  issuanceId(p: RecordMeta): string | undefined {
    if (p.type === 'security.issuance') return p.id;
    return this.lifecycle?.issuanceId(p);
  }
  private position(agg: IssuanceAgg, holder: string): Dec {
    return agg.positions.get(holder) ?? ZERO;
  }

  /** Amounts of an invoice loaded (or added) in this state: due, credited, paid, outstanding. */
  settlement(invoiceId: string): Omit<Settlement, 'status'> | null {
    const f = this.facts.get(invoiceId);
    if (!f || f.t !== 'invoice') return null;
    const a = this.invoices.get(invoiceId) ?? { paid: ZERO, credited: ZERO };
    const m = (d: Dec) => money(d, f.currency);
    return {
      currency: f.currency,
      amountDue: m(dec(f.due)),
      credited: m(a.credited),
      paid: m(a.paid),
      outstanding: m(sub(sub(dec(f.due), a.credited), a.paid)),
    };
  }

  /** True when the payments of this invoice reach its amount due (less credit notes). */
  paidInFull(invoiceId: string): boolean {
    const f = this.facts.get(invoiceId);
    const a = this.invoices.get(invoiceId);
    return !!f && f.t === 'invoice' && !!a && cmp(a.paid, sub(dec(f.due), a.credited)) >= 0;
  }

  /** The rule error of a record with these facts and parents, or null. */
  check(item: Item, parents: RecordMeta[]): ServiceError | null {
    const f = item.facts;
    if (!f) return null;
    switch (f.t) {
      case 'payment': {
        const inv = parents[0] && this.facts.get(parents[0].id);
        if (!inv || inv.t !== 'invoice') return null;
        const id = parents[0]!.id;
        if (f.currency && f.currency !== inv.currency)
          return problem('CURRENCY_MISMATCH', `Payment in ${f.currency} of an invoice in ${inv.currency}`, {
            rule: 'PAYMENT-CURRENCY',
            invoice: id,
            expected: inv.currency,
            given: f.currency,
          });
        const a = this.invoice(id);
        const outstanding = sub(sub(dec(inv.due), a.credited), a.paid);
        if (a.firstPayment && cmp(outstanding, ZERO) <= 0)
          return new ServiceError('INVOICE_ALREADY_PAID', `Invoice ${id} was paid already (${a.firstPayment})`, {
            invoice: id,
            paidBy: a.firstPayment,
            rule: 'PAYMENT-SUM',
            expected: `≤ ${money(outstanding, inv.currency)}`,
            given: f.amount,
          });
        if (cmp(dec(f.amount), outstanding) > 0)
          return problem(
            'PAYMENT_EXCEEDS_AMOUNT_DUE',
            `Payment of ${f.amount} exceeds what is left to pay on invoice ${id} (${money(outstanding, inv.currency)} of ${inv.due})`,
            {
              rule: 'PAYMENT-SUM',
              invoice: id,
              expected: `≤ ${money(outstanding, inv.currency)}`,
              given: f.amount,
              amountDue: inv.due,
              paid: money(a.paid, inv.currency),
              credited: money(a.credited, inv.currency),
            },
          );
        return null;
      }
      case 'invoice': {
        if (!f.creditNote || !parents[0]) return null;
        const id = parents[0].id;
        const inv = this.facts.get(id);
        if (!inv || inv.t !== 'invoice') return null;
        if (inv.creditNote)
          return new ServiceError('LINEAGE_VIOLATION', `Credit note names credit note ${id}, not an invoice`, {
            rule: 'CREDIT_NOTE_PARENT',
          });
        if (f.preceding !== undefined && inv.number !== undefined && f.preceding !== inv.number)
          return new ServiceError(
            'LINEAGE_VIOLATION',
            `Credit note refers to invoice ${f.preceding} but names invoice ${inv.number} (${id}) as its parent`,
            { rule: 'CREDIT_NOTE_PRECEDING', expected: inv.number, given: f.preceding },
          );
        if (f.currency !== inv.currency)
          return problem('CURRENCY_MISMATCH', `Credit note in ${f.currency} of an invoice in ${inv.currency}`, {
            rule: 'CREDIT-NOTE-CURRENCY',
            invoice: id,
            expected: inv.currency,
            given: f.currency,
          });
        const a = this.invoice(id);
        const left = sub(dec(inv.due), a.credited);
        if (cmp(dec(f.due), left) > 0)
          return problem(
            'CREDIT_NOTE_EXCEEDS_INVOICE',
            `Credit note of ${f.due} exceeds what is left of invoice ${id}`,
            {
              rule: 'CREDIT-NOTE-SUM',
              invoice: id,
              expected: `≤ ${money(left, inv.currency)}`,
              given: f.due,
            },
          );
        return null;
      }
      case 'claim': {
        let total = ZERO;
        for (const p of parents) {
          const inv = this.facts.get(p.id);
          if (!inv || inv.t !== 'invoice') continue;
          if (inv.creditNote)
            return new ServiceError('LINEAGE_VIOLATION', `Record ${p.id} is a credit note: it cannot be claimed`, {
              rule: 'CLAIM_CREDIT_NOTE',
            });
          if (inv.currency === f.currency)
            total = add(total, sub(dec(inv.gross), this.invoices.get(p.id)?.credited ?? ZERO));
        }
        if (cmp(dec(f.amount), total) > 0)
          return problem(
            'CLAIM_EXCEEDS_INVOICES',
            `Claim of ${f.amount} ${f.currency} exceeds its invoices (${money(total, f.currency)})`,
            {
              rule: 'CLAIM-AMOUNT',
              expected: `≤ ${money(total, f.currency)}`,
              given: f.amount,
              currency: f.currency,
            },
          );
        return null;
      }
      case 'approval': {
        const c = parents[0] && this.facts.get(parents[0].id);
        if (!c || c.t !== 'claim' || f.amount === undefined) return null;
        if (f.currency && f.currency !== c.currency)
          return problem('CURRENCY_MISMATCH', `Approval in ${f.currency} of a claim in ${c.currency}`, {
            rule: 'APPROVAL-CURRENCY',
            expected: c.currency,
            given: f.currency,
          });
        if (cmp(dec(f.amount), dec(c.amount)) > 0)
          return problem('APPROVAL_EXCEEDS_CLAIM', `Approved ${f.amount} exceeds the claim (${c.amount})`, {
            rule: 'APPROVAL-AMOUNT',
            expected: `≤ ${c.amount}`,
            given: f.amount,
          });
        return null;
      }
      case 'reimbursement': {
        const appr = parents[0] && this.facts.get(parents[0].id);
        const claimId = parents[0] && this.claimOf.get(parents[0].id);
        const c = claimId ? this.facts.get(claimId) : undefined;
        if (!appr || appr.t !== 'approval' || !c || c.t !== 'claim') return null;
        const amount = appr.amount ?? c.amount;
        const currency = appr.currency ?? c.currency;
        if (f.currency && f.currency !== currency)
          return problem('CURRENCY_MISMATCH', `Reimbursement in ${f.currency} of an approval in ${currency}`, {
            rule: 'REIMBURSEMENT-CURRENCY',
            expected: currency,
            given: f.currency,
          });
        if (cmp(dec(f.amount), dec(amount)) !== 0)
          return problem(
            'REIMBURSEMENT_NOT_APPROVED_AMOUNT',
            `Reimbursement of ${f.amount} is not the approved ${amount}`,
            {
              rule: 'REIMBURSEMENT-AMOUNT',
              expected: amount,
              given: f.amount,
            },
          );
        return null;
      }
      case 'allocation':
      case 'transfer':
      case 'redemption': {
        const issId = parents[0] && this.issuanceId(parents[0]);
        const iss = issId ? this.facts.get(issId) : undefined;
        if (!issId || !iss || iss.t !== 'issuance') return null;
        const agg = this.issuance(issId);
        if (f.t === 'allocation') {
          const units = sub(dec(iss.nominal), mul(agg.allocated, dec(iss.denomination)));
          const want = mul(dec(f.quantity), dec(iss.denomination));
          if (cmp(want, units) > 0)
            return problem(
              'ALLOCATION_EXCEEDS_NOMINAL',
              `Allocating ${f.quantity} × ${iss.denomination} exceeds what is left of the nominal ${iss.nominal} (${str(units)})`,
              {
                rule: 'ALLOCATION-NOMINAL',
                issuance: issId,
                expected: `≤ ${str(units)}`,
                given: str(want),
                allocated: str(agg.allocated),
              },
            );
          return null;
        }
        if (f.t === 'transfer') {
          const pos = this.position(agg, f.from);
          if (cmp(dec(f.quantity), pos) > 0)
            return problem('TRANSFER_EXCEEDS_POSITION', `${f.from} holds ${str(pos)}, cannot transfer ${f.quantity}`, {
              rule: 'TRANSFER-POSITION',
              issuance: issId,
              holder: f.from,
              expected: `≤ ${str(pos)}`,
              given: f.quantity,
            });
          return null;
        }
        if (f.currency && f.currency !== iss.currency)
          return problem('CURRENCY_MISMATCH', `Redemption in ${f.currency} of an issuance in ${iss.currency}`, {
            rule: 'REDEMPTION-CURRENCY',
            expected: iss.currency,
            given: f.currency,
          });
        const outstanding = sub(dec(iss.nominal), agg.redeemed);
        if (cmp(dec(f.amount), outstanding) > 0)
          return problem('REDEMPTION_EXCEEDS_OUTSTANDING', `Redemption of ${f.amount} exceeds ${str(outstanding)}`, {
            rule: 'REDEMPTION-OUTSTANDING',
            issuance: issId,
            expected: `≤ ${str(outstanding)}`,
            given: f.amount,
          });
        return null;
      }
      default:
        return null;
    }
  }

  /** Registers a record (stored, or accepted earlier in the same request): later checks see it. */
  add(rec: { id: string; type: string; parents: string[] }, facts: RuleFacts | undefined, parents: RecordMeta[]): void {
    if (!facts) return;
    this.facts.set(rec.id, facts);
    const p = parents[0];
    switch (facts.t) {
      case 'payment':
        if (p) {
          const a = this.invoice(p.id);
          a.paid = add(a.paid, dec(facts.amount));
          a.firstPayment ??= rec.id;
        }
        return;
      case 'invoice':
        if (facts.creditNote && p) {
          const a = this.invoice(p.id);
          a.credited = add(a.credited, dec(facts.due));
        }
        return;
      case 'approval':
        if (p) this.claimOf.set(rec.id, p.id);
        return;
      case 'allocation':
      case 'transfer':
      case 'redemption': {
        const issId = p && this.issuanceId(p);
        if (!issId) return;
        const agg = this.issuance(issId);
        if (facts.t === 'allocation') {
          agg.allocated = add(agg.allocated, dec(facts.quantity));
          agg.positions.set(facts.holder, add(this.position(agg, facts.holder), dec(facts.quantity)));
        } else if (facts.t === 'transfer') {
          const q = dec(facts.quantity);
          agg.positions.set(facts.from, sub(this.position(agg, facts.from), q));
          agg.positions.set(facts.to, add(this.position(agg, facts.to), q));
        } else {
          agg.redeemed = add(agg.redeemed, dec(facts.amount));
        }
        return;
      }
      default:
        return;
    }
  }
}

/** Loads what the rules need about a request's parents, set-based: a constant number of queries per request. */
export class BusinessRules {
  async load(
    repo: Repo,
    items: Item[],
    known: ReadonlyMap<string, RecordMeta>,
    lifecycle: LifecycleState | null,
  ): Promise<RuleState | null> {
    const parentIds = new Set<string>();
    for (const it of items) {
      if (!RULED.has(it.type) || !it.facts) continue;
      if (it.type === 'invoice.issued' && !(it.facts.t === 'invoice' && it.facts.creditNote)) continue;
      for (const id of it.parents) if (known.has(id)) parentIds.add(id);
    }
    if (!parentIds.size) return null;
    const state = new RuleState(lifecycle);
    const metaOf = new Map<string, RecordMeta>();
    const factsOfRecords = (recs: { id: string; type: string; payload: string }[]) => {
      for (const r of recs) {
        const f = factsOf(r.type, JSON.parse(r.payload));
        if (f) state.facts.set(r.id, f);
      }
    };

    // 1. The parents themselves, and (for approvals) their claims, (for transfers) their issuances.
    const parents = await repo.getRecords([...parentIds]);
    factsOfRecords(parents);
    for (const p of parents) metaOf.set(p.id, p);
    const invoiceIds: string[] = [];
    const issuanceIds = new Set<string>();
    const claimIds: string[] = [];
    for (const p of parents) {
      if (p.type === 'invoice.issued') invoiceIds.push(p.id);
      else if (p.type === 'expense.approved' && p.parents[0]) {
        state.claimOf.set(p.id, p.parents[0]);
        claimIds.push(p.parents[0]);
      } else if (p.type.startsWith('security.')) {
        const iss = state.issuanceId(p);
        if (iss) issuanceIds.add(iss);
      }
    }
    const more = [...claimIds, ...[...issuanceIds].filter((id) => !state.facts.has(id))];
    if (more.length) factsOfRecords(await repo.getRecords(more));

    // 2. Payments and credit notes of the invoices.
    if (invoiceIds.length) {
      const kids = await repo.childrenByType(invoiceIds, ['invoice.paid', 'invoice.issued']);
      const recs = kids.length ? await repo.getRecords(kids.map((k) => k.childId)) : [];
      const byId = new Map(recs.map((r) => [r.id, r]));
      // Oldest first, so that `firstPayment` is the first payment.
      kids.sort((a, b) => (byId.get(a.childId)?.acceptedAt ?? 0) - (byId.get(b.childId)?.acceptedAt ?? 0));
      for (const k of kids) {
        const r = byId.get(k.childId);
        const parent = metaOf.get(k.parentId);
        if (!r || !parent) continue;
        state.add(r, factsOf(r.type, JSON.parse(r.payload)), [parent]);
      }
    }

    // 3. Every allocation, transfer and redemption under the issuances (positions, allocated, redeemed).
    if (issuanceIds.size) {
      const links = await repo.linkClosure([...issuanceIds], 'down', MAX_HISTORY);
      const recs = links.length ? await repo.getRecords([...new Set(links.map((l) => l.childId))]) : [];
      const events = recs
        .filter(
          (r) => r.type === 'security.allocation' || r.type === 'security.transfer' || r.type === 'security.redemption',
        )
        .sort((a, b) => a.acceptedAt - b.acceptedAt || (a.id < b.id ? -1 : 1));
      const up = new Map<string, string>();
      for (const l of links) if (!up.has(l.childId)) up.set(l.childId, l.parentId);
      const rootOf = (id: string): string | undefined => {
        let cur = id;
        for (let guard = 0; guard < MAX_HISTORY && up.has(cur); guard++) {
          cur = up.get(cur)!;
          if (issuanceIds.has(cur)) return cur;
        }
        return undefined;
      };
      for (const r of events) {
        // Every event of an issuance's tree counts towards that issuance (transfers chain below it).
        const iss = rootOf(r.id);
        if (!iss) continue;
        state.add(r, factsOf(r.type, JSON.parse(r.payload)), [
          { id: iss, type: 'security.issuance' } as unknown as RecordMeta,
        ]);
      }
    }
    return state;
  }
}

/**
 * The claim-amount rule checked before a claim consumes its invoices on chain (POST /v1/claims), so that an
 * over-claim costs no transaction; the submission transaction checks it again (authoritative, with locks).
 */
export async function precheckClaim(repo: Repo, payload: unknown, invoiceIds: string[]): Promise<ServiceError | null> {
  const facts = factsOf('expense.claim', payload);
  const metas = await repo.getRecordsMeta(invoiceIds);
  const known = new Map(metas.map((m) => [m.id, m]));
  const item = { type: 'expense.claim', parents: invoiceIds, facts };
  const state = await new BusinessRules().load(repo, [item], known, null);
  return state?.check(item, metas) ?? null;
}

/** Where an invoice stands (GET /v1/records/:id of an invoice.issued): what is due, credited, paid, left. */
export interface Settlement {
  currency: string;
  amountDue: string;
  credited: string;
  paid: string;
  outstanding: string;
  /** open: nothing paid; partially-paid; paid: payments reach what is due; credited: credit notes cover it all. */
  status: 'open' | 'partially-paid' | 'paid' | 'credited' | 'voided';
}

/** The settlement of an invoice, from its payments, credit notes and voids (null: not an invoice, or a credit note). */
export async function invoiceSettlement(repo: Repo, invoiceId: string): Promise<Settlement | null> {
  const [meta] = await repo.getRecordsMeta([invoiceId]);
  if (!meta || meta.type !== 'invoice.issued') return null;
  const item = { type: 'invoice.paid', parents: [invoiceId], facts: { t: 'payment', amount: '0' } as RuleFacts };
  const state = await new BusinessRules().load(repo, [item], new Map([[invoiceId, meta]]), null);
  const f = state?.facts.get(invoiceId);
  const s = state?.settlement(invoiceId);
  if (!state || !s || !f || f.t !== 'invoice' || f.creditNote) return null;
  const voided = (await repo.childrenByType([invoiceId], ['invoice.voided'])).length > 0;
  const status: Settlement['status'] = voided
    ? 'voided'
    : cmp(dec(s.outstanding), ZERO) > 0
      ? cmp(dec(s.paid), ZERO) > 0
        ? 'partially-paid'
        : 'open'
      : cmp(dec(s.paid), ZERO) > 0
        ? 'paid'
        : 'credited';
  return { ...s, status };
}
