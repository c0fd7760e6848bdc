import fs from 'node:fs';
import path from 'node:path';
import { Wallet } from 'ethers';
import { connectProvider } from '../chain/provider';
import {
  DEFAULT_ADMIN_DELAY,
  DEV_CHAIN_IDS,
  deployRegistries,
  parseAddressList,
  parseMemberList,
  type MemberKey,
} from '../../scripts/lib/deploy-registries';
import { CliError, usageError } from './errors';
import { note, out, printJson } from './output';

export interface DeployOptions {
  rpc?: string;
  key?: string;
  members?: string;
  registrars?: string;
  pausers?: string;
  adminDelay?: string;
  out?: string;
  json?: boolean;
}

/** `notary deploy`: the directory and both v2 registries with a plain ethers Wallet (scripts/lib/deploy-registries.ts). */
export async function deploy(opts: DeployOptions): Promise<number> {
  const rpcUrl = opts.rpc ?? (process.env.NOTARY_RPC_URL || process.env.RPC_URL || 'http://127.0.0.1:8545');
  const privateKey = opts.key ?? (process.env.DEPLOYER_KEY || undefined);
  if (!privateKey) throw usageError('no deployer key: pass --key PRIVKEY or set DEPLOYER_KEY');
  let members: MemberKey[], registrars: string[], pausers: string[];
  try {
    members = parseMemberList(opts.members, '--members');
    registrars = parseAddressList(opts.registrars, '--registrars');
    pausers = parseAddressList(opts.pausers, '--pausers');
  } catch (err) {
    throw usageError((err as Error).message);
  }
  if (opts.adminDelay !== undefined && !/^\d+$/.test(opts.adminDelay)) {
    throw usageError(`--admin-delay must be a whole number of seconds, got "${opts.adminDelay}"`);
  }
  let wallet: Wallet;
  try {
    wallet = new Wallet(privateKey.startsWith('0x') ? privateKey : `0x${privateKey}`);
  } catch {
    throw usageError('the deployer key is not a 32-byte hex private key');
  }
  const provider = await connectProvider(rpcUrl, { timeoutMs: 30_000 }).catch((err: Error) => {
    throw new CliError('CHAIN_UNREACHABLE', `cannot reach ${rpcUrl}: ${err.message}`, { cause: err });
  });
  try {
    const chainId = Number((await provider.getNetwork()).chainId);
    const adminDelay =
      opts.adminDelay !== undefined
        ? BigInt(opts.adminDelay)
        : DEV_CHAIN_IDS.includes(chainId)
          ? 0n
          : DEFAULT_ADMIN_DELAY;
    const deployment = await deployRegistries(wallet.connect(provider), {
      adminDelay,
      members,
      registrars,
      pausers,
      log: (m) => note(m),
    });
    const file = path.resolve(opts.out ?? path.join('deployments', `${deployment.chainId}.json`));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(deployment, null, 2) + '\n');
    if (opts.json) printJson({ file, ...deployment });
    else {
      out(`MemberDirectory ${deployment.memberDirectory!.address}`);
      out(`NotaryRegistry  ${deployment.notaryRegistry.address}`);
      out(`ClaimRegistry   ${deployment.claimRegistry.address}`);
      out(`chain ${deployment.chainId}, admin ${deployment.admin}, admin delay ${deployment.adminDelay} s`);
      out(`wrote ${file}`);
    }
    return 0;
  } finally {
    provider.destroy();
  }
}
