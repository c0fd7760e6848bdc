/** What the use cases need from the chain (implemented by src/chain/gateway.ts). */

export interface AnchorState {
  /** 0: never anchored. */
  timestamp: number;
  blockNumber: number;
  submitter: string;
  seq: number;
  prev: string;
  leafCount: number;
}

export interface AnchoredEvent {
  root: string;
  submitter: string;
  seq: number;
  prev: string;
  leafCount: number;
  blockNumber: number;
  blockHash: string;
  transactionHash: string;
}

export interface TxReceipt {
  status: 0 | 1;
  blockNumber: number;
  blockHash: string;
}

export interface SignedChainTx {
  raw: string;
  hash: string;
  nonce: number;
}

/** A chain failure with a stable code (mirrors src/chain ChainError codes). */
export interface ChainFailure {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export interface ChainPort {
  readonly chainId: number;
  /** NotaryRegistry address (checksummed). */
  readonly registry: string;
  /** ClaimRegistry address (checksummed). */
  readonly claimRegistry: string;

  blockNumber(): Promise<number>;
  blockHashAt(blockNumber: number): Promise<string | null>;
  pendingNonce(address: string): Promise<number>;
  headOf(submitter: string): Promise<{ root: string; seq: number }>;
  anchorOf(root: string): Promise<AnchorState>;
  /** The Anchored event of `root` (searching logs), or null. */
  findAnchored(root: string): Promise<AnchoredEvent | null>;

  signAnchor(from: string, a: { root: string; prev: string; leafCount: number }, nonce: number): Promise<SignedChainTx>;
  signConsume(from: string, keys: string[], claim: string, nonce: number): Promise<SignedChainTx>;
  signRelease(from: string, claim: string, nonce: number): Promise<SignedChainTx>;
  /**
   * Would an anchor from `from` go through now? Checks what no retry fixes — the registry is paused (PAUSED),
   * the account lacks ANCHORER_ROLE (NOT_AUTHORIZED), it cannot pay the gas (INSUFFICIENT_FUNDS) — with an
   * eth_call of the anchor (`a`, else a placeholder root) and a balance read. Null when none applies.
   */
  anchorPrecheck(from: string, a?: { root: string; prev: string; leafCount: number }): Promise<ChainFailure | null>;
  /** eth_call of a consume from `from`: null when it would succeed, else the decoded failure. */
  simulateConsume(from: string, keys: string[], claim: string): Promise<ChainFailure | null>;
  /** Idempotent broadcast of a stored signed transaction. */
  broadcast(raw: string): Promise<void>;
  receipt(hash: string): Promise<TxReceipt | null>;
  /** Why a mined transaction reverted. */
  revertReason(hash: string): Promise<ChainFailure | null>;
  consumptionOf(key: string): Promise<{ consumer: string; claim: string; timestamp: number; blockNumber: number }>;
  /** Is `err` a chain failure with this code? */
  failureOf(err: unknown): ChainFailure | null;
}
