export {
  verifyReceipt,
  checkReceiptLocally,
  isOrganisationVerified,
  orgHashOf,
  ORGANISATION_NOT_VERIFIED_1X,
  isSignerActiveAt,
} from './verifier';
export type {
  Verdict,
  Check,
  CheckName,
  CheckStatus,
  VerifyReceiptOptions,
  LocalVerdict,
  VerdictSigner,
} from './verifier';
export { verifyBundle } from './bundle';
export type { LineageBundle, BundleVerdict, LinkStatus } from './bundle';
export { MemoryRootSource, KEY_KIND_ANCHORER, KEY_KIND_SIGNER } from './root-source';
export type { RootSource, AnchorRecord, AnchorRef, AnchorTransaction, MemberKey, MemberKeyRef } from './root-source';
export {
  ChainRootSource,
  MEMBER_DIRECTORY_READ_ABI,
  NOTARY_REGISTRY_READ_ABI,
  NOTARY_REGISTRY_V2_READ_ABI,
} from './chain-root-source';
export { CachingRootSource } from './caching-root-source';
export type { CachingRootSourceOptions } from './caching-root-source';
export type { ChainRootSourceOptions } from './chain-root-source';
export { VerifierError } from './errors';
export type { VerifierErrorCode } from './errors';
