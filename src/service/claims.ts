import { randomBytes, randomUUID } from 'node:crypto';
import { newRecordId } from './ids';
import { precheckClaim } from './business-rules';
import { canonicalize, digestCanonical } from '../domain/canonicalize';
import { computeCommitment } from '../domain/commitment';
import { dec, minorUnit, round as decRound, str as decStr } from '../domain/decimal';
import { invoiceKey, normaliseInvoiceField } from '../domain/invoice-key';
import { invoiceIdentity, validatePayload } from '../domain/record-types';
import { orgHashOf, type ChainFailure, type ChainPort } from './chain-port';
import { ServiceError } from './errors';
import type { ClaimInfo, Org, Repo, Store } from './ports';
import { TxSender, type TxOutcome } from './tx-sender';
import { StoreConflictError } from './ports';
import type { RecordService } from './records';
import { Leases, type LoopJob } from './worker-loop';

/** The database lease of "one claims reconciler at a time" (its name is shared by every version). */
export const CLAIMS_LEASE = 'claims';

/**
 * Expense claims with the consortium-wide double-reimbursement guard (DESIGN §1, §2.5, §5: POST /v1/claims).
 *
 * The chain decides, not the database. Per claim:
 *  1. validate; derive each invoice's key `HMAC(consortiumSecret, JCS(identity))`;
 *  2. PREPARE: the claim's record id, salt and commitment (binding the invoices' commitments) are stored in
 *     `claims` before anything is signed — a retry with the same externalId reuses them;
 *  3. pre-check with `eth_call` (→ 409 INVOICE_ALREADY_CLAIMED naming the earlier claim);
 *  4. SIGN `consume(keys, commitment)` from the claimant org's account with a nonce allocated in the database
 *     (the anchoring worker shares the account), store it in the outbox, THEN broadcast;
 *  5. wait for the receipt and `confirmations` blocks on the still-canonical block (timeout → 503
 *     CHAIN_UNAVAILABLE, the outbox row stays for the retry/reconciler); a consume a reorg dropped is sent again
 *     (same raw transaction, same nonce), and if its nonce went to another transaction the claim is signed again
 *     from `prepared` (or refused, keys not held, when another claim consumed them meanwhile); a revert with
 *     KEY_ALREADY_CONSUMED means another claim won the race → 409;
 *  6. only then insert the expense.claim record (pending → anchored by the worker like any record).
 *
 * Crash safety: a crash after step 5 leaves the claim `signed` or `consumed` with our commitment consuming the
 * keys on chain. A retry with the same externalId (or the {@link ClaimReconciler}) resumes from the stored state:
 * it rebroadcasts the same raw transaction (same hash), reads its receipt and inserts the record with the
 * prepared id and salt, so the commitment on chain and the record's commitment are the same.
 *
 * Settle: once a claim's approval gets an `expense.reimbursed` child, the {@link ClaimReconciler} signs
 * `settle(commitment)` (ClaimRegistry v2) the same way: its keys then stay consumed for ever, and a release is
 * refused (ALREADY_REIMBURSED here, ClaimRegistryClaimSettled on chain).
 *
 * Release: a claim that gets an `expense.rejected` child (submitted through POST /v1/records like any decision)
 * releases its keys on chain: the {@link ClaimReconciler} signs `release(commitment)` from the claimant's account
 * through the outbox, and marks the claim `released` once mined. The invoices can then be claimed again.
 */

export interface ClaimInput {
  externalId: string;
  payload: unknown;
  /** Invoice record ids (`invoice.issued` of any organisation). */
  invoices: string[];
}

export interface ClaimResult {
  id: string;
  digest: string;
  commitment: string;
  status: 'pending' | 'anchored' | 'confirmed';
  invoiceKeys: string[];
  chain: { txHash: string; blockNumber: number | null };
  claimStatus: ClaimInfo['status'];
  duplicate: boolean;
  /** POSSIBLE_DUPLICATE: an invoice matches one claimed before under another number (see {@link fingerprintOf}). */
  warnings?: ClaimWarning[];
}

export interface ClaimWarning {
  code: 'POSSIBLE_DUPLICATE';
  invoice: string;
  detail: string;
  /** The earlier claim and invoice: named only when they are the claimant's own. */
  earlier: { claim: string | null; invoice: string | null; sameOrganisation: boolean };
}

/**
 * What a person comparing two invoices would look at when the numbers differ: the seller (normalised tax id), the
 * gross amount at the currency's minor unit, the currency and the issue date. Two invoices with one fingerprint
 * and two invoice keys may be the same purchase invoiced twice (or typed with a wrong number).
 */
export function fingerprintOf(payload: unknown): string | null {
  const p = payload as { seller?: { taxId?: unknown }; totalGross?: unknown; currency?: unknown; issueDate?: unknown };
  if (typeof p?.seller?.taxId !== 'string' || typeof p.totalGross !== 'string' || typeof p.currency !== 'string')
    return null;
  if (typeof p.issueDate !== 'string') return null;
  const digits = minorUnit(p.currency);
  const identity = {
    v: 1,
    seller: normaliseInvoiceField(p.seller.taxId),
    gross: decStr(decRound(dec(p.totalGross), digits), digits),
    currency: p.currency.toUpperCase(),
    issueDate: p.issueDate,
  };
  return digestCanonical(canonicalize(identity));
}

export type ClaimStep = 'prepared' | 'signed' | 'broadcast' | 'mined' | 'recorded';

export interface ClaimOptions {
  consortiumSecret: string;
  /** How long a request waits for the consume receipt (default 30 s). */
  receiptTimeoutMs?: number;
  pollMs?: number;
  /** Pre-check with eth_call before signing (default true; tests turn it off to exercise a mined revert). */
  precheck?: boolean;
  /** Blocks (its own included) on the canonical chain before a consume, release or settle counts (default 1). */
  confirmations?: number;
  /** The account's transaction sender (default: one of this service's own). */
  sender?: TxSender;
  /** Test hook: a crash test throws here. */
  onStep?: (step: ClaimStep, claim: ClaimInfo) => void | Promise<void>;
  log?: Pick<Console, 'info' | 'warn' | 'error'>;
}

/** Largest number of invoices in one claim (release gas is sized for 16 keys). */
export const MAX_INVOICES_PER_CLAIM = 16;

/**
 * Most keys one claim consumes: its invoices' and their earlier versions'. The registry takes 64 per call, but a
 * release is signed offline with gas for 16 keys (src/chain/tx.ts releaseGasLimit), so a claim never holds more.
 */
export const MAX_KEYS_PER_CLAIM = 16;

/** How far back a correction's earlier versions are followed. */
const MAX_INVOICE_VERSIONS = 32;

const silent = { info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Thrown inside a claim's transaction when its stored status is no longer the one this actor last saw: another
 * request with the same externalId, another process or the reconciler moved it first. The transaction rolls back
 * (no outbox row, no nonce), and the actor re-reads the claim and carries on from what is stored.
 */
class ClaimMoved extends Error {
  override name = 'ClaimMoved';
}

/** Compare-and-set of a claim's state: applies `patch` only while the claim is still `claim.status`. */
async function casClaim(r: Repo, claim: ClaimInfo, patch: Partial<ClaimInfo>): Promise<ClaimInfo> {
  if (!(await r.updateClaim(claim.id, patch, [claim.status]))) throw new ClaimMoved(claim.id);
  return { ...claim, ...patch };
}

function chainProblem(f: ChainFailure, cause?: unknown): ServiceError {
  if (f.code === 'NOT_AUTHORIZED') {
    return new ServiceError(
      'FORBIDDEN',
      `This organisation's chain account may not consume invoice keys: ${f.message}`,
      undefined,
      cause,
    );
  }
  return new ServiceError('CHAIN_UNAVAILABLE', `${f.code}: ${f.message}`, { chainCode: f.code }, cause);
}

export class ClaimService {
  private readonly opts: Required<Omit<ClaimOptions, 'onStep' | 'log' | 'sender' | 'confirmations'>> &
    Pick<ClaimOptions, 'onStep'>;
  private readonly log: Pick<Console, 'info' | 'warn' | 'error'>;
  /** Owns the accounts' transactions (nonces, outbox, broadcast, receipts, depth, gap repair). */
  readonly sender: TxSender;

  constructor(
    private readonly store: Store,
    private readonly chain: ChainPort,
    private readonly records: RecordService,
    opts: ClaimOptions,
  ) {
    // Validates the secret once (≥ 16 bytes) rather than on the first claim.
    invoiceKey(opts.consortiumSecret, { sellerTaxId: 'x', invoiceCode: 'x', invoiceNumber: 'x' });
    this.opts = {
      consortiumSecret: opts.consortiumSecret,
      receiptTimeoutMs: opts.receiptTimeoutMs ?? 30_000,
      pollMs: opts.pollMs ?? 200,
      precheck: opts.precheck ?? true,
      onStep: opts.onStep,
    };
    this.log = opts.log ?? silent;
    this.sender = opts.sender ?? new TxSender(store, chain, { confirmations: opts.confirmations ?? 1, log: this.log });
  }

  /** How long a request may still be driving a claim; the reconciler leaves younger claims alone. */
  get inFlightMs(): number {
    return this.opts.receiptTimeoutMs + 5_000;
  }

  async claim(org: Org, input: ClaimInput): Promise<ClaimResult> {
    if (!org.address) throw new ServiceError('FORBIDDEN', `Organisation ${org.id} has no chain account to claim from`);
    const v = validatePayload('expense.claim', input.payload);
    if (!v.ok)
      throw new ServiceError('PAYLOAD_INVALID', 'Invalid expense.claim payload', { errors: v.errors.slice(0, 20) });
    const canonical = canonicalize(input.payload);
    const digest = digestCanonical(canonical);
    const invoices = [...input.invoices];
    if (new Set(invoices).size !== invoices.length) {
      throw new ServiceError('CLAIM_INVOICE_DUPLICATE', 'An invoice id is named twice');
    }
    if (invoices.length < 1 || invoices.length > MAX_INVOICES_PER_CLAIM) {
      throw new ServiceError('VALIDATION_FAILED', `A claim names 1..${MAX_INVOICES_PER_CLAIM} invoices`);
    }

    // Idempotency: the record exists already.
    const existing = await this.existingRecord(org.id, input.externalId);
    if (existing) {
      const sameInvoices =
        existing.parents.length === invoices.length && invoices.every((i) => existing.parents.includes(i));
      if (existing.digest !== digest || !sameInvoices) {
        throw new ServiceError(
          'EXTERNAL_ID_CONFLICT',
          `externalId "${input.externalId}" already names claim ${existing.id} with other content`,
          {
            existingId: existing.id,
          },
        );
      }
      return this.result(existing.id, true);
    }

    // Invoices: exist, are invoice.issued (any organisation), not voided; their keys.
    const { keys, commitments, payloads } = await this.invoicesOf(org, invoices);
    // Amount rules (issue 17) before anything is signed: an over-claim costs no chain transaction.
    const overClaim = await this.store.read((r) => precheckClaim(r, input.payload, invoices));
    if (overClaim) throw overClaim;

    // Prepare (or reuse the prepared) claim.
    const fingerprints = payloads.map(fingerprintOf);
    const warnings = await this.possibleDuplicates(org, invoices, keys, fingerprints);
    let claim = await this.prepare(org, input.externalId, {
      digest,
      canonical,
      invoices,
      keys,
      commitments,
      fingerprints,
    });
    await this.opts.onStep?.('prepared', claim);
    claim = await this.drive(org, claim, true);
    const result = await this.result(claim.id, false);
    return warnings.length ? { ...result, warnings } : result;
  }

  /**
   * POSSIBLE_DUPLICATE (what expense systems flag): a claimed invoice has the fingerprint of an invoice claimed
   * before (same seller, gross, currency and issue date) but another invoice key. Only claims in this service's
   * database are seen; another service instance's claims show only their invoice keys on chain, which are HMACs and
   * say nothing about amounts or dates.
   */
  private async possibleDuplicates(
    org: Org,
    invoices: string[],
    keys: string[],
    fingerprints: (string | null)[],
  ): Promise<ClaimWarning[]> {
    const wanted = [...new Set(fingerprints.filter((f): f is string => f !== null))];
    if (!wanted.length) return [];
    const found = await this.store.read((r) => r.claimedByFingerprints(wanted));
    const out: ClaimWarning[] = [];
    for (const [i, id] of invoices.entries()) {
      const f = fingerprints[i];
      const earlier = found.find((x) => x.fingerprint === f && !keys.includes(x.invoiceKey));
      if (!f || !earlier) continue;
      const same = earlier.orgId === org.id;
      out.push({
        code: 'POSSIBLE_DUPLICATE',
        invoice: id,
        detail: `Invoice ${id} has the seller, gross amount, currency and issue date of an invoice claimed before under another number${same ? ` (invoice ${earlier.invoiceId}, claim ${earlier.claimId})` : ' by another member'}: check it is not the same purchase`,
        earlier: {
          claim: same ? earlier.claimId : null,
          invoice: same ? earlier.invoiceId : null,
          sameOrganisation: same,
        },
      });
    }
    return out;
  }

  /** The claim of `id` as stored (for GET /v1/claims/:id). */
  async get(id: string): Promise<ClaimInfo | null> {
    return this.store.read((r) => r.getClaim(id));
  }

  private async existingRecord(orgId: string, externalId: string) {
    const found = await this.store.read((r) => r.findByExternalIds(orgId, [{ type: 'expense.claim', externalId }]));
    return found.find((m) => m.type === 'expense.claim' && m.externalId === externalId) ?? null;
  }

  /**
   * The claimed invoices' keys and commitments. An invoice that a later record corrected (superseded) cannot be
   * claimed itself (409 INVOICE_SUPERSEDED naming the correction); claiming a correction consumes the keys of every
   * earlier version too (DESIGN §2.5), so no version of a corrected invoice can be reimbursed by another claim.
   * `keys` holds the claimed invoices' keys first, in the order of `ids`, then the earlier versions' keys.
   */
  private async invoicesOf(
    org: Org,
    ids: string[],
  ): Promise<{ keys: string[]; commitments: string[]; payloads: unknown[] }> {
    const [all, voided, superseders, grants, taxIds] = await this.store.read(
      async (r) =>
        [
          await r.getRecords(ids),
          await r.childrenByType(ids, ['invoice.voided']),
          await r.supersedersOf(ids),
          await r.grantsOf(org.id),
          await r.taxIdsOf([org.id]),
        ] as const,
    );
    // Rights: the claimant may name its own invoices, those whose buyer is one of its tax ids, and those of the
    // organisations that shared theirs with it (a grant). Any other id answers exactly like an unknown one, and
    // nothing below (type, voided, superseded) is said about it.
    const mine = new Set(taxIds.map((t) => t.taxId));
    const readable = (rec: { orgId: string; payload: string }) => {
      if (rec.orgId === org.id || grants.includes(rec.orgId)) return true;
      const buyer = (JSON.parse(rec.payload) as { buyer?: { taxId?: unknown } }).buyer?.taxId;
      return typeof buyer === 'string' && mine.has(normaliseInvoiceField(buyer));
    };
    const recs = all.filter(readable);
    const byId = new Map(recs.map((x) => [x.id, x]));
    const keys: string[] = [];
    const commitments: string[] = [];
    const payloads: unknown[] = [];
    const seen = new Map<string, string>();
    for (const id of ids) {
      const rec = byId.get(id);
      if (!rec) throw new ServiceError('PARENT_NOT_FOUND', `Invoice ${id} not found`, { parent: id });
      if (rec.type !== 'invoice.issued') {
        throw new ServiceError('LINEAGE_VIOLATION', `Record ${id} is a ${rec.type}, not an invoice.issued`, {
          rule: 'LINEAGE_PARENT_TYPE',
        });
      }
      const v = voided.find((c) => c.parentId === id);
      if (v) {
        throw new ServiceError('INVOICE_VOIDED', `Invoice ${id} was voided (${v.childId}): it cannot be claimed`, {
          invoice: id,
          voidedBy: v.childId,
        });
      }
      const by = superseders.find((s) => s.supersedes === id);
      if (by) {
        throw new ServiceError(
          'INVOICE_SUPERSEDED',
          `Invoice ${id} was corrected by ${by.id}: claim the correction instead`,
          { invoice: id, supersededBy: by.id },
        );
      }
      const payload: unknown = JSON.parse(rec.payload);
      payloads.push(payload);
      const key = invoiceKey(this.opts.consortiumSecret, invoiceIdentity(payload));
      const twin = seen.get(key);
      if (twin) {
        throw new ServiceError(
          'CLAIM_INVOICE_DUPLICATE',
          `Invoices ${twin} and ${id} are the same invoice (same seller, code and number)`,
          {
            invoices: [twin, id],
          },
        );
      }
      seen.set(key, id);
      keys.push(key);
      commitments.push(rec.commitment);
    }
    for (const key of await this.earlierVersionKeys(recs.filter((x) => x.supersedes))) {
      if (!seen.has(key)) {
        seen.set(key, '');
        keys.push(key);
      }
    }
    if (keys.length > MAX_KEYS_PER_CLAIM) {
      throw new ServiceError(
        'CLAIM_TOO_MANY_KEYS',
        `The claimed invoices and their earlier versions have ${keys.length} distinct keys; one claim consumes at most ${MAX_KEYS_PER_CLAIM}`,
        { keys: keys.length, max: MAX_KEYS_PER_CLAIM },
      );
    }
    return { keys, commitments, payloads };
  }

  /** Keys of the earlier versions of corrected invoices, walking `supersedes` back (bounded, cycle-safe). */
  private async earlierVersionKeys(corrected: { id: string; supersedes: string | null }[]): Promise<string[]> {
    const out: string[] = [];
    const visited = new Set(corrected.map((x) => x.id));
    let frontier = corrected.map((x) => x.supersedes!).filter((id) => !visited.has(id));
    for (let depth = 0; frontier.length > 0 && depth < MAX_INVOICE_VERSIONS; depth++) {
      for (const id of frontier) visited.add(id);
      const older = await this.store.read((r) => r.getRecords(frontier));
      const next: string[] = [];
      for (const rec of older) {
        if (rec.type !== 'invoice.issued') continue;
        out.push(invoiceKey(this.opts.consortiumSecret, invoiceIdentity(JSON.parse(rec.payload))));
        if (rec.supersedes && !visited.has(rec.supersedes)) next.push(rec.supersedes);
      }
      frontier = next;
    }
    return out;
  }

  private async prepare(
    org: Org,
    externalId: string,
    c: {
      digest: string;
      canonical: string;
      invoices: string[];
      keys: string[];
      commitments: string[];
      fingerprints: (string | null)[];
    },
  ): Promise<ClaimInfo> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.store.tx(async (r) => {
          const prior = await r.getClaimByExternalId(org.id, externalId);
          if (prior) {
            const same =
              prior.digest === c.digest &&
              prior.invoices.length === c.invoices.length &&
              prior.invoices.every((x, i) => x === c.invoices[i]);
            if (same) return prior;
            // Never signed (or failed for good): the client may change its mind. Signed: bound to that content.
            if (prior.status !== 'prepared' && prior.status !== 'failed') {
              throw new ServiceError(
                'EXTERNAL_ID_CONFLICT',
                `externalId "${externalId}" already names claim ${prior.id} with other content`,
                {
                  existingId: prior.id,
                },
              );
            }
            // only while it is still unsigned: a concurrent request may be signing it right now
            if (!(await r.deleteClaim(prior.id, ['prepared', 'failed']))) {
              throw new StoreConflictError(`claim ${prior.id} moved on while being replaced`);
            }
          }
          const id = newRecordId();
          const salt = '0x' + randomBytes(32).toString('hex');
          const commitment = computeCommitment({
            recordId: id,
            orgId: org.id,
            type: 'expense.claim',
            digest: c.digest,
            salt,
            parents: c.commitments,
          });
          const now = Date.now();
          const claim: ClaimInfo = {
            id,
            orgId: org.id,
            externalId,
            digest: c.digest,
            salt,
            commitment,
            invoices: c.invoices,
            invoiceKeys: c.keys,
            payload: c.canonical,
            status: 'prepared',
            consumeTxId: null,
            releaseTxId: null,
            settleTxId: null,
            error: null,
            createdAt: now,
            updatedAt: now,
          };
          await r.insertClaim(claim);
          await r.setClaimInvoices(
            claim.id,
            org.id,
            c.invoices.flatMap((invoiceId, i) =>
              c.fingerprints[i] ? [{ invoiceId, invoiceKey: c.keys[i]!, fingerprint: c.fingerprints[i]! }] : [],
            ),
            now,
          );
          return claim;
        });
      } catch (err) {
        if (err instanceof StoreConflictError && attempt < 2) continue;
        throw err;
      }
    }
  }

  /** 409 INVOICE_ALREADY_CLAIMED naming the earlier claim (its record id when this service knows it). */
  private async alreadyClaimed(f: ChainFailure, claim: ClaimInfo): Promise<ServiceError> {
    // v2: the chain names the consuming organisation (keccak256 of its id), not its account.
    const d = f.details as { key?: string; org?: string; claim?: string; timestamp?: number };
    const idx = d.key ? claim.invoiceKeys.indexOf(d.key) : -1;
    // Keys past the claimed invoices' own belong to earlier versions of corrected invoices.
    const invoice = idx >= 0 && idx < claim.invoices.length ? claim.invoices[idx]! : null;
    const earlierVersion = idx >= claim.invoices.length;
    let earlierId: string | null = null;
    if (d.claim) {
      // The record once stored; before that (the winner is still between its receipt and its insert), the
      // prepared claim of this service's database names the same id.
      // Only the claimant's own earlier claim is named: another organisation's record ids are not the claimant's
      // to learn (the chain shows the commitment and the consuming organisation to every member anyway).
      earlierId = await this.store.read(async (r) => {
        const rec = (await r.findByCommitments([d.claim!]))[0];
        if (rec) return rec.orgId === claim.orgId ? rec.id : null;
        const prepared = await r.getClaimByCommitment(d.claim!);
        return prepared?.orgId === claim.orgId ? prepared.id : null;
      });
    }
    const byUs = d.org !== undefined && d.org.toLowerCase() === orgHashOf(claim.orgId);
    // The consuming organisation's id is public anyway (the directory's MemberKeyAdded names it): say it when
    // this service knows the organisation, else its hash.
    const consumingOrg = byUs
      ? claim.orgId
      : d.org
        ? ((await this.store.read((r) => r.listOrgs())).find((o) => orgHashOf(o.id) === d.org!.toLowerCase())?.id ??
          null)
        : null;
    return new ServiceError(
      'INVOICE_ALREADY_CLAIMED',
      `${earlierVersion ? `An earlier version of a claimed invoice (key ${d.key})` : `Invoice ${invoice ?? d.key}`} was claimed before${earlierId ? ` by claim ${earlierId}` : ''} (commitment ${d.claim}, by ${byUs ? 'this organisation' : `organisation ${consumingOrg ?? d.org}`})`,
      {
        invoice,
        invoiceKey: d.key ?? null,
        earlierVersion,
        earlierClaim: {
          id: earlierId,
          commitment: d.claim ?? null,
          /** keccak256 of the consuming organisation's id, as the chain shows it to every member. */
          org: d.org ?? null,
          orgId: consumingOrg,
          claimedAt: typeof d.timestamp === 'number' ? new Date(d.timestamp * 1000).toISOString() : null,
        },
      },
    );
  }

  private async update(claim: ClaimInfo, patch: Partial<ClaimInfo>): Promise<ClaimInfo> {
    return this.store.tx((r) => casClaim(r, claim, { ...patch, updatedAt: Date.now() }));
  }

  /**
   * Moves a claim forward from its stored state until it is recorded (or throws). Used by the request path and
   * by the reconciler (`wait` false: never blocks on a receipt).
   */
  async drive(org: Org, claim: ClaimInfo, wait: boolean): Promise<ClaimInfo> {
    for (let round = 0; round < 8; round++) {
      try {
        const next = await this.step(org, claim, wait);
        if (next.done) return next.claim;
        claim = next.claim;
      } catch (err) {
        if (!(err instanceof ClaimMoved)) throw err;
        const fresh = await this.store.read((r) => r.getClaim(claim.id));
        if (!fresh) {
          throw new ServiceError('CLAIM_IN_PROGRESS', `Claim ${claim.id} was replaced by another request; retry`);
        }
        claim = fresh;
      }
    }
    throw new ServiceError('CLAIM_IN_PROGRESS', `Claim ${claim.id} is still ${claim.status}`);
  }

  /** One move of a claim from its stored state; `done` once it is recorded (or in a state this path leaves). */
  private async step(org: Org, claim: ClaimInfo, wait: boolean): Promise<{ claim: ClaimInfo; done: boolean }> {
    const address = org.address!;
    {
      switch (claim.status) {
        case 'prepared':
        case 'failed': {
          if (this.opts.precheck) {
            const f = await this.chainCall(() =>
              this.chain.simulateConsume(address, claim.invoiceKeys, claim.commitment),
            );
            if (f && !(f.code === 'KEY_ALREADY_CONSUMED' && f.details.claim === claim.commitment)) {
              if (f.code === 'KEY_ALREADY_CONSUMED') throw await this.alreadyClaimed(f, claim);
              if (f.code === 'CLAIM_EXISTS') {
                throw new ServiceError(
                  'CLAIM_IN_PROGRESS',
                  `Claim commitment ${claim.commitment} was used on chain already`,
                );
              }
              throw chainProblem(f);
            }
          }
          const chainNonce = await this.chainCall(() => this.sender.chainNonce(address));
          const { invoiceKeys, commitment } = claim;
          const intent = {
            kind: 'consume' as const,
            refId: commitment,
            orgId: org.id,
            from: address,
            build: (nonce: number) => this.chain.signConsume(address, invoiceKeys, commitment, nonce),
          };
          claim = await this.store.tx(async (r) => {
            // The compare-and-set before the outbox row: a concurrent request that signed this claim first may have
            // had its consume mined already, and its stale chain nonce then gives this one the same nonce, hence
            // the same raw transaction and hash (a unique violation, i.e. a 500, instead of ClaimMoved).
            const txId = randomUUID();
            let next: ClaimInfo | undefined;
            await this.sender.enqueue(r, intent, chainNonce, Date.now(), txId, async () => {
              next = await casClaim(r, claim, {
                status: 'signed',
                consumeTxId: txId,
                error: null,
                updatedAt: Date.now(),
              });
            });
            return next!;
          });
          await this.opts.onStep?.('signed', claim);
          return { claim, done: false };
        }
        case 'signed':
          return this.followConsume(claim, wait);
        case 'consumed': {
          const [res] = await this.records.submit(
            org.id,
            [
              {
                type: 'expense.claim',
                externalId: claim.externalId,
                payload: JSON.parse(claim.payload),
                parents: claim.invoices,
              },
            ],
            { allowReserved: true, policy: () => null, idFor: () => claim.id, saltFor: () => claim.salt },
          );
          if (!res || 'error' in res) {
            // The keys are consumed by a claim that cannot be recorded (e.g. an invoice was voided meanwhile): free them.
            const p = res?.error;
            await this.release(org, claim, `claim could not be recorded: ${p?.code ?? 'unknown'}`);
            const { code, detail, type: _t, title: _ti, status: _s, ...rest } = p!;
            throw new ServiceError(code, detail, rest);
          }
          if (res.id !== claim.id || res.commitment !== claim.commitment) {
            throw new Error(
              `claim ${claim.id}: recorded commitment ${res.commitment} differs from the consumed one ${claim.commitment}`,
            );
          }
          claim = await this.update(claim, { status: 'recorded' });
          await this.opts.onStep?.('recorded', claim);
          return { claim, done: true };
        }
        default:
          return { claim, done: true };
      }
    }
  }

  /**
   * A signed consume: (re)broadcast it, then follow it through the sender until it is final (mined with
   * `confirmations` blocks on the canonical chain), waiting up to `receiptTimeoutMs` on the request path. A consume
   * a reorg dropped is sent again (same raw transaction); one whose nonce another transaction took sends the claim
   * back to `prepared` unless the chain shows our commitment consuming the keys anyway.
   */
  private async followConsume(claim: ClaimInfo, wait: boolean): Promise<{ claim: ClaimInfo; done: boolean }> {
    let tx = (await this.store.read((r) => r.getOutbox(claim.consumeTxId!)))!;
    const end = Date.now() + (wait ? this.opts.receiptTimeoutMs : 0);
    // The first look rebroadcasts a sent transaction at once (the request path resumes a stored one).
    let rebroadcastMs = 0;
    let first = true;
    let said = false;
    for (;;) {
      let o: TxOutcome | null = null;
      try {
        o = await this.sender.poll(tx, { rebroadcastMs });
      } catch (err) {
        const f = this.chain.failureOf(err);
        if (!f) throw err;
        // The broadcast of the request itself failed: said at once. Later reads are retried until the timeout.
        if (first) throw chainProblem(f, err);
      }
      first = false;
      rebroadcastMs = this.opts.receiptTimeoutMs;
      if (o && !said && o.kind !== 'replaced') {
        said = true;
        await this.opts.onStep?.('broadcast', claim);
      }
      switch (o?.kind) {
        case 'replaced': {
          const mine = await this.chainCall(() => this.chain.consumptionOf(claim.invoiceKeys[0]!));
          if (mine.claim === claim.commitment) break; // mined earlier: the receipt tells
          const out = o;
          const next = await this.store.tx(async (r) => {
            await this.sender.record(r, out);
            return casClaim(r, claim, { status: 'prepared', consumeTxId: null, updatedAt: Date.now() });
          });
          return { claim: next, done: false };
        }
        case 'dropped': {
          const out = o;
          this.log.warn({ claim: claim.id, tx: tx.txHash }, 'consume block reorged away; sending it again');
          tx = await this.store.tx((r) => this.sender.record(r, out));
          continue;
        }
        case 'mined': {
          const out = o;
          if (tx.status !== 'mined' || tx.blockHash !== out.receipt.blockHash.toLowerCase())
            tx = await this.store.tx((r) => this.sender.record(r, out));
          if (!out.final) break;
          claim = await this.store.tx((r) => casClaim(r, claim, { status: 'consumed', updatedAt: Date.now() }));
          await this.opts.onStep?.('mined', claim);
          return { claim, done: false };
        }
        case 'reverted': {
          const out = o;
          const reason = out.reason;
          const why = reason ? `${reason.code}: ${reason.message}` : 'reverted';
          claim = await this.store.tx(async (r) => {
            await this.sender.record(r, out, Date.now(), why);
            return casClaim(r, claim, { status: 'failed', consumeTxId: null, error: why, updatedAt: Date.now() });
          });
          if (reason?.code === 'KEY_ALREADY_CONSUMED') throw await this.alreadyClaimed(reason, claim);
          throw reason
            ? chainProblem(reason)
            : new ServiceError('CHAIN_UNAVAILABLE', `Consume transaction ${tx.txHash} reverted`);
        }
        default:
          if (o?.kind === 'pending' && (o.repaired || o.tx.status === 'replaced')) {
            // A nonce-gap repair signed the consume again (the claim points at the new row): follow that one.
            const fresh = await this.store.read((r) => r.getClaim(claim.id));
            if (fresh) return { claim: fresh, done: false };
          }
          if (o) tx = o.tx;
      }
      if (Date.now() >= end) {
        const mined = tx.status === 'mined';
        throw new ServiceError(
          'CHAIN_UNAVAILABLE',
          `Consume transaction ${tx.txHash} not ${mined ? `confirmed (${this.sender.confirmations} blocks)` : 'mined'} yet; retry with the same externalId`,
          { txHash: tx.txHash },
        );
      }
      await sleep(this.opts.pollMs);
    }
  }

  /** Chain reads: an outage becomes 503 CHAIN_UNAVAILABLE. */
  private async chainCall<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const f = this.chain.failureOf(err);
      if (f) throw new ServiceError('CHAIN_UNAVAILABLE', `${f.code}: ${f.message}`, { chainCode: f.code }, err);
      throw err;
    }
  }

  /** Signs `release(commitment)` from the claimant's account through the outbox and broadcasts it. */
  async release(org: Org, claim: ClaimInfo, why: string): Promise<ClaimInfo> {
    if (claim.status === 'settling' || claim.status === 'settled') {
      // Reimbursed: ClaimRegistry v2 would revert ClaimRegistryClaimSettled; nothing is signed.
      throw new ServiceError(
        'ALREADY_REIMBURSED',
        `Claim ${claim.id} was reimbursed (settled on chain): its invoice keys are never released`,
      );
    }
    return this.signAndSend(org, claim, 'release', why);
  }

  /** Follows a `releasing` claim: released once final (or once the chain shows its keys free). */
  async advanceRelease(org: Org, claim: ClaimInfo, rebroadcastMs: number): Promise<void> {
    await this.follow(org, claim, 'release', rebroadcastMs);
  }

  /**
   * Signs `settle(commitment)` from the claimant's account through the outbox and broadcasts it: the claim was
   * reimbursed, its keys stay consumed for ever (ClaimRegistry v2 then refuses any release).
   */
  async settle(org: Org, claim: ClaimInfo): Promise<ClaimInfo> {
    return this.signAndSend(org, claim, 'settle', null);
  }

  /** Follows a `settling` claim: settled once final (or once the chain shows it settled). */
  async advanceSettle(org: Org, claim: ClaimInfo, rebroadcastMs: number): Promise<void> {
    await this.follow(org, claim, 'settle', rebroadcastMs);
  }

  /** `release` / `settle`: signed through the sender with the claim's compare-and-set, then broadcast once. */
  private async signAndSend(
    org: Org,
    claim: ClaimInfo,
    kind: 'release' | 'settle',
    why: string | null,
  ): Promise<ClaimInfo> {
    const address = org.address!;
    const commitment = claim.commitment;
    const chainNonce = await this.chainCall(() => this.sender.chainNonce(address));
    const intent = {
      kind,
      refId: commitment,
      orgId: org.id,
      from: address,
      build: (nonce: number) =>
        kind === 'release'
          ? this.chain.signRelease(address, commitment, nonce)
          : this.chain.signSettle(address, commitment, nonce),
    };
    const { next, tx } = await this.store.tx(async (r) => {
      const tx = await this.sender.enqueue(r, intent, chainNonce);
      const patch: Partial<ClaimInfo> =
        kind === 'release'
          ? { status: 'releasing', releaseTxId: tx.id, error: why }
          : { status: 'settling', settleTxId: tx.id };
      const next = await casClaim(r, claim, { ...patch, updatedAt: Date.now() });
      return { next, tx };
    });
    this.log.info(
      { claim: claim.id, tx: tx.txHash, why },
      kind === 'release' ? 'releasing claim keys' : 'settling claim (reimbursed)',
    );
    try {
      await this.sender.send(tx); // a used nonce shows when the reconciler follows it
    } catch (err) {
      this.log.warn({ claim: claim.id, err: String(err) }, `${kind} broadcast failed; the reconciler retries`);
    }
    return next;
  }

  /**
   * Follows a release or settle transaction through the sender. Final (mined, deep enough, canonical): released /
   * settled. Reverted: a settled claim is never released (CLAIM_SETTLED: refused, said, not retried), an unknown
   * one is free already; anything else goes back to `recorded` and is tried again. Its nonce taken by another
   * transaction: done if the chain shows it done, else signed again.
   */
  private async follow(org: Org, claim: ClaimInfo, kind: 'release' | 'settle', rebroadcastMs: number) {
    const txId = kind === 'release' ? claim.releaseTxId : claim.settleTxId;
    const tx = txId ? await this.store.read((r) => r.getOutbox(txId)) : null;
    const again = () =>
      kind === 'release' ? this.release(org, claim, claim.error ?? 'rejected') : this.settle(org, claim);
    const doneStatus = kind === 'release' ? ('released' as const) : ('settled' as const);
    if (!tx) {
      await again();
      return;
    }
    const o = await this.sender.poll(tx, { rebroadcastMs });
    if (o.kind === 'pending') return;
    if (o.kind === 'dropped' || (o.kind === 'mined' && !o.final)) {
      await this.store.tx((r) => this.sender.record(r, o));
      return;
    }
    if (o.kind === 'replaced') {
      await this.store.tx((r) => this.sender.record(r, o));
      const c = await this.chain.consumptionOf(claim.invoiceKeys[0]!);
      if (kind === 'release' ? c.claim !== claim.commitment : c.settled)
        await this.update(claim, { status: doneStatus });
      else await again();
      return;
    }
    const reason = o.kind === 'reverted' ? o.reason : null;
    let patch: Partial<ClaimInfo>;
    if (o.kind === 'mined') patch = { status: doneStatus };
    else if (reason?.code === 'CLAIM_SETTLED')
      // Settled (reimbursed) on chain: its keys are never released.
      patch =
        kind === 'release'
          ? { status: 'settled', error: 'release refused: the claim was settled (reimbursed) on chain' }
          : { status: 'settled' };
    else if (kind === 'release' && reason?.code === 'UNKNOWN_CLAIM') patch = { status: 'released' };
    else
      patch = {
        status: 'recorded',
        ...(kind === 'release' ? { releaseTxId: null } : { settleTxId: null }),
        error: reason?.message ?? `${kind} reverted`,
      };
    await this.store.tx(async (r) => {
      await this.sender.record(r, o);
      await casClaim(r, claim, { ...patch, updatedAt: Date.now() });
    });
  }

  /** The 201/200 body of a claim record. */
  async result(id: string, duplicate: boolean): Promise<ClaimResult> {
    const { rec, claim, tx } = await this.store.read(async (r) => {
      const rec = await r.getRecord(id);
      const claim = await r.getClaim(id);
      const tx = claim?.consumeTxId ? await r.getOutbox(claim.consumeTxId) : null;
      return { rec, claim, tx };
    });
    if (!rec) throw new ServiceError('CLAIM_NOT_FOUND', `Claim ${id} not found`);
    return {
      id: rec.id,
      digest: rec.digest,
      commitment: rec.commitment,
      status: rec.status,
      invoiceKeys: claim?.invoiceKeys ?? [],
      chain: { txHash: tx?.txHash ?? '', blockNumber: tx?.blockNumber ?? null },
      claimStatus: claim?.status ?? 'recorded',
      duplicate,
    };
  }
}

/**
 * Background part of the claims use case (a job of the worker loop, src/service/worker-loop.ts, beside the anchoring
 * worker; one process at a time by its lease): finishes claims a request left behind (crash, timeout: rebroadcast,
 * receipt, record), and releases the keys of rejected claims.
 */
export class ClaimReconciler implements LoopJob {
  readonly name = 'claims';
  /** Leases of a pass run on its own (`tick()` without the loop's: tests, tools). */
  private ownLeases?: Leases;

  constructor(
    private readonly store: Store,
    private readonly claims: ClaimService,
    private readonly opts: {
      /** How often the worker loop runs a pass (after the last one ended). */
      tickMs?: number;
      leaseMs?: number;
      rebroadcastMs?: number;
      log?: Pick<Console, 'info' | 'warn' | 'error'>;
    } = {},
  ) {}

  get everyMs(): number {
    return this.opts.tickMs ?? 500;
  }

  /** One pass, under the {@link CLAIMS_LEASE} (`leases`: the worker loop's). */
  async tick(leases: Leases = (this.ownLeases ??= new Leases(this.store))): Promise<void> {
    const log = this.opts.log ?? silent;
    if (!(await leases.take(CLAIMS_LEASE, this.opts.leaseMs ?? 30_000))) return;
    const orgs = new Map((await this.store.read((r) => r.listOrgs())).map((o) => [o.id, o]));
    const [stuck, rejected, releasing, reimbursed, settling] = await this.store.read(
      async (r) =>
        [
          await r.claimsByStatus(['signed', 'consumed'], 50),
          await r.rejectedClaimsToRelease(50),
          await r.claimsByStatus(['releasing'], 50),
          await r.reimbursedClaimsToSettle(50),
          await r.claimsByStatus(['settling'], 50),
        ] as const,
    );
    for (const c of stuck) {
      if (Date.now() - c.updatedAt < this.claims.inFlightMs) continue;
      try {
        await this.claims.drive(orgs.get(c.orgId)!, c, false);
      } catch (err) {
        log.warn({ claim: c.id, err: String(err) }, 'claim not finished yet');
      }
    }
    for (const c of rejected) {
      try {
        await this.claims.release(orgs.get(c.orgId)!, c, 'rejected');
      } catch (err) {
        log.warn({ claim: c.id, err: String(err) }, 'release not signed yet');
      }
    }
    for (const c of releasing) {
      try {
        await this.claims.advanceRelease(orgs.get(c.orgId)!, c, this.opts.rebroadcastMs ?? 5_000);
      } catch (err) {
        log.warn({ claim: c.id, err: String(err) }, 'release not confirmed yet');
      }
    }
    for (const c of reimbursed) {
      try {
        await this.claims.settle(orgs.get(c.orgId)!, c);
      } catch (err) {
        log.warn({ claim: c.id, err: String(err) }, 'settle not signed yet');
      }
    }
    for (const c of settling) {
      try {
        await this.claims.advanceSettle(orgs.get(c.orgId)!, c, this.opts.rebroadcastMs ?? 5_000);
      } catch (err) {
        log.warn({ claim: c.id, err: String(err) }, 'settle not confirmed yet');
      }
    }
  }
}
