import { Contract, Interface, JsonRpcProvider, type Provider } from 'ethers';
import type { Hex32 } from '../domain';
import { VerifierError, verifierError } from './errors';
import type { AnchorRecord, AnchorRef, AnchorTransaction, MemberKey, MemberKeyRef, RootSource } from './root-source';

/**
 * The part of INotaryRegistry (docs/formats.md §6, normative) the verifier reads on a registry 1.x; the two
 * `Anchored` events (1.x and 2.x) have different topics (2.x indexes the organisation), so both are listed.
 */
export const NOTARY_REGISTRY_READ_ABI = [
  'function anchorOf(bytes32 root) view returns (tuple(uint64 timestamp, uint64 blockNumber, address submitter, uint64 seq, bytes32 prev, uint32 leafCount))',
  'event Anchored(bytes32 indexed root, address indexed submitter, uint64 indexed seq, bytes32 prev, uint32 leafCount)',
  'event Anchored(bytes32 indexed root, bytes32 indexed org, uint64 indexed seq, address submitter, bytes32 prev, uint32 leafCount)',
] as const;

/** What a registry 2.x adds to the read ABI: the anchor's organisation, and `version()` to tell the two apart. */
export const NOTARY_REGISTRY_V2_READ_ABI = [
  'function anchorOf(bytes32 root) view returns (tuple(uint64 timestamp, uint64 blockNumber, address submitter, uint64 seq, bytes32 prev, uint32 leafCount, bytes32 org))',
  'function version() view returns (string)',
  'function directory() view returns (address)',
] as const;

/** The part of IMemberDirectory (docs/formats.md §6, normative) the verifier reads to check a receipt v2's signers. */
export const MEMBER_DIRECTORY_READ_ABI = [
  'function memberOf(address account) view returns (bytes32 org, uint8 kind, uint64 since, uint64 until)',
  'function isActive(address account, bytes32 org, uint8 kind, uint64 blockNumber) view returns (bool)',
] as const;

// Parsed on first use: importing the verifier does no work.
let parsedAbi: Interface | undefined;
let parsedV2Abi: Interface | undefined;
const registryInterface = (): Interface => (parsedAbi ??= new Interface(NOTARY_REGISTRY_READ_ABI));
const registryV2Interface = (): Interface => (parsedV2Abi ??= new Interface(NOTARY_REGISTRY_V2_READ_ABI));
let parsedDirectoryAbi: Interface | undefined;
const directoryInterface = (): Interface => (parsedDirectoryAbi ??= new Interface(MEMBER_DIRECTORY_READ_ABI));

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
  private readonly versions = new Map<string, Promise<1 | 2>>();
  private readonly directories = new Map<string, Promise<string>>();

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

  /** The registry's major version from its `version()` ("1.x" or "2.x"); anything else is refused. */
  private majorVersion(address: string): Promise<1 | 2> {
    const key = address.toLowerCase();
    let v = this.versions.get(key);
    if (!v) {
      v = (async () => {
        let version: string;
        try {
          const c = new Contract(address, registryV2Interface(), this.provider);
          version = String(await c.getFunction('version').staticCall());
        } catch (err) {
          verifierError(err, 'CHAIN_CALL_FAILED', `version() failed on ${address}`);
        }
        if (version.startsWith('1.')) return 1;
        if (version.startsWith('2.')) return 2;
        throw new VerifierError({
          code: 'CHAIN_CALL_FAILED',
          message: `registry ${address} has version ${JSON.stringify(version.slice(0, 32))}, not 1.x or 2.x`,
        });
      })();
      v.catch(() => this.versions.delete(key)); // a failed read is retried next time
      if (this.versions.size >= 64) this.versions.clear();
      this.versions.set(key, v);
    }
    return v;
  }

  async getAnchor(ref: AnchorRef): Promise<AnchorRecord | null> {
    await this.checkRef(ref.chainId, ref.registry);
    const major = await this.majorVersion(ref.registry);
    let a: {
      timestamp: bigint;
      blockNumber: bigint;
      submitter: string;
      seq: bigint;
      prev: string;
      leafCount: bigint;
      org?: string;
    };
    try {
      const contract =
        major === 2 ? new Contract(ref.registry, registryV2Interface(), this.provider) : this.registry(ref.registry);
      a = await contract.getFunction('anchorOf').staticCall(ref.root);
    } catch (err) {
      verifierError(err, 'CHAIN_CALL_FAILED', `anchorOf(${ref.root}) failed on ${ref.registry}`);
    }
    if (a.timestamp === 0n) return null;
    const record: AnchorRecord = {
      timestamp: Number(a.timestamp),
      blockNumber: Number(a.blockNumber),
      submitter: a.submitter,
      seq: Number(a.seq),
      prev: a.prev.toLowerCase(),
      leafCount: Number(a.leafCount),
    };
    if (major === 2) record.org = String(a.org).toLowerCase();
    return record;
  }

  /** The MemberDirectory a registry 2.x names (`directory()`, fixed for the registry's life); 1.x has none. */
  private directoryOf(registry: string): Promise<string> {
    const key = registry.toLowerCase();
    let d = this.directories.get(key);
    if (!d) {
      d = (async () => {
        if ((await this.majorVersion(registry)) !== 2) {
          throw new VerifierError({
            code: 'CHAIN_CALL_FAILED',
            message: `registry ${registry} is 1.x: it names no member directory, so it cannot date signer keys`,
          });
        }
        try {
          const c = new Contract(registry, registryV2Interface(), this.provider);
          return String(await c.getFunction('directory').staticCall());
        } catch (err) {
          verifierError(err, 'CHAIN_CALL_FAILED', `directory() failed on ${registry}`);
        }
      })();
      d.catch(() => this.directories.delete(key));
      if (this.directories.size >= 64) this.directories.clear();
      this.directories.set(key, d);
    }
    return d;
  }

  async getMemberKey(ref: MemberKeyRef): Promise<MemberKey> {
    await this.checkRef(ref.chainId, ref.registry);
    if (!/^0x[0-9a-fA-F]{40}$/.test(ref.account)) {
      throw new VerifierError({ code: 'INVALID_ARGUMENT', message: `account ${ref.account} is not an address` });
    }
    const directory = await this.directoryOf(ref.registry);
    let m: { org: string; kind: bigint; since: bigint; until: bigint };
    try {
      const c = new Contract(directory, directoryInterface(), this.provider);
      m = await c.getFunction('memberOf').staticCall(ref.account);
    } catch (err) {
      verifierError(err, 'CHAIN_CALL_FAILED', `memberOf(${ref.account}) failed on directory ${directory}`);
    }
    return {
      org: String(m.org).toLowerCase() as Hex32,
      kind: Number(m.kind),
      since: Number(m.since),
      until: Number(m.until),
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
