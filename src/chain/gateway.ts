import { ZeroHash, formatEther, getAddress, id as topicId } from 'ethers';
import type {
  AnchoredEvent,
  AnchorState,
  ChainFailure,
  ChainPort,
  SignedChainTx,
  TxReceipt,
} from '../service/chain-port';
import { ChainError, toChainError } from './errors';
import type { ChainProvider } from './provider';
import { headBlockNumber } from './provider';
import {
  ClaimRegistryReader,
  NotaryRegistryReader,
  decodeAnchored,
  encodeAnchor,
  encodeConsume,
  encodeRelease,
  encodeSettle,
  simulate,
} from './registries';
import type { Keystore } from './keystore';
import {
  ANCHOR_GAS_LIMIT,
  blockHashAt,
  broadcastRaw,
  consumeGasLimit,
  getReceiptInfo,
  pendingNonce,
  releaseGasLimit,
  revertErrorOf,
  SETTLE_GAS_LIMIT,
  signTransaction,
  type FeePolicy,
} from './tx';

export interface GatewayOptions {
  provider: ChainProvider;
  chainId: number;
  registry: string;
  claimRegistry: string;
  keystore: Keystore;
  fee: FeePolicy;
  /** First block to search for Anchored logs (the registry's deployment block). */
  fromBlock?: number;
}

const ANCHORED_TOPIC = topicId('Anchored(bytes32,bytes32,uint64,address,bytes32,uint32)');
/** A root no batch has: the pre-check's anchor call before a batch exists (it only reaches the key and pause checks). */
const PRECHECK_ROOT = topicId('ledger-notary anchor pre-check');

function failure(err: ChainError): ChainFailure {
  return { code: err.code, message: err.message, details: err.details as Record<string, unknown> };
}

/** The ChainPort over ethers v6: offline signing with keystore wallets, idempotent broadcast, registry reads. */
export class ChainGateway implements ChainPort {
  readonly chainId: number;
  readonly registry: string;
  readonly claimRegistry: string;
  private readonly notary: NotaryRegistryReader;
  private readonly claims: ClaimRegistryReader;

  constructor(private readonly opts: GatewayOptions) {
    this.chainId = opts.chainId;
    this.registry = getAddress(opts.registry);
    this.claimRegistry = getAddress(opts.claimRegistry);
    this.notary = new NotaryRegistryReader(opts.provider, this.registry);
    this.claims = new ClaimRegistryReader(opts.provider, this.claimRegistry);
  }

  get provider(): ChainProvider {
    return this.opts.provider;
  }

  blockNumber(): Promise<number> {
    return headBlockNumber(this.opts.provider);
  }
  blockHashAt(n: number): Promise<string | null> {
    return blockHashAt(this.opts.provider, n);
  }
  pendingNonce(address: string): Promise<number> {
    return pendingNonce(this.opts.provider, address);
  }
  headOf(org: string) {
    return this.notary.headOf(org);
  }
  anchorOf(root: string): Promise<AnchorState> {
    return this.notary.anchorOf(root);
  }

  async findAnchored(root: string): Promise<AnchoredEvent | null> {
    let logs;
    try {
      logs = await this.opts.provider.getLogs({
        address: this.registry,
        topics: [ANCHORED_TOPIC, root],
        fromBlock: this.opts.fromBlock ?? 0,
        toBlock: 'latest',
      });
    } catch (err) {
      throw toChainError(err);
    }
    const [ev] = decodeAnchored(logs, this.registry);
    return ev ? { ...ev } : null;
  }

  private async sign(from: string, to: string, data: string, nonce: number, gasLimit: bigint): Promise<SignedChainTx> {
    const wallet = await this.opts.keystore.load(from);
    const s = signTransaction(wallet, { chainId: this.chainId, to, data, nonce, gasLimit, fee: this.opts.fee });
    return { raw: s.raw, hash: s.hash, nonce };
  }
  signAnchor(from: string, a: { root: string; prev: string; leafCount: number }, nonce: number) {
    return this.sign(from, this.registry, encodeAnchor(a.root, a.prev, a.leafCount), nonce, ANCHOR_GAS_LIMIT);
  }
  signConsume(from: string, keys: string[], claim: string, nonce: number) {
    return this.sign(from, this.claimRegistry, encodeConsume(keys, claim), nonce, consumeGasLimit(keys.length));
  }
  signRelease(from: string, claim: string, nonce: number) {
    return this.sign(from, this.claimRegistry, encodeRelease(claim), nonce, releaseGasLimit(16));
  }
  signSettle(from: string, claim: string, nonce: number) {
    return this.sign(from, this.claimRegistry, encodeSettle(claim), nonce, SETTLE_GAS_LIMIT);
  }
  async anchorPrecheck(
    from: string,
    a?: { root: string; prev: string; leafCount: number },
  ): Promise<ChainFailure | null> {
    const call = a ?? { root: PRECHECK_ROOT, prev: ZeroHash, leafCount: 1 };
    const data = encodeAnchor(call.root, call.prev, call.leafCount);
    const r = await simulate(this.opts.provider, { from, to: this.registry, data });
    // Anything else the call says (UNEXPECTED_PREV of the placeholder, …) is the sent transaction's business.
    if (!r.ok && r.error.code === 'PAUSED') {
      return {
        code: 'PAUSED',
        message: `NotaryRegistry ${this.registry} is paused: anchors resume once a pauser calls unpause()`,
        details: { registry: this.registry },
      };
    }
    if (!r.ok && r.error.code === 'NOT_AUTHORIZED') {
      return {
        code: 'NOT_AUTHORIZED',
        message: `chain account ${getAddress(from)} is no active ANCHORER key in the MemberDirectory of NotaryRegistry ${this.registry}: the directory's registrar must add it (addKey; with DEPLOYER_KEY set the service adds it when it creates the account)`,
        details: { account: getAddress(from), registry: this.registry, kind: 'ANCHORER' },
      };
    }
    const fee = this.opts.fee;
    const price = fee.type === 0 ? fee.gasPrice : fee.maxFeePerGas;
    const required = ANCHOR_GAS_LIMIT * price;
    if (required === 0n) return null; // a zero-gas chain: nothing to pay
    let balance: bigint;
    try {
      balance = await this.opts.provider.getBalance(getAddress(from));
    } catch (err) {
      throw toChainError(err);
    }
    if (balance >= required) return null;
    return {
      code: 'INSUFFICIENT_FUNDS',
      message: `chain account ${getAddress(from)} holds ${formatEther(balance)} ETH; an anchor needs up to ${formatEther(required)} (${ANCHOR_GAS_LIMIT} gas at ${price} wei): fund the account, let the service fund it (DEPLOYER_KEY, FUND_AMOUNT), or use a zero-gas chain`,
      details: { account: getAddress(from), balance: balance.toString(), required: required.toString() },
    };
  }
  async simulateConsume(from: string, keys: string[], claim: string): Promise<ChainFailure | null> {
    const r = await simulate(this.opts.provider, { from, to: this.claimRegistry, data: encodeConsume(keys, claim) });
    return r.ok ? null : failure(r.error);
  }
  async broadcast(raw: string): Promise<void> {
    await broadcastRaw(this.opts.provider, raw);
  }
  async receipt(hash: string): Promise<TxReceipt | null> {
    const r = await getReceiptInfo(this.opts.provider, hash);
    return r ? { status: r.status, blockNumber: r.blockNumber, blockHash: r.blockHash } : null;
  }
  async revertReason(hash: string): Promise<ChainFailure | null> {
    const e = await revertErrorOf(this.opts.provider, hash);
    return e ? failure(e) : null;
  }
  consumptionOf(key: string) {
    return this.claims.consumptionOf(key);
  }
  failureOf(err: unknown): ChainFailure | null {
    if (err instanceof ChainError) return failure(err);
    return null;
  }
}
