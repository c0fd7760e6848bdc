import {
  assertReceipt,
  computeCommitment,
  digestPayload,
  DomainError,
  verifyProof,
  type Hex32,
  type ReceiptV1,
} from '../domain';
import { keccak256Bytes } from '../domain/hashing';
import { bytesToHex32 } from '../domain/hex';
import type { AnchorRecord, RootSource } from './root-source';

export type CheckName =
  'schema' | 'digest' | 'commitment' | 'merkle' | 'anchor' | 'organisation' | 'submitter' | 'timestamp';

/** Why `organisation` is skipped on a registry 1.x (which does not bind anchors to organisations). */
export const ORGANISATION_NOT_VERIFIED_1X = 'organisation not verified (registry 1.x)';
export type CheckStatus = 'passed' | 'failed' | 'skipped';

export interface Check {
  name: CheckName;
  status: CheckStatus;
  reason?: string;
}

export interface Verdict {
  /**
   * True iff no check failed and every check passed, except `digest` (skipped without a payload) and
   * `organisation` (skipped on a registry 1.x: then the receipt is valid, but NOT organisation-verified).
   */
  valid: boolean;
  /** In docs/formats.md §4 order: schema, digest, commitment, merkle, anchor, organisation, submitter, timestamp. */
  checks: Check[];
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

/** keccak256(bytes(orgId)) as the directory and registry 2.x name an organisation. */
export function orgHashOf(orgId: string): Hex32 {
  return bytesToHex32(keccak256Bytes(new TextEncoder().encode(orgId)));
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

function finish(checks: Map<CheckName, Check>, receipt?: Verdict['receipt']): Verdict {
  const list = ORDER.map((name) => checks.get(name) ?? { name, status: 'skipped' as const });
  const valid = list.every(
    (c) =>
      c.status === 'passed' ||
      (c.name === 'digest' && c.status === 'skipped') ||
      (c.name === 'organisation' && c.status === 'skipped' && c.reason === ORGANISATION_NOT_VERIFIED_1X),
  );
  return receipt === undefined ? { valid, checks: list } : { valid, checks: list, receipt };
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
  /** schema, digest, commitment, merkle (in that order); digest is skipped without a payload. */
  checks: Check[];
  /** The receipt, typed, when it passed the schema check. */
  receipt?: ReceiptV1;
}

const LOCAL: CheckName[] = ['schema', 'digest', 'commitment', 'merkle'];

// The checks of one receipt that read nothing but the receipt (and the payload), into `checks`.
function runLocalChecks(receipt: unknown, payload: unknown, checks: Map<CheckName, Check>): ReceiptV1 | undefined {
  const { attempt } = recorder(checks);
  try {
    assertReceipt(receipt);
  } catch (err) {
    const fields = err instanceof DomainError && err.fields ? ` (${err.fields.join(', ')})` : '';
    checks.set('schema', { name: 'schema', status: 'failed', reason: `${describe(err)}${fields}` });
    return undefined;
  }
  checks.set('schema', { name: 'schema', status: 'passed' });
  const r: ReceiptV1 = receipt;
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
  attempt('merkle', () => verifyProof(proof.root, r.commitment, proof.path) || 'proof path does not lead to the root');
  return r;
}

/**
 * The checks of docs/formats.md §4 that need no chain, as {@link verifyReceipt} runs them: schema, digest of
 * the payload (when given), commitment recomputed from the record, Merkle path to the root. Synchronous; never
 * throws. The auditor page runs exactly this in the browser, so the document never leaves it.
 */
export function checkReceiptLocally(receipt: unknown, opts: { payload?: unknown } = {}): LocalVerdict {
  const checks = new Map<CheckName, Check>();
  let r: ReceiptV1 | undefined;
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

  let r: ReceiptV1 | undefined;
  try {
    r = runLocalChecks(receipt, 'payload' in opts ? opts.payload : undefined, checks);
  } catch (err) {
    // Defensive: a hostile payload (e.g. a throwing getter) must not escape.
    for (const name of ORDER) if (!checks.has(name)) put(name, false, describe(err));
    return finish(checks);
  }
  if (r === undefined) return finish(checks);
  const { record, proof, anchor } = r;
  const summary = {
    recordId: record.id,
    orgId: record.orgId,
    type: record.type,
    root: proof.root,
    chainId: anchor.chainId,
    registry: anchor.registry,
  };

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
    for (const name of ORDER) if (!checks.has(name)) put(name, false, describe(err));
  }
  return finish(checks, summary);
}
