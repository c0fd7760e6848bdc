import type { RecordType } from '../domain/record-types';
import { ServiceError } from './errors';
import type { RecordMeta, Repo } from './ports';

/**
 * Lifecycles of the pilots (DESIGN §1, §6), on top of the static lineage rules: what a record may do to its
 * parents given what already happened to them.
 *
 * | record                                   | refused when                                                   | code                |
 * |------------------------------------------|----------------------------------------------------------------|---------------------|
 * | invoice.voided                           | the invoice was voided already                                 | INVOICE_VOIDED      |
 * | invoice.paid                             | the invoice was voided                                         | INVOICE_VOIDED      |
 * | invoice.issued credit note (with parent) | the invoice it corrects was voided                             | INVOICE_VOIDED      |
 * | expense.claim                            | one of its invoices was voided                                 | INVOICE_VOIDED      |
 * | expense.approved, expense.rejected       | the claim was approved or rejected already                     | ALREADY_DECIDED     |
 * | expense.reimbursed                       | the approval was reimbursed already                            | ALREADY_REIMBURSED  |
 * | security.allocation, .transfer, .redemption | the issuance (of the transfer chain) was redeemed           | ISSUANCE_REDEEMED   |
 * | security.transfer                        | its parent (issuance or transfer) already has a next transfer  | TRANSFER_NOT_LATEST |
 * | any record with `supersedes`             | the superseded record was superseded already                   | ALREADY_SUPERSEDED  |
 *
 * Paying in full, partial payments and over-payment are amount rules: src/service/business-rules.ts.
 *
 * Allowed on purpose: voiding a paid invoice (a credit note after payment), voiding a claimed invoice (the
 * claim keeps its consumed key), any number of allocations and claims per live parent.
 *
 * Set-based: {@link Lifecycle.load} reads the state of every parent named by a whole request in a constant
 * number of queries (one over record_links for the tracked children, one for supersessions, one recursive walk
 * for transfer chains), never per record. On PostgreSQL it first locks the parent rows (`FOR UPDATE`, sorted)
 * so two transactions racing to pay or void the same invoice are serialized: the second one reads the first
 * one's child once it commits. SQLite serializes writing transactions anyway.
 */

/** Child types whose existence changes what a parent allows. */
const TRACKED: readonly RecordType[] = [
  'invoice.voided',
  'invoice.paid',
  'expense.approved',
  'expense.rejected',
  'expense.reimbursed',
  'security.redemption',
  'security.transfer',
];
const TRACKED_SET: ReadonlySet<string> = new Set(TRACKED);

/** Record types whose parents' state is checked. */
const CONSTRAINED: ReadonlySet<string> = new Set([
  'invoice.issued', // a credit note naming the invoice it corrects
  'invoice.voided',
  'invoice.paid',
  'expense.claim',
  'expense.approved',
  'expense.rejected',
  'expense.reimbursed',
  'security.allocation',
  'security.redemption',
  'security.transfer',
]);

/** Longest transfer chain followed up to its issuance. */
const MAX_CHAIN = 100_000;

export interface LifecycleItem {
  type: string;
  /** Parent record ids. */
  parents: string[];
  supersedes?: string | null;
}

/** What the parents of one request have already gone through, updated as the request's records are accepted. */
export class LifecycleState {
  /** parent id → child type → child ids */
  private readonly kids = new Map<string, Map<string, string[]>>();
  /** transfer id → issuance id */
  private readonly issuanceOf = new Map<string, string>();
  private readonly supersededBy = new Map<string, string>();

  /** @internal */
  child(parentId: string, type: string, childId: string): void {
    let byType = this.kids.get(parentId);
    if (!byType) this.kids.set(parentId, (byType = new Map()));
    const list = byType.get(type);
    if (list) list.push(childId);
    else byType.set(type, [childId]);
  }
  /** @internal */
  setIssuance(transferId: string, issuanceId: string): void {
    this.issuanceOf.set(transferId, issuanceId);
  }
  /** @internal */
  setSuperseded(id: string, by: string): void {
    if (!this.supersededBy.has(id)) this.supersededBy.set(id, by);
  }

  private first(parentId: string, type: string): string | undefined {
    return this.kids.get(parentId)?.get(type)?.[0];
  }

  /** The issuance an issuance, a transfer (of a loaded chain) or a record naming an issuance belongs to. */
  issuanceId(p: RecordMeta): string | undefined {
    return this.issuance(p);
  }

  private issuance(p: RecordMeta): string | undefined {
    return p.type === 'security.issuance' ? p.id : this.issuanceOf.get(p.id);
  }

  /** The lifecycle error of a record of `type` with these parents, or null. */
  check(type: string, parents: RecordMeta[], supersedes: string | null | undefined): ServiceError | null {
    if (supersedes) {
      const by = this.supersededBy.get(supersedes);
      if (by) {
        return new ServiceError('ALREADY_SUPERSEDED', `Record ${supersedes} was superseded already by ${by}`, {
          record: supersedes,
          supersededBy: by,
        });
      }
    }
    switch (type) {
      case 'invoice.issued':
      case 'invoice.voided':
      case 'invoice.paid':
      case 'expense.claim':
        for (const p of parents) {
          const voided = this.first(p.id, 'invoice.voided');
          if (voided) {
            const what =
              type === 'invoice.voided'
                ? 'voided again'
                : type === 'invoice.paid'
                  ? 'paid'
                  : type === 'invoice.issued'
                    ? 'credited'
                    : 'claimed';
            return new ServiceError('INVOICE_VOIDED', `Invoice ${p.id} was voided (${voided}): it cannot be ${what}`, {
              invoice: p.id,
              voidedBy: voided,
            });
          }
        }
        return null;
      case 'expense.approved':
      case 'expense.rejected': {
        const p = parents[0]!;
        const decision = this.first(p.id, 'expense.approved') ?? this.first(p.id, 'expense.rejected');
        if (!decision) return null;
        const approved = this.first(p.id, 'expense.approved') === decision;
        return new ServiceError(
          'ALREADY_DECIDED',
          `Expense claim ${p.id} was ${approved ? 'approved' : 'rejected'} already (${decision})`,
          { claim: p.id, decision: approved ? 'expense.approved' : 'expense.rejected', decisionId: decision },
        );
      }
      case 'expense.reimbursed': {
        const p = parents[0]!;
        const done = this.first(p.id, 'expense.reimbursed');
        return done
          ? new ServiceError('ALREADY_REIMBURSED', `Approval ${p.id} was reimbursed already (${done})`, {
              approval: p.id,
              reimbursedBy: done,
            })
          : null;
      }
      case 'security.allocation':
      case 'security.redemption':
      case 'security.transfer': {
        const p = parents[0]!;
        const issuance = this.issuance(p);
        const redeemed = issuance ? this.first(issuance, 'security.redemption') : undefined;
        if (redeemed) {
          return new ServiceError('ISSUANCE_REDEEMED', `Issuance ${issuance} was redeemed (${redeemed})`, {
            issuance,
            redeemedBy: redeemed,
          });
        }
        if (type === 'security.transfer') {
          const next = this.first(p.id, 'security.transfer');
          if (next) {
            return new ServiceError(
              'TRANSFER_NOT_LATEST',
              `${p.type === 'security.issuance' ? 'Issuance' : 'Transfer'} ${p.id} is followed by transfer ${next} already: a transfer names the latest transfer as its parent`,
              { parent: p.id, successor: next },
            );
          }
        }
        return null;
      }
      default:
        return null;
    }
  }

  /** Registers a record accepted earlier in the same request (later items see it). */
  add(rec: { id: string; type: string; parents: string[]; supersedes: string | null }, parents: RecordMeta[]): void {
    if (TRACKED_SET.has(rec.type)) for (const p of rec.parents) this.child(p, rec.type, rec.id);
    if (rec.type === 'security.transfer' && parents[0]) {
      const issuance = this.issuance(parents[0]);
      if (issuance) this.issuanceOf.set(rec.id, issuance);
    }
    if (rec.supersedes) this.setSuperseded(rec.supersedes, rec.id);
  }
}

/** Loads the lifecycle state of a request's parents (see the module comment). */
export class Lifecycle {
  async load(
    repo: Repo,
    items: LifecycleItem[],
    known: ReadonlyMap<string, RecordMeta>,
  ): Promise<LifecycleState | null> {
    const watched = new Set<string>();
    const transferParents = new Set<string>();
    const superseded = new Set<string>();
    for (const it of items) {
      if (it.supersedes) superseded.add(it.supersedes);
      if (!CONSTRAINED.has(it.type)) continue;
      for (const id of it.parents) {
        const m = known.get(id);
        if (!m) continue;
        watched.add(id);
        if (m.type === 'security.transfer') transferParents.add(id);
      }
    }
    if (!watched.size && !superseded.size) return null;
    const state = new LifecycleState();

    // Transfer chains: up to their issuance (links never change: no lock needed for this walk).
    if (transferParents.size) {
      const up = new Map<string, string>();
      for (const l of await repo.linkClosure([...transferParents], 'up', MAX_CHAIN)) up.set(l.childId, l.parentId);
      for (const t of transferParents) {
        let cur = t;
        for (let guard = 0; up.has(cur) && guard < MAX_CHAIN; guard++) cur = up.get(cur)!;
        if (cur !== t) {
          state.setIssuance(t, cur);
          watched.add(cur);
        }
      }
    }

    await repo.lockRecords([...watched, ...superseded]);
    if (watched.size) {
      for (const c of await repo.childrenByType([...watched], TRACKED as string[]))
        state.child(c.parentId, c.type, c.childId);
    }
    if (superseded.size) {
      for (const s of await repo.supersedersOf([...superseded])) state.setSuperseded(s.supersedes, s.id);
    }
    return state;
  }
}
