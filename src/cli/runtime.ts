import fs from 'node:fs';
import path from 'node:path';
import { Contract, Wallet, formatEther, getAddress, parseEther } from 'ethers';
import type { FastifyInstance } from 'fastify';
import { initHashing } from '../domain/hashing';
import { CachingRootSource, ChainRootSource } from '../verifier';
import { ChainPolicySource, withCosignPolicies } from '../verifier/cosign-policy';
import { cosignPolicyPlugin, seedDemoSigning, type DemoSigning } from './demo-signers';
import type { Config } from '../config';
import { Database } from '../storage/db';
import { SqlStore } from '../storage/sql-repo';
import { startAnvil, type AnvilHandle } from '../chain/anvil';
import { makeProvider, fetchChainId, type ChainProvider } from '../chain/provider';
import { FileKeystore } from '../chain/keystore';
import { resolveFeePolicy } from '../chain/tx';
import { setBalance } from '../chain/dev-rpc';
import { ChainError, toChainError } from '../chain/errors';
import { ChainGateway } from '../chain/gateway';
import { DirectoryAdminClient } from '../chain/directory-admin';
import { MemberDirectoryReader } from '../chain/registries';
import { AnchorService } from '../service/anchoring';
import { ClaimReconciler, ClaimService } from '../service/claims';
import { RecordService } from '../service/records';
import { WorkerLoop, lineLogger } from '../service/worker-loop';
import { AdminService } from '../service/admin';
import { ServiceError } from '../service/errors';
import { createApiKey } from '../service/auth';
import { buildApp, type AppDeps } from '../api/app';
import type { AnchorView } from '../api/context';
import { WorkerProcess } from './worker-process';
import { pilotRoutes } from '../api/routes/pilots';
import {
  DEFAULT_ADMIN_DELAY,
  DEV_CHAIN_IDS,
  MEMBER_DIRECTORY_ABI,
  deployRegistries,
  isV2Deployment,
  registerAnchorer,
  type Deployment,
} from '../../scripts/lib/deploy-registries';

/** anvil's first default account: a public dev key, used only to deploy on the embedded chain. */
const EMBEDDED_DEPLOYER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

export interface DemoFile {
  apiUrl: string;
  rpcUrl: string;
  chainId: number;
  registry: string;
  claimRegistry: string;
  memberDirectory: string;
  admin: { apiKey: string };
  auditor: { apiKey: string };
  orgs: {
    id: string;
    name: string;
    apiKey: string;
    address: string;
    /** Dev only: the organisation's demo SIGNER key (bank, registrar), its private key in `keyFile`. */
    signer?: { address: string; keyFile: string };
  }[];
  /** Co-signing policies set on the demo chain: record type → organisation ids. */
  cosignPolicies?: Record<string, string[]>;
}

export interface Runtime {
  config: Config;
  app: FastifyInstance;
  store: SqlStore;
  gateway: ChainGateway;
  /** The anchoring worker (WORKER=inline) or the supervisor of its process (WORKER=process, the default). */
  anchor?: AnchorView;
  /** The supervisor of the worker process (WORKER=process). */
  workerProcess?: WorkerProcess;
  anvil?: AnvilHandle;
  provider: ChainProvider;
  deployment: Deployment;
  apiUrl: string;
  rpcUrl: string;
  demo?: DemoFile;
  /** Drains HTTP, finishes the anchoring tick in progress, closes the database and the embedded chain. */
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  log?: (msg: string) => void;
  /** Fastify logger option. */
  logger?: boolean | object;
  /** Embedded chain block time in seconds (default 1; 0 = mine on every transaction). */
  blockTime?: number;
}

// Tax ids: the demo invoices are issued by FR12345678901 (aerospace) to GB987654321 (employer), so the employer
// may claim them (a claim names only invoices its organisation may read: its own, its buyer tax ids', granted).
const DEMO_ORGS = [
  { id: 'bank', name: 'Northbridge Bank (securities issuance)', taxIds: ['GB100200300'] },
  { id: 'aerospace', name: 'Aerostar Group (e-invoices)', taxIds: ['FR12345678901'] },
  { id: 'employer', name: 'Chatwave Ltd (expense reimbursement)', taxIds: ['GB987654321'] },
  { id: 'registrar', name: 'Central Securities Registrar (co-signs issuances)', taxIds: ['GB555666777'] },
];

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

function writeJson(file: string, value: unknown, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode });
  fs.renameSync(tmp, file);
}

/**
 * The registries of an external chain: the deployment file when there is one (checked: same chain, contract code at
 * both addresses), else deployed now with DEPLOYER_KEY and written to `file` for the next start.
 */
async function externalDeployment(
  provider: ChainProvider,
  chainId: number,
  file: string,
  explicit: boolean,
  deployer: Wallet | null,
  log: (msg: string) => void,
): Promise<Deployment> {
  if (fs.existsSync(file)) {
    const d = readJson<Deployment>(file);
    if (!d?.notaryRegistry?.address || !d.claimRegistry?.address)
      throw new Error(`${file} is not a deployment file (no notaryRegistry/claimRegistry address)`);
    if (d.chainId !== chainId)
      throw new Error(`${file} is a deployment on chain ${d.chainId}, but RPC_URL serves chain ${chainId}`);
    const missing: string[] = [];
    for (const [name, c] of [
      ['NotaryRegistry', d.notaryRegistry],
      ['ClaimRegistry', d.claimRegistry],
      ...(d.memberDirectory ? ([['MemberDirectory', d.memberDirectory]] as const) : []),
    ] as const) {
      if ((await provider.getCode(c.address)) === '0x') missing.push(`${name} ${c.address}`);
    }
    if (missing.length)
      throw new Error(
        `${file} names ${missing.join(' and ')}, but chain ${chainId} at RPC_URL has no contract code there: the chain was reset (a restarted hardhat node starts empty) or the file belongs to another chain. ` +
          `Delete ${file} and the data of the old chain (DATA_DIR) to deploy afresh, or set DEPLOYMENT_FILE to this chain's deployment`,
      );
    log(
      isV2Deployment(d)
        ? `registries from ${file}`
        : `registries 1.x from ${file} (no MemberDirectory): old receipts verify, but members cannot be registered — deploy v2 registries (notary deploy) to anchor for new organisations`,
    );
    return d;
  }
  if (explicit) throw new Error(`DEPLOYMENT_FILE ${file} does not exist`);
  if (!deployer)
    throw new Error(
      `no registries for chain ${chainId} (looked at ${file}): set DEPLOYER_KEY so the service deploys them, or DEPLOYMENT_FILE to a deployment (notary deploy, scripts/deploy.ts)`,
    );
  const adminDelay = DEV_CHAIN_IDS.includes(chainId) ? 0n : DEFAULT_ADMIN_DELAY;
  log(`no deployment for chain ${chainId} yet: deploying the registries as ${deployer.address}`);
  const d = await deployRegistries(deployer, { adminDelay, pausers: [deployer.address] });
  writeJson(file, d);
  log(
    `registries deployed: MemberDirectory ${d.memberDirectory!.address}, NotaryRegistry ${d.notaryRegistry.address}, ClaimRegistry ${d.claimRegistry.address} (written to ${file}, used from now on)`,
  );
  return d;
}

/**
 * Starts the whole service: chain (embedded anvil with a state file, or RPC_URL), registries (deployed
 * once), database (migrated), demo organisations (embedded only), anchoring worker and HTTP API.
 */
export async function startRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  const log = opts.log ?? (() => undefined);
  await initHashing();
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 }); // payloads, salts, keys: this user only
  const embedded = !config.rpcUrl;

  // ---- chain ----------------------------------------------------------------------------
  let anvil: AnvilHandle | undefined;
  let rpcUrl = config.rpcUrl;
  if (embedded) {
    const stateFile = path.join(config.dataDir, 'chain', 'anvil-state.json');
    fs.mkdirSync(path.dirname(stateFile), { recursive: true });
    const blockTime = opts.blockTime ?? 1; // 0: mine on every transaction (tests)
    anvil = await startAnvil({
      port: config.chainPort,
      stateFile,
      blockTime: blockTime > 0 ? blockTime : undefined,
      chainId: 31337,
    });
    rpcUrl = anvil.rpcUrl;
    log(`embedded chain (anvil) on ${rpcUrl}, state in ${stateFile}`);
  }
  const stopAnvil = async () => anvil?.stop();
  // WORKER=process: the worker process loads its modules meanwhile; it starts working once the API listens.
  const preforked = config.worker && config.workerMode === 'process' ? WorkerProcess.fork() : undefined;
  try {
    const chainId = await fetchChainId(rpcUrl!, 5000);
    const provider = makeProvider(rpcUrl!, { chainId, timeoutMs: 5000 });
    const keystore = new FileKeystore(config.keystoreDir, config.keystorePassword, { scryptN: config.keystoreScryptN });

    // ---- registries -----------------------------------------------------------------------
    // Embedded: $DATA_DIR/deployment.json. External: DEPLOYMENT_FILE, else $DATA_DIR/deployments/<chainId>.json,
    // which the service writes when it deploys the registries itself (RPC_URL + DEPLOYER_KEY, no deployment yet).
    const deploymentFile =
      config.deploymentFile ??
      (embedded
        ? path.join(config.dataDir, 'deployment.json')
        : path.join(config.dataDir, 'deployments', `${chainId}.json`));
    const deployer = embedded
      ? new Wallet(EMBEDDED_DEPLOYER_KEY, provider)
      : config.deployerKey
        ? new Wallet(config.deployerKey, provider)
        : null;
    let deployment: Deployment | null;
    if (embedded) {
      deployment = readJson<Deployment>(deploymentFile);
      const codeMissing = deployment ? (await provider.getCode(deployment.notaryRegistry.address)) === '0x' : true;
      const v1 = deployment !== null && !isV2Deployment(deployment);
      if (!deployment || codeMissing || v1 || deployment.chainId !== chainId) {
        if (deployment && codeMissing) log('registries missing on the embedded chain (state lost?): deploying again');
        else if (v1) log('the embedded chain holds registries 1.x: deploying the v2 registries and the directory');
        deployment = await deployRegistries(deployer!, { adminDelay: 0, pausers: [deployer!.address] });
        writeJson(deploymentFile, deployment);
        log(
          `registries deployed: MemberDirectory ${deployment.memberDirectory!.address}, NotaryRegistry ${deployment.notaryRegistry.address}, ClaimRegistry ${deployment.claimRegistry.address}`,
        );
      }
    } else {
      deployment = await externalDeployment(
        provider,
        chainId,
        deploymentFile,
        Boolean(config.deploymentFile),
        deployer,
        log,
      );
    }

    // ---- database -------------------------------------------------------------------------
    const db = await Database.open(
      config.databaseUrl ? { url: config.databaseUrl } : { sqlitePath: path.join(config.dataDir, 'notary.db') },
    );
    const store = new SqlStore(db);

    const fee = await resolveFeePolicy(provider, { gasPrice: config.gasPrice });
    const chargesGas = (fee.type === 0 ? fee.gasPrice : fee.maxFeePerGas) > 0n;
    const gateway = new ChainGateway({
      provider,
      chainId,
      registry: deployment.notaryRegistry.address,
      claimRegistry: deployment.claimRegistry.address,
      keystore,
      fee,
      fromBlock: deployment.notaryRegistry.block,
    });

    // A member's own chain account: created in the keystore, funded on chains that charge gas, and bound to its
    // organisation in the directory as an ANCHORER key (it anchors and claims; bound for ever).
    const directory =
      deployer && isV2Deployment(deployment)
        ? new Contract(deployment.memberDirectory.address, MEMBER_DIRECTORY_ABI, deployer)
        : null;
    // The deployer's transactions (keys from the API, top-ups from the worker) one at a time: ethers picks the
    // nonce of each from the node, so two at once would collide.
    let deployerQueue: Promise<unknown> = Promise.resolve();
    const asDeployer = <T>(fn: () => Promise<T>): Promise<T> => {
      const next = deployerQueue.then(fn);
      deployerQueue = next.catch(() => undefined);
      return next;
    };
    const funder = !embedded && deployer && chargesGas && config.fundAmount > 0n ? deployer : null;
    /** Tops `address` up to FUND_AMOUNT from the deployer once it holds less than half of it. */
    const ensureFunds = async (address: string) => {
      if (!funder) return;
      const balance = await provider.getBalance(address);
      if (balance >= config.fundAmount / 2n) return;
      try {
        await asDeployer(async () => {
          const tx = await funder.sendTransaction({ to: address, value: config.fundAmount - balance });
          await tx.wait();
        });
      } catch (err) {
        const e = toChainError(err);
        throw new ChainError({
          code: e.code,
          message: `funding ${address} from the deployer ${funder.address} failed: ${e.message}`,
          cause: err,
        });
      }
      log(`funded ${address} with ${formatEther(config.fundAmount - balance)} ETH from the deployer`);
    };
    const ensureMember = async (orgId: string, address: string) => {
      if (embedded) await setBalance(provider, address, parseEther('1000'));
      else await ensureFunds(address);
      // Without a directory (registries 1.x) nothing can bind the account: provisionAccount refuses before this.
      if (!directory) return; // no DEPLOYER_KEY: the directory's registrar binds the key (addKey) out of band
      try {
        await asDeployer(() => registerAnchorer(directory, orgId, address, log));
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('MemberDirectory:')) throw err;
        const e = toChainError(err);
        throw new ChainError({
          code: e.code,
          message: `registering ${address} as ANCHORER key of ${orgId} in MemberDirectory failed: ${e.message}`,
          cause: err,
        });
      }
    };
    if (!embedded && chargesGas) {
      log(
        funder
          ? `the chain charges gas: new accounts get ${formatEther(config.fundAmount)} ETH from the deployer (FUND_AMOUNT), topped up below half`
          : `the chain charges gas and nothing funds the organisations' accounts (${deployer ? 'FUND_AMOUNT=0' : 'no DEPLOYER_KEY'}): their records stay pending, blocked INSUFFICIENT_FUNDS, until their accounts hold ether`,
      );
    }
    const provisionAccount = async (orgId: string) => {
      if (!isV2Deployment(deployment!))
        throw new ServiceError(
          'REGISTRY_1X',
          `The deployment names registries 1.x (no MemberDirectory): the account of ${orgId} cannot be registered; deploy the v2 registries (notary deploy) and point DEPLOYMENT_FILE at them`,
        );
      const { address } = await keystore.create(orgId);
      await ensureMember(orgId, address);
      return getAddress(address);
    };
    /** Key rotation: a new account bound like a provisioned one, then the old one removed from the directory. */
    const rotateKey = async (orgId: string, oldAddress: string) => {
      if (!isV2Deployment(deployment!) || !directory)
        throw new ServiceError(
          'REGISTRY_1X',
          `No MemberDirectory this service may write to (registries 1.x or no DEPLOYER_KEY): the key of ${orgId} cannot be rotated here`,
        );
      const { address } = await keystore.create(orgId);
      await ensureMember(orgId, address);
      try {
        await asDeployer(async () => {
          const tx = await directory.removeKey(getAddress(oldAddress));
          const receipt = await tx.wait();
          if (!receipt || receipt.status !== 1) throw new Error(`MemberDirectory: removeKey ${oldAddress} failed`);
        });
      } catch (err) {
        const e = toChainError(err);
        throw new ChainError({
          code: e.code,
          message: `removing ${oldAddress}, the old key of ${orgId}, from MemberDirectory failed: ${e.message}`,
          cause: err,
        });
      }
      log(`MemberDirectory: ${oldAddress} removed, ${address} is the ANCHORER key of ${orgId} now`);
      return getAddress(address);
    };

    // ---- demo organisations (embedded default) ----------------------------------------------
    let demo: DemoFile | undefined;
    const secretsFile = path.join(config.dataDir, 'demo-secrets.json');
    if (embedded) {
      let secrets = readJson<{ admin: string; auditor: string; orgs: Record<string, string> }>(secretsFile);
      const admin = new AdminService(store, provisionAccount, rotateKey);
      if (!secrets) {
        const orgs = await store.read((r) => r.listOrgs());
        if (orgs.length)
          throw new Error(`${secretsFile} is missing but the database has organisations: cannot print demo keys`);
        await admin.createOrg({ id: 'operator', name: 'Notary operator', kind: 'operator' });
        await admin.createOrg({ id: 'auditor', name: 'Consortium auditor', kind: 'auditor' });
        const s = { admin: '', auditor: '', orgs: {} as Record<string, string> };
        s.admin = (await admin.createKey('operator', 'demo admin', ['admin'])).key;
        s.auditor = (await admin.createKey('auditor', 'demo auditor', ['audit'])).key;
        for (const o of DEMO_ORGS) {
          await admin.createOrg({ id: o.id, name: o.name, kind: 'member', taxIds: o.taxIds });
          s.orgs[o.id] = (await store.tx((r) => createApiKey(r, o.id, 'demo submitter', ['submit', 'audit']))).key;
          await admin.grant(o.id, 'auditor');
        }
        writeJson(secretsFile, s, 0o600);
        secrets = s;
      }
      // A data folder from before an organisation joined the demo (the registrar): add it.
      for (const o of DEMO_ORGS.filter((x) => !secrets!.orgs[x.id])) {
        if (!(await store.read((r) => r.getOrg(o.id))))
          await admin.createOrg({ id: o.id, name: o.name, kind: 'member', taxIds: o.taxIds });
        secrets.orgs[o.id] = (await store.tx((r) => createApiKey(r, o.id, 'demo submitter', ['submit', 'audit']))).key;
        await admin.grant(o.id, 'auditor');
        writeJson(secretsFile, secrets, 0o600);
      }
      // Chain state may be new (deleted or lost): make sure every member account is still bound in the directory.
      for (const o of await store.read((r) => r.listOrgs())) if (o.address) await ensureMember(o.id, o.address);
      const signing: DemoSigning | null =
        deployer && isV2Deployment(deployment)
          ? await seedDemoSigning({
              dataDir: config.dataDir,
              directoryAddress: deployment.memberDirectory.address,
              deployer,
              asDeployer,
              log,
            })
          : null;
      demo = {
        apiUrl: '',
        rpcUrl: rpcUrl!,
        chainId,
        registry: deployment.notaryRegistry.address,
        claimRegistry: deployment.claimRegistry.address,
        memberDirectory: deployment.memberDirectory!.address,
        admin: { apiKey: secrets.admin },
        auditor: { apiKey: secrets.auditor },
        orgs: [],
        ...(signing ? { cosignPolicies: signing.cosignPolicies } : {}),
      };
      for (const o of await store.read((r) => r.listOrgs())) {
        if (secrets.orgs[o.id])
          demo.orgs.push({
            id: o.id,
            name: o.name,
            apiKey: secrets.orgs[o.id]!,
            address: o.address!,
            ...(signing?.signers[o.id] ? { signer: signing.signers[o.id] } : {}),
          });
      }
    } else if (!(await store.read((r) => r.listOrgs())).length) {
      const admin = new AdminService(store, provisionAccount, rotateKey);
      await admin.createOrg({ id: 'operator', name: 'Notary operator', kind: 'operator' });
      const { key } = await admin.createKey('operator', 'bootstrap admin', ['admin']);
      // Kept out of logs (they are often collected): written once to a file only this user can read.
      const keyFile = path.join(config.dataDir, 'bootstrap-admin-key');
      fs.writeFileSync(keyFile, key + '\n', { mode: 0o600, flag: 'wx' });
      log(`bootstrap admin API key written to ${keyFile} (mode 600): store it safely, then delete the file`);
    }

    // ---- worker and API ---------------------------------------------------------------------
    let lastFundingError = '';
    // Top-ups from the worker are best effort: the pre-check blocks the anchor only if funds really lack.
    const topUp = funder
      ? (address: string) =>
          ensureFunds(address).catch((err: Error) => {
            if (err.message !== lastFundingError) log(`warn: ${err.message}`);
            lastFundingError = err.message;
          })
      : undefined;
    const policies = new ChainPolicySource({ provider });
    // Signed records (receipt v2) are checked against the directory's SIGNER keys; with DEPLOYER_KEY (the registrar)
    // the admin API binds and removes them and sets co-signing policies.
    const memberDirectory = isV2Deployment(deployment)
      ? new MemberDirectoryReader(provider, deployment.memberDirectory.address)
      : undefined;
    const directoryAdmin =
      deployer && isV2Deployment(deployment)
        ? new DirectoryAdminClient(
            provider,
            deployment.memberDirectory.address,
            deployer,
            deployment.memberDirectory.block,
            asDeployer,
          )
        : undefined;
    // WORKER=process (default): the worker and the claims reconciler run in a child process started once the API
    // listens; the API process only serves (it builds no trees and writes no batches). WORKER=inline: here.
    const workerProcess =
      config.worker && config.workerMode === 'process'
        ? new WorkerProcess({
            store,
            log,
            ensureFunds: topUp,
            init: () => ({ config, rpcUrl: rpcUrl!, chainId, deployment: deployment!, fee, funding: Boolean(topUp) }),
          })
        : undefined;
    const workerLog = lineLogger(log);
    const anchor =
      config.worker && !workerProcess
        ? new AnchorService(store, gateway, {
            intervalMs: config.anchorIntervalMs,
            maxLeaves: config.anchorMaxLeaves,
            confirmations: config.confirmations,
            leaseMs: config.leaseMs,
            ensureFunds: topUp,
            log: workerLog,
          })
        : undefined;
    // WORKER=inline: the one leased polling loop of the worker (anchoring and the claims reconciler) runs here, as in
    // the worker process (src/cli/worker.ts).
    const loop = anchor
      ? new WorkerLoop(
          store,
          [
            anchor,
            new ClaimReconciler(
              store,
              new ClaimService(store, gateway, new RecordService(store), {
                consortiumSecret: config.consortiumSecret,
                confirmations: config.confirmations,
                log: workerLog,
              }),
              { log: workerLog },
            ),
          ],
          { log: workerLog },
        )
      : undefined;
    const deps: AppDeps = {
      store,
      chain: gateway,
      anchor: workerProcess ?? anchor,
      // Positive anchor reads are reused for 10 s: POST /v1/verify need not ask the chain twice per root.
      // With the directory's co-signing policies (trace, bundle, cosignature parents), read for 10 s at most.
      rootSource: withCosignPolicies(
        new CachingRootSource(
          new ChainRootSource({ provider }, { trustedRegistries: [deployment.notaryRegistry.address] }),
        ),
        policies,
      ),
      provisionAccount,
      rotateKey,
      directory: memberDirectory,
      directoryAdmin,
      // /v1/info: the embedded dev chain's URL, or on an external chain only PUBLIC_RPC_URL (never RPC_URL itself:
      // an internal address, maybe with credentials).
      publicRpcUrl: config.rpcUrl ? config.publicRpcUrl : rpcUrl,
      consortiumSecret: config.consortiumSecret,
      confirmations: config.confirmations,
      plugins: [pilotRoutes, cosignPolicyPlugin(policies)],
    };
    const app = await buildApp(deps, {
      logger: opts.logger ?? false,
      bodyLimit: config.bodyLimit,
      publicUrl: config.publicUrl,
      rateLimitMax: config.rateLimitMax,
    });
    const address = await app.listen({ port: config.port, host: config.host });
    const apiUrl = address.replace('[::1]', '127.0.0.1');
    loop?.start();
    workerProcess?.start(preforked);

    if (demo) {
      demo.apiUrl = apiUrl;
      writeJson(path.join(config.dataDir, 'demo.json'), demo, 0o600);
    }

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await app.close();
        await loop?.stop().catch(() => undefined);
        await workerProcess?.stop().catch(() => undefined);
        await store.close();
        provider.destroy?.();
        await stopAnvil();
      })());

    return {
      config,
      app,
      store,
      gateway,
      anchor: workerProcess ?? anchor,
      workerProcess,
      anvil,
      provider,
      deployment,
      apiUrl,
      rpcUrl: rpcUrl!,
      demo,
      stop,
    };
  } catch (err) {
    preforked?.kill('SIGKILL');
    await stopAnvil();
    throw err;
  }
}
