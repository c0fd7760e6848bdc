import { RECORD_TYPES, isRecordType, type RecordType } from './record-types';

// DESIGN §6 lineage rules, as data: which parent types a record may name, and how many parents it needs.
const RULES: Record<RecordType, { parents: readonly RecordType[]; min: number; max: number }> = {
  'security.issuance': { parents: [], min: 0, max: 0 },
  'security.allocation': { parents: ['security.issuance'], min: 1, max: 1 },
  'security.transfer': { parents: ['security.issuance', 'security.transfer'], min: 1, max: 1 },
  'security.redemption': { parents: ['security.issuance'], min: 1, max: 1 },
  'invoice.issued': { parents: [], min: 0, max: 0 },
  'invoice.voided': { parents: ['invoice.issued'], min: 1, max: 1 },
  'invoice.paid': { parents: ['invoice.issued'], min: 1, max: 1 },
  'expense.claim': { parents: ['invoice.issued'], min: 1, max: Number.POSITIVE_INFINITY },
  'expense.approved': { parents: ['expense.claim'], min: 1, max: 1 },
  'expense.rejected': { parents: ['expense.claim'], min: 1, max: 1 },
  'expense.reimbursed': { parents: ['expense.approved'], min: 1, max: 1 },
  document: { parents: RECORD_TYPES, min: 0, max: Number.POSITIVE_INFINITY },
  // Exactly one record of any type but another co-signature, of any organisation that the co-signer may read or
  // that the co-signing policy of the record's type names (the read right is checked where parents are resolved).
  cosignature: { parents: RECORD_TYPES.filter((t) => t !== 'cosignature'), min: 1, max: 1 },
};

export type LineageCode =
  'LINEAGE_UNKNOWN_TYPE' | 'LINEAGE_PARENT_COUNT' | 'LINEAGE_PARENT_TYPE' | 'LINEAGE_DUPLICATE_PARENT';
export type LineageCheck = { ok: true } | { ok: false; code: LineageCode; message: string };

/** Parent types a record of `type` may name (empty: no parents allowed). */
export function allowedParentTypes(type: RecordType): readonly RecordType[] {
  return isRecordType(type) ? RULES[type].parents : [];
}

/** How many parents a record of `type` must name (`max` is Infinity when unbounded). */
export function parentArity(type: RecordType): { min: number; max: number } {
  if (!isRecordType(type)) return { min: 0, max: 0 };
  const { min, max } = RULES[type];
  return { min, max };
}

/**
 * Checks a record's parents against the DESIGN §6 rules. Parents carry their type; pass `id`/`commitment`
 * too and duplicates are refused (LINEAGE_DUPLICATE_PARENT).
 */
export function checkLineage(
  type: RecordType,
  parents: readonly { type: RecordType; id?: string; commitment?: string }[],
): LineageCheck {
  if (!isRecordType(type))
    return { ok: false, code: 'LINEAGE_UNKNOWN_TYPE', message: `unknown record type ${String(type)}` };
  const rule = RULES[type];
  if (parents.length < rule.min || parents.length > rule.max) {
    const want =
      rule.min === rule.max
        ? `exactly ${rule.min}`
        : rule.max === Infinity
          ? `at least ${rule.min}`
          : `${rule.min}..${rule.max}`;
    return {
      ok: false,
      code: 'LINEAGE_PARENT_COUNT',
      message: `${type} needs ${want} parent(s) (${rule.parents.join(' | ') || 'none'}), got ${parents.length}`,
    };
  }
  const seen = new Set<string>();
  for (const [i, p] of parents.entries()) {
    if (!rule.parents.includes(p.type)) {
      return {
        ok: false,
        code: 'LINEAGE_PARENT_TYPE',
        message: `${type} cannot have a ${String(p.type)} parent (parents[${i}]); allowed: ${rule.parents.join(' | ')}`,
      };
    }
    const key = p.commitment ?? p.id;
    if (key !== undefined) {
      if (seen.has(key))
        return { ok: false, code: 'LINEAGE_DUPLICATE_PARENT', message: `parent ${key} is named twice` };
      seen.add(key);
    }
  }
  return { ok: true };
}
