/** What the use cases need from the chain (implemented by src/chain/gateway.ts). */
import { keccak256, toUtf8Bytes } from 'ethers';

/** `org` as the directory and the registries name an organisation: keccak256(bytes(orgId)), lowercase hex. */
export function orgHashOf(orgId: string): string {
  return keccak256(toUtf8Bytes(orgId)).toLowerCase();
}

export interface AnchorState {
  /** 0: never anchored. */
  timestamp: number;
  blockNumber: number;
  submitter: string;
  seq: number;
  prev: string;
  leafCount: number;
  /** keccak256(bytes(orgId)) of the organisation the root was anchored for (lowercase bytes32). */
  org: string;
}

export interface AnchoredEvent {
  root: string;
  org: string;
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

/**
 * The closed set of chain failure codes (src/chain/errors.ts documents each). The use cases switch on these and
 * nothing else: a comparison with a code not listed here does not compile.
 */
export type ChainFailureCode =
  | 'CHAIN_UNREACHABLE'
  | 'CHAIN_ID_MISMATCH'
  | 'BAD_RESPONSE'
  | 'INVALID_ARGUMENT'
  | 'TX_REJECTED'
  | 'TX_REVERTED'
  | 'TX_UNDERPRICED'
  | 'NONCE_TOO_LOW'
  | 'INSUFFICIENT_FUNDS'
  | 'NOT_AUTHORIZED'
  | 'PAUSED'
  | 'ZERO_ROOT'
  | 'EMPTY_BATCH'
  | 'ROOT_ALREADY_ANCHORED'
  | 'UNEXPECTED_PREV'
  | 'EMPTY_KEYS'
  | 'TOO_MANY_KEYS'
  | 'ZERO_CLAIM'
  | 'DUPLICATE_KEY'
  | 'KEY_ALREADY_CONSUMED'
  | 'CLAIM_EXISTS'
  | 'UNKNOWN_CLAIM'
  | 'NOT_CONSUMER'
  | 'CLAIM_SETTLED';

/** A chain failure with a stable code. */
export interface ChainFailure {
  code: ChainFailureCode;
  message: string;
  details: Record<string, unknown>;
}

/**
 * What a chain adapter throws: a failure of the closed set, with the original error (the node's, ethers' or the
 * network's) kept as `cause`. The chain layer's ChainError is one (src/chain/errors.ts).
 */
export class ChainFailureError extends Error implements ChainFailure {
  readonly code: ChainFailureCode;
  readonly details: Record<string, unknown>;
  constructor(opts: { code: ChainFailureCode; message: string; details?: Record<string, unknown>; cause?: unknown }) {
    super(opts.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.details = opts.details ?? {};
  }
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
  /** The head of organisation `org`'s chain (`org` = keccak256(bytes(orgId)), see orgHashOf), across rotations. */
  headOf(org: string): Promise<{ root: string; seq: number }>;
  anchorOf(root: string): Promise<AnchorState>;
  /** The Anchored event of `root` (searching logs), or null. */
  findAnchored(root: string): Promise<AnchoredEvent | null>;

  signAnchor(from: string, a: { root: string; prev: string; leafCount: number }, nonce: number): Promise<SignedChainTx>;
  signConsume(from: string, keys: string[], claim: string, nonce: number): Promise<SignedChainTx>;
  signRelease(from: string, claim: string, nonce: number): Promise<SignedChainTx>;
  /** `settle(claim)`: the claim was reimbursed, its keys stay consumed for ever (it can never be released). */
  signSettle(from: string, claim: string, nonce: number): Promise<SignedChainTx>;
  /**
   * Would an anchor from `from` go through now? Checks what no retry fixes — the registry is paused (PAUSED),
   * the account is no active ANCHORER key in the directory (NOT_AUTHORIZED), it cannot pay the gas (INSUFFICIENT_FUNDS) — with an
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
  consumptionOf(key: string): Promise<{
    consumer: string;
    /** The consuming organisation (keccak256 of its id). */
    org: string;
    claim: string;
    timestamp: number;
    blockNumber: number;
    /** The claim was settled: its keys can never be released. */
    settled: boolean;
  }>;
  /** Is `err` a chain failure with this code? */
  failureOf(err: unknown): ChainFailure | null;
}
