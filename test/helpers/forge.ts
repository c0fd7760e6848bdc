// Issue 12's attack: a member holding its own ANCHORER key (registered by the directory's registrar) anchors a
// one-leaf root for a record that names another organisation, and assembles the receipt. On the embedded chain of
// test/helpers/instance.ts (anvil's first default account is the deployer and registrar).
import { JsonRpcProvider, Wallet, id, parseEther } from 'ethers';
import {
  buildMerkleTree,
  computeCommitment,
  digestPayload,
  newSalt,
  ZERO_HEX32,
  type ReceiptV1,
} from '../../src/domain';
import { setBalance } from '../../src/chain/dev-rpc';
import { MemberDirectory__factory, NotaryRegistryV2__factory } from '../../typechain-types';

/** anvil's first default account (public dev key): the embedded chain's deployer, the directory's registrar. */
const ANVIL_KEY_0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

export interface ForgeTarget {
  rpcUrl: string;
  demo: { chainId: number; registry: string; memberDirectory: string };
}

/**
 * Binds a fresh account to `attackerOrg` in the directory, then anchors from it a one-leaf batch whose record names
 * `victimOrgId`. Returns the forged receipt and the organisation the registry recorded for its anchor.
 */
export async function forgeReceipt(
  target: ForgeTarget,
  opts: { attackerOrg: string; victimOrgId: string; payload: unknown },
): Promise<{ receipt: ReceiptV1; anchoredOrg: string }> {
  const provider = new JsonRpcProvider(target.rpcUrl, target.demo.chainId, { staticNetwork: true });
  try {
    const registrar = new Wallet(ANVIL_KEY_0, provider);
    const attacker = Wallet.createRandom().connect(provider);
    await setBalance(provider, attacker.address, parseEther('10'));
    const directory = MemberDirectory__factory.connect(target.demo.memberDirectory, registrar);
    await (await directory.addKey(opts.attackerOrg, attacker.address, 0)).wait();
    const record = {
      id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      orgId: opts.victimOrgId,
      type: 'document' as const,
      digest: digestPayload(opts.payload),
      salt: newSalt(),
      parents: [],
    };
    const commitment = computeCommitment({ ...record, recordId: record.id });
    const tree = await buildMerkleTree([commitment]);
    const registry = NotaryRegistryV2__factory.connect(target.demo.registry, attacker);
    const [head] = await registry.headOf(id(opts.attackerOrg));
    const rcpt = (await (await registry.anchor(tree.root, head ?? ZERO_HEX32, 1)).wait())!;
    const a = await registry.anchorOf(tree.root);
    const receipt = {
      version: 1,
      record,
      commitment,
      proof: { root: tree.root, path: tree.proof(0) },
      anchor: {
        chainId: target.demo.chainId,
        registry: target.demo.registry.toLowerCase(),
        txHash: rcpt.hash.toLowerCase(),
        blockNumber: rcpt.blockNumber,
        blockTimestamp: Number(a.timestamp),
        submitter: attacker.address.toLowerCase(),
        seq: Number(a.seq),
      },
    } as unknown as ReceiptV1;
    return { receipt, anchoredOrg: a.org.toLowerCase() };
  } finally {
    provider.destroy();
  }
}
