import { randomBytes } from 'node:crypto';
import { newRecordId } from './ids';
import { computeCommitment } from '../domain/commitment';
import { checkLineage } from '../domain/lineage';
import type { RecordType } from '../domain/record-types';
import { isPrepareFailure, prepareRecord, type Prepared, type PrepareFailure, type RecordInput } from './prepare';
import { ServiceError, problemOf, type Problem } from './errors';
import { Lifecycle } from './lifecycle';
import { BusinessRules } from './business-rules';
import type { RuleViolation } from '../domain/record-rules';
import { UblError, ublToPayload, type UblDocument } from '../domain/ubl';
import type { NewRecord, RecordMeta, RecordStatus, Repo, Store } from './ports';
import { StoreConflictError } from './ports';

export type { RecordInput } from './prepare';

export interface SubmitResult {
  id: string;
  digest: string;
  commitment: string;
  status: RecordStatus;
  /** True when the record existed already (idempotent replay). */
  duplicate: boolean;
  /** Arithmetic rules the record breaks, accepted because its organisation records with `rules: "warn"`. */
  warnings?: RuleWarning[];
}

/** A broken arithmetic rule reported instead of refused (organisation setting `rules: "warn"`). */
export type RuleWarning = Pick<RuleViolation, 'code' | 'rule' | 'path' | 'expected' | 'given' | 'message'>;

/** The refusal of a record whose arithmetic breaks a rule: the first violation's code, all of them listed. */
export function violationError(violations: RuleViolation[]): ServiceError {
  const [first, ...rest] = violations;
  return new ServiceError(first!.code, first!.message + (rest.length ? ` (and ${rest.length} more)` : ''), {
    rule: first!.rule,
    path: first!.path,
    expected: first!.expected,
    given: first!.given,
    violations,
  });
}

export type BatchItemResult = SubmitResult | { error: Problem };

/** Extra lineage/lifecycle checks a caller (e.g. the claims use case) layers on top of DESIGN §6. */
export type ParentPolicy = (ctx: { type: RecordType; orgId: string; parents: RecordMeta[] }) => ServiceError | null;

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

/**
 * Submission use case: records in, commitments out, idempotently, in ONE transaction per request
 * with a constant number of queries (no per-record round trips).
 */
export class RecordService {
  /** `lifecycle`: the state-aware rules of src/service/lifecycle.ts, applied to every submission (null: off). */
  constructor(
    private readonly store: Store,
    private readonly lifecycle: Lifecycle | null = new Lifecycle(),
    /** The amount rules of src/service/business-rules.ts (null: off). */
    private readonly rules: BusinessRules | null = new BusinessRules(),
  ) {}

  /**
   * A UBL 2.1 Invoice or CreditNote (exact bytes) as an `invoice.issued` record. Its externalId is
   * `ubl:invoice:<BT-1>` / `ubl:credit-note:<BT-1>` unless given. A credit note whose BT-25 names an invoice of
   * this organisation (externalId `ubl:invoice:<BT-25>` or `<BT-25>`) becomes a correction linked to it (parent).
   */
  async submitUbl(orgId: string, bytes: Uint8Array, opts: { externalId?: string } = {}): Promise<SubmitResult> {
    let doc: UblDocument;
    try {
      doc = ublToPayload(bytes);
    } catch (err) {
      if (err instanceof UblError) throw new ServiceError(err.code, err.message);
      throw err;
    }
    const p = doc.payload as { invoiceNumber?: string; invoiceType?: string; precedingInvoice?: { number: string } };
    const credit = p.invoiceType === 'credit-note';
    const externalId = opts.externalId ?? `ubl:${credit ? 'credit-note' : 'invoice'}:${String(p.invoiceNumber)}`;
    const parents: string[] = [];
    const ref = p.precedingInvoice?.number;
    if (credit && ref) {
      const found = await this.store.read(async (r) => {
        const metas = await r.findByExternalIds(orgId, [
          { type: 'invoice.issued', externalId: `ubl:invoice:${ref}` },
          { type: 'invoice.issued', externalId: ref },
        ]);
        const recs = metas.length ? await r.getRecords(metas.map((m) => m.id)) : [];
        return recs.find((x) => {
          const inv = JSON.parse(x.payload) as { invoiceNumber?: string; invoiceType?: string };
          return inv.invoiceNumber === ref && inv.invoiceType !== 'credit-note';
        });
      });
      if (found) parents.push(found.id);
    }
    return this.submitOne(orgId, {
      type: 'invoice.issued',
      externalId,
      payload: doc.payload,
      ...(parents.length ? { parents } : {}),
    });
  }

  async submitOne(orgId: string, input: RecordInput, policy?: ParentPolicy): Promise<SubmitResult> {
    const [r] = await this.submit(orgId, [input], { policy });
    if (r && 'error' in r) {
      const p = r.error;
      const { code, detail, type: _t, title: _ti, status: _s, ...rest } = p;
      throw new ServiceError(code, detail, rest);
    }
    return r as SubmitResult;
  }

  async submit(
    orgId: string,
    inputs: RecordInput[],
    opts: {
      policy?: ParentPolicy;
      allowReserved?: boolean;
      idFor?: (i: number) => string;
      saltFor?: (i: number) => string;
    } = {},
  ): Promise<BatchItemResult[]> {
    return this.submitPrepared(
      orgId,
      inputs.map((i) => prepareRecord(i, opts.allowReserved ?? false)),
      opts,
    );
  }

  /** The transactional half of {@link submit}, for items prepared elsewhere (e.g. on a worker thread). */
  async submitPrepared(
    orgId: string,
    items: (Prepared | PrepareFailure | ServiceError)[],
    opts: { policy?: ParentPolicy; idFor?: (i: number) => string; saltFor?: (i: number) => string } = {},
  ): Promise<BatchItemResult[]> {
    const prepared = items.map((p) =>
      p instanceof ServiceError || !isPrepareFailure(p) ? p : new ServiceError(p.code, p.message, p.details),
    );
    // Two attempts: on PostgreSQL a concurrent request may insert the same externalId between our
    // lookup and our insert; the second attempt then finds it and answers idempotently.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.store.tx((repo) => this.submitInTx(repo, orgId, prepared, opts));
      } catch (err) {
        if (err instanceof StoreConflictError && attempt < 2) continue;
        throw err;
      }
    }
  }

  private async submitInTx(
    repo: Repo,
    orgId: string,
    prepared: (Prepared | ServiceError)[],
    opts: { policy?: ParentPolicy; idFor?: (i: number) => string; saltFor?: (i: number) => string },
  ): Promise<BatchItemResult[]> {
    const ok = prepared.filter((p): p is Prepared => !(p instanceof ServiceError));
    const withExt = ok.filter((p) => p.input.externalId !== undefined);
    const withoutExt = ok.filter((p) => p.input.externalId === undefined);

    // Constant number of lookups for the whole request.
    const byExternal = new Map<string, RecordMeta>();
    for (const m of withExt.length
      ? await repo.findByExternalIds(
          orgId,
          withExt.map((p) => ({ type: p.type, externalId: p.input.externalId! })),
        )
      : []) {
      byExternal.set(`${m.type}\u0000${m.externalId}`, m);
    }
    const byDigest = new Map<string, RecordMeta[]>();
    for (const m of withoutExt.length
      ? await repo.findByDigests(
          orgId,
          withoutExt.map((p) => p.digest),
        )
      : []) {
      if (m.externalId !== null) continue;
      const list = byDigest.get(m.digest) ?? [];
      list.push(m);
      byDigest.set(m.digest, list);
    }
    const wantedParents = new Set<string>();
    for (const p of ok) for (const id of p.parents) wantedParents.add(id);
    if (ok.some((p) => p.input.supersedes))
      for (const p of ok) if (p.input.supersedes) wantedParents.add(p.input.supersedes);
    const known = new Map<string, RecordMeta>();
    if (wantedParents.size) for (const m of await repo.getRecordsMeta([...wantedParents])) known.set(m.id, m);
    // Lifecycle state of every parent of the request, set-based (and locked on PostgreSQL).
    const lifecycle = this.lifecycle
      ? await this.lifecycle.load(
          repo,
          ok.map((p) => ({ type: p.type, parents: p.parents, supersedes: p.input.supersedes })),
          known,
        )
      : null;
    // Amount rules (payments, claims, securities), against the same locked parents.
    const rules = this.rules
      ? await this.rules.load(
          repo,
          ok.map((p) => ({ type: p.type, parents: p.parents, facts: p.facts })),
          known,
          lifecycle,
        )
      : null;
    // The organisation's choice for arithmetic rules, read once and only when a record breaks one.
    let mode: 'refuse' | 'warn' | undefined;

    const salts = randomBytes(32 * prepared.length);
    const now = Date.now();
    const rows: NewRecord[] = [];
    const out: BatchItemResult[] = [];

    for (const [i, p] of prepared.entries()) {
      if (p instanceof ServiceError) {
        out.push({ error: problemOf(p) });
        continue;
      }
      const ext = p.input.externalId;
      if (ext !== undefined) {
        const existing = byExternal.get(`${p.type}\u0000${ext}`);
        if (existing) {
          out.push(
            existing.digest === p.digest
              ? {
                  id: existing.id,
                  digest: existing.digest,
                  commitment: existing.commitment,
                  status: existing.status,
                  duplicate: true,
                }
              : {
                  error: problemOf(
                    new ServiceError(
                      'EXTERNAL_ID_CONFLICT',
                      `externalId "${ext}" already names record ${existing.id} with a different payload`,
                      {
                        existingId: existing.id,
                        existingDigest: existing.digest,
                      },
                    ),
                  ),
                },
          );
          continue;
        }
      } else {
        const same = (byDigest.get(p.digest) ?? []).find((m) => m.type === p.type && sameSet(m.parents, p.parents));
        if (same) {
          out.push({
            id: same.id,
            digest: same.digest,
            commitment: same.commitment,
            status: same.status,
            duplicate: true,
          });
          continue;
        }
      }

      // Parents: must exist and belong to this organisation (records of others are invisible here).
      const parents: RecordMeta[] = [];
      let error: ServiceError | null = null;
      for (const id of p.parents) {
        const m = known.get(id);
        if (!m || (m.orgId !== orgId && !(opts.policy && p.type === 'expense.claim'))) {
          error = new ServiceError('PARENT_NOT_FOUND', `Parent record ${id} not found`, { parent: id });
          break;
        }
        parents.push(m);
      }
      // A credit note may name the one invoice it corrects (DESIGN §6 extension, docs/formats.md).
      const creditNoteLink =
        p.type === 'invoice.issued' &&
        p.facts?.t === 'invoice' &&
        p.facts.creditNote &&
        parents.length === 1 &&
        parents[0]!.type === 'invoice.issued';
      if (!error && !creditNoteLink) {
        const lineage = checkLineage(
          p.type,
          parents.map((m) => ({ type: m.type as RecordType, id: m.id })),
        );
        if (!lineage.ok) error = new ServiceError('LINEAGE_VIOLATION', lineage.message, { rule: lineage.code });
      }
      if (!error && p.input.supersedes) {
        const s = known.get(p.input.supersedes);
        if (!s || s.orgId !== orgId)
          error = new ServiceError('RECORD_NOT_FOUND', `Superseded record ${p.input.supersedes} not found`);
        else if (s.type !== p.type)
          error = new ServiceError('LINEAGE_VIOLATION', `A ${p.type} cannot supersede a ${s.type}`, {
            rule: 'SUPERSEDE_TYPE',
          });
      }
      if (!error && opts.policy) error = opts.policy({ type: p.type, orgId, parents });
      if (!error && lifecycle) error = lifecycle.check(p.type, parents, p.input.supersedes);
      if (!error && rules) error = rules.check({ type: p.type, parents: p.parents, facts: p.facts }, parents);
      let warnings: RuleWarning[] | undefined;
      if (!error && p.violations?.length) {
        mode ??= (await repo.getOrg(orgId))?.rules ?? 'refuse';
        if (mode === 'warn')
          warnings = p.violations.map(({ code, rule, path, expected, given, message }) => ({
            code,
            rule,
            path,
            expected,
            given,
            message,
          }));
        else error = violationError(p.violations);
      }
      if (error) {
        out.push({ error: problemOf(error) });
        continue;
      }

      const id = opts.idFor?.(i) ?? newRecordId(now);
      const salt = opts.saltFor?.(i) ?? '0x' + salts.toString('hex', i * 32, i * 32 + 32);
      const commitment = computeCommitment({
        recordId: id,
        orgId,
        type: p.type,
        digest: p.digest,
        salt,
        parents: parents.map((m) => m.commitment),
      });
      const row: NewRecord = {
        id,
        orgId,
        type: p.type,
        externalId: ext ?? null,
        digest: p.digest,
        salt,
        commitment,
        parents: p.parents,
        payload: p.canonical,
        supersedes: p.input.supersedes ?? null,
        acceptedAt: now,
      };
      rows.push(row);
      const meta: RecordMeta = { ...row, status: 'pending', batchId: null, leafIndex: null };
      // Later items of the same request see this one (idempotency and parents).
      if (ext !== undefined) byExternal.set(`${p.type}\u0000${ext}`, meta);
      else byDigest.set(p.digest, [...(byDigest.get(p.digest) ?? []), meta]);
      known.set(id, meta);
      lifecycle?.add(row, parents);
      rules?.add(row, p.facts, parents);
      out.push({
        id,
        digest: p.digest,
        commitment,
        status: 'pending',
        duplicate: false,
        ...(warnings ? { warnings } : {}),
      });
    }
    await repo.insertRecords(rows);
    return out;
  }
}
