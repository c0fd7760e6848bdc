// Deploys MemberDirectory, NotaryRegistryV2 and ClaimRegistryV2 (DESIGN §3) with plain ethers v6: no Hardhat runtime,
// so the service can reuse it.
// ABI and bytecode come from Hardhat's compiled artifacts (artifacts/contracts/<Name>.sol/<Name>.json).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Contract, ContractFactory, getAddress, id, type InterfaceAbi, type Signer } from 'ethers';

/** v1 roles (NotaryRegistry / ClaimRegistry 1.x): kept to read old deployments. */
export const ANCHORER_ROLE = id('ANCHORER_ROLE');
export const CLAIMANT_ROLE = id('CLAIMANT_ROLE');
export const PAUSER_ROLE = id('PAUSER_ROLE');
/** MemberDirectory: who may add and remove the members' keys. */
export const REGISTRAR_ROLE = id('REGISTRAR_ROLE');
/** MemberDirectory key kinds (`enum KeyKind`). */
export const KeyKind = { ANCHORER: 0, SIGNER: 1 } as const;

/** The ABI the service uses to register a member's key (MemberDirectory). */
export const MEMBER_DIRECTORY_ABI = [
  'function addKey(string orgId, address account, uint8 kind)',
  'function removeKey(address account)',
  'function memberOf(address account) view returns (bytes32 org, uint8 kind, uint64 since, uint64 until)',
  'function hasRole(bytes32 role, address account) view returns (bool)',
  'function grantRole(bytes32 role, address account)',
];

/** Chain ids of local development chains (Hardhat, anvil, ganache-style). */
export const DEV_CHAIN_IDS: readonly number[] = [31337, 1337];

/** Default admin-transfer delay on non-development chains: one day. */
export const DEFAULT_ADMIN_DELAY = 86_400n;

export interface DeployRegistriesOptions {
  /** Delay in seconds of a default-admin transfer (AccessControlDefaultAdminRules). */
  adminDelay: bigint | number;
  /** Members' anchoring accounts bound in the directory as ANCHORER keys (they anchor and claim). */
  members?: readonly MemberKey[];
  /** Accounts granted REGISTRAR_ROLE on the directory besides the deployer. */
  registrars?: readonly string[];
  /** Accounts granted PAUSER_ROLE on both registries. */
  pausers?: readonly string[];
  /** Folder holding Hardhat's artifacts; defaults to `<repo>/artifacts`. */
  artifactsDir?: string;
  /** Progress messages; silent by default. */
  log?: (message: string) => void;
}

/** An organisation's ANCHORER key. */
export interface MemberKey {
  orgId: string;
  address: string;
}

export interface DeployedContract {
  address: string;
  txHash: string;
  block: number;
}

/**
 * What `deployments/<chainId>.json` holds. A v2 deployment names the directory (`memberDirectory`); a v1 file
 * (registries 1.x, no directory) still reads and verifies old receipts, but cannot register members.
 */
export interface Deployment {
  chainId: number;
  /** Absent in a v1 deployment (NotaryRegistry / ClaimRegistry 1.x with roles). */
  memberDirectory?: DeployedContract;
  notaryRegistry: DeployedContract;
  claimRegistry: DeployedContract;
  /** Initial default admin (the deploying account). */
  admin: string;
  adminDelay: number;
  /** v2: the members' keys bound at deployment. */
  members?: MemberKey[];
  roles: {
    memberDirectory?: { REGISTRAR_ROLE: string[] };
    notaryRegistry: { ANCHORER_ROLE?: string[]; PAUSER_ROLE: string[] };
    claimRegistry: { CLAIMANT_ROLE?: string[]; PAUSER_ROLE: string[] };
  };
  deployedAt: string;
}

/** Whether `d` is a v2 deployment (with a MemberDirectory). */
export function isV2Deployment(d: Deployment): d is Deployment & { memberDirectory: DeployedContract } {
  return Boolean(d.memberDirectory?.address);
}

interface Artifact {
  contractName: string;
  abi: InterfaceAbi;
  bytecode: string;
}

export function defaultArtifactsDir(): string {
  // scripts/lib -> repo root; when compiled to dist/scripts/lib, pass artifactsDir explicitly.
  return path.resolve(__dirname, '..', '..', 'artifacts');
}

export type ContractName =
  'MemberDirectory' | 'NotaryRegistryV2' | 'ClaimRegistryV2' | 'NotaryRegistry' | 'ClaimRegistry';

export function loadArtifact(name: ContractName, artifactsDir = defaultArtifactsDir()): Artifact {
  const file = path.join(artifactsDir, 'contracts', `${name}.sol`, `${name}.json`);
  let artifact: Artifact;
  try {
    artifact = JSON.parse(readFileSync(file, 'utf8')) as Artifact;
  } catch (err) {
    throw new Error(`cannot read the ${name} artifact at ${file} (run \`npx hardhat compile\`): ${String(err)}`);
  }
  if (!artifact.bytecode || artifact.bytecode === '0x') throw new Error(`${file} has no bytecode`);
  return artifact;
}

/** Parses a comma-separated address list (empty or unset: none); throws on an invalid address. */
export function parseAddressList(value: string | undefined, name = 'address list'): string[] {
  if (!value || value.trim() === '') return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return getAddress(s); // mixed case must carry a valid EIP-55 checksum
      } catch {
        throw new Error(`${name}: "${s}" is not an address`);
      }
    });
}

/**
 * Parses a comma-separated list of `orgId=address` (empty or unset: none); throws on a malformed entry, an invalid
 * address, or an account named twice.
 */
export function parseMemberList(value: string | undefined, name = 'member list'): MemberKey[] {
  if (!value || value.trim() === '') return [];
  const out: MemberKey[] = [];
  for (const entry of value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const eq = entry.lastIndexOf('=');
    const orgId = eq > 0 ? entry.slice(0, eq).trim() : '';
    if (!orgId || Buffer.byteLength(orgId, 'utf8') > 64)
      throw new Error(`${name}: "${entry}" is not orgId=address (orgId 1..64 bytes)`);
    const [address] = parseAddressList(entry.slice(eq + 1), name);
    if (!address) throw new Error(`${name}: "${entry}" has no address`);
    if (out.some((m) => m.address === address)) throw new Error(`${name}: ${address} is named twice`);
    out.push({ orgId, address });
  }
  return out;
}

function unique(addresses: readonly string[] | undefined): string[] {
  return [...new Set((addresses ?? []).map((a) => getAddress(a)))];
}

async function deployOne(
  signer: Signer,
  artifact: Artifact,
  args: unknown[],
  log: (m: string) => void,
): Promise<{ contract: Contract; deployed: DeployedContract }> {
  const factory = new ContractFactory(artifact.abi, artifact.bytecode, signer);
  const contract = (await factory.deploy(...args)) as Contract;
  const tx = contract.deploymentTransaction();
  if (!tx) throw new Error(`${artifact.contractName}: no deployment transaction`);
  const receipt = await tx.wait();
  if (!receipt || receipt.status !== 1) throw new Error(`${artifact.contractName}: deployment ${tx.hash} failed`);
  const address = await contract.getAddress();
  log(`${artifact.contractName} deployed at ${address} (tx ${tx.hash}, block ${receipt.blockNumber})`);
  return { contract, deployed: { address, txHash: tx.hash, block: receipt.blockNumber } };
}

async function grant(
  contract: Contract,
  contractName: string,
  role: string,
  roleName: string,
  accounts: readonly string[],
  log: (m: string) => void,
): Promise<void> {
  for (const account of accounts) {
    if (await contract.hasRole(role, account)) continue;
    const tx = await contract.grantRole(role, account);
    const receipt = await tx.wait();
    if (!receipt || receipt.status !== 1) throw new Error(`${contractName}: grantRole ${roleName} failed`);
    log(`${contractName}: granted ${roleName} to ${account}`);
  }
}

/**
 * Binds `account` to `orgId` as an ANCHORER key in the directory, unless it is bound already (to that organisation:
 * an account bound to another one is an error, keys are never reassigned). Returns whether a key was added.
 */
export async function registerAnchorer(
  directory: Contract,
  orgId: string,
  account: string,
  log: (m: string) => void = () => undefined,
): Promise<boolean> {
  const address = getAddress(account);
  const [org, kind, since, until] = (await directory.memberOf(address)) as [string, bigint, bigint, bigint];
  if (since !== 0n) {
    if (org !== id(orgId) || Number(kind) !== KeyKind.ANCHORER)
      throw new Error(`MemberDirectory: ${address} is bound to another organisation or kind already (org ${org})`);
    if (until !== 0n) throw new Error(`MemberDirectory: ${address}, a key of ${orgId}, was removed at block ${until}`);
    return false;
  }
  const tx = await directory.addKey(orgId, address, KeyKind.ANCHORER);
  const receipt = await tx.wait();
  if (!receipt || receipt.status !== 1) throw new Error(`MemberDirectory: addKey ${orgId} ${address} failed`);
  log(`MemberDirectory: ${address} added as ANCHORER key of ${orgId}`);
  return true;
}

/**
 * Deploys the directory and both v2 registries with the signer's account as default admin (and registrar of the
 * directory), then grants the requested roles and binds the requested members' keys.
 * Transactions are sent one after another, each waited for, so the signer's nonces stay in order.
 */
export async function deployRegistries(signer: Signer, options: DeployRegistriesOptions): Promise<Deployment> {
  const log = options.log ?? (() => undefined);
  const adminDelay = BigInt(options.adminDelay);
  if (adminDelay < 0n || adminDelay >= 2n ** 48n) throw new Error(`adminDelay out of range: ${adminDelay}`);
  const admin = getAddress(await signer.getAddress());
  const network = await signer.provider?.getNetwork();
  if (!network) throw new Error('the signer has no provider');
  const chainId = Number(network.chainId);
  const registrars = unique([admin, ...(options.registrars ?? [])]);
  const pausers = unique(options.pausers);
  const members = (options.members ?? []).map((m) => ({ orgId: m.orgId, address: getAddress(m.address) }));

  log(`deploying to chain ${chainId} as ${admin}, admin delay ${adminDelay}s`);
  const directory = await deployOne(
    signer,
    loadArtifact('MemberDirectory', options.artifactsDir),
    [adminDelay, admin],
    log,
  );
  const notary = await deployOne(
    signer,
    loadArtifact('NotaryRegistryV2', options.artifactsDir),
    [adminDelay, admin, directory.deployed.address],
    log,
  );
  const claims = await deployOne(
    signer,
    loadArtifact('ClaimRegistryV2', options.artifactsDir),
    [adminDelay, admin, directory.deployed.address],
    log,
  );

  await grant(directory.contract, 'MemberDirectory', REGISTRAR_ROLE, 'REGISTRAR_ROLE', registrars, log);
  await grant(notary.contract, 'NotaryRegistryV2', PAUSER_ROLE, 'PAUSER_ROLE', pausers, log);
  await grant(claims.contract, 'ClaimRegistryV2', PAUSER_ROLE, 'PAUSER_ROLE', pausers, log);
  for (const m of members) await registerAnchorer(directory.contract, m.orgId, m.address, log);

  return {
    chainId,
    memberDirectory: directory.deployed,
    notaryRegistry: notary.deployed,
    claimRegistry: claims.deployed,
    admin,
    adminDelay: Number(adminDelay),
    members,
    roles: {
      memberDirectory: { REGISTRAR_ROLE: registrars },
      notaryRegistry: { PAUSER_ROLE: pausers },
      claimRegistry: { PAUSER_ROLE: pausers },
    },
    deployedAt: new Date().toISOString(),
  };
}
