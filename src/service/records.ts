import { newRecordId, newSalt } from './ids';
import { computeCommitment } from '../domain/commitment';
import { checkLineage } from '../domain/lineage';
import type { RecordType } from '../domain/record-types';
import {
  domainKey,
  isPrepareFailure,
  prepareRecord,
  type Prepared,
  type PrepareFailure,
  type RecordInput,
} from './prepare';
import { ServiceError, problemOf, type Problem } from './errors';
import { Lifecycle } from './lifecycle';
import { BusinessRules } from './business-rules';
import type { RuleViolation } from '../domain/record-rules';
import { UblError, ublToPayload, type UblDocument } from '../domain/ubl';
import type { DirectoryKey, NewRecord, RecordMeta, RecordStatus, Repo, Store } from './ports';
import { StoreConflictError } from './ports';
import { orgHashOf } from './chain-port';
import { recoverSignerAddress, type RecordSigning } from './signer-keys';

export type { RecordSigning } from './signer-keys';
import { mayCosign, type CosignPolicyOf } from './cosigning';

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

/** Most distinct signers one request may name: each new one is a directory read before the transaction. */
export const MAX_SIGNERS_PER_REQUEST = 32;

type SignerLookup = { keys: Map<string, DirectoryKey>; refused: Map<string, ServiceError> };

/**
 * Submission use case: records in, commitments out, idempotently, in ONE transaction per request
 * with a constant number of queries (no per-record round trips).
 */
export class RecordService {
  /** The directory's co-signing policies (set where the chain is known): who may co-sign a record it cannot read. */
  cosignPolicyOf?: CosignPolicyOf;

  /** `lifecycle`: the state-aware rules of src/service/lifecycle.ts, applied to every submission (null: off). */
  constructor(
    private readonly store: Store,
    private readonly lifecycle: Lifecycle | null = new Lifecycle(),
    /** The amount rules of src/service/business-rules.ts (null: off). */
    private readonly rules: BusinessRules | null = new BusinessRules(),
    /** Signed records (receipt version 2); without it they are refused with SIGNATURES_UNAVAILABLE. */
    private readonly signing: RecordSigning | null = null,
  ) {
    this.signingDomainKey = signing ? domainKey(signing.domain) : null;
  }

  /** {@link domainKey} of the signing domain (compared with each prepared record's). */
  private readonly signingDomainKey: string | null;

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
    // The directory is read before the transaction opens (never an RPC call while it holds the database).
    const signers = await this.lookUpSigners(prepared);
    // Two attempts: on PostgreSQL a concurrent request may insert the same externalId between our
    // lookup and our insert; the second attempt then finds it and answers idempotently.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.store.tx((repo) => this.submitInTx(repo, orgId, prepared, opts, signers));
      } catch (err) {
        if (err instanceof StoreConflictError && attempt < 2) continue;
        throw err;
      }
    }
  }

  /**
   * The directory keys of the signers the request names (cached, SignerKeys), read before the transaction. A
   * signer past {@link MAX_SIGNERS_PER_REQUEST}, or any signer when this service has no directory, is refused.
   */
  private async lookUpSigners(prepared: (Prepared | ServiceError)[]): Promise<SignerLookup> {
    const named: string[] = [];
    const seen = new Set<string>();
    for (const p of prepared) {
      if (p instanceof ServiceError) continue;
      for (const s of p.input.signatures ?? []) {
        const a = s.signer.toLowerCase();
        if (!seen.has(a)) named.push(a);
        seen.add(a);
      }
    }
    const out: SignerLookup = { keys: new Map(), refused: new Map() };
    if (!named.length) return out;
    if (!this.signing) {
      for (const a of named)
        out.refused.set(
          a,
          new ServiceError(
            'SIGNATURES_UNAVAILABLE',
            'This service has no member directory to check signers against: submit the record unsigned',
          ),
        );
      return out;
    }
    for (const a of named.slice(MAX_SIGNERS_PER_REQUEST))
      out.refused.set(
        a,
        new ServiceError(
          'TOO_MANY_SIGNERS',
          `A request may name at most ${MAX_SIGNERS_PER_REQUEST} distinct signers: split the batch`,
          { max: MAX_SIGNERS_PER_REQUEST },
        ),
      );
    try {
      out.keys = await this.signing.keys.resolve(named.slice(0, MAX_SIGNERS_PER_REQUEST));
    } catch (err) {
      throw new ServiceError(
        'CHAIN_UNAVAILABLE',
        `The member directory cannot be read to check the signers: ${(err as Error)?.message ?? String(err)}`,
      );
    }
    return out;
  }

  /**
   * Null when every signature of a signed record recovers to its signer over `commitment` and each signer is an
   * active SIGNER key of `orgId` (`org`: its {@link orgHashOf}, hashed once per request) in the directory; else the
   * first failure.
   */
  private checkSignatures(
    orgId: string,
    org: string,
    p: Prepared,
    commitment: string,
    lookup: SignerLookup,
  ): ServiceError | null {
    for (const [i, s] of (p.input.signatures ?? []).entries()) {
      const address = s.signer.toLowerCase();
      const refused = lookup.refused.get(address);
      if (refused) return refused;
      // Canonical form was checked when the record was prepared; a batch's records without parents were recovered
      // there too (same commitment and domain, else recovered here).
      const pre = p.recovered;
      const recovered =
        pre && pre.commitment === commitment && pre.domain === this.signingDomainKey
          ? pre.signers[i]
          : recoverSignerAddress(this.signing!.domain, commitment, s.signature, { canonicalChecked: true });
      if (recovered !== address) {
        return new ServiceError(
          'SIGNATURE_INVALID',
          `signatures/${i} does not recover to ${s.signer} over this record's commitment (EIP-712 RecordCommitment, domain LedgerNotary 2, chain ${this.signing!.domain.chainId}, registry ${this.signing!.domain.verifyingContract})`,
          { index: i, signer: s.signer, commitment },
        );
      }
      const key = lookup.keys.get(address);
      if (key && key.since !== 0 && key.org !== org) {
        return new ServiceError('SIGNER_OF_OTHER_ORG', `${s.signer} is a key of another organisation`, {
          index: i,
          signer: s.signer,
        });
      }
      if (!key || key.since === 0 || key.kind !== 'SIGNER' || key.until !== 0) {
        const why =
          !key || key.since === 0
            ? 'not in the directory'
            : key.until !== 0
              ? `removed at block ${key.until}`
              : `an ${key.kind} key, not a SIGNER key`;
        return new ServiceError('SIGNER_NOT_ACTIVE', `${s.signer} is no active SIGNER key of ${orgId} (${why})`, {
          index: i,
          signer: s.signer,
        });
      }
    }
    return null;
  }

  private async submitInTx(
    repo: Repo,
    orgId: string,
    prepared: (Prepared | ServiceError)[],
    opts: { policy?: ParentPolicy; idFor?: (i: number) => string; saltFor?: (i: number) => string },
    signers: SignerLookup,
  ): Promise<BatchItemResult[]> {
    const ok = prepared.filter((p): p is Prepared => !(p instanceof ServiceError));
    const withExt = ok.filter((p) => p.input.externalId !== undefined);
    // A record whose id the client chose is identified by it: no idempotency by digest.
    const withoutExt = ok.filter((p) => p.input.externalId === undefined && p.input.id === undefined);
    // Client-chosen ids (unique across organisations) and salts (unique within one): one lookup each.
    const givenIds = ok.filter((p) => p.input.id !== undefined).map((p) => p.input.id!);
    const byId = new Map<string, RecordMeta>();
    if (givenIds.length) for (const m of await repo.getRecordsMeta(givenIds)) byId.set(m.id, m);
    const givenSalts = ok.filter((p) => p.input.salt !== undefined).map((p) => p.input.salt!);
    const bySalt = new Map<string, RecordMeta>();
    if (givenSalts.length) for (const m of await repo.findBySalts(orgId, givenSalts)) bySalt.set(m.salt, m);
    // The organisation's settings, read once (unsigned records refused? arithmetic rules mode).
    const org = await repo.getOrg(orgId);

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
    // keccak256(orgId) as the directory names the organisation: computed once, for the first signed record.
    let orgHash: string | undefined;

    const now = Date.now();
    const rows: NewRecord[] = [];
    const out: BatchItemResult[] = [];

    for (const [i, p] of prepared.entries()) {
      if (p instanceof ServiceError) {
        out.push({ error: problemOf(p) });
        continue;
      }
      const ext = p.input.externalId;
      const given = { id: p.input.id, salt: p.input.salt, signatures: p.input.signatures };
      if (!given.signatures && org?.requireSignatures) {
        out.push({
          error: problemOf(
            new ServiceError(
              'SIGNATURE_REQUIRED',
              `Organisation ${orgId} requires its records signed by one of its SIGNER keys (id, salt and signatures)`,
            ),
          ),
        });
        continue;
      }
      if (given.id !== undefined) {
        const existing = byId.get(given.id);
        if (existing) {
          const same =
            existing.orgId === orgId &&
            existing.type === p.type &&
            existing.digest === p.digest &&
            (given.salt === undefined || existing.salt === given.salt) &&
            sameSet(existing.parents, p.parents);
          out.push(
            same
              ? {
                  id: existing.id,
                  digest: existing.digest,
                  commitment: existing.commitment,
                  status: existing.status,
                  duplicate: true,
                }
              : {
                  error: problemOf(
                    new ServiceError('RECORD_ID_TAKEN', `id ${given.id} names another record`, { id: given.id }),
                  ),
                },
          );
          continue;
        }
      }
      if (given.salt !== undefined && bySalt.has(given.salt)) {
        out.push({
          error: problemOf(
            new ServiceError('SALT_REUSED', `This salt was used by another record of ${orgId}: draw a new one`),
          ),
        });
        continue;
      }
      if (ext !== undefined) {
        const existing = byExternal.get(`${p.type}\u0000${ext}`);
        if (existing && given.id !== undefined && existing.id !== given.id) {
          out.push({
            error: problemOf(
              new ServiceError(
                'EXTERNAL_ID_CONFLICT',
                `externalId "${ext}" already names record ${existing.id}, not ${given.id}`,
                { existingId: existing.id, existingDigest: existing.digest },
              ),
            ),
          });
          continue;
        }
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
        const otherOk =
          (opts.policy && p.type === 'expense.claim') ||
          (p.type === 'cosignature' && !!m && (await mayCosign(repo, orgId, m, this.cosignPolicyOf)));
        if (!m || (m.orgId !== orgId && !otherOk)) {
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
        mode ??= org?.rules ?? 'refuse';
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

      // A record without parents, id or salt of its own had them drawn where it was prepared (batch route), with
      // its commitment for that organisation: taken unless the caller draws them itself.
      const d = p.drawn;
      const ownDraw = given.id !== undefined || given.salt !== undefined || opts.idFor || opts.saltFor;
      const drawn = d && d.orgId === orgId && parents.length === 0 && !ownDraw ? d : undefined;
      const id = given.id ?? opts.idFor?.(i) ?? drawn?.id ?? newRecordId(now);
      const salt = given.salt ?? opts.saltFor?.(i) ?? drawn?.salt ?? newSalt();
      // A signed record without parents had its commitment computed where it was prepared, from the same id, salt,
      // type and digest: reused when that preparation was for this organisation.
      const pre = p.recovered;
      const commitment = drawn
        ? drawn.commitment
        : pre && pre.orgId === orgId && parents.length === 0 && given.id === id && given.salt === salt
          ? pre.commitment
          : computeCommitment({
              recordId: id,
              orgId,
              type: p.type,
              digest: p.digest,
              salt,
              parents: parents.map((m) => m.commitment),
            });
      if (given.signatures) {
        orgHash ??= orgHashOf(orgId);
        const bad = this.checkSignatures(orgId, orgHash, p, commitment, signers);
        if (bad) {
          out.push({ error: problemOf(bad) });
          continue;
        }
      }
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
        // Set whenever the client chose id or salt ([] when unsigned): client-chosen salts are unique per org.
        signatures: given.id !== undefined || given.salt !== undefined ? (given.signatures ?? []) : null,
      };
      rows.push(row);
      // Spelled out: `{ ...row, status, … }` (a spread followed by more properties) took V8's slow path and was
      // ~8 % of the API thread's busy time under bulk ingest (bench/profile.ts batch).
      const meta: RecordMeta = {
        id,
        orgId,
        type: p.type,
        externalId: row.externalId,
        digest: p.digest,
        salt,
        commitment,
        parents: p.parents,
        status: 'pending',
        batchId: null,
        leafIndex: null,
        supersedes: row.supersedes,
        acceptedAt: now,
        signatures: row.signatures,
      };
      // Later items of the same request see this one (idempotency and parents).
      if (ext !== undefined) byExternal.set(`${p.type}\u0000${ext}`, meta);
      else byDigest.set(p.digest, [...(byDigest.get(p.digest) ?? []), meta]);
      known.set(id, meta);
      if (given.id !== undefined) byId.set(id, meta);
      if (given.salt !== undefined) bySalt.set(salt, meta);
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
