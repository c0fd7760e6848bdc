import { checkLineage, isRecordType, isHex32, type Hex32, type Receipt, type RecordType } from '../domain';
import type { RootSource } from './root-source';
import { verifyReceipt, type Verdict } from './verifier';
import { evaluateCosigning, policySourceOf, type CosignPolicySource, type CosigningStatus } from './cosign-policy';

/** A record with its lineage: every receipt of the ancestry needed to check it. */
export interface LineageBundle {
  version: 1;
  /** Record id of the record the bundle is about. */
  root: string;
  receipts: Receipt[];
  /** Parent commitments deliberately left out of the bundle (e.g. not disclosed to this auditor). */
  external?: Hex32[];
  /**
   * What the service says of the co-signing policies of the bundle's records (informative: verifyBundle reads the
   * policies from the directory and decides from the receipts alone).
   */
  cosigning?: CosigningStatus[];
}

export type LinkStatus = 'linked' | 'external' | 'missing';

export interface BundleVerdict {
  valid: boolean;
  receipts: Verdict[];
  links: { child: string; parent: Hex32; status: LinkStatus }[];
  /**
   * Bundle-level checks. `cosigning`: every record of the bundle whose type has a co-signing policy in the directory
   * carries a valid signed co-signature of each organisation the policy names (skipped, with the reason, when no
   * policy source is given).
   */
  checks: { name: 'cosigning'; status: 'passed' | 'failed' | 'skipped'; reason?: string }[];
  /** Per record with a policy: what it needs and which co-signatures were found. */
  cosigning: CosigningStatus[];
  errors: string[];
}

/**
 * Verifies every receipt of a lineage bundle and that each parent commitment is the commitment of a receipt in
 * the bundle (or listed in `external`); with all parents present, the DESIGN §6 lineage rules must hold too.
 * `payloads` maps record ids to payloads to check digests. Never throws.
 */
export async function verifyBundle(
  bundle: unknown,
  opts: {
    rootSource: RootSource;
    payloads?: Record<string, unknown>;
    trustedRegistries?: string[];
    /** Co-signing policies (default: the root source's own, when it has `getCosignPolicy`). */
    policySource?: CosignPolicySource;
  },
): Promise<BundleVerdict> {
  const errors: string[] = [];
  const b = bundle as Partial<LineageBundle> | null;
  if (
    typeof b !== 'object' ||
    b === null ||
    b.version !== 1 ||
    !Array.isArray(b.receipts) ||
    typeof b.root !== 'string'
  ) {
    return {
      valid: false,
      receipts: [],
      links: [],
      checks: [],
      cosigning: [],
      errors: ['bundle must be { version: 1, root, receipts: [] }'],
    };
  }
  const external = new Set((Array.isArray(b.external) ? b.external : []).filter(isHex32));
  const verdicts: Verdict[] = [];
  for (const receipt of b.receipts) {
    const id = (receipt as Receipt | null)?.record?.id;
    const payload =
      typeof id === 'string' && opts.payloads && Object.prototype.hasOwnProperty.call(opts.payloads, id)
        ? opts.payloads[id]
        : undefined;
    verdicts.push(
      await verifyReceipt(receipt, { rootSource: opts.rootSource, payload, trustedRegistries: opts.trustedRegistries }),
    );
  }
  const valid = verdicts.map((v) => v.valid);
  // Only receipts that passed the schema check take part in linking.
  const good = b.receipts.filter((_, i) => verdicts[i]!.checks[0]!.status === 'passed');
  const byCommitment = new Map(good.map((r) => [r.commitment, r]));
  const ids = new Set<string>();
  for (const r of good) {
    if (ids.has(r.record.id)) errors.push(`record ${r.record.id} appears twice`);
    ids.add(r.record.id);
  }
  if (!ids.has(b.root)) errors.push(`root record ${b.root} is not in the bundle`);
  const links: BundleVerdict['links'] = [];
  for (const r of good) {
    const parents: { type: RecordType; commitment: string }[] = [];
    for (const parent of r.record.parents) {
      const p = byCommitment.get(parent);
      const status: LinkStatus = p ? 'linked' : external.has(parent) ? 'external' : 'missing';
      links.push({ child: r.record.id, parent, status });
      if (status === 'missing') errors.push(`parent ${parent} of ${r.record.id} is not in the bundle`);
      if (p && isRecordType(p.record.type)) parents.push({ type: p.record.type, commitment: parent });
    }
    if (parents.length === r.record.parents.length && isRecordType(r.record.type)) {
      const lineage = checkLineage(r.record.type, parents);
      if (!lineage.ok) errors.push(`${r.record.id}: ${lineage.code}: ${lineage.message}`);
    }
  }
  valid.forEach((v, i) => {
    if (!v) errors.push(`receipt ${i} is not valid`);
  });
  const { check, cosigning } = await checkCosigning(
    b.receipts,
    verdicts,
    opts.policySource ?? policySourceOf(opts.rootSource),
  );
  if (check.status === 'failed') errors.push(`cosigning: ${check.reason}`);
  return {
    valid: errors.length === 0 && verdicts.length > 0,
    receipts: verdicts,
    links,
    checks: [check],
    cosigning,
    errors,
  };
}

/** The `cosigning` check: the policy of every valid receipt's type, against the bundle's valid co-signatures. */
async function checkCosigning(
  receipts: unknown[],
  verdicts: Verdict[],
  policies: CosignPolicySource | undefined,
): Promise<{ check: BundleVerdict['checks'][number]; cosigning: CosigningStatus[] }> {
  // Only receipts that passed the schema check are read; a co-signature counts only when it verified.
  const good = receipts
    .map((r, i) => ({ receipt: r as Receipt, valid: verdicts[i]!.valid, schema: verdicts[i]!.checks[0]?.status }))
    .filter((x) => x.schema === 'passed');
  const candidates = good.filter((x) => x.valid && x.receipt.record.type !== 'cosignature');
  if (!policies) {
    return {
      check: { name: 'cosigning', status: 'skipped', reason: 'no co-signing policy source (directory) given' },
      cosigning: [],
    };
  }
  const cosignatures = good.filter((x) => x.receipt.record.type === 'cosignature');
  const cosigning: CosigningStatus[] = [];
  try {
    for (const { receipt } of candidates) {
      const required = await policies.getCosignPolicy({
        chainId: receipt.anchor.chainId,
        registry: receipt.anchor.registry,
        recordType: receipt.record.type,
      });
      if (!required.length) continue;
      cosigning.push(
        evaluateCosigning(
          { id: receipt.record.id, type: receipt.record.type, commitment: receipt.commitment },
          required,
          cosignatures,
        ),
      );
    }
  } catch (err) {
    return {
      check: {
        name: 'cosigning',
        status: 'failed',
        reason: `the co-signing policies could not be read: ${err instanceof Error ? err.message : String(err)}`,
      },
      cosigning,
    };
  }
  const unmet = cosigning.filter((c) => !c.met);
  if (unmet.length) {
    return {
      check: {
        name: 'cosigning',
        status: 'failed',
        reason: unmet
          .map((c) => `${c.type} ${c.record} lacks a valid co-signature of ${c.missing.join(', ')}`)
          .join('; '),
      },
      cosigning,
    };
  }
  return {
    check: {
      name: 'cosigning',
      status: 'passed',
      ...(cosigning.length ? {} : { reason: 'no record of the bundle has a co-signing policy' }),
    },
    cosigning,
  };
}
