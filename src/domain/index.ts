export { DomainError, type DomainErrorCode } from './errors';
export {
  type Hex32,
  isHex32,
  isRecordId,
  toHex32,
  ZERO_HEX32,
  HEX32_PATTERN,
  ADDRESS_PATTERN,
  UUID_PATTERN,
} from './hex';
export { initHashing, isFastHashingReady } from './hashing';
export { canonicalize, digestCanonical, digestPayload, newSalt, MAX_CANONICAL_DEPTH } from './canonicalize';
export { MAX_JSON_DEPTH, walkJson, findPrototypeKey, isPrototypeKey, jsonPointer } from './json-walk';
export { computeCommitment, encodeCommitmentInput, type CommitmentInput } from './commitment';
export {
  buildMerkleTree,
  buildMerkleTreeSync,
  processProof,
  proofFromNodes,
  standardLeafHash,
  verifyProof,
  type MerkleTree,
} from './merkle';
export {
  ReceiptV1Schema,
  ReceiptV2Schema,
  ReceiptSchema,
  ReceiptSignatureSchema,
  type Receipt,
  type ReceiptV1,
  type ReceiptV2,
  assertReceipt,
  isReceipt,
  isReceiptV2,
  receiptErrors,
  MAX_PROOF_LENGTH,
} from './receipt';
export {
  MAX_SIGNATURES,
  SIGNATURE_PATTERN,
  RECORD_SIGNING_NAME,
  RECORD_SIGNING_VERSION,
  RECORD_COMMITMENT_TYPES,
  type RecordSignature,
  type RecordSigningDomain,
  recordSigningDomain,
  recordSigningDigest,
  isCanonicalSignature,
  recoverRecordSigner,
  signaturesDigest,
  sealedLeaf,
  leafValueOf,
} from './signatures';
export {
  RECORD_TYPES,
  type RecordType,
  isRecordType,
  PAYLOAD_SCHEMAS,
  validatePayload,
  assertPayload,
  invoiceIdentity,
  type InvoiceIdentity,
  type PayloadValidation,
  type SecurityIssuancePayload,
  type InvoiceIssuedPayload,
  type ExpenseClaimPayload,
  DecimalSchema,
  AmountSchema,
  PositiveDecimalSchema,
  CurrencySchema,
} from './record-types';
export { allowedParentTypes, parentArity, checkLineage, type LineageCheck, type LineageCode } from './lineage';
export { invoiceKey, invoiceKeyIdentity, normaliseInvoiceField, type InvoiceKeyIdentity } from './invoice-key';
