import { Contract, Interface, JsonRpcProvider, type Provider } from 'ethers';
import { keccak256Bytes } from '../domain/hashing';
import { bytesToHex32, type Hex32 } from '../domain/hex';
import type { Receipt } from '../domain/receipt';
import type { RootSource } from './root-source';

/**
 * Co-signing policies (docs/formats.md "Co-signing"): the MemberDirectory names, per record type, the organisations
 * whose `cosignature` a record of that type needs (`cosignPolicyOf(recordType)`: keccak256(bytes(orgId)) each). A
 * record meets its policy when, for every named organisation, a valid signed (version 2) receipt of a `cosignature`
 * record of that organisation names the record's commitment as its only parent.
 */

/** Which policy: a record type, in the directory of one registry (2.x: its `directory()`) on one chain. */
export interface CosignPolicyRef {
  chainId: number;
  registry: string;
  recordType: string;
}

/** Port: the directory's co-signing policies (lowercase org hashes; [] when the type has none). Throws on failure. */
export interface CosignPolicySource {
  getCosignPolicy(ref: CosignPolicyRef): Promise<Hex32[]>;
}

export const MEMBER_DIRECTORY_POLICY_ABI = [
  'function cosignPolicyOf(string recordType) view returns (bytes32[])',
  'function orgIdOf(bytes32 org) view returns (string)',
] as const;
const REGISTRY_DIRECTORY_ABI = ['function directory() view returns (address)'] as const;

/** keccak256(bytes(orgId)), lowercase: how the directory names an organisation. */
export function orgHash(orgId: string): Hex32 {
  return bytesToHex32(keccak256Bytes(new TextEncoder().encode(orgId)));
}

/**
 * Reads policies from the chain: the registry's `directory()` (once per registry), then `cosignPolicyOf(type)`,
 * remembered for `ttlMs` (default 10 s; a policy change shows after at most that long).
 */
export class ChainPolicySource implements CosignPolicySource {
  private readonly provider: Provider;
  private readonly directories = new Map<string, Promise<string>>();
  private readonly policies = new Map<string, { at: number; value: Promise<Hex32[]> }>();
  private readonly ttlMs: number;

  constructor(connection: { rpcUrl: string } | { provider: Provider }, opts: { ttlMs?: number } = {}) {
    this.provider = 'provider' in connection ? connection.provider : new JsonRpcProvider(connection.rpcUrl);
    this.ttlMs = opts.ttlMs ?? 10_000;
  }

  private directoryOf(registry: string): Promise<string> {
    const k = registry.toLowerCase();
    let d = this.directories.get(k);
    if (!d) {
      const c = new Contract(registry, new Interface(REGISTRY_DIRECTORY_ABI), this.provider);
      d = c.getFunction('directory').staticCall().then(String);
      d.catch(() => this.directories.delete(k));
      this.directories.set(k, d);
    }
    return d;
  }

  getCosignPolicy(ref: CosignPolicyRef): Promise<Hex32[]> {
    const k = `${ref.chainId}:${ref.registry.toLowerCase()}:${ref.recordType}`;
    const hit = this.policies.get(k);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    const value = (async () => {
      const net = await this.provider.getNetwork();
      if (Number(net.chainId) !== ref.chainId)
        throw new Error(`the policy of chain ${ref.chainId} was asked of a node of chain ${net.chainId}`);
      const dir = new Contract(
        await this.directoryOf(ref.registry),
        new Interface(MEMBER_DIRECTORY_POLICY_ABI),
        this.provider,
      );
      const orgs = (await dir.getFunction('cosignPolicyOf').staticCall(ref.recordType)) as string[];
      return orgs.map((o) => String(o).toLowerCase() as Hex32);
    })();
    value.catch(() => this.policies.delete(k));
    if (this.policies.size > 256) this.policies.clear();
    this.policies.set(k, { at: Date.now(), value });
    return value;
  }
}

/** A root source that also answers co-signing policies (what TraceService and verifyBundle look for). */
export type PolicyAwareRootSource = RootSource & CosignPolicySource;

/** `rootSource` with `getCosignPolicy` of `policies` (every other member delegated as is). */
export function withCosignPolicies(rootSource: RootSource, policies: CosignPolicySource): PolicyAwareRootSource {
  const get = policies.getCosignPolicy.bind(policies);
  return new Proxy(rootSource, {
    get(target, prop) {
      if (prop === 'getCosignPolicy') return get;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
    has(target, prop) {
      return prop === 'getCosignPolicy' || Reflect.has(target, prop);
    },
  }) as PolicyAwareRootSource;
}

/** The policy source of `x` when it has one (a {@link withCosignPolicies} root source, a {@link ChainPolicySource}). */
export function policySourceOf(x: unknown): CosignPolicySource | undefined {
  return x && typeof (x as Partial<CosignPolicySource>).getCosignPolicy === 'function'
    ? (x as CosignPolicySource)
    : undefined;
}

/** What the policy of one record asks and what the bundle or trace shows of it. */
export interface CosigningStatus {
  /** Record id and type of the co-signed record. */
  record: string;
  type: string;
  /** Organisations the policy names (keccak256(bytes(orgId))), in the directory's order. */
  required: Hex32[];
  /** Of those, the ones with a valid co-signature: orgId and the co-signature's record id. */
  cosigned: { org: Hex32; orgId: string; cosignature: string }[];
  /** Named organisations without a valid co-signature. */
  missing: Hex32[];
  met: boolean;
}

/**
 * Evaluates the policy of `record` against `cosignatures`: receipts of `cosignature` records naming the record's
 * commitment, each with whether it verified (and was signed: version 2).
 */
export function evaluateCosigning(
  record: { id: string; type: string; commitment: string },
  required: readonly Hex32[],
  cosignatures: readonly { receipt: Pick<Receipt, 'version' | 'record'>; valid: boolean }[],
): CosigningStatus {
  const cosigned: CosigningStatus['cosigned'] = [];
  const missing: Hex32[] = [];
  for (const org of required) {
    const c = cosignatures.find(
      (x) =>
        x.valid &&
        x.receipt.version === 2 &&
        x.receipt.record.type === 'cosignature' &&
        x.receipt.record.parents.length === 1 &&
        x.receipt.record.parents[0] === record.commitment &&
        orgHash(x.receipt.record.orgId) === org.toLowerCase(),
    );
    if (c)
      cosigned.push({
        org: org.toLowerCase() as Hex32,
        orgId: c.receipt.record.orgId,
        cosignature: c.receipt.record.id,
      });
    else missing.push(org.toLowerCase() as Hex32);
  }
  return {
    record: record.id,
    type: record.type,
    required: [...required],
    cosigned,
    missing,
    met: missing.length === 0,
  };
}
