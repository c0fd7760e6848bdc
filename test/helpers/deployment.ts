import fs from 'node:fs';
import path from 'node:path';
import { Wallet } from 'ethers';
import { makeProvider } from '../../src/chain/provider';
import { deployRegistries, type Deployment } from '../../scripts/lib/deploy-registries';

/** anvil's second default account (public dev key): the consortium operator that deployed the registries. */
export const OPERATOR_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

/**
 * An external consortium chain as in production: the operator deploys registries 2.x (MemberDirectory,
 * NotaryRegistryV2, ClaimRegistryV2; admin delay 0) on `chain` and hands the service a DEPLOYMENT_FILE, written
 * to `dir/deployments.json`.
 */
export async function deployV2File(
  chain: { rpcUrl: string; chainId: number },
  dir: string,
): Promise<{ deployment: Deployment; file: string }> {
  const provider = makeProvider(chain.rpcUrl, { chainId: chain.chainId });
  try {
    const deployment = await deployRegistries(new Wallet(OPERATOR_KEY, provider), { adminDelay: 0 });
    const file = path.join(dir, 'deployments.json');
    fs.writeFileSync(file, JSON.stringify(deployment));
    return { deployment, file };
  } finally {
    provider.destroy();
  }
}
