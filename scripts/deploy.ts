// Thin Hardhat wrapper around scripts/lib/deploy-registries.ts.
//   npx hardhat run scripts/deploy.ts --network <hardhat|localhost|anvil|permissioned>
// Deploys MemberDirectory, NotaryRegistryV2 and ClaimRegistryV2. Env: ADMIN_DELAY (seconds; default 86400 on non-dev
// chains, 0 on dev chains), MEMBERS (comma-separated orgId=address: ANCHORER keys bound in the directory), PAUSERS,
// REGISTRARS (comma-separated addresses; the deployer is always a registrar). Writes deployments/<chainId>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import hre from 'hardhat';
import {
  DEFAULT_ADMIN_DELAY,
  DEV_CHAIN_IDS,
  deployRegistries,
  parseAddressList,
  parseMemberList,
} from './lib/deploy-registries';

function parseDelay(value: string | undefined, fallback: bigint): bigint {
  if (value === undefined || value.trim() === '') return fallback;
  if (!/^\d+$/.test(value.trim())) throw new Error(`ADMIN_DELAY must be a whole number of seconds, got "${value}"`);
  return BigInt(value.trim());
}

async function main(): Promise<void> {
  const [signer] = await hre.ethers.getSigners();
  if (!signer) throw new Error(`no account configured for network "${hre.network.name}" (set DEPLOYER_KEY)`);
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  const dev = DEV_CHAIN_IDS.includes(chainId);

  const deployment = await deployRegistries(signer, {
    adminDelay: parseDelay(process.env.ADMIN_DELAY, dev ? 0n : DEFAULT_ADMIN_DELAY),
    members: parseMemberList(process.env.MEMBERS, 'MEMBERS'),
    registrars: parseAddressList(process.env.REGISTRARS, 'REGISTRARS'),
    pausers: parseAddressList(process.env.PAUSERS, 'PAUSERS'),
    artifactsDir: hre.config.paths.artifacts,
    log: (m) => console.log(m),
  });

  const dir = path.join(hre.config.paths.root, 'deployments');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${deployment.chainId}.json`);
  writeFileSync(file, JSON.stringify(deployment, null, 2) + '\n');
  console.log(`network ${hre.network.name} (chain ${deployment.chainId}${dev ? ', dev' : ''}): wrote ${file}`);
  console.log(JSON.stringify(deployment, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
