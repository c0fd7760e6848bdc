import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { MAX_ID_LENGTH, MAX_PARENTS } from './commitment';
import { DomainError } from './errors';
import { ADDRESS_PATTERN, HEX32_PATTERN, UUID_PATTERN, isWellFormed } from './hex';
import { MAX_SIGNATURES, SIGNATURE_PATTERN } from './signatures';

/** Longest Merkle path accepted: OZ trees of up to 2^64 leaves. */
export const MAX_PROOF_LENGTH = 64;
const RECORD_TYPE_PATTERN = '^[a-z][a-z0-9]*(\\.[a-z][a-z0-9]*)*$';

const Hex32 = Type.String({ pattern: HEX32_PATTERN });
const Address = Type.String({ pattern: ADDRESS_PATTERN });
const Uint = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Text = Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH });

const RecordFields = Type.Object(
  {
    id: Type.String({ pattern: UUID_PATTERN }),
    orgId: Text,
    type: Type.String({ minLength: 1, maxLength: 64, pattern: RECORD_TYPE_PATTERN }),
    digest: Hex32,
    salt: Hex32,
    parents: Type.Array(Hex32, { maxItems: MAX_PARENTS, uniqueItems: true }),
  },
  { additionalProperties: false },
);
const ProofFields = Type.Object(
  { root: Hex32, path: Type.Array(Hex32, { maxItems: MAX_PROOF_LENGTH }) },
  { additionalProperties: false },
);
const AnchorFields = Type.Object(
  {
    chainId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    registry: Address,
    txHash: Hex32,
    blockNumber: Uint,
    blockTimestamp: Uint,
    submitter: Address,
    seq: Uint,
  },
  { additionalProperties: false },
);

/** Receipt, version 1 (normative: docs/formats.md §4). Strict: no extra properties anywhere. */
export const ReceiptV1Schema = Type.Object(
  { version: Type.Literal(1), record: RecordFields, commitment: Hex32, proof: ProofFields, anchor: AnchorFields },
  { additionalProperties: false, $id: 'ReceiptV1' },
);

/** One signature of a receipt v2: the signer's address and its 65-byte EIP-712 signature of the commitment. */
export const ReceiptSignatureSchema = Type.Object(
  { signer: Address, signature: Type.String({ pattern: SIGNATURE_PATTERN }) },
  { additionalProperties: false },
);

/**
 * Receipt, version 2 (docs/formats.md "Receipt version 2"): a version 1 receipt with `"version": 2` and the
 * signatures of the organisation's SIGNER keys (1 to MAX_SIGNATURES, distinct signers); its Merkle leaf value is the
 * sealed value of the commitment and the signatures (src/domain/signatures.ts). Strict like version 1.
 */
export const ReceiptV2Schema = Type.Object(
  {
    version: Type.Literal(2),
    record: RecordFields,
    commitment: Hex32,
    proof: ProofFields,
    anchor: AnchorFields,
    signatures: Type.Array(ReceiptSignatureSchema, { minItems: 1, maxItems: MAX_SIGNATURES }),
  },
  { additionalProperties: false, $id: 'ReceiptV2' },
);

/** A receipt of either version (what `assertReceipt` / `isReceipt` accept). */
export const ReceiptSchema = Type.Union([ReceiptV1Schema, ReceiptV2Schema], { $id: 'Receipt' });

export type ReceiptV1 = Static<typeof ReceiptV1Schema>;
export type ReceiptV2 = Static<typeof ReceiptV2Schema>;
export type Receipt = ReceiptV1 | ReceiptV2;

let compiledV1: { Check(x: unknown): boolean } | undefined;
let compiledV2: { Check(x: unknown): boolean } | undefined;
const isV2 = (x: unknown): boolean => isObj(x) && x.version === 2;
const validator = (x: unknown) =>
  isV2(x) ? (compiledV2 ??= Compile(ReceiptV2Schema)) : (compiledV1 ??= Compile(ReceiptV1Schema));

// TypeBox stops inside an object once it has an additionalProperties error, so it cannot list every invalid
// field. This walk mirrors ReceiptV1Schema / ReceiptV2Schema field by field and collects them all; a test checks both agree.
const HEX32_RE = new RegExp(HEX32_PATTERN);
const ADDRESS_RE = new RegExp(ADDRESS_PATTERN);
const UUID_RE = new RegExp(UUID_PATTERN);
const TYPE_RE = new RegExp(RECORD_TYPE_PATTERN);
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isHex = (x: unknown) => typeof x === 'string' && HEX32_RE.test(x);
const isAddr = (x: unknown) => typeof x === 'string' && ADDRESS_RE.test(x);
const isUint = (x: unknown, min = 0) => typeof x === 'number' && Number.isSafeInteger(x) && x >= min;
const SIGNATURE_RE = new RegExp(SIGNATURE_PATTERN);
const isText = (x: unknown, max: number, re?: RegExp) =>
  typeof x === 'string' && x.length >= 1 && x.length <= max && (re === undefined || re.test(x)) && isWellFormed(x);

// A field check returns false when the field is invalid, or records nested paths itself and returns void.
type FieldCheck = (x: unknown, path: string, bad: string[]) => boolean | void;

function checkObject(x: unknown, path: string, fields: Record<string, FieldCheck>, bad: string[]): void {
  if (!isObj(x)) {
    bad.push(path);
    return;
  }
  for (const key of Object.keys(x)) if (!Object.prototype.hasOwnProperty.call(fields, key)) bad.push(`${path}.${key}`);
  for (const [key, check] of Object.entries(fields)) {
    const p = `${path}.${key}`;
    if (!Object.prototype.hasOwnProperty.call(x, key)) bad.push(p);
    else if (check(x[key], p, bad) === false) bad.push(p);
  }
}

function checkHexArray(x: unknown, path: string, bad: string[], max: number, unique: boolean): void {
  if (!Array.isArray(x) || x.length > max) {
    bad.push(path);
    return;
  }
  const seen = new Set<unknown>();
  x.forEach((e, i) => {
    if (!isHex(e) || (unique && seen.has(e))) bad.push(`${path}[${i}]`);
    seen.add(e);
  });
}

const object =
  (fields: Record<string, FieldCheck>): FieldCheck =>
  (v, p, b) =>
    checkObject(v, p, fields, b);

const RECEIPT_FIELDS: Record<string, FieldCheck> = {
  version: (v) => v === 1,
  record: object({
    id: (v) => typeof v === 'string' && UUID_RE.test(v),
    orgId: (v) => isText(v, MAX_ID_LENGTH),
    type: (v) => isText(v, 64, TYPE_RE),
    digest: isHex,
    salt: isHex,
    parents: (v, p, b) => checkHexArray(v, p, b, MAX_PARENTS, true),
  }),
  commitment: isHex,
  proof: object({ root: isHex, path: (v, p, b) => checkHexArray(v, p, b, MAX_PROOF_LENGTH, false) }),
  anchor: object({
    chainId: (v) => isUint(v, 1),
    registry: isAddr,
    txHash: isHex,
    blockNumber: (v) => isUint(v),
    blockTimestamp: (v) => isUint(v),
    submitter: isAddr,
    seq: (v) => isUint(v),
  }),
};

// Signatures of a receipt v2: 1..MAX_SIGNATURES objects {signer, signature}, no signer twice (any case).
function checkSignatures(x: unknown, path: string, bad: string[]): void {
  if (!Array.isArray(x) || x.length < 1 || x.length > MAX_SIGNATURES) {
    bad.push(path);
    return;
  }
  const seen = new Set<string>();
  x.forEach((e, i) => {
    const p = `${path}[${i}]`;
    checkObject(
      e,
      p,
      {
        signer: (v) => isAddr(v),
        signature: (v) => typeof v === 'string' && SIGNATURE_RE.test(v),
      },
      bad,
    );
    if (isObj(e) && typeof e.signer === 'string') {
      const k = e.signer.toLowerCase();
      if (seen.has(k)) bad.push(`${p}.signer`);
      seen.add(k);
    }
  });
}

const RECEIPT_V2_FIELDS: Record<string, FieldCheck> = {
  ...RECEIPT_FIELDS,
  version: (v) => v === 2,
  signatures: checkSignatures,
};

/**
 * Every invalid field path of a would-be receipt (`$` = the receipt itself); [] when valid. `"version": 2` is
 * checked as a receipt v2, anything else as a receipt v1.
 */
export function receiptErrors(x: unknown): string[] {
  const bad: string[] = [];
  checkObject(x, '$', isV2(x) ? RECEIPT_V2_FIELDS : RECEIPT_FIELDS, bad);
  return bad;
}

/** True iff `x` is a valid {@link Receipt} (version 1 or 2). */
export function isReceipt(x: unknown): x is Receipt {
  try {
    return validator(x).Check(x) && receiptErrors(x).length === 0;
  } catch {
    return false;
  }
}

/** True iff `x` is a valid {@link ReceiptV2}. */
export function isReceiptV2(x: unknown): x is ReceiptV2 {
  return isV2(x) && isReceipt(x);
}

/** Throws RECEIPT_INVALID with `fields` = every invalid field path (e.g. `$.anchor.seq`, `$.proof.path[2]`). */
export function assertReceipt(x: unknown): asserts x is Receipt {
  const fields = receiptErrors(x);
  if (fields.length === 0 && validator(x).Check(x)) return;
  throw new DomainError({
    code: 'RECEIPT_INVALID',
    message: `invalid receipt v${isV2(x) ? 2 : 1}: ${fields.length > 0 ? fields.join(', ') : 'schema mismatch'}`,
    fields: fields.length > 0 ? fields : ['$'],
  });
}
