import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Contract, ContractFactory, Wallet, id } from 'ethers';
import { freePort, startAnvil, type AnvilHandle } from '../../src/chain/anvil';
import { makeProvider, type ChainProvider } from '../../src/chain/provider';
import { assertProductionSecrets, loadConfig } from '../../src/config';
import { startRuntime, type Runtime } from '../../src/cli/runtime';
import type { ReceiptV1 } from '../../src/domain/receipt';
import { ChainRootSource, verifyReceipt } from '../../src/verifier';
import { setBalance } from '../../src/chain/dev-rpc';
import { MemberDirectory__factory, NotaryRegistryV2__factory } from '../../typechain-types';
import { ANCHORER_ROLE, loadArtifact, type Deployment } from '../../scripts/lib/deploy-registries';
import { initHashing } from '../../src/domain/hashing';
import { anchorBatch } from '../helpers/notary-chain';
import { OPERATOR_KEY, deployV2File } from '../helpers/deployment';
import { api, eventually } from '../helpers/instance';
import { invoicePayload } from '../helpers/payloads';

// anvil's fourth default account (public dev key): an ANCHORER_ROLE holder on the 1.x registry.
const ANCHORER_V1_KEY = '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6';

// A consortium chain like Besu/Quorum with zero gas price: accounts need no funding.
describe('external zero-gas chain (RPC_URL + DEPLOYMENT_FILE + GAS_PRICE=0, as in production)', () => {
  let anvil: AnvilHandle;
  let rt: Runtime;
  let dataDir: string;

  before(async () => {
    anvil = await startAnvil({ extraArgs: ['--base-fee', '0', '--gas-price', '0'] });

    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-ext-'));
    // The organisation accounts the service creates hold no ether at all.
    const { file: deploymentFile } = await deployV2File(anvil, dataDir);
    rt = await startRuntime(
      loadConfig({
        RPC_URL: anvil.rpcUrl,
        DEPLOYMENT_FILE: deploymentFile,
        DEPLOYER_KEY: OPERATOR_KEY,
        GAS_PRICE: '0',
        DATA_DIR: dataDir,
        KEYSTORE_PASSWORD: 'correct horse battery staple',
        CONSORTIUM_SECRET: 'a consortium secret for this test',
        PORT: '0',
        ANCHOR_INTERVAL_MS: '100',
        CONFIRMATIONS: '1',
      }),
    );
  });
  after(async () => {
    await rt?.stop();
    await anvil?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('does not deploy, creates no demo organisations, and hands the bootstrap admin key over in a private file', async () => {
    assert.equal(rt.demo, undefined);
    assert.equal(rt.anvil, undefined);
    const keyFile = path.join(dataDir, 'bootstrap-admin-key');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    const orgs = await api(rt.apiUrl, 'GET', '/v1/orgs', { key: fs.readFileSync(keyFile, 'utf8').trim() });
    assert.deepEqual(
      orgs.body.map((o: { id: string }) => o.id),
      ['operator'],
    );
  });

  it('onboards an organisation (keystore account bound in the directory by the operator) whose records get anchored', async () => {
    const admin = fs.readFileSync(path.join(dataDir, 'bootstrap-admin-key'), 'utf8').trim();
    const org = await api(rt.apiUrl, 'POST', '/v1/orgs', { key: admin, body: { id: 'acme', name: 'Acme SA' } });
    assert.equal(org.status, 201);
    // The org's signing key is in the encrypted keystore, not in the database.
    const files = fs.readdirSync(path.join(dataDir, 'keystore'));
    assert.ok(files.some((f) => f.toLowerCase().includes(org.body.address.slice(2).toLowerCase())));
    // Bound to its organisation in the MemberDirectory as an ANCHORER key (kind 0), active (until 0).
    const directory = MemberDirectory__factory.connect(rt.deployment.memberDirectory!.address, rt.provider);
    const [boundOrg, kind, since, until] = await directory.memberOf(org.body.address);
    assert.deepEqual([boundOrg, Number(kind), since > 0n, until], [id('acme'), 0, true, 0n]);
    const key = await api(rt.apiUrl, 'POST', '/v1/orgs/acme/keys', {
      key: admin,
      body: { name: 'erp', scopes: ['submit'] },
    });
    const sub = await api(rt.apiUrl, 'POST', '/v1/records', {
      key: key.body.key,
      body: { type: 'invoice.issued', externalId: 'EXT-1', payload: invoicePayload(1) },
    });
    assert.equal(sub.status, 202);
    const receipt = await eventually(async () => {
      const r = await api(rt.apiUrl, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: key.body.key });
      return r.status === 200 ? r.body : null;
    });
    assert.equal(receipt.anchor.submitter, org.body.address);
    assert.equal(receipt.anchor.registry, rt.deployment.notaryRegistry.address);
    assert.equal(await rt.provider.getBalance(org.body.address), 0n, 'anchored without any ether (zero gas price)');
    const verdict = await api(rt.apiUrl, 'POST', '/v1/verify', { body: { receipt, payload: invoicePayload(1) } });
    assert.equal(verdict.body.valid, true, JSON.stringify(verdict.body.checks));
  });
});

// A deployment file of registries 1.x (before the MemberDirectory): old receipts must keep verifying.
describe('external chain with a v1 deployment file (registries 1.x, no memberDirectory)', () => {
  let anvil: AnvilHandle;
  let rt: Runtime;
  let dataDir: string;
  let receipt: ReceiptV1;
  const payload = invoicePayload(7);

  before(async () => {
    await initHashing();
    anvil = await startAnvil({ extraArgs: ['--base-fee', '0', '--gas-price', '0'] });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-ext-v1-'));
    const provider = makeProvider(anvil.rpcUrl, { chainId: anvil.chainId });
    const operator = new Wallet(OPERATOR_KEY, provider);
    const deployed: Record<string, { address: string; txHash: string; block: number }> = {};
    const contracts: Record<string, Contract> = {};
    for (const name of ['NotaryRegistry', 'ClaimRegistry'] as const) {
      const a = loadArtifact(name);
      const c = (await new ContractFactory(a.abi, a.bytecode, operator).deploy(0, operator.address)) as Contract;
      const r = await c.deploymentTransaction()!.wait();
      contracts[name] = c;
      deployed[name] = { address: await c.getAddress(), txHash: r!.hash, block: r!.blockNumber };
    }
    const notary = contracts.NotaryRegistry!;
    const anchorer = new Wallet(ANCHORER_V1_KEY, provider);
    await (await notary.getFunction('grantRole')(ANCHORER_ROLE, anchorer.address)).wait();
    const fakeHre = { ethers: { provider } };
    [receipt] = await anchorBatch(fakeHre, notary, anchorer, [
      { id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', orgId: 'bank', type: 'invoice.issued', payload, parents: [] },
    ]);
    provider.destroy();
    const deploymentFile = path.join(dataDir, 'deployment-v1.json');
    fs.writeFileSync(
      deploymentFile,
      JSON.stringify({
        chainId: anvil.chainId,
        notaryRegistry: deployed.NotaryRegistry,
        claimRegistry: deployed.ClaimRegistry,
        admin: operator.address,
        adminDelay: 0,
        roles: {
          notaryRegistry: { ANCHORER_ROLE: [anchorer.address], PAUSER_ROLE: [] },
          claimRegistry: { CLAIMANT_ROLE: [], PAUSER_ROLE: [] },
        },
        deployedAt: new Date().toISOString(),
      }),
    );
    const logs: string[] = [];
    rt = await startRuntime(
      loadConfig({
        RPC_URL: anvil.rpcUrl,
        DEPLOYMENT_FILE: deploymentFile,
        DEPLOYER_KEY: OPERATOR_KEY,
        GAS_PRICE: '0',
        DATA_DIR: dataDir,
        KEYSTORE_PASSWORD: 'correct horse battery staple',
        CONSORTIUM_SECRET: 'a consortium secret for this test',
        PORT: '0',
        ANCHOR_INTERVAL_MS: '100',
        CONFIRMATIONS: '1',
      }),
      { log: (m) => logs.push(m) },
    );
    assert.ok(
      logs.some((m) => /registries 1\.x from .* \(no MemberDirectory\)/.test(m)),
      logs.join('\n'),
    );
  });
  after(async () => {
    await rt?.stop();
    await anvil?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts, verifies a receipt anchored on the 1.x registry, and refuses a new organisation with 409 REGISTRY_1X', async () => {
    const verdict = await api(rt.apiUrl, 'POST', '/v1/verify', { body: { receipt, payload } });
    assert.equal(verdict.status, 200);
    assert.equal(verdict.body.valid, true, JSON.stringify(verdict.body.checks));
    const admin = fs.readFileSync(path.join(dataDir, 'bootstrap-admin-key'), 'utf8').trim();
    const org = await api(rt.apiUrl, 'POST', '/v1/orgs', { key: admin, body: { id: 'acme', name: 'Acme SA' } });
    assert.equal(org.status, 409, JSON.stringify(org.body));
    assert.equal(org.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(org.body.code, 'REGISTRY_1X');
    const orgs = await api(rt.apiUrl, 'GET', '/v1/orgs', { key: admin });
    assert.deepEqual(
      orgs.body.map((o: { id: string }) => o.id),
      ['operator'],
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// README "Test your integration against a hardhat node": every command there, run here as written.

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'notary.js');
/** Hardhat's (and anvil's) default accounts #0–#2: public dev keys. Each process deploys with its own (nonces). */
const HARDHAT_KEY_0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const HARDHAT_KEY_2 = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a';
const HARDHAT_KEY_3 = '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6';

interface Child {
  proc: ChildProcess;
  output(): string;
  /** Resolves with the first output line matching `re`. */
  waitLine(re: RegExp, timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

/** The environment without the caller's service/CLI settings (a developer's RPC_URL must not leak in). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const drop = /^(NOTARY_|RPC_URL$|DATA_DIR$|DEPLOYMENT_FILE$|DEPLOYER_KEY$|DATABASE_URL$|PORT$|GAS_PRICE$|ZERO_GAS$)/;
  for (const [k, v] of Object.entries(process.env)) if (!drop.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function spawnChild(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Child {
  const proc = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of waiters) w();
  });
  return {
    proc,
    output: () => out,
    waitLine: (re, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = out.split('\n').find((l) => re.test(l));
          if (m !== undefined || done) {
            waiters.delete(check);
            clearTimeout(timer);
            if (m !== undefined) resolve(m);
            else reject(new Error(`${cmd} ${args.join(' ')} exited before printing ${re}:\n${out.slice(-3000)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no line ${re} within ${timeoutMs} ms from ${args.join(' ')}:\n${out.slice(-3000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    stop: async () => {
      if (done) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** `npx hardhat node --port P` (the repository's hardhat.config.ts; ZERO_GAS=1 for a zero-gas chain). */
async function startHardhatNode(env: Record<string, string> = {}): Promise<Child & { rpcUrl: string }> {
  const port = await freePort();
  const node = spawnChild(
    path.join(ROOT, 'node_modules', '.bin', 'hardhat'),
    ['node', '--hostname', '127.0.0.1', '--port', String(port)],
    cleanEnv(env),
  );
  await node.waitLine(/Started HTTP and WebSocket JSON-RPC server/, 90_000);
  return { ...node, rpcUrl: `http://127.0.0.1:${port}` };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One `notary …` command (node bin/notary.js), as a developer types it in its own terminal. */
function notary(args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Transactions mined in blocks [from, head] sent by `address`, with their receipt status. */
async function txsFrom(
  provider: ChainProvider,
  address: string,
  from: number,
): Promise<{ hash: string; status: number }[]> {
  const head = await provider.getBlockNumber();
  const out: { hash: string; status: number }[] = [];
  for (let n = from; n <= head; n++) {
    const block = await provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.from.toLowerCase() !== address.toLowerCase()) continue;
      const r = await provider.getTransactionReceipt(tx.hash);
      out.push({ hash: tx.hash, status: r!.status ?? -1 });
    }
  }
  return out;
}

describe(
  'against `npx hardhat node` (README: Test your integration against a hardhat node)',
  { timeout: 300_000 },
  () => {
    let node: Child & { rpcUrl: string };
    let service: Child;
    let provider: ChainProvider;
    let dataDir: string;
    let work: string;
    let apiUrl: string;
    let adminKey: string;
    let acme: { address: string };
    let acmeKey: string;

    before(async () => {
      node = await startHardhatNode();
      provider = makeProvider(node.rpcUrl, { chainId: 31337 });
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-hh-'));
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-hh-work-'));
      // `RPC_URL=… DEPLOYER_KEY=… KEYSTORE_PASSWORD=… CONSORTIUM_SECRET=… npm start` (npm start = node scripts/start.cjs)
      service = spawnChild(
        process.execPath,
        [path.join(ROOT, 'scripts', 'start.cjs')],
        cleanEnv({
          RPC_URL: node.rpcUrl,
          DEPLOYER_KEY: HARDHAT_KEY_0,
          KEYSTORE_PASSWORD: 'dev-keystore-password',
          KEYSTORE_SCRYPT_N: '131072',
          CONSORTIUM_SECRET: 'dev-consortium-secret-of-32-bytes-or-more',
          DATA_DIR: dataDir,
          PORT: String(await freePort()),
        }),
      );
      const line = await service.waitLine(/\[notary\] API on http/, 120_000);
      apiUrl = /API on (http:\/\/\S+)/.exec(line)![1]!;
      await service.waitLine(/\[notary\] ready in/, 30_000);
      adminKey = fs.readFileSync(path.join(dataDir, 'bootstrap-admin-key'), 'utf8').trim();
    });
    after(async () => {
      await service?.stop();
      provider?.destroy();
      await node?.stop();
      for (const d of [dataDir, work]) if (d) fs.rmSync(d, { recursive: true, force: true });
    });

    it('npm start deploys the registries itself and writes $DATA_DIR/deployments/31337.json', async () => {
      const file = path.join(dataDir, 'deployments', '31337.json');
      const d = JSON.parse(fs.readFileSync(file, 'utf8')) as Deployment;
      assert.equal(d.chainId, 31337);
      assert.notEqual(await provider.getCode(d.notaryRegistry.address), '0x');
      assert.notEqual(await provider.getCode(d.claimRegistry.address), '0x');
      assert.notEqual(await provider.getCode(d.memberDirectory!.address), '0x');
      assert.match(service.output(), /registries deployed: MemberDirectory 0x[0-9a-fA-F]{40}, NotaryRegistry 0x/);
      assert.match(service.output(), /the chain charges gas: new accounts get 1\.0 ETH from the deployer/);
    });

    it('a new organisation (CLI), an invoice submitted with --wait: a receipt that verifies (CLI and src/verifier)', async () => {
      const asAdmin = { NOTARY_API_URL: apiUrl, NOTARY_API_KEY: adminKey };
      const created = await notary(['org', 'create', 'acme', '--name', 'Acme SA'], asAdmin, work);
      assert.equal(created.code, 0, created.stderr);
      acme = { address: /chain account (0x[0-9a-fA-F]{40})/.exec(created.stdout)![1]! };
      // Funded from the deployer: the chain charges gas.
      assert.equal(await provider.getBalance(acme.address), 10n ** 18n);
      const key = await notary(['key', 'create', 'acme', '--name', 'erp', '--scopes', 'submit,audit'], asAdmin, work);
      assert.equal(key.code, 0, key.stderr);
      acmeKey = key.stdout.trim();
      assert.match(acmeKey, /^\S+$/);

      fs.writeFileSync(path.join(work, 'invoice.json'), JSON.stringify(invoicePayload(1), null, 2));
      const asAcme = { NOTARY_API_URL: apiUrl, NOTARY_API_KEY: acmeKey };
      const sub = await notary(['submit', 'invoice.json', '--type', 'invoice.issued', '--wait'], asAcme, work);
      assert.equal(sub.code, 0, sub.stdout + sub.stderr);
      const receiptFile = path.join(work, 'invoice.receipt.json');
      const receipt = JSON.parse(fs.readFileSync(receiptFile, 'utf8')) as ReceiptV1;
      assert.equal(receipt.anchor.submitter, acme.address);

      const verified = await notary(
        ['verify', 'invoice.receipt.json', '--payload', 'invoice.json', '--rpc', node.rpcUrl],
        {},
        work,
      );
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      const d = JSON.parse(fs.readFileSync(path.join(dataDir, 'deployments', '31337.json'), 'utf8')) as Deployment;
      const verdict = await verifyReceipt(receipt, {
        payload: invoicePayload(1),
        rootSource: new ChainRootSource({ provider }, { trustedRegistries: [d.notaryRegistry.address] }),
      });
      assert.ok(verdict.valid, JSON.stringify(verdict.checks));
    });

    it('registry paused: pending records say blocked REGISTRY_PAUSED, /ready says so, no reverted anchor is mined; anchored after unpause', async () => {
      const d = JSON.parse(fs.readFileSync(path.join(dataDir, 'deployments', '31337.json'), 'utf8')) as Deployment;
      const pauser = NotaryRegistryV2__factory.connect(d.notaryRegistry.address, new Wallet(HARDHAT_KEY_0, provider));
      await (await pauser.pause()).wait();
      const from = await provider.getBlockNumber();
      const nonce = await provider.getTransactionCount(acme.address);
      const sub = await api(apiUrl, 'POST', '/v1/records', {
        key: acmeKey,
        body: { type: 'invoice.issued', externalId: 'PAUSED-1', payload: invoicePayload(2) },
      });
      assert.equal(sub.status, 202);
      const rec = await eventually(async () => {
        const r = await api(apiUrl, 'GET', `/v1/records/${sub.body.id}`, { key: acmeKey });
        return r.body.blocked ? r.body : null;
      }, 30_000);
      assert.equal(rec.status, 'pending');
      assert.equal(rec.blocked.code, 'REGISTRY_PAUSED');
      assert.match(rec.blocked.detail, /paused/);
      // The operator's view (an admin key) names the organisation and the reason.
      const ready = await api(apiUrl, 'GET', '/ready', { key: adminKey });
      assert.equal(ready.body.checks.anchoring.ok, false);
      assert.match(ready.body.checks.anchoring.detail, /acme: REGISTRY_PAUSED/);
      const notReady = await api(apiUrl, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: acmeKey });
      assert.equal(notReady.status, 409);
      assert.equal(notReady.body.blocked.code, 'REGISTRY_PAUSED');
      // Many worker passes later (each 250 ms): still no transaction from the account, so none reverted.
      await new Promise((r) => setTimeout(r, 3000));
      assert.deepEqual(await txsFrom(provider, acme.address, from + 1), []);
      assert.equal(await provider.getTransactionCount(acme.address), nonce);
      assert.equal(service.output().match(/anchoring blocked for organisation/g)?.length ?? 0, 1, service.output());

      await (await pauser.unpause()).wait();
      await eventually(async () => {
        const r = await api(apiUrl, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: acmeKey });
        return r.status === 200;
      }, 30_000);
      const after = await api(apiUrl, 'GET', `/v1/records/${sub.body.id}`, { key: acmeKey });
      assert.equal(after.body.blocked, undefined);
      assert.deepEqual(
        (await txsFrom(provider, acme.address, from + 1)).map((t) => t.status),
        [1],
        'one anchor, mined and successful',
      );
    });

    it('an account that fell below half of FUND_AMOUNT is topped up from the deployer before its next anchor', async () => {
      await setBalance(provider, acme.address, 10n ** 17n); // 0.1 ETH, below 0.5
      const sub = await api(apiUrl, 'POST', '/v1/records', {
        key: acmeKey,
        body: { type: 'invoice.issued', externalId: 'TOPUP-1', payload: invoicePayload(5) },
      });
      assert.equal(sub.status, 202);
      await eventually(async () => {
        const r = await api(apiUrl, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: acmeKey });
        return r.status === 200;
      }, 30_000);
      // Topped up to 1 ETH, then one anchor paid from it.
      const balance = await provider.getBalance(acme.address);
      assert.ok(balance > 9n * 10n ** 17n && balance < 10n ** 18n, `balance ${balance}`);
      assert.match(service.output(), new RegExp(`funded ${acme.address} with 0\\.9 ETH from the deployer`));
    });

    it('restarted, npm start uses the deployment it wrote; a deployment whose addresses hold no code is refused clearly', async () => {
      const file = path.join(dataDir, 'deployments', '31337.json');
      const before = fs.readFileSync(file, 'utf8');
      await service.stop();
      // The same start path in this process (a second ts-node start of the CLI is slow on a shared machine).
      const env = {
        RPC_URL: node.rpcUrl,
        DEPLOYER_KEY: HARDHAT_KEY_0,
        KEYSTORE_PASSWORD: 'dev-keystore-password',
        KEYSTORE_SCRYPT_N: '131072',
        CONSORTIUM_SECRET: 'dev-consortium-secret-of-32-bytes-or-more',
        DATA_DIR: dataDir,
        PORT: '0',
      };
      const logs: string[] = [];
      const config = loadConfig(env);
      assertProductionSecrets(config); // what `notary start` checks first
      const rt = await startRuntime(config, { log: (m) => logs.push(m) });
      try {
        assert.equal(fs.readFileSync(file, 'utf8'), before);
        assert.equal(rt.deployment.notaryRegistry.address, (JSON.parse(before) as Deployment).notaryRegistry.address);
        assert.ok(!logs.some((l) => /deploying|registries deployed/.test(l)), logs.join('\n'));
      } finally {
        await rt.stop();
      }
      // No deployment and no DEPLOYER_KEY: nothing to deploy with, and the message says what to set.
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-hh-nokey-'));
      try {
        await assert.rejects(
          startRuntime(loadConfig({ ...env, DEPLOYER_KEY: '', DATA_DIR: empty }), {}),
          /no registries for chain 31337 \(looked at .*deployments\/31337\.json\): set DEPLOYER_KEY so the service deploys them, or DEPLOYMENT_FILE/,
        );
      } finally {
        fs.rmSync(empty, { recursive: true, force: true });
      }
      // A deployment file from another (reset) chain: addresses with no code on this one.
      const stale = path.join(work, 'stale.json');
      const d = JSON.parse(before) as Deployment;
      d.notaryRegistry.address = Wallet.createRandom().address;
      fs.writeFileSync(stale, JSON.stringify(d));
      await assert.rejects(
        startRuntime(loadConfig({ ...env, DEPLOYMENT_FILE: stale }), {}),
        /stale\.json names NotaryRegistry 0x[0-9a-fA-F]{40}, but chain 31337 at RPC_URL has no contract code there/,
      );
    });

    it('an unfunded account on a chain that charges gas (FUND_AMOUNT=0): records say blocked INSUFFICIENT_FUNDS; anchored once funded', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-hh-unfunded-'));
      const logs: string[] = [];
      const rt = await startRuntime(
        loadConfig({
          RPC_URL: node.rpcUrl,
          DEPLOYER_KEY: HARDHAT_KEY_2,
          FUND_AMOUNT: '0',
          KEYSTORE_PASSWORD: 'dev-keystore-password',
          CONSORTIUM_SECRET: 'dev-consortium-secret-of-32-bytes-or-more',
          DATA_DIR: dir,
          PORT: '0',
          ANCHOR_INTERVAL_MS: '100',
        }),
        { log: (m) => logs.push(m) },
      );
      try {
        assert.ok(
          logs.some((l) => /nothing funds the organisations' accounts \(FUND_AMOUNT=0\)/.test(l)),
          logs.join('\n'),
        );
        const admin = fs.readFileSync(path.join(dir, 'bootstrap-admin-key'), 'utf8').trim();
        const org = await api(rt.apiUrl, 'POST', '/v1/orgs', { key: admin, body: { id: 'poor', name: 'Poor Ltd' } });
        assert.equal(org.status, 201);
        assert.equal(await provider.getBalance(org.body.address), 0n);
        const key = await api(rt.apiUrl, 'POST', '/v1/orgs/poor/keys', {
          key: admin,
          body: { name: 'erp', scopes: ['submit', 'audit'] },
        });
        const sub = await api(rt.apiUrl, 'POST', '/v1/records', {
          key: key.body.key,
          body: { type: 'invoice.issued', externalId: 'POOR-1', payload: invoicePayload(3) },
        });
        assert.equal(sub.status, 202);
        const rec = await eventually(async () => {
          const r = await api(rt.apiUrl, 'GET', `/v1/records/${sub.body.id}`, { key: key.body.key });
          return r.body.blocked ? r.body : null;
        }, 30_000);
        assert.equal(rec.status, 'pending');
        assert.equal(rec.blocked.code, 'INSUFFICIENT_FUNDS');
        assert.match(rec.blocked.detail, new RegExp(`${org.body.address} holds 0\\.0 ETH`));
        assert.ok(!Number.isNaN(Date.parse(rec.blocked.since)));
        assert.match(
          (await api(rt.apiUrl, 'GET', '/ready', { key: admin })).body.checks.anchoring.detail,
          /poor: INSUFFICIENT_FUNDS/,
        );
        assert.equal(await provider.getTransactionCount(org.body.address), 0, 'nothing sent');
        // The CLI a developer runs says why and gives up (non-zero) after its grace period instead of waiting 300 s.
        fs.writeFileSync(path.join(work, 'poor.json'), JSON.stringify(invoicePayload(6)));
        const cli = await notary(
          ['submit', 'poor.json', '--type', 'invoice.issued', '--wait', '--blocked-grace', '2s'],
          { NOTARY_API_URL: rt.apiUrl, NOTARY_API_KEY: key.body.key },
          work,
        );
        assert.notEqual(cli.code, 0, cli.stdout + cli.stderr);
        assert.match(cli.stdout + cli.stderr, /INSUFFICIENT_FUNDS/);
        // Someone funds the account: the record is anchored and no longer blocked.
        const tx = await new Wallet(HARDHAT_KEY_3, provider).sendTransaction({
          to: org.body.address,
          value: 10n ** 17n,
        });
        await tx.wait();
        await eventually(async () => {
          const r = await api(rt.apiUrl, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: key.body.key });
          return r.status === 200;
        }, 30_000);
        assert.equal(
          (await api(rt.apiUrl, 'GET', `/v1/records/${sub.body.id}`, { key: key.body.key })).body.blocked,
          undefined,
        );
      } finally {
        await rt.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

describe('against `ZERO_GAS=1 npx hardhat node` (a zero-gas chain like Besu/Quorum)', { timeout: 300_000 }, () => {
  let node: Child & { rpcUrl: string };
  let rt: Runtime;
  let dir: string;
  before(async () => {
    node = await startHardhatNode({ ZERO_GAS: '1' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-hh-zero-'));
    rt = await startRuntime(
      loadConfig({
        RPC_URL: node.rpcUrl,
        DEPLOYER_KEY: HARDHAT_KEY_0,
        GAS_PRICE: '0',
        KEYSTORE_PASSWORD: 'dev-keystore-password',
        CONSORTIUM_SECRET: 'dev-consortium-secret-of-32-bytes-or-more',
        DATA_DIR: dir,
        PORT: '0',
        ANCHOR_INTERVAL_MS: '100',
      }),
    );
  });
  after(async () => {
    await rt?.stop();
    await node?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('anchors from an account that never holds ether', async () => {
    const head = await rt.provider.getBlock('latest');
    assert.equal(head?.baseFeePerGas, 0n);
    const admin = fs.readFileSync(path.join(dir, 'bootstrap-admin-key'), 'utf8').trim();
    const org = await api(rt.apiUrl, 'POST', '/v1/orgs', { key: admin, body: { id: 'acme', name: 'Acme SA' } });
    const key = await api(rt.apiUrl, 'POST', '/v1/orgs/acme/keys', {
      key: admin,
      body: { name: 'erp', scopes: ['submit'] },
    });
    const sub = await api(rt.apiUrl, 'POST', '/v1/records', {
      key: key.body.key,
      body: { type: 'invoice.issued', externalId: 'Z-1', payload: invoicePayload(4) },
    });
    const receipt = await eventually(async () => {
      const r = await api(rt.apiUrl, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: key.body.key });
      return r.status === 200 ? (r.body as ReceiptV1) : null;
    }, 30_000);
    assert.equal(receipt.anchor.submitter, org.body.address);
    assert.equal(await rt.provider.getBalance(org.body.address), 0n);
    const verdict = await verifyReceipt(receipt, {
      payload: invoicePayload(4),
      rootSource: new ChainRootSource(
        { provider: rt.provider },
        { trustedRegistries: [rt.deployment.notaryRegistry.address] },
      ),
    });
    assert.ok(verdict.valid, JSON.stringify(verdict.checks));
  });
});
