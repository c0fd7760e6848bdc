import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Wallet } from 'ethers';
import { startAnvil, type AnvilHandle } from '../../src/chain/anvil';
import { makeProvider } from '../../src/chain/provider';
import { loadConfig } from '../../src/config';
import { startRuntime, type Runtime } from '../../src/cli/runtime';
import { deployRegistries } from '../../scripts/lib/deploy-registries';
import { api, eventually } from '../helpers/instance';
import { invoicePayload } from '../helpers/payloads';

// anvil's second default account (public dev key): plays the consortium operator that deployed the registries.
const OPERATOR_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

// A consortium chain like Besu/Quorum with zero gas price: accounts need no funding.
describe('external zero-gas chain (RPC_URL + DEPLOYMENT_FILE + GAS_PRICE=0, as in production)', () => {
  let anvil: AnvilHandle;
  let rt: Runtime;
  let dataDir: string;

  before(async () => {
    anvil = await startAnvil({ extraArgs: ['--base-fee', '0', '--gas-price', '0'] });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-ext-'));
    const provider = makeProvider(anvil.rpcUrl, { chainId: anvil.chainId });
    const deployment = await deployRegistries(new Wallet(OPERATOR_KEY, provider), { adminDelay: 0 });
    // The organisation accounts the service creates hold no ether at all.
    provider.destroy();
    const deploymentFile = path.join(dataDir, 'deployments.json');
    fs.writeFileSync(deploymentFile, JSON.stringify(deployment));
    rt = await startRuntime(
      loadConfig({
        RPC_URL: anvil.rpcUrl,
        DEPLOYMENT_FILE: deploymentFile,
        DEPLOYER_KEY: OPERATOR_KEY,
        GAS_PRICE: '0',
        DATA_DIR: dataDir,
        KEYSTORE_PASSWORD: 'correct horse battery staple',
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

  it('onboards an organisation (keystore account, roles granted by the operator) whose records get anchored', async () => {
    const admin = fs.readFileSync(path.join(dataDir, 'bootstrap-admin-key'), 'utf8').trim();
    const org = await api(rt.apiUrl, 'POST', '/v1/orgs', { key: admin, body: { id: 'acme', name: 'Acme SA' } });
    assert.equal(org.status, 201);
    // The org's signing key is in the encrypted keystore, not in the database.
    const files = fs.readdirSync(path.join(dataDir, 'keystore'));
    assert.ok(files.some((f) => f.toLowerCase().includes(org.body.address.slice(2).toLowerCase())));
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
