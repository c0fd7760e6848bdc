// The service's registries are the v2 ones (DESIGN §3): MemberDirectory, NotaryRegistry v2, ClaimRegistry v2.
// Receipts of registries 1.x are verified by src/verifier, which reads either version.
import { getAddress, id, isHexString, type BlockTag, type Interface, type Log } from 'ethers';
import {
  ClaimRegistryV2__factory,
  MemberDirectory__factory,
  NotaryRegistryV2__factory,
  type ClaimRegistryV2,
  type MemberDirectory,
  type NotaryRegistryV2,
} from '../../typechain-types';
import type { ClaimRegistryV2Interface } from '../../typechain-types/contracts/ClaimRegistryV2';
import type { NotaryRegistryV2Interface } from '../../typechain-types/contracts/NotaryRegistryV2';
import { ChainError, assertBytes32, toChainError } from './errors';
import type { ChainProvider } from './provider';

let notaryIface: NotaryRegistryV2Interface | undefined;
let claimIface: ClaimRegistryV2Interface | undefined;
/** Typed Interface of NotaryRegistry v2 (from the typechain factory, i.e. the compiled ABI). */
export const notaryRegistryInterface = (): NotaryRegistryV2Interface =>
  (notaryIface ??= NotaryRegistryV2__factory.createInterface());
/** Typed Interface of ClaimRegistry v2. */
export const claimRegistryInterface = (): ClaimRegistryV2Interface =>
  (claimIface ??= ClaimRegistryV2__factory.createInterface());

/** `org` of an organisation id as the directory and the registries name it: keccak256(bytes(orgId)), lowercase. */
export function orgHash(orgId: string): string {
  return id(orgId).toLowerCase();
}

// ---------------------------------------------------------------- calldata (for offline signing)

/** Calldata of `NotaryRegistry.anchor(root, prev, leafCount)`. */
export function encodeAnchor(root: string, prev: string, leafCount: number): string {
  assertBytes32(root, 'root');
  assertBytes32(prev, 'prev');
  if (!Number.isInteger(leafCount) || leafCount < 1 || leafCount > 0xffffffff) {
    throw new ChainError({ code: 'INVALID_ARGUMENT', message: `leafCount must be a uint32 >= 1, got ${leafCount}` });
  }
  return notaryRegistryInterface().encodeFunctionData('anchor', [root, prev, leafCount]);
}

/** Calldata of `ClaimRegistry.consume(keys, claim)`. */
export function encodeConsume(keys: readonly string[], claim: string): string {
  keys.forEach((k, i) => assertBytes32(k, `keys[${i}]`));
  assertBytes32(claim, 'claim');
  return claimRegistryInterface().encodeFunctionData('consume', [[...keys], claim]);
}

/** Calldata of `ClaimRegistry.release(claim)`. */
export function encodeRelease(claim: string): string {
  assertBytes32(claim, 'claim');
  return claimRegistryInterface().encodeFunctionData('release', [claim]);
}

/** Calldata of `ClaimRegistry.settle(claim)` (v2). */
export function encodeSettle(claim: string): string {
  assertBytes32(claim, 'claim');
  return claimRegistryInterface().encodeFunctionData('settle', [claim]);
}

// ---------------------------------------------------------------- pre-check

export type SimulationResult = { ok: true } | { ok: false; error: ChainError };

/**
 * Runs `data` as an `eth_call` from `from` (against `blockTag`, default latest) and reports whether it would revert,
 * with the custom error decoded (e.g. KEY_ALREADY_CONSUMED with consumer/claim/timestamp). CHAIN_UNREACHABLE and other
 * non-revert failures are thrown, not returned: they say nothing about the transaction.
 */
export async function simulate(
  provider: ChainProvider,
  call: { from: string; to: string; data: string; blockTag?: BlockTag },
): Promise<SimulationResult> {
  try {
    await provider.send('eth_call', [
      { from: getAddress(call.from), to: getAddress(call.to), data: call.data },
      typeof call.blockTag === 'number' ? `0x${call.blockTag.toString(16)}` : (call.blockTag ?? 'latest'),
    ]);
    return { ok: true };
  } catch (err) {
    const error = toChainError(err);
    if (['CHAIN_UNREACHABLE', 'BAD_RESPONSE', 'INVALID_ARGUMENT', 'CHAIN_ID_MISMATCH'].includes(error.code))
      throw error;
    return { ok: false, error };
  }
}

// ---------------------------------------------------------------- readers

/** `anchorOf(root)` as plain numbers; `timestamp === 0` means never anchored. */
export interface AnchorInfo {
  timestamp: number;
  blockNumber: number;
  submitter: string; // checksummed; zero address if never anchored
  seq: number;
  prev: string; // lowercase bytes32
  leafCount: number;
  org: string; // lowercase bytes32: keccak256(bytes(orgId)) of the organisation it was anchored for
}

export interface ReadOptions {
  /** Read the state at this block (e.g. `head - confirmations + 1`); default latest. */
  blockTag?: BlockTag;
}

function safeNumber(v: bigint, what: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ChainError({ code: 'BAD_RESPONSE', message: `${what} out of range` });
  return n;
}

function bytes32Out(v: string, what: string): string {
  if (!isHexString(v, 32)) throw new ChainError({ code: 'BAD_RESPONSE', message: `${what} is not bytes32` });
  return v.toLowerCase();
}

/** Read-only NotaryRegistry v2 client (no signer). All failures are ChainErrors. */
export class NotaryRegistryReader {
  readonly address: string;
  private readonly contract: NotaryRegistryV2;

  constructor(provider: ChainProvider, address: string) {
    this.address = getAddress(address);
    this.contract = NotaryRegistryV2__factory.connect(this.address, provider);
  }

  async anchorOf(root: string, opts: ReadOptions = {}): Promise<AnchorInfo> {
    assertBytes32(root, 'root');
    try {
      const a = await this.contract.anchorOf(root, { blockTag: opts.blockTag });
      return {
        timestamp: safeNumber(a.timestamp, 'timestamp'),
        blockNumber: safeNumber(a.blockNumber, 'blockNumber'),
        submitter: getAddress(a.submitter),
        seq: safeNumber(a.seq, 'seq'),
        prev: bytes32Out(a.prev, 'prev'),
        leafCount: safeNumber(a.leafCount, 'leafCount'),
        org: bytes32Out(a.org, 'org'),
      };
    } catch (err) {
      throw toChainError(err);
    }
  }

  /**
   * The organisation's current head (`org`: keccak256 of its id, see {@link orgHash}): `root` is bytes32(0) and
   * `seq` 0 before its first anchor. One chain across the organisation's key rotations.
   */
  async headOf(org: string, opts: ReadOptions = {}): Promise<{ root: string; seq: number }> {
    assertBytes32(org, 'org');
    try {
      const [root, seq] = await this.contract.headOf(org, { blockTag: opts.blockTag });
      return { root: bytes32Out(root, 'root'), seq: safeNumber(seq, 'seq') };
    } catch (err) {
      throw toChainError(err);
    }
  }

  async verifyLeaf(
    root: string,
    path: readonly string[],
    commitment: string,
    opts: ReadOptions = {},
  ): Promise<boolean> {
    assertBytes32(root, 'root');
    assertBytes32(commitment, 'commitment');
    path.forEach((p, i) => assertBytes32(p, `path[${i}]`));
    try {
      return await this.contract.verifyLeaf(root, [...path], commitment, { blockTag: opts.blockTag });
    } catch (err) {
      throw toChainError(err);
    }
  }

  async hasRole(role: 'PAUSER_ROLE', account: string): Promise<boolean> {
    try {
      return await this.contract.hasRole(await this.contract.PAUSER_ROLE(), getAddress(account));
    } catch (err) {
      throw toChainError(err);
    }
  }

  /** The MemberDirectory the registry takes its anchorers from. */
  async directory(): Promise<string> {
    try {
      return getAddress(await this.contract.directory());
    } catch (err) {
      throw toChainError(err);
    }
  }
}

/** `memberOf(account)`: `org` bytes32(0) and `since` 0 if the account was never bound. */
export interface MemberInfo {
  org: string; // lowercase bytes32
  kind: 'ANCHORER' | 'SIGNER';
  since: number;
  until: number; // 0: still active
}

/** Read-only MemberDirectory client. */
export class MemberDirectoryReader {
  readonly address: string;
  private readonly contract: MemberDirectory;

  constructor(provider: ChainProvider, address: string) {
    this.address = getAddress(address);
    this.contract = MemberDirectory__factory.connect(this.address, provider);
  }

  async memberOf(account: string, opts: ReadOptions = {}): Promise<MemberInfo> {
    try {
      const [org, kind, since, until] = await this.contract.memberOf(getAddress(account), { blockTag: opts.blockTag });
      return {
        org: bytes32Out(org, 'org'),
        kind: Number(kind) === 1 ? 'SIGNER' : 'ANCHORER',
        since: safeNumber(since, 'since'),
        until: safeNumber(until, 'until'),
      };
    } catch (err) {
      throw toChainError(err);
    }
  }
}

/**
 * `consumptionOf(key)`; `consumer` is the zero address, `org` bytes32(0) and `timestamp` 0 if the key is not
 * consumed.
 */
export interface ConsumptionInfo {
  consumer: string;
  org: string; // lowercase bytes32: the consuming organisation
  claim: string;
  timestamp: number;
  blockNumber: number;
  settled: boolean;
}

/** Read-only ClaimRegistry v2 client (no signer). */
export class ClaimRegistryReader {
  readonly address: string;
  private readonly contract: ClaimRegistryV2;

  constructor(provider: ChainProvider, address: string) {
    this.address = getAddress(address);
    this.contract = ClaimRegistryV2__factory.connect(this.address, provider);
  }

  async consumptionOf(key: string, opts: ReadOptions = {}): Promise<ConsumptionInfo> {
    assertBytes32(key, 'key');
    try {
      const c = await this.contract.consumptionOf(key, { blockTag: opts.blockTag });
      return {
        consumer: getAddress(c.consumer),
        org: bytes32Out(c.org, 'org'),
        claim: bytes32Out(c.claim, 'claim'),
        timestamp: safeNumber(c.timestamp, 'timestamp'),
        blockNumber: safeNumber(c.blockNumber, 'blockNumber'),
        settled: Boolean(c.settled),
      };
    } catch (err) {
      throw toChainError(err);
    }
  }

  /** Keys consumed by `claim` ([] if unknown or released). */
  async keysOf(claim: string, opts: ReadOptions = {}): Promise<string[]> {
    assertBytes32(claim, 'claim');
    try {
      const keys = await this.contract.keysOf(claim, { blockTag: opts.blockTag });
      return keys.map((k, i) => bytes32Out(k, `keys[${i}]`));
    } catch (err) {
      throw toChainError(err);
    }
  }

  async hasRole(role: 'PAUSER_ROLE', account: string): Promise<boolean> {
    try {
      return await this.contract.hasRole(await this.contract.PAUSER_ROLE(), getAddress(account));
    } catch (err) {
      throw toChainError(err);
    }
  }
}

// ---------------------------------------------------------------- events

/** Where a decoded event sits on chain. */
export interface EventLocation {
  blockNumber: number;
  blockHash: string;
  transactionHash: string;
  logIndex: number;
}

export interface AnchoredEventInfo extends EventLocation {
  root: string;
  org: string;
  submitter: string;
  seq: number;
  prev: string;
  leafCount: number;
}

export interface KeysEventInfo extends EventLocation {
  claim: string;
  org: string;
  /** `consumer` for KeysConsumed, `releasedBy` for KeysReleased. */
  account: string;
  keys: string[];
}

type LogsLike = readonly Log[] | { readonly logs: readonly Log[] };
const logsOf = (x: LogsLike): readonly Log[] => ('logs' in x ? x.logs : x);

function locationOf(log: Log): EventLocation {
  return {
    blockNumber: log.blockNumber,
    blockHash: log.blockHash.toLowerCase(),
    transactionHash: log.transactionHash.toLowerCase(),
    logIndex: log.index,
  };
}

/**
 * Decodes the events `eventName` emitted by the contract at `address` from a receipt (or log list).
 * Logs of other contracts — including look-alike events from an impostor contract — are ignored; a log of the right
 * contract and topic that does not decode is a BAD_RESPONSE.
 */
function decodeEvents<T>(
  source: LogsLike,
  address: string,
  iface: Interface,
  eventName: string,
  map: (args: readonly unknown[], log: Log) => T,
): T[] {
  const want = getAddress(address);
  const event = iface.getEvent(eventName);
  if (!event) throw new ChainError({ code: 'INVALID_ARGUMENT', message: `unknown event ${eventName}` });
  const out: T[] = [];
  for (const log of logsOf(source)) {
    if (getAddress(log.address) !== want || log.topics[0]?.toLowerCase() !== event.topicHash) continue;
    let args: readonly unknown[];
    try {
      args = iface.decodeEventLog(event, log.data, log.topics);
    } catch (err) {
      throw new ChainError({ code: 'BAD_RESPONSE', message: `undecodable ${eventName} log`, cause: err });
    }
    out.push(map(args, log));
  }
  return out;
}

export function decodeAnchored(source: LogsLike, registryAddress: string): AnchoredEventInfo[] {
  return decodeEvents(source, registryAddress, notaryRegistryInterface(), 'Anchored', (a, log) => ({
    // Anchored(bytes32 indexed root, bytes32 indexed org, uint64 indexed seq, address submitter, bytes32 prev, uint32 leafCount)
    root: bytes32Out(a[0] as string, 'root'),
    org: bytes32Out(a[1] as string, 'org'),
    seq: safeNumber(a[2] as bigint, 'seq'),
    submitter: getAddress(a[3] as string),
    prev: bytes32Out(a[4] as string, 'prev'),
    leafCount: safeNumber(a[5] as bigint, 'leafCount'),
    ...locationOf(log),
  }));
}

const keysEvent = (a: readonly unknown[], log: Log): KeysEventInfo => ({
  claim: bytes32Out(a[0] as string, 'claim'),
  org: bytes32Out(a[1] as string, 'org'),
  account: getAddress(a[2] as string),
  keys: [...(a[3] as readonly string[])].map((k) => bytes32Out(k, 'key')),
  ...locationOf(log),
});

export function decodeKeysConsumed(source: LogsLike, registryAddress: string): KeysEventInfo[] {
  return decodeEvents(source, registryAddress, claimRegistryInterface(), 'KeysConsumed', keysEvent);
}

export function decodeKeysReleased(source: LogsLike, registryAddress: string): KeysEventInfo[] {
  return decodeEvents(source, registryAddress, claimRegistryInterface(), 'KeysReleased', keysEvent);
}

export interface ClaimSettledEventInfo extends EventLocation {
  claim: string;
  org: string;
  settledBy: string;
}

export function decodeClaimSettled(source: LogsLike, registryAddress: string): ClaimSettledEventInfo[] {
  return decodeEvents(source, registryAddress, claimRegistryInterface(), 'ClaimSettled', (a, log) => ({
    claim: bytes32Out(a[0] as string, 'claim'),
    org: bytes32Out(a[1] as string, 'org'),
    settledBy: getAddress(a[2] as string),
    ...locationOf(log),
  }));
}
