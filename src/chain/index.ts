// Public surface of the chain layer (ethers v6 adapters). Everything it throws is a ChainError.
export { ChainError, decodeRevert, isChainError, rethrowAsChainError, toChainError } from './errors';
export type { ChainErrorCode, JsonValue } from './errors';
export { connectProvider, fetchChainId, headBlockNumber, makeProvider } from './provider';
export type { ChainProvider, ProviderOptions } from './provider';
export {
  ClaimRegistryReader,
  MemberDirectoryReader,
  NotaryRegistryReader,
  claimRegistryInterface,
  decodeAnchored,
  decodeClaimSettled,
  decodeKeysConsumed,
  decodeKeysReleased,
  encodeAnchor,
  encodeConsume,
  encodeRelease,
  encodeSettle,
  notaryRegistryInterface,
  orgHash,
  simulate,
} from './registries';
export type {
  AnchorInfo,
  AnchoredEventInfo,
  ClaimSettledEventInfo,
  ConsumptionInfo,
  MemberInfo,
  EventLocation,
  KeysEventInfo,
  ReadOptions,
  SimulationResult,
} from './registries';
export {
  ANCHOR_GAS_LIMIT,
  blockHashAt,
  broadcastRaw,
  confirmationsOf,
  consumeGasLimit,
  estimateGasOrFallback,
  getReceiptInfo,
  isStillCanonical,
  latestNonce,
  parseRawTransaction,
  pendingNonce,
  releaseGasLimit,
  SETTLE_GAS_LIMIT,
  resolveFeePolicy,
  revertErrorOf,
  signTransaction,
} from './tx';
export type { FeePolicy, FeePolicyOptions, ReceiptInfo, SignedTx, UnsignedTx } from './tx';
export { DEV_SCRYPT_N, FileKeystore, fromPrivateKeys } from './keystore';
export type { FileKeystoreOptions, KeyInfo, Keystore } from './keystore';
export { anvilBinaryPath, freePort, startAnvil } from './anvil';
export type { AnvilHandle, AnvilOptions } from './anvil';
export {
  anvilReorg,
  fundAccounts,
  mine,
  revertTo,
  setAutomine,
  setBalance,
  setIntervalMining,
  snapshot,
} from './dev-rpc';
