import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JsonRpcProvider, getAddress } from 'ethers';
import { FileKeystore } from '../../src/chain/keystore';
import { MemberDirectoryReader, encodeAnchor, orgHash } from '../../src/chain/registries';
import { ChainRootSource, verifyReceipt } from '../../src/verifier';
import { NotaryRegistryV2__factory } from '../../typechain-types';
import { isV2Deployment } from '../../scripts/lib/deploy-registries';
import { api, eventually, startInstance, type Instance, type Json } from '../helpers/instance';
import { invoicePayload } from '../helpers/payloads';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'notary.js');

/** Runs the CLI asynchronously (the instance lives in this process). */
function notary(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NOTARY_') && k !== 'DATA_DIR') base[k] = v;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-rotate-cli-'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: work,
      env: { ...base, DATA_DIR: path.join(work, 'no-data'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      fs.rmSync(work, { recursive: true, force: true });
      resolve({ code, stdout });
    });
  });
}

describe('key rotation (POST /v1/orgs/:id/rotate-key, notary org rotate-key) on the embedded chain', () => {
  let inst: Instance;
  let provider: JsonRpcProvider;
  let aero: string;
  let admin: string;
  let directory: MemberDirectoryReader;
  const submitted: { id: string; payload: Json }[] = [];

  const submit = async (n: number) => {
    const payload = invoicePayload(n);
    const sub = await api(inst.apiUrl, 'POST', '/v1/records', {
      key: aero,
      body: { type: 'invoice.issued', externalId: `ROT-${n}`, payload },
    });
    assert.equal(sub.status, 202, JSON.stringify(sub.body));
    submitted.push({ id: sub.body.id as string, payload });
    return sub.body.id as string;
  };
  const receiptOf = (id: string) =>
    eventually(async () => {
      const r = await api(inst.apiUrl, 'GET', `/v1/records/${id}/receipt`, { key: aero });
      return r.status === 200 ? (r.body as Json) : null;
    });
  const verify = async (receipt: Json, payload: Json) => {
    const verdict = await verifyReceipt(receipt, {
      payload,
      rootSource: new ChainRootSource(
        { provider },
        { trustedRegistries: [inst.runtime.deployment.notaryRegistry.address] },
      ),
    });
    assert.ok(verdict.valid, JSON.stringify(verdict.checks));
    assert.equal(
      verdict.checks.find((c) => c.name === 'organisation')?.status,
      'passed',
      JSON.stringify(verdict.checks),
    );
  };
  const aeroOrg = async () => (await api(inst.apiUrl, 'GET', '/v1/orgs/aerospace', { key: admin })).body as Json;

  before(async () => {
    inst = await startInstance();
    provider = new JsonRpcProvider(inst.rpcUrl, undefined, { staticNetwork: true });
    aero = inst.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
    admin = inst.demo.admin.apiKey;
    const d = inst.runtime.deployment;
    assert.ok(isV2Deployment(d));
    directory = new MemberDirectoryReader(provider, d.memberDirectory.address);
  });
  after(async () => {
    provider?.destroy();
    await inst?.stop();
  });

  it('rotates: old key removed, new key active, later receipts name the new submitter, earlier ones still verify, one continuous chain', async () => {
    const before1 = await receiptOf(await submit(1));
    const before2 = await receiptOf(await submit(2));
    const previous = getAddress((await aeroOrg()).address as string);
    assert.equal(getAddress(before1.anchor.submitter as string), previous);

    const rot = await api(inst.apiUrl, 'POST', '/v1/orgs/aerospace/rotate-key', { key: admin });
    assert.equal(rot.status, 200, JSON.stringify(rot.body));
    assert.equal(rot.body.orgId, 'aerospace');
    assert.equal(getAddress(rot.body.previous as string), previous);
    const next = getAddress(rot.body.address as string);
    assert.notEqual(next, previous);
    assert.equal(getAddress((await aeroOrg()).address as string), next);

    const old = await directory.memberOf(previous);
    const fresh = await directory.memberOf(next);
    assert.equal(old.org, orgHash('aerospace'));
    assert.notEqual(old.until, 0, 'the old key is removed');
    assert.equal(fresh.org, orgHash('aerospace'));
    assert.equal(fresh.kind, 'ANCHORER');
    assert.ok(fresh.since > 0);
    assert.equal(fresh.until, 0, 'the new key is active');

    const after1 = await receiptOf(await submit(3));
    assert.equal(getAddress(after1.anchor.submitter as string), next);
    assert.notEqual(after1.proof.root, before2.proof.root);

    // Every receipt, before and after the rotation, verifies with the organisation check passed.
    for (const s of submitted) await verify(await receiptOf(s.id), s.payload);

    const chain = await api(inst.apiUrl, 'GET', '/v1/orgs/aerospace/chain', { key: aero });
    assert.equal(chain.status, 200, JSON.stringify(chain.body));
    assert.equal(chain.body.consistent, true, JSON.stringify(chain.body));
    assert.deepEqual(chain.body.missingInDatabase, []);
    assert.deepEqual(chain.body.missingOnChain, []);
    const roots = new Set([before1, before2, after1].map((r) => (r.proof.root as string).toLowerCase()));
    assert.equal(chain.body.chain.length, chain.body.database.batches);
    assert.ok(chain.body.chain.length >= roots.size);
  });

  it('the removed key can no longer anchor: its own signed anchor is refused with NotaryRegistryNotAnAnchorer', async () => {
    const org = await aeroOrg();
    const removed = (await directory.memberOf(org.address as string)).until === 0 ? null : org.address;
    assert.equal(removed, null, 'the current key is active');
    // The account the first rotation removed: the submitter of the first receipt.
    const first = await receiptOf(submitted[0]!.id);
    const oldAddress = getAddress(first.anchor.submitter as string);
    assert.notEqual((await directory.memberOf(oldAddress)).until, 0);
    const { keystoreDir, keystorePassword } = inst.runtime.config;
    const wallet = (await new FileKeystore(keystoreDir, keystorePassword).load(oldAddress)).connect(provider);
    const registry = NotaryRegistryV2__factory.connect(inst.runtime.deployment.notaryRegistry.address, provider);
    const head = await registry.headOf(orgHash('aerospace'));
    const root = '0x' + 'ab'.repeat(32);
    const err = await wallet
      .sendTransaction({ to: await registry.getAddress(), data: encodeAnchor(root, head.root, 1) })
      .then(
        () => null,
        (e: unknown) => e as { data?: string },
      );
    assert.ok(err?.data, 'the anchor from the removed key is refused');
    assert.equal(registry.interface.parseError(err.data)?.name, 'NotaryRegistryNotAnAnchorer');
    assert.equal((await registry.headOf(orgHash('aerospace'))).root, head.root);
  });

  it('refuses with 409 ROTATION_IN_PROGRESS while a transaction from the old account is open; 404, 403', async () => {
    const store = inst.runtime.store;
    const org = await aeroOrg();
    const id = `test-open-${Date.now()}`;
    const now = Date.now();
    // An open (signed, not mined) transaction from the organisation's account, as a claim in flight leaves it.
    await store.tx((r) =>
      r.insertOutbox({
        id,
        orgId: 'aerospace',
        address: org.address as string,
        nonce: 1_000_000,
        kind: 'consume',
        refId: '0x' + 'cd'.repeat(32),
        raw: '0x00',
        txHash: '0x' + 'ef'.repeat(32),
        status: 'signed',
        blockNumber: null,
        blockHash: null,
        error: null,
        createdAt: now,
        updatedAt: now,
      }),
    );
    try {
      const busy = await api(inst.apiUrl, 'POST', '/v1/orgs/aerospace/rotate-key', { key: admin });
      assert.equal(busy.status, 409, JSON.stringify(busy.body));
      assert.equal(busy.body.code, 'ROTATION_IN_PROGRESS');
      assert.equal((await aeroOrg()).address, org.address, 'the account is unchanged');
    } finally {
      await store.tx((r) => r.updateOutbox(id, { status: 'failed', error: 'test row' }));
    }
    const unknown = await api(inst.apiUrl, 'POST', '/v1/orgs/nobody/rotate-key', { key: admin });
    assert.equal(unknown.status, 404);
    const member = await api(inst.apiUrl, 'POST', '/v1/orgs/aerospace/rotate-key', { key: aero });
    assert.equal(member.status, 403);
  });

  it('notary org rotate-key prints the new address', async () => {
    const previous = getAddress((await aeroOrg()).address as string);
    const run = await notary(['org', 'rotate-key', 'aerospace'], {
      NOTARY_API_URL: inst.apiUrl,
      NOTARY_API_KEY: admin,
    });
    assert.equal(run.code, 0, run.stdout);
    const now = getAddress((await aeroOrg()).address as string);
    assert.notEqual(now, previous);
    assert.ok(run.stdout.includes(now), run.stdout);
    assert.ok(run.stdout.includes(previous), run.stdout);
    // The chain still continues from the new key.
    const r = await receiptOf(await submit(4));
    assert.equal(getAddress(r.anchor.submitter as string), now);
    await verify(r, submitted[submitted.length - 1]!.payload);
  });
});
