import { Contract, Interface, JsonRpcProvider, type Provider } from 'ethers';
import type { Hex32 } from '../domain';
import { VerifierError, verifierError } from './errors';
import type { AnchorRecord, AnchorRef, AnchorTransaction, RootSource } from './root-source';

/**
 * The part of INotaryRegistry (docs/formats.md §6, normative) the verifier reads, registries 1.x and 2.x alike:
 * `anchorOf` is read as the 1.x prefix of the record (2.x appends `org`, a static field: the prefix decodes the
 * same), and the two `Anchored` events have different topics (2.x indexes the organisation).
 */
export const NOTARY_REGISTRY_READ_ABI = [
  'function anchorOf(bytes32 root) view returns (tuple(uint64 timestamp, uint64 blockNumber, address submitter, uint64 seq, bytes32 prev, uint32 leafCount))',
  'event Anchored(bytes32 indexed root, address indexed submitter, uint64 indexed seq, bytes32 prev, uint32 leafCount)',
  'event Anchored(bytes32 indexed root, bytes32 indexed org, uint64 indexed seq, address submitter, bytes32 prev, uint32 leafCount)',
] as const;

// Parsed on first use: importing the verifier does no work.
let parsedAbi: Interface | undefined;
const registryInterface = (): Interface => (parsedAbi ??= new Interface(NOTARY_REGISTRY_READ_ABI));

export interface ChainRootSourceOptions {
  /** Registry addresses the auditor trusts (any case); unset: any registry named by a receipt. */
  trustedRegistries?: string[];
}

/** {@link RootSource} reading NotaryRegistry through an ethers v6 provider. Read-only: no signer. */
export class ChainRootSource implements RootSource {
  private readonly provider: Provider;
  private readonly trusted?: ReadonlySet<string>;
  private chainId?: Promise<number>;
  private readonly contracts = new Map<string, Contract>();

  constructor(connection: { rpcUrl: string } | { provider: Provider }, options: ChainRootSourceOptions = {}) {
    if ('provider' in connection && connection.provider) this.provider = connection.provider;
    else if ('rpcUrl' in connection && typeof connection.rpcUrl === 'string') {
      this.provider = new JsonRpcProvider(connection.rpcUrl);
    } else
      throw new VerifierError({
        code: 'INVALID_ARGUMENT',
        message: 'ChainRootSource needs { rpcUrl } or { provider }',
      });
    if (options.trustedRegistries) this.trusted = new Set(options.trustedRegistries.map((a) => a.toLowerCase()));
  }

  private async checkRef(chainId: number, registry: string): Promise<void> {
    if (!/^0x[0-9a-fA-F]{40}$/.test(registry)) {
      throw new VerifierError({ code: 'INVALID_ARGUMENT', message: `registry ${registry} is not an address` });
    }
    if (this.trusted && !this.trusted.has(registry.toLowerCase())) {
      throw new VerifierError({
        code: 'REGISTRY_NOT_TRUSTED',
        message: `registry ${registry} is not a trusted registry`,
      });
    }
    this.chainId ??= this.provider.getNetwork().then((n) => Number(n.chainId));
    let actual: number;
    try {
      actual = await this.chainId;
    } catch (err) {
      this.chainId = undefined; // retry next time
      verifierError(err, 'ROOT_SOURCE_UNAVAILABLE', 'cannot read the chain id');
    }
    if (actual !== chainId) {
      throw new VerifierError({
        code: 'CHAIN_ID_MISMATCH',
        message: `the receipt names chain ${chainId} but the provider is on chain ${actual}`,
      });
    }
  }

  /** One contract object per registry address (building one per call costs more than the call's encoding). */
  private registry(address: string): Contract {
    const key = address.toLowerCase();
    let c = this.contracts.get(key);
    if (!c) {
      c = new Contract(address, registryInterface(), this.provider);
      if (this.contracts.size >= 64) this.contracts.clear();
      this.contracts.set(key, c);
    }
    return c;
  }

  async getAnchor(ref: AnchorRef): Promise<AnchorRecord | null> {
    await this.checkRef(ref.chainId, ref.registry);
    let a: { timestamp: bigint; blockNumber: bigint; submitter: string; seq: bigint; prev: string; leafCount: bigint };
    try {
      a = await this.registry(ref.registry).getFunction('anchorOf').staticCall(ref.root);
    } catch (err) {
      verifierError(err, 'CHAIN_CALL_FAILED', `anchorOf(${ref.root}) failed on ${ref.registry}`);
    }
    if (a.timestamp === 0n) return null;
    return {
      timestamp: Number(a.timestamp),
      blockNumber: Number(a.blockNumber),
      submitter: a.submitter,
      seq: Number(a.seq),
      prev: a.prev.toLowerCase(),
      leafCount: Number(a.leafCount),
    };
  }

  async getAnchorTransaction(ref: {
    chainId: number;
    registry: string;
    txHash: Hex32;
  }): Promise<AnchorTransaction | null> {
    await this.checkRef(ref.chainId, ref.registry);
    let receipt: Awaited<ReturnType<Provider['getTransactionReceipt']>>;
    try {
      receipt = await this.provider.getTransactionReceipt(ref.txHash);
    } catch (err) {
      verifierError(err, 'CHAIN_CALL_FAILED', `cannot read transaction ${ref.txHash}`);
    }
    if (receipt === null) return null;
    const registry = ref.registry.toLowerCase();
    const roots: Hex32[] = [];
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== registry) continue;
      const parsed = (() => {
        try {
          return registryInterface().parseLog({ topics: [...log.topics], data: log.data });
        } catch {
          return null;
        }
      })();
      if (parsed?.name === 'Anchored') roots.push(String(parsed.args[0]).toLowerCase());
    }
    return { blockNumber: receipt.blockNumber, status: receipt.status ?? 0, roots };
  }
}
