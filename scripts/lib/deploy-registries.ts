// Deploys NotaryRegistry and ClaimRegistry with plain ethers v6: no Hardhat runtime, so the service can reuse it.
// ABI and bytecode come from Hardhat's compiled artifacts (artifacts/contracts/<Name>.sol/<Name>.json).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Contract, ContractFactory, getAddress, id, type InterfaceAbi, type Signer } from 'ethers';

export const ANCHORER_ROLE = id('ANCHORER_ROLE');
export const CLAIMANT_ROLE = id('CLAIMANT_ROLE');
export const PAUSER_ROLE = id('PAUSER_ROLE');

/** Chain ids of local development chains (Hardhat, anvil, ganache-style). */
export const DEV_CHAIN_IDS: readonly number[] = [31337, 1337];

/** Default admin-transfer delay on non-development chains: one day. */
export const DEFAULT_ADMIN_DELAY = 86_400n;

export interface DeployRegistriesOptions {
  /** Delay in seconds of a default-admin transfer (AccessControlDefaultAdminRules). */
  adminDelay: bigint | number;
  /** Accounts granted ANCHORER_ROLE on NotaryRegistry. */
  anchorers?: readonly string[];
  /** Accounts granted CLAIMANT_ROLE on ClaimRegistry. */
  claimants?: readonly string[];
  /** Accounts granted PAUSER_ROLE on both registries. */
  pausers?: readonly string[];
  /** Folder holding Hardhat's artifacts; defaults to `<repo>/artifacts`. */
  artifactsDir?: string;
  /** Progress messages; silent by default. */
  log?: (message: string) => void;
}

export interface DeployedContract {
  address: string;
  txHash: string;
  block: number;
}

/** What `deployments/<chainId>.json` holds. */
export interface Deployment {
  chainId: number;
  notaryRegistry: DeployedContract;
  claimRegistry: DeployedContract;
  /** Initial default admin (the deploying account). */
  admin: string;
  adminDelay: number;
  roles: {
    notaryRegistry: { ANCHORER_ROLE: string[]; PAUSER_ROLE: string[] };
    claimRegistry: { CLAIMANT_ROLE: string[]; PAUSER_ROLE: string[] };
  };
  deployedAt: string;
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

export function loadArtifact(name: 'NotaryRegistry' | 'ClaimRegistry', artifactsDir = defaultArtifactsDir()): Artifact {
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
 * Deploys both registries with the signer's account as default admin, then grants the requested roles.
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
  const anchorers = unique(options.anchorers);
  const claimants = unique(options.claimants);
  const pausers = unique(options.pausers);

  log(`deploying to chain ${chainId} as ${admin}, admin delay ${adminDelay}s`);
  const notary = await deployOne(
    signer,
    loadArtifact('NotaryRegistry', options.artifactsDir),
    [adminDelay, admin],
    log,
  );
  const claims = await deployOne(signer, loadArtifact('ClaimRegistry', options.artifactsDir), [adminDelay, admin], log);

  await grant(notary.contract, 'NotaryRegistry', ANCHORER_ROLE, 'ANCHORER_ROLE', anchorers, log);
  await grant(notary.contract, 'NotaryRegistry', PAUSER_ROLE, 'PAUSER_ROLE', pausers, log);
  await grant(claims.contract, 'ClaimRegistry', CLAIMANT_ROLE, 'CLAIMANT_ROLE', claimants, log);
  await grant(claims.contract, 'ClaimRegistry', PAUSER_ROLE, 'PAUSER_ROLE', pausers, log);

  return {
    chainId,
    notaryRegistry: notary.deployed,
    claimRegistry: claims.deployed,
    admin,
    adminDelay: Number(adminDelay),
    roles: {
      notaryRegistry: { ANCHORER_ROLE: anchorers, PAUSER_ROLE: pausers },
      claimRegistry: { CLAIMANT_ROLE: claimants, PAUSER_ROLE: pausers },
    },
    deployedAt: new Date().toISOString(),
  };
}
