import { checkLineage, isRecordType, isHex32, type Hex32, type ReceiptV1, type RecordType } from '../domain';
import type { RootSource } from './root-source';
import { verifyReceipt, type Verdict } from './verifier';

/** A record with its lineage: every receipt of the ancestry needed to check it. */
export interface LineageBundle {
  version: 1;
  /** Record id of the record the bundle is about. */
  root: string;
  receipts: ReceiptV1[];
  /** Parent commitments deliberately left out of the bundle (e.g. not disclosed to this auditor). */
  external?: Hex32[];
}

export type LinkStatus = 'linked' | 'external' | 'missing';

export interface BundleVerdict {
  valid: boolean;
  receipts: Verdict[];
  links: { child: string; parent: Hex32; status: LinkStatus }[];
  errors: string[];
}

/**
 * Verifies every receipt of a lineage bundle and that each parent commitment is the commitment of a receipt in
 * the bundle (or listed in `external`); with all parents present, the DESIGN §6 lineage rules must hold too.
 * `payloads` maps record ids to payloads to check digests. Never throws.
 */
export async function verifyBundle(
  bundle: unknown,
  opts: { rootSource: RootSource; payloads?: Record<string, unknown>; trustedRegistries?: string[] },
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
    return { valid: false, receipts: [], links: [], errors: ['bundle must be { version: 1, root, receipts: [] }'] };
  }
  const external = new Set((Array.isArray(b.external) ? b.external : []).filter(isHex32));
  const verdicts: Verdict[] = [];
  for (const receipt of b.receipts) {
    const id = (receipt as ReceiptV1 | null)?.record?.id;
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
  return { valid: errors.length === 0 && verdicts.length > 0, receipts: verdicts, links, errors };
}
