export {
  verifyReceipt,
  checkReceiptLocally,
  isOrganisationVerified,
  orgHashOf,
  ORGANISATION_NOT_VERIFIED_1X,
} from './verifier';
export type { Verdict, Check, CheckName, CheckStatus, VerifyReceiptOptions, LocalVerdict } from './verifier';
export { verifyBundle } from './bundle';
export type { LineageBundle, BundleVerdict, LinkStatus } from './bundle';
export { MemoryRootSource } from './root-source';
export type { RootSource, AnchorRecord, AnchorRef, AnchorTransaction } from './root-source';
export { ChainRootSource, NOTARY_REGISTRY_READ_ABI, NOTARY_REGISTRY_V2_READ_ABI } from './chain-root-source';
export { CachingRootSource } from './caching-root-source';
export type { CachingRootSourceOptions } from './caching-root-source';
export type { ChainRootSourceOptions } from './chain-root-source';
export { VerifierError } from './errors';
export type { VerifierErrorCode } from './errors';
