// Shared by the golden-receipt script and the end-to-end tests: deploys the real NotaryRegistry on the
// in-process Hardhat network and anchors batches of records, producing DESIGN §2.4 receipts.
import type { Signer } from 'ethers';
import {
  buildMerkleTree,
  computeCommitment,
  digestPayload,
  newSalt,
  ZERO_HEX32,
  type Hex32,
  type ReceiptV1,
  type RecordType,
} from '../../src/domain';

export interface RecordSpec {
  id: string;
  orgId: string;
  type: RecordType;
  payload: unknown;
  parents: Hex32[];
  salt?: Hex32;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Hre = any;

export async function loadHardhat(): Promise<Hre> {
  delete process.env.HARDHAT_NETWORK;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const hre = require('hardhat');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const artifact = path.join(hre.config.paths.artifacts, 'contracts', 'NotaryRegistry.sol', 'NotaryRegistry.json');
  if (!fs.existsSync(artifact)) await hre.run('compile', { quiet: true });
  return hre;
}

export async function deployRegistry(
  hre: Hre,
): Promise<{ registry: Hre; admin: Signer; anchorer: Signer; address: string }> {
  const [admin, anchorer] = await hre.ethers.getSigners();
  const factory = await hre.ethers.getContractFactory('NotaryRegistry', admin);
  const registry = await factory.deploy(0, await admin.getAddress());
  await registry.waitForDeployment();
  await (await registry.grantRole(await registry.ANCHORER_ROLE(), await anchorer.getAddress())).wait();
  return { registry, admin, anchorer, address: (await registry.getAddress()).toLowerCase() };
}

/**
 * Registry v2: a MemberDirectory and the organisation-bound NotaryRegistryV2; `keys` maps organisation ids to the
 * signer index of their ANCHORER key (the admin, signer 0, is the registrar).
 */
export async function deployRegistryV2(
  hre: Hre,
  keys: Record<string, number>,
): Promise<{ registry: Hre; directory: Hre; anchorers: Record<string, Signer>; address: string }> {
  const signers = await hre.ethers.getSigners();
  const admin = signers[0];
  const directory = await (await hre.ethers.getContractFactory('MemberDirectory', admin)).deploy(0, admin.address);
  await directory.waitForDeployment();
  await (await directory.grantRole(await directory.REGISTRAR_ROLE(), admin.address)).wait();
  const factory = await hre.ethers.getContractFactory('NotaryRegistryV2', admin);
  const registry = await factory.deploy(0, admin.address, await directory.getAddress());
  await registry.waitForDeployment();
  const anchorers: Record<string, Signer> = {};
  for (const [orgId, i] of Object.entries(keys)) {
    anchorers[orgId] = signers[i];
    await (await directory.addKey(orgId, await signers[i].getAddress(), 0)).wait();
  }
  return { registry, directory, anchorers, address: (await registry.getAddress()).toLowerCase() };
}

/**
 * Anchors one batch as `anchorer` and returns one receipt per record (in input order). `headOf` is the chain the
 * batch extends: the anchorer's own on a 1.x registry, its organisation's (`orgHash`) on 2.x.
 */
export async function anchorBatch(
  hre: Hre,
  registry: Hre,
  anchorer: Signer,
  records: RecordSpec[],
  headOf?: string,
): Promise<ReceiptV1[]> {
  const prepared = records.map((r) => {
    const salt = r.salt ?? newSalt();
    const digest = digestPayload(r.payload);
    const commitment = computeCommitment({
      recordId: r.id,
      orgId: r.orgId,
      type: r.type,
      digest,
      salt,
      parents: r.parents,
    });
    return { r, salt, digest, commitment };
  });
  const tree = await buildMerkleTree(prepared.map((p) => p.commitment));
  const [head] = await registry.headOf(headOf ?? (await anchorer.getAddress()));
  const tx = await registry.connect(anchorer).anchor(tree.root, head ?? ZERO_HEX32, prepared.length);
  const rcpt = await tx.wait();
  const block = await hre.ethers.provider.getBlock(rcpt.blockNumber);
  const a = await registry.anchorOf(tree.root);
  const { chainId } = await hre.ethers.provider.getNetwork();
  const registryAddress = String(await registry.getAddress()).toLowerCase();
  return prepared.map((p, i) => ({
    version: 1 as const,
    record: { id: p.r.id, orgId: p.r.orgId, type: p.r.type, digest: p.digest, salt: p.salt, parents: p.r.parents },
    commitment: p.commitment,
    proof: { root: tree.root, path: tree.proof(i) },
    anchor: {
      chainId: Number(chainId),
      registry: registryAddress,
      txHash: String(rcpt.hash).toLowerCase(),
      blockNumber: Number(rcpt.blockNumber),
      blockTimestamp: Number(block.timestamp),
      submitter: String(a.submitter).toLowerCase(),
      seq: Number(a.seq),
    },
  })) as unknown as ReceiptV1[];
}
