// The service's writes to the MemberDirectory (DESIGN §3) as its registrar: organisations' SIGNER keys (receipt
// version 2) and co-signing policies per record type; and the lists read back from the directory's events.
import { getAddress, id as keccakUtf8, type ContractRunner } from 'ethers';
import { MemberDirectory__factory, type MemberDirectory } from '../../typechain-types';
import { ChainError, toChainError } from './errors';
import type { ChainProvider } from './provider';
import { MemberDirectoryReader, type MemberInfo } from './registries';

/** KeyKind of the directory (`enum KeyKind { ANCHORER, SIGNER }`). */
const SIGNER = 1;

/** Most blocks one eth_getLogs call spans (nodes cap ranges; anvil and Hardhat take any). */
const LOG_RANGE = 50_000;

export interface DirectorySignerKey {
  address: string;
  since: number;
  until: number | null;
}

/** Registrar-side client of the directory: transactions by `registrar`, reads and event scans through `provider`. */
export class DirectoryAdminClient {
  readonly address: string;
  private readonly writer: MemberDirectory;
  private readonly reader: MemberDirectoryReader;
  private readonly events: MemberDirectory;

  constructor(
    private readonly provider: ChainProvider,
    address: string,
    registrar: ContractRunner,
    /** Block the directory was deployed at: event scans start there. */
    private readonly fromBlock = 0,
    /** Runs the registrar's transactions one at a time (the service's other deployer transactions share it). */
    private readonly serialize: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
  ) {
    this.address = getAddress(address);
    this.writer = MemberDirectory__factory.connect(this.address, registrar);
    this.events = MemberDirectory__factory.connect(this.address, provider);
    this.reader = new MemberDirectoryReader(provider, this.address);
  }

  memberOf(account: string): Promise<MemberInfo> {
    return this.reader.memberOf(account);
  }

  private async send(what: string, fn: () => Promise<{ hash: string; wait(): Promise<unknown> }>) {
    try {
      return await this.serialize(async () => {
        const tx = await fn();
        const receipt = (await tx.wait()) as { status?: number; blockNumber?: number } | null;
        if (!receipt || receipt.status !== 1) throw new Error(`MemberDirectory: ${what} failed`);
        return { txHash: tx.hash.toLowerCase(), blockNumber: Number(receipt.blockNumber) };
      });
    } catch (err) {
      const e = toChainError(err);
      throw new ChainError({ code: e.code, message: `MemberDirectory ${what}: ${e.message}`, cause: err });
    }
  }

  /** `addKey(orgId, address, SIGNER)`; resolves once mined. */
  async addSigner(orgId: string, address: string): Promise<{ since: number; txHash: string }> {
    const account = getAddress(address);
    const r = await this.send(`addKey ${orgId} ${account} SIGNER`, () => this.writer.addKey(orgId, account, SIGNER));
    return { since: r.blockNumber, txHash: r.txHash };
  }

  /** `removeKey(address)`; resolves once mined. */
  async removeKey(address: string): Promise<{ until: number; txHash: string }> {
    const account = getAddress(address);
    const r = await this.send(`removeKey ${account}`, () => this.writer.removeKey(account));
    return { until: r.blockNumber, txHash: r.txHash };
  }

  /** `setCosignPolicy(recordType, orgs)` with orgs = keccak256 of the organisation ids. */
  async setCosignPolicy(recordType: string, orgIds: string[]): Promise<{ txHash: string }> {
    const orgs = orgIds.map((o) => keccakUtf8(o));
    const r = await this.send(`setCosignPolicy ${recordType}`, () => this.writer.setCosignPolicy(recordType, orgs));
    return { txHash: r.txHash };
  }

  async cosignPolicyOf(recordType: string): Promise<string[]> {
    try {
      return (await this.events.cosignPolicyOf(recordType)).map((o) => o.toLowerCase());
    } catch (err) {
      throw toChainError(err);
    }
  }

  async orgIdOf(org: string): Promise<string | null> {
    try {
      const s = await this.events.orgIdOf(org);
      return s === '' ? null : s;
    } catch (err) {
      throw toChainError(err);
    }
  }

  /** The organisation's SIGNER keys from the directory's events, oldest first, with when each was removed. */
  async signersOf(orgId: string): Promise<DirectorySignerKey[]> {
    const org = keccakUtf8(orgId);
    try {
      const head = await this.provider.getBlockNumber();
      const added = new Map<string, DirectorySignerKey>();
      const removed = new Map<string, number>();
      for (let from = this.fromBlock; from <= head; from += LOG_RANGE) {
        const to = Math.min(head, from + LOG_RANGE - 1);
        for (const e of await this.events.queryFilter(this.events.filters.MemberKeyAdded(org), from, to)) {
          if (Number(e.args.kind) !== SIGNER) continue;
          const a = getAddress(e.args.account);
          added.set(a, { address: a, since: Number(e.args.since), until: null });
        }
        for (const e of await this.events.queryFilter(this.events.filters.MemberKeyRemoved(org), from, to))
          removed.set(getAddress(e.args.account), Number(e.args.until));
      }
      return [...added.values()]
        .map((k) => ({ ...k, until: removed.get(k.address) ?? null }))
        .sort((a, b) => a.since - b.since || a.address.localeCompare(b.address));
    } catch (err) {
      throw toChainError(err);
    }
  }
}
