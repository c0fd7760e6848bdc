import type { Hex32 } from '../domain';

/** Which anchor to look up: a root on one registry of one chain. */
export interface AnchorRef {
  chainId: number;
  registry: string;
  root: Hex32;
}

/** The registry's `anchorOf(root)` record (docs/formats.md §6), as plain numbers. */
export interface AnchorRecord {
  timestamp: number;
  blockNumber: number;
  submitter: string;
  seq: number;
  prev: Hex32;
  leafCount: number;
  /**
   * Registry 2.x: keccak256(bytes(orgId)) of the organisation the root was anchored for (lowercase). Absent for a
   * registry 1.x, which does not bind anchors to organisations: the `organisation` check is skipped then.
   */
  org?: Hex32;
}

/** What a transaction says about anchoring: its inclusion and the roots it anchored on the registry. */
export interface AnchorTransaction {
  blockNumber: number;
  status: number; // 1 = success
  /** Roots of the `Anchored` events the registry emitted in this transaction (lowercase). */
  roots: Hex32[];
}

/** Which key to look up: an account in the MemberDirectory of one registry (2.x: its `directory()`) on one chain. */
export interface MemberKeyRef {
  chainId: number;
  registry: string;
  account: string;
}

/** `KeyKind` of the directory (docs/formats.md §6): ANCHORER sends anchors, SIGNER signs records. */
export const KEY_KIND_ANCHORER = 0;
export const KEY_KIND_SIGNER = 1;

/**
 * The directory's `memberOf(account)`, as plain numbers: the organisation (keccak256(bytes(orgId)), lowercase), the
 * key kind and its window of blocks `[since, until)` (until 0: still active). `since` 0: the account was never bound.
 */
export interface MemberKey {
  org: Hex32;
  kind: number;
  since: number;
  until: number;
}

/**
 * Port: where the verifier learns what was anchored. Trust material comes in as this object, never imported.
 * `getAnchor` returns null (or a record with timestamp 0) when the root was never anchored; it throws on failure.
 */
export interface RootSource {
  getAnchor(ref: AnchorRef): Promise<AnchorRecord | null>;
  /** Optional: lets the verifier also check the receipt's `txHash` (null: no such transaction). */
  getAnchorTransaction?(ref: { chainId: number; registry: string; txHash: Hex32 }): Promise<AnchorTransaction | null>;
  /**
   * Optional: the directory's `memberOf(account)` for the directory the registry names, so that the verifier can
   * check the signers of a receipt v2 (without it, the `signatures` check fails saying so). Throws when the registry
   * has no directory (1.x) or the read fails.
   */
  getMemberKey?(ref: MemberKeyRef): Promise<MemberKey>;
}

const key = (chainId: number, registry: string, x: string) => `${chainId}:${registry.toLowerCase()}:${x.toLowerCase()}`;

const key_ = (ref: MemberKeyRef) => key(ref.chainId, ref.registry, ref.account);
const ZERO = ('0x' + '0'.repeat(64)) as Hex32;

/** In-memory {@link RootSource} for tests and offline checks. */
export class MemoryRootSource implements RootSource {
  private readonly anchors = new Map<string, AnchorRecord>();
  private readonly txs = new Map<string, AnchorTransaction>();
  private readonly keys = new Map<string, MemberKey>();

  set(ref: AnchorRef, record: AnchorRecord): this {
    this.anchors.set(key(ref.chainId, ref.registry, ref.root), { ...record });
    return this;
  }

  get(ref: AnchorRef): AnchorRecord | null {
    const r = this.anchors.get(key(ref.chainId, ref.registry, ref.root));
    return r === undefined ? null : { ...r };
  }

  setTransaction(ref: { chainId: number; registry: string; txHash: Hex32 }, tx: AnchorTransaction): this {
    this.txs.set(key(ref.chainId, ref.registry, ref.txHash), { ...tx, roots: [...tx.roots] });
    return this;
  }

  /** Records the directory's answer for `ref.account` (unset accounts read as never bound). */
  setMemberKey(ref: MemberKeyRef, key: MemberKey): this {
    this.keys.set(key_(ref), { ...key });
    return this;
  }

  async getMemberKey(ref: MemberKeyRef): Promise<MemberKey> {
    const k = this.keys.get(key_(ref));
    return k === undefined ? { org: ZERO, kind: 0, since: 0, until: 0 } : { ...k };
  }

  async getAnchor(ref: AnchorRef): Promise<AnchorRecord | null> {
    return this.get(ref);
  }

  async getAnchorTransaction(ref: {
    chainId: number;
    registry: string;
    txHash: Hex32;
  }): Promise<AnchorTransaction | null> {
    const tx = this.txs.get(key(ref.chainId, ref.registry, ref.txHash));
    return tx === undefined ? null : { ...tx, roots: [...tx.roots] };
  }
}
