import fs from 'node:fs';
import path from 'node:path';
import { Contract, Wallet, getAddress, id, type Signer } from 'ethers';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../api/context';
import type { CosignPolicySource } from '../verifier/cosign-policy';

/**
 * Demo signing (embedded `npm start` only, development): the bank and the registrar get a SIGNER key each, kept on
 * the client side as a raw private key file next to demo.json (`signer-<org>.key`, mode 600 — a dev convenience,
 * never how a production organisation keeps its key: use an encrypted keystore, `notary submit --sign-with`), bound
 * in the MemberDirectory as SIGNER keys; and the co-signing policy `security.issuance` → [registrar] is set.
 */

/** Organisations whose demo SIGNER key is created. */
export const DEMO_SIGNER_ORGS = ['bank', 'registrar'] as const;
/** Co-signing policies set on the demo chain: record type → organisation ids. */
export const DEMO_COSIGN_POLICIES: Readonly<Record<string, readonly string[]>> = {
  'security.issuance': ['registrar'],
};

const DIRECTORY_ABI = [
  'function addKey(string orgId, address account, uint8 kind)',
  'function memberOf(address account) view returns (bytes32 org, uint8 kind, uint64 since, uint64 until)',
  'function setCosignPolicy(string recordType, bytes32[] orgs)',
  'function cosignPolicyOf(string recordType) view returns (bytes32[])',
];
const SIGNER_KIND = 1;

export interface DemoSigning {
  /** orgId → the SIGNER key's address and the file holding its private key. */
  signers: Record<string, { address: string; keyFile: string }>;
  cosignPolicies: Record<string, string[]>;
}

/** The key in `file`, or a new one written there (mode 600). */
function keyIn(file: string): Wallet {
  if (fs.existsSync(file)) return new Wallet(fs.readFileSync(file, 'utf8').trim());
  const w = Wallet.createRandom();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, w.privateKey + '\n', { mode: 0o600, flag: 'wx' });
  return new Wallet(w.privateKey);
}

/**
 * Creates (once) and binds the demo SIGNER keys and sets the demo policies; idempotent, so that a new chain under an
 * old data folder is seeded again. `asDeployer` serialises the deployer's transactions.
 */
export async function seedDemoSigning(opts: {
  dataDir: string;
  directoryAddress: string;
  deployer: Signer;
  asDeployer: <T>(fn: () => Promise<T>) => Promise<T>;
  log: (msg: string) => void;
}): Promise<DemoSigning> {
  const directory = new Contract(opts.directoryAddress, DIRECTORY_ABI, opts.deployer);
  const out: DemoSigning = { signers: {}, cosignPolicies: {} };
  for (const orgId of DEMO_SIGNER_ORGS) {
    const keyFile = path.join(opts.dataDir, `signer-${orgId}.key`);
    const address = getAddress(keyIn(keyFile).address);
    const [org, kind, since] = (await directory.memberOf(address)) as [string, bigint, bigint, bigint];
    if (since === 0n) {
      await opts.asDeployer(async () => {
        const rc = await (await directory.addKey(orgId, address, SIGNER_KIND)).wait();
        if (!rc || rc.status !== 1) throw new Error(`MemberDirectory: addKey ${orgId} ${address} (SIGNER) failed`);
      });
      opts.log(`MemberDirectory: ${address} added as SIGNER key of ${orgId} (demo key in ${keyFile})`);
    } else if (org !== id(orgId) || Number(kind) !== SIGNER_KIND) {
      throw new Error(
        `MemberDirectory: the demo signer ${address} of ${orgId} is bound to another organisation or kind`,
      );
    }
    out.signers[orgId] = { address, keyFile };
  }
  for (const [recordType, orgIds] of Object.entries(DEMO_COSIGN_POLICIES)) {
    const want = orgIds.map((o) => id(o).toLowerCase());
    const have = ((await directory.cosignPolicyOf(recordType)) as string[]).map((x) => String(x).toLowerCase());
    if (have.join() !== want.join()) {
      await opts.asDeployer(async () => {
        const rc = await (await directory.setCosignPolicy(recordType, want)).wait();
        if (!rc || rc.status !== 1) throw new Error(`MemberDirectory: setCosignPolicy ${recordType} failed`);
      });
      opts.log(`MemberDirectory: co-signing policy ${recordType} → [${orgIds.join(', ')}]`);
    }
    out.cosignPolicies[recordType] = [...orgIds];
  }
  return out;
}

/**
 * Route plugin that gives the submission use case the directory's co-signing policies (a `cosignature` may name a
 * record its organisation cannot read when the policy of that record's type names it).
 */
export function cosignPolicyPlugin(policies: CosignPolicySource) {
  return async (_app: FastifyInstance, ctx: AppContext): Promise<void> => {
    const { chainId, registry } = ctx.info;
    if (chainId === null || registry === null) return;
    ctx.records.cosignPolicyOf = (recordType) => policies.getCosignPolicy({ chainId, registry, recordType });
  };
}
