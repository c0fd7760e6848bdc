import {
  assertReceipt,
  computeCommitment,
  digestPayload,
  DomainError,
  verifyProof,
  type Hex32,
  type Receipt,
  type ReceiptV2,
} from '../domain';
import { keccak256Bytes } from '../domain/hashing';
import { bytesToHex32 } from '../domain/hex';
import { recordSigningDomain, recoverRecordSigner, sealedLeaf } from '../domain/signatures';
import { KEY_KIND_SIGNER, type AnchorRecord, type MemberKey, type RootSource } from './root-source';

export type CheckName =
  'schema' | 'digest' | 'commitment' | 'signatures' | 'merkle' | 'anchor' | 'organisation' | 'submitter' | 'timestamp';

/** Why `organisation` is skipped on a registry 1.x (which does not bind anchors to organisations). */
export const ORGANISATION_NOT_VERIFIED_1X = 'organisation not verified (registry 1.x)';
export type CheckStatus = 'passed' | 'failed' | 'skipped';

export interface Check {
  name: CheckName;
  status: CheckStatus;
  reason?: string;
}

/** A signer of a receipt v2 whose signature and directory key were verified (the `signatures` check passed). */
export interface VerdictSigner {
  /** EIP-55 address of the SIGNER key. */
  signer: string;
  /** The organisation it signs for (the record's orgId; the directory binds the key to keccak256 of it). */
  orgId: string;
  /** The key's window in the directory, `[since, until)` (until 0: still active). */
  since: number;
  until: number;
}

export interface Verdict {
  /**
   * True iff no check failed and every check passed, except `digest` (skipped without a payload) and
   * `organisation` (skipped on a registry 1.x: then the receipt is valid, but NOT organisation-verified).
   */
  valid: boolean;
  /**
   * In docs/formats.md §4 order: schema, digest, commitment, merkle, anchor, organisation, submitter, timestamp; a
   * receipt v2 (`"version": 2`) also has `signatures`, after `commitment`.
   */
  checks: Check[];
  /** Receipt v2: who signed, present only when the `signatures` check passed (in receipt order). */
  signers?: VerdictSigner[];
  /** Identifying fields, present when the receipt passed the schema check. */
  receipt?: { recordId: string; orgId: string; type: string; root: Hex32; chainId: number; registry: string };
}

export interface VerifyReceiptOptions {
  /** The original payload; when given its digest must equal `record.digest`. */
  payload?: unknown;
  /** Where anchors are read from (trust input). */
  rootSource: RootSource;
  /** Registry addresses the auditor accepts (any case); unset: the one named by the receipt. */
  trustedRegistries?: string[];
}

const ORDER: CheckName[] = [
  'schema',
  'digest',
  'commitment',
  'merkle',
  'anchor',
  'organisation',
  'submitter',
  'timestamp',
];
/** A receipt v2's checks: v1's with `signatures` after `commitment` (a v1 verdict keeps exactly v1's list). */
const ORDER_V2: CheckName[] = ['schema', 'digest', 'commitment', 'signatures', ...ORDER.slice(3)];
const orderOf = (receipt: unknown): CheckName[] =>
  typeof receipt === 'object' && receipt !== null && (receipt as { version?: unknown }).version === 2
    ? ORDER_V2
    : ORDER;

/**
 * Whether a directory key was an active SIGNER key of `org` at `blockNumber`: bound to that organisation as a
 * SIGNER, in its window `[since, until)` (until 0: not removed). A key removed after the block stays valid for it.
 */
export function isSignerActiveAt(key: MemberKey, org: Hex32, blockNumber: number): boolean {
  return (
    key.since !== 0 &&
    String(key.org).toLowerCase() === org.toLowerCase() &&
    key.kind === KEY_KIND_SIGNER &&
    blockNumber >= key.since &&
    (key.until === 0 || blockNumber < key.until)
  );
}

const UTF8 = new TextEncoder();

/** keccak256(bytes(orgId)) as the directory and registry 2.x name an organisation. */
export function orgHashOf(orgId: string): Hex32 {
  return bytesToHex32(keccak256Bytes(UTF8.encode(orgId)));
}

/** Whether the verdict establishes that the organisation named in the record anchored it (registry 2.x). */
export function isOrganisationVerified(verdict: Verdict): boolean {
  return verdict.valid && verdict.checks.some((c) => c.name === 'organisation' && c.status === 'passed');
}

function describe(err: unknown): string {
  if (err instanceof DomainError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return `${(err as { code?: unknown }).code ?? err.name}: ${err.message}`;
  return String(err);
}

function finish(
  checks: Map<CheckName, Check>,
  order: CheckName[],
  receipt?: Verdict['receipt'],
  signers?: VerdictSigner[],
): Verdict {
  const list = order.map((name) => checks.get(name) ?? { name, status: 'skipped' as const });
  const valid = list.every(
    (c) =>
      c.status === 'passed' ||
      (c.name === 'digest' && c.status === 'skipped') ||
      (c.name === 'organisation' && c.status === 'skipped' && c.reason === ORGANISATION_NOT_VERIFIED_1X),
  );
  const verdict: Verdict = receipt === undefined ? { valid, checks: list } : { valid, checks: list, receipt };
  if (signers !== undefined && checks.get('signatures')?.status === 'passed') verdict.signers = signers;
  return verdict;
}

// `put` records a check's outcome; `attempt` runs one (true: passed, a string: failed for that reason).
function recorder(checks: Map<CheckName, Check>) {
  const put = (name: CheckName, ok: boolean, reason?: string) =>
    checks.set(
      name,
      ok ? { name, status: 'passed' } : { name, status: 'failed', reason: reason ?? `${name} mismatch` },
    );
  const attempt = (name: CheckName, fn: () => boolean | string) => {
    try {
      const r = fn();
      put(name, r === true, typeof r === 'string' ? r : undefined);
    } catch (err) {
      put(name, false, describe(err));
    }
  };
  return { put, attempt };
}

/** What {@link checkReceiptLocally} finds: the checks that need no chain. */
export interface LocalVerdict {
  /**
   * schema, digest, commitment, merkle (in that order); digest is skipped without a payload. For a receipt v2 the
   * Merkle check proves the sealed leaf; `signatures` needs the directory, so it is not among these.
   */
  checks: Check[];
  /** The receipt, typed, when it passed the schema check. */
  receipt?: Receipt;
}

const LOCAL: CheckName[] = ['schema', 'digest', 'commitment', 'merkle'];

// The checks of one receipt that read nothing but the receipt (and the payload), into `checks`.
function runLocalChecks(receipt: unknown, payload: unknown, checks: Map<CheckName, Check>): Receipt | undefined {
  const { attempt } = recorder(checks);
  try {
    assertReceipt(receipt);
  } catch (err) {
    const fields = err instanceof DomainError && err.fields ? ` (${err.fields.join(', ')})` : '';
    checks.set('schema', { name: 'schema', status: 'failed', reason: `${describe(err)}${fields}` });
    return undefined;
  }
  checks.set('schema', { name: 'schema', status: 'passed' });
  const r: Receipt = receipt;
  const { record, proof } = r;
  if (payload !== undefined) {
    attempt('digest', () => digestPayload(payload) === record.digest || 'payload digest differs from record.digest');
  }
  attempt(
    'commitment',
    () =>
      computeCommitment({
        recordId: record.id,
        orgId: record.orgId,
        type: record.type,
        digest: record.digest,
        salt: record.salt,
        parents: record.parents,
      }) === r.commitment || 'commitment does not match the record fields',
  );
  if (r.version === 2) {
    attempt(
      'merkle',
      () =>
        verifyProof(proof.root, sealedLeaf(r.commitment, r.signatures), proof.path) ||
        'proof path does not lead to the root from the sealed leaf (commitment and signatures)',
    );
  } else {
    attempt(
      'merkle',
      () => verifyProof(proof.root, r.commitment, proof.path) || 'proof path does not lead to the root',
    );
  }
  return r;
}

/**
 * The checks of docs/formats.md §4 that need no chain, as {@link verifyReceipt} runs them: schema, digest of
 * the payload (when given), commitment recomputed from the record, Merkle path to the root. Synchronous; never
 * throws. The auditor page runs exactly this in the browser, so the document never leaves it.
 */
export function checkReceiptLocally(receipt: unknown, opts: { payload?: unknown } = {}): LocalVerdict {
  const checks = new Map<CheckName, Check>();
  let r: Receipt | undefined;
  try {
    r = runLocalChecks(receipt, opts.payload, checks);
  } catch (err) {
    for (const name of LOCAL)
      if (!checks.has(name)) checks.set(name, { name, status: 'failed', reason: describe(err) });
  }
  const list = LOCAL.map((name) => checks.get(name) ?? { name, status: 'skipped' as const });
  return r === undefined ? { checks: list } : { checks: list, receipt: r };
}

/**
 * Verifies a receipt (docs/formats.md §4): digest of the payload (when given) → commitment recomputed from the
 * record → Merkle path to the root → the registry on that chain anchored the root at that block, with that sequence
 * number (and, when the root source can read transactions, in `txHash`) → for the organisation the record names
 * (registry 2.x: `anchorOf(root).org == keccak256(bytes(record.orgId))`; skipped on 1.x, saying so) → by that
 * submitter → at that time.
 * Checks are independent: each one looks only at its own inputs, so one tampered field fails the checks that
 * use it (see test/verifier/tamper.test.ts). A schema failure skips all others. Never throws.
 */
export async function verifyReceipt(receipt: unknown, opts: VerifyReceiptOptions): Promise<Verdict> {
  const checks = new Map<CheckName, Check>();
  const { put, attempt } = recorder(checks);

  let order = ORDER;
  let r: Receipt | undefined;
  try {
    order = orderOf(receipt);
    r = runLocalChecks(receipt, 'payload' in opts ? opts.payload : undefined, checks);
  } catch (err) {
    // Defensive: a hostile payload (e.g. a throwing getter) must not escape.
    for (const name of order) if (!checks.has(name)) put(name, false, describe(err));
    return finish(checks, order);
  }
  if (r === undefined) return finish(checks, order);
  const { record, proof, anchor } = r;
  const summary = {
    recordId: record.id,
    orgId: record.orgId,
    type: record.type,
    root: proof.root,
    chainId: anchor.chainId,
    registry: anchor.registry,
  };

  let signers: VerdictSigner[] | undefined;
  try {
    if (r.version === 2) signers = await checkSignatures(r, opts, checks);
  } catch (err) {
    put('signatures', false, describe(err));
  }

  try {
    let found: AnchorRecord | null = null;
    const trusted = opts.trustedRegistries?.map((a) => String(a).toLowerCase());
    if (trusted && !trusted.includes(anchor.registry.toLowerCase())) {
      put('anchor', false, `registry ${anchor.registry} is not trusted`);
    } else {
      try {
        found = await opts.rootSource.getAnchor({
          chainId: anchor.chainId,
          registry: anchor.registry,
          root: proof.root,
        });
        if (found === null || !(found.timestamp > 0)) {
          found = null;
          put(
            'anchor',
            false,
            `root ${proof.root} is not anchored on registry ${anchor.registry} (chain ${anchor.chainId})`,
          );
        } else {
          const problems: string[] = [];
          if (found.blockNumber !== anchor.blockNumber) {
            problems.push(`anchored in block ${found.blockNumber}, receipt says ${anchor.blockNumber}`);
          }
          if (found.seq !== anchor.seq) problems.push(`anchored as seq ${found.seq}, receipt says ${anchor.seq}`);
          let note: string | undefined;
          const source = opts.rootSource;
          if (typeof source.getAnchorTransaction === 'function') {
            const tx = await source.getAnchorTransaction({
              chainId: anchor.chainId,
              registry: anchor.registry,
              txHash: anchor.txHash,
            });
            if (tx === null) problems.push(`transaction ${anchor.txHash} not found`);
            else {
              if (tx.status !== 1) problems.push(`transaction ${anchor.txHash} reverted`);
              if (tx.blockNumber !== anchor.blockNumber) problems.push(`transaction is in block ${tx.blockNumber}`);
              if (!tx.roots.map((x) => x.toLowerCase()).includes(proof.root)) {
                problems.push(`transaction ${anchor.txHash} did not anchor this root`);
              }
            }
          } else {
            note = 'txHash not checked: the root source cannot read transactions';
          }
          if (problems.length > 0) put('anchor', false, problems.join('; '));
          else
            checks.set(
              'anchor',
              note ? { name: 'anchor', status: 'passed', reason: note } : { name: 'anchor', status: 'passed' },
            );
        }
      } catch (err) {
        found = null;
        put('anchor', false, `root source failed: ${describe(err)}`);
      }
    }

    if (found !== null) {
      const a = found;
      if (a.org === undefined) {
        checks.set('organisation', { name: 'organisation', status: 'skipped', reason: ORGANISATION_NOT_VERIFIED_1X });
      } else {
        attempt('organisation', () => {
          const expected = orgHashOf(record.orgId);
          return (
            String(a.org).toLowerCase() === expected ||
            `anchored for organisation ${String(a.org).toLowerCase()}, not for "${record.orgId}" (${expected})`
          );
        });
      }
      attempt(
        'submitter',
        () =>
          String(a.submitter).toLowerCase() === anchor.submitter.toLowerCase() ||
          `anchored by ${a.submitter}, receipt says ${anchor.submitter}`,
      );
      attempt(
        'timestamp',
        () =>
          a.timestamp === anchor.blockTimestamp || `anchored at ${a.timestamp}, receipt says ${anchor.blockTimestamp}`,
      );
    }
  } catch (err) {
    // Defensive: nothing above should throw, but a hostile root source or payload must not escape.
    for (const name of order) if (!checks.has(name)) put(name, false, describe(err));
  }
  return finish(checks, order, summary, signers);
}

/**
 * The `signatures` check of a receipt v2 (docs/formats.md "Receipt version 2"): each signature, EIP-712 over the
 * commitment in the domain of the receipt's chain and registry, recovers to its `signer`, and the directory the
 * registry names says that signer was an active SIGNER key of keccak256(bytes(record.orgId)) at
 * `anchor.blockNumber` (window `[since, until)`, so a key removed later still vouches for what it signed before).
 * Returns the signers when the check passed.
 */
async function checkSignatures(
  r: ReceiptV2,
  opts: VerifyReceiptOptions,
  checks: Map<CheckName, Check>,
): Promise<VerdictSigner[] | undefined> {
  const fail = (reason: string) => {
    checks.set('signatures', { name: 'signatures', status: 'failed', reason });
    return undefined;
  };
  const { anchor, record } = r;
  const domain = recordSigningDomain(anchor.chainId, anchor.registry);
  const problems: string[] = [];
  r.signatures.forEach((s, i) => {
    const got = recoverRecordSigner(domain, r.commitment, s.signature);
    if (got === null) problems.push(`signature ${i + 1} is not a canonical signature`);
    else if (got.toLowerCase() !== s.signer.toLowerCase()) {
      problems.push(`signature ${i + 1} was made by ${got}, not by ${s.signer} (or over another commitment)`);
    }
  });
  if (problems.length > 0) return fail(problems.join('; '));
  const source = opts.rootSource;
  if (typeof source.getMemberKey !== 'function') {
    return fail('signers not checked: the root source cannot read the member directory');
  }
  const trusted = opts.trustedRegistries?.map((a) => String(a).toLowerCase());
  if (trusted && !trusted.includes(anchor.registry.toLowerCase())) {
    return fail(`registry ${anchor.registry} is not trusted`);
  }
  const org = orgHashOf(record.orgId);
  const signers: VerdictSigner[] = [];
  for (const [i, s] of r.signatures.entries()) {
    let key: MemberKey;
    try {
      key = await source.getMemberKey({ chainId: anchor.chainId, registry: anchor.registry, account: s.signer });
    } catch (err) {
      return fail(`directory read failed: ${describe(err)}`);
    }
    const who = `signer ${i + 1} (${s.signer})`;
    if (key.since === 0) problems.push(`${who} is not a key in the member directory`);
    else if (String(key.org).toLowerCase() !== org) {
      problems.push(`${who} is a key of organisation ${String(key.org).toLowerCase()}, not of "${record.orgId}"`);
    } else if (key.kind !== KEY_KIND_SIGNER) problems.push(`${who} is not a SIGNER key`);
    else if (!isSignerActiveAt(key, org, anchor.blockNumber)) {
      problems.push(
        `${who} was not active at block ${anchor.blockNumber} (key window [${key.since}, ${key.until === 0 ? '∞' : key.until}))`,
      );
    } else signers.push({ signer: s.signer, orgId: record.orgId, since: key.since, until: key.until });
  }
  if (problems.length > 0) return fail(problems.join('; '));
  checks.set('signatures', { name: 'signatures', status: 'passed' });
  return signers;
}
