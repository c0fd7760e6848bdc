import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { Contract, JsonRpcProvider, Signature, Wallet, type BaseWallet } from 'ethers';
import { computeCommitment, digestPayload } from '../../src/domain';
import {
  RECORD_COMMITMENT_TYPES,
  recordSigningDomain,
  sealedLeafReference,
  type RecordSignature,
} from '../../src/domain/signatures';
import { newRecordId } from '../../src/service/ids';
import { ChainRootSource, verifyReceipt } from '../../src/verifier';
import { api, eventually, startInstance, type Instance, type Json } from '../helpers/instance';
import { invoicePayload } from '../helpers/payloads';

/** anvil's first default account: the embedded chain's deployer, registrar of the directory. */
const EMBEDDED_DEPLOYER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const N = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'notary.js');

/** Runs the CLI asynchronously (the instance lives in this process). */
function notary(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NOTARY_') && k !== 'DATA_DIR') base[k] = v;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-signer-cli-'));
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

const newSalt = () => '0x' + randomBytes(32).toString('hex');
/** A UUID of version 4: well formed, but not the UUIDv7 a signed record must use. */
const uuidV4 = () => {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

describe('signed records (receipt version 2) on the embedded chain', () => {
  let inst: Instance;
  let provider: JsonRpcProvider;
  let admin: string;
  let aero: string;
  let emp: string;
  let domain: ReturnType<typeof recordSigningDomain>;
  // SIGNER keys: two of aerospace (the second is removed later), one of employer. Kept here, as an organisation does.
  const a1 = Wallet.createRandom();
  const a2 = Wallet.createRandom();
  const b1 = Wallet.createRandom();
  let n = 1000;

  /** A record input signed by `signers` (ethers' own EIP-712 signing: independent of the service's code). */
  const signed = async (
    orgId: string,
    signers: BaseWallet[],
    opts: { id?: string; salt?: string; payload?: Json; commitmentOrg?: string; externalId?: string } = {},
  ) => {
    const payload = opts.payload ?? invoicePayload(n++);
    const id = opts.id ?? newRecordId();
    const salt = opts.salt ?? newSalt();
    const commitment = computeCommitment({
      recordId: id,
      orgId: opts.commitmentOrg ?? orgId,
      type: 'invoice.issued',
      digest: digestPayload(payload),
      salt,
      parents: [],
    });
    const signatures: RecordSignature[] = [];
    for (const w of signers)
      signatures.push({
        signer: w.address,
        signature: await w.signTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment }),
      });
    return {
      body: {
        type: 'invoice.issued',
        payload,
        id,
        salt,
        signatures,
        ...(opts.externalId ? { externalId: opts.externalId } : {}),
      },
      commitment,
    };
  };
  const submit = (key: string, body: unknown) => api(inst.apiUrl, 'POST', '/v1/records', { key, body });
  const refused = async (key: string, body: unknown, status: number, code: string) => {
    const r = await submit(key, body);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.code, code, JSON.stringify(r.body));
    assert.match(String(r.headers.get('content-type')), /application\/problem\+json/);
    return r.body;
  };
  const receiptOf = (id: string, key = aero) =>
    eventually(async () => {
      const r = await api(inst.apiUrl, 'GET', `/v1/records/${id}/receipt`, { key });
      return r.status === 200 ? (r.body as Json) : null;
    });
  const rootSource = () =>
    new ChainRootSource({ provider }, { trustedRegistries: [inst.runtime.deployment.notaryRegistry.address] });

  before(async () => {
    inst = await startInstance();
    provider = new JsonRpcProvider(inst.rpcUrl, undefined, { staticNetwork: true });
    admin = inst.demo.admin.apiKey;
    aero = inst.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
    emp = inst.demo.orgs.find((o) => o.id === 'employer')!.apiKey;
    domain = recordSigningDomain(inst.demo.chainId, inst.demo.registry);
    for (const [org, w] of [
      ['aerospace', a1],
      ['aerospace', a2],
      ['employer', b1],
    ] as const) {
      const r = await api(inst.apiUrl, 'POST', `/v1/orgs/${org}/signers`, { key: admin, body: { address: w.address } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.address, w.address);
      assert.ok(r.body.since > 0);
    }
  });
  after(async () => {
    provider?.destroy();
    await inst?.stop();
  });

  it('lists SIGNER keys from the directory; a bound address cannot be bound again', async () => {
    const list = await api(inst.apiUrl, 'GET', '/v1/orgs/aerospace/signers', { key: admin });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.signers.map((k: Json) => [k.address, k.until]),
      [
        [a1.address, null],
        [a2.address, null],
      ],
    );
    const again = await api(inst.apiUrl, 'POST', '/v1/orgs/employer/signers', {
      key: admin,
      body: { address: a1.address },
    });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'SIGNER_KEY_TAKEN');
    // The organisation's own ANCHORER account (held by the service) cannot become a SIGNER key.
    const anchorer = inst.demo.orgs.find((o) => o.id === 'aerospace')!.address;
    const own = await api(inst.apiUrl, 'POST', '/v1/orgs/aerospace/signers', {
      key: admin,
      body: { address: anchorer },
    });
    assert.equal(own.status, 409);
    assert.equal(own.body.code, 'SIGNER_KEY_TAKEN');
    const unknownOrg = await api(inst.apiUrl, 'POST', '/v1/orgs/nobody/signers', {
      key: admin,
      body: { address: Wallet.createRandom().address },
    });
    assert.equal(unknownOrg.status, 404);
    const notAdmin = await api(inst.apiUrl, 'GET', '/v1/orgs/aerospace/signers', { key: aero });
    assert.equal(notAdmin.status, 403);
  });

  it('accepts a signed record, anchors its sealed leaf and serves a version 2 receipt that verifies', async () => {
    const { body, commitment } = await signed('aerospace', [a1, a2], { externalId: 'SIGNED-1' });
    const sub = await submit(aero, body);
    assert.equal(sub.status, 202, JSON.stringify(sub.body));
    assert.equal(sub.body.id, body.id);
    assert.equal(sub.body.commitment, commitment);
    // The same record again: the existing one (idempotent).
    const again = await submit(aero, body);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.duplicate, true);
    assert.equal(again.body.id, body.id);

    const receipt = await receiptOf(body.id);
    assert.equal(receipt.version, 2);
    assert.equal(receipt.commitment, commitment);
    assert.deepEqual(
      receipt.signatures,
      body.signatures.map((s: RecordSignature) => ({ signer: s.signer, signature: s.signature.toLowerCase() })),
    );
    assert.equal(receipt.record.id, body.id);
    assert.equal(receipt.record.salt, body.salt);
    // Independently of the service: the sealed leaf (ethers' ABI coder and keccak) is in the anchored tree (OZ).
    const sealed = sealedLeafReference(commitment, receipt.signatures);
    assert.ok(StandardMerkleTree.verify(receipt.proof.root, ['bytes32'], [sealed], receipt.proof.path));
    assert.ok(!StandardMerkleTree.verify(receipt.proof.root, ['bytes32'], [commitment], receipt.proof.path));
    const registry = new Contract(
      inst.demo.registry,
      ['function anchorOf(bytes32) view returns (uint64,uint64,address,uint64,bytes32,uint32,bytes32)'],
      provider,
    );
    const a = await registry.anchorOf(receipt.proof.root);
    assert.equal(Number(a[1]), receipt.anchor.blockNumber);
    // The repository's verifier: signatures, merkle, anchor, organisation.
    const verdict = await verifyReceipt(receipt, { payload: body.payload, rootSource: rootSource() });
    assert.ok(verdict.valid, JSON.stringify(verdict.checks));
    assert.equal(verdict.checks.find((c) => c.name === 'signatures')?.status, 'passed');
    assert.equal(verdict.checks.find((c) => c.name === 'organisation')?.status, 'passed');
    // POST /v1/receipts and the batch's NDJSON stream serve the same version 2 receipt.
    const bulk = await api(inst.apiUrl, 'POST', '/v1/receipts', { key: aero, body: { ids: [body.id] } });
    assert.deepEqual(bulk.body.receipts[0].receipt, receipt);
    const nd = await fetch(`${inst.apiUrl}/v1/batches/${receipt.proof.root}/receipts`, {
      headers: { authorization: `Bearer ${aero}` },
    });
    const lines = (await nd.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    assert.deepEqual(
      lines.find((l) => l.record.id === body.id),
      receipt,
    );
  });

  it('still serves version 1 receipts for unsigned records', async () => {
    const sub = await submit(aero, { type: 'invoice.issued', payload: invoicePayload(n++) });
    assert.equal(sub.status, 202);
    const receipt = await receiptOf(sub.body.id);
    assert.equal(receipt.version, 1);
    assert.equal(receipt.signatures, undefined);
    assert.ok(StandardMerkleTree.verify(receipt.proof.root, ['bytes32'], [receipt.commitment], receipt.proof.path));
  });

  it('refuses each malformed or unauthorised signed record with its own code', async () => {
    const ok = (await signed('aerospace', [a1])).body;
    await refused(aero, { ...ok, id: uuidV4() }, 422, 'RECORD_ID_INVALID');
    await refused(aero, { ...ok, id: ok.id.toUpperCase() }, 422, 'RECORD_ID_INVALID');
    await refused(aero, { ...ok, salt: ok.salt.toUpperCase().replace('0X', '0x') }, 422, 'SALT_INVALID');
    await refused(aero, { ...ok, salt: ok.salt.slice(0, 60) }, 422, 'SALT_INVALID');
    const { id: _id, ...noId } = ok;
    await refused(aero, noId, 422, 'SIGNED_RECORD_INCOMPLETE');
    const { salt: _salt, ...noSalt } = ok;
    await refused(aero, noSalt, 422, 'SIGNED_RECORD_INCOMPLETE');
    // High s (the same signature, malleated): not canonical.
    const sig = Signature.from(ok.signatures[0].signature);
    const highS = '0x' + (N - BigInt(sig.s)).toString(16).padStart(64, '0');
    const malleated = sig.r + highS.slice(2) + (sig.v === 27 ? '1c' : '1b');
    await refused(
      aero,
      { ...ok, signatures: [{ signer: a1.address, signature: malleated }] },
      422,
      'SIGNATURE_INVALID',
    );
    await refused(
      aero,
      { ...ok, signatures: [{ signer: a1.address, signature: ok.signatures[0].signature.slice(0, 130) + '1d' }] },
      422,
      'SIGNATURE_INVALID',
    );
    // A signature over another record's commitment, and a signature claimed for another signer.
    const other = (await signed('aerospace', [a1])).body;
    await refused(aero, { ...ok, signatures: other.signatures }, 422, 'SIGNATURE_INVALID');
    await refused(
      aero,
      { ...ok, signatures: [{ signer: a2.address, signature: ok.signatures[0].signature }] },
      422,
      'SIGNATURE_INVALID',
    );
    // A key nobody bound, and a key of another organisation.
    await refused(aero, (await signed('aerospace', [Wallet.createRandom()])).body, 422, 'SIGNER_NOT_ACTIVE');
    await refused(aero, (await signed('aerospace', [b1])).body, 422, 'SIGNER_OF_OTHER_ORG');
    await refused(
      aero,
      { ...ok, signatures: [ok.signatures[0], { ...ok.signatures[0], signer: a1.address.toLowerCase() }] },
      422,
      'SIGNER_DUPLICATE',
    );
    await refused(aero, { ...ok, signatures: [] }, 400, 'VALIDATION_FAILED');
    // Nothing of it was stored: the valid record is accepted afterwards.
    assert.equal((await submit(aero, ok)).status, 202);
  });

  it('attacks: another organisation cannot reuse a signature, an id or a salt', async () => {
    // Org A's signed record submitted with org B's API key: the commitment names B, A's signature does not cover it.
    const aRec = (await signed('aerospace', [a1])).body;
    await refused(emp, aRec, 422, 'SIGNATURE_INVALID');
    // A's SIGNER key signing a commitment made for B, submitted by B: a key of another organisation.
    await refused(emp, (await signed('employer', [a1])).body, 422, 'SIGNER_OF_OTHER_ORG');
    // Accepted for A; then its id is taken for everyone, and its salt for A.
    assert.equal((await submit(aero, aRec)).status, 202);
    await refused(emp, (await signed('employer', [b1], { id: aRec.id })).body, 409, 'RECORD_ID_TAKEN');
    await refused(aero, (await signed('aerospace', [a1], { id: aRec.id })).body, 409, 'RECORD_ID_TAKEN');
    await refused(aero, (await signed('aerospace', [a1], { salt: aRec.salt })).body, 409, 'SALT_REUSED');
    // An unsigned record may choose id and salt too; the same checks apply.
    await refused(aero, { type: 'invoice.issued', payload: invoicePayload(n++), salt: aRec.salt }, 409, 'SALT_REUSED');
    await refused(aero, { type: 'invoice.issued', payload: invoicePayload(n++), id: aRec.id }, 409, 'RECORD_ID_TAKEN');
    // Salts are per organisation: B may use the same 32 bytes in its own commitment.
    assert.equal((await submit(emp, (await signed('employer', [b1], { salt: aRec.salt })).body)).status, 202);
  });

  it('requireSignatures refuses unsigned records of that organisation only', async () => {
    const set = await api(inst.apiUrl, 'PATCH', '/v1/orgs/employer', { key: admin, body: { requireSignatures: true } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.requireSignatures, true);
    try {
      await refused(emp, { type: 'invoice.issued', payload: invoicePayload(n++) }, 422, 'SIGNATURE_REQUIRED');
      const batch = await api(inst.apiUrl, 'POST', '/v1/records/batch', {
        key: emp,
        body: { records: [{ type: 'invoice.issued', payload: invoicePayload(n++) }] },
      });
      assert.equal(batch.body.records[0].error.code, 'SIGNATURE_REQUIRED');
      assert.equal((await submit(emp, (await signed('employer', [b1])).body)).status, 202);
      assert.equal((await submit(aero, { type: 'invoice.issued', payload: invoicePayload(n++) })).status, 202);
    } finally {
      const off = await api(inst.apiUrl, 'PATCH', '/v1/orgs/employer', {
        key: admin,
        body: { requireSignatures: false },
      });
      assert.equal(off.body.requireSignatures, false);
    }
    assert.equal((await submit(emp, { type: 'invoice.issued', payload: invoicePayload(n++) })).status, 202);
  });

  it('answers a mixed batch item by item (large enough for the preparation worker)', async () => {
    const records: Json[] = [];
    for (let i = 0; i < 300; i++) records.push((await signed('aerospace', [a1], { externalId: `MIX-${i}` })).body);
    const forged = (await signed('aerospace', [a1])).body;
    records[10] = { ...records[10], signatures: forged.signatures }; // over another commitment
    records[20] = (await signed('aerospace', [b1])).body; // another organisation's key
    records[30] = { ...records[30], id: uuidV4() }; // not v7
    records[40] = { ...records[40], salt: records[41].salt }; // same salt as a later item of the batch
    records[50] = { type: 'invoice.issued', payload: invoicePayload(n++) }; // unsigned: fine for aerospace
    const raw = JSON.stringify({ records });
    assert.ok(raw.length > 40_000);
    const r = await api(inst.apiUrl, 'POST', '/v1/records/batch', { key: aero, raw });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
    const codes = r.body.records.map((x: Json) => x.error?.code ?? null);
    assert.equal(codes[10], 'SIGNATURE_INVALID');
    assert.equal(codes[20], 'SIGNER_OF_OTHER_ORG');
    assert.equal(codes[30], 'RECORD_ID_INVALID');
    assert.equal(codes[40], 'SIGNATURE_INVALID'); // its signature covers its own salt
    assert.equal(codes[50], null);
    assert.equal(r.body.rejected, 4);
    assert.equal(r.body.accepted, 296);
    for (const i of [0, 41, 299]) assert.equal(r.body.records[i].id, records[i].id);
    const receipt = await receiptOf(records[299].id);
    assert.equal(receipt.version, 2);
    const verdict = await verifyReceipt(receipt, { payload: records[299].payload, rootSource: rootSource() });
    assert.ok(verdict.valid, JSON.stringify(verdict.checks));
  });

  it('a removed SIGNER key: receipts signed before still verify, new signatures by it are refused', async () => {
    const before = (await signed('aerospace', [a2])).body;
    assert.equal((await submit(aero, before)).status, 202);
    const receipt = await receiptOf(before.id);
    const del = await api(inst.apiUrl, 'DELETE', `/v1/orgs/aerospace/signers/${a2.address}`, { key: admin });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.ok(del.body.until > receipt.anchor.blockNumber);
    // Removed through the service: its cached directory answer is dropped at once.
    const body = await refused(aero, (await signed('aerospace', [a2])).body, 422, 'SIGNER_NOT_ACTIVE');
    assert.match(body.detail, /removed at block/);
    const verdict = await verifyReceipt(receipt, { payload: before.payload, rootSource: rootSource() });
    assert.ok(verdict.valid, JSON.stringify(verdict.checks));
    const again = await api(inst.apiUrl, 'DELETE', `/v1/orgs/aerospace/signers/${a2.address}`, { key: admin });
    assert.equal(again.status, 404);
    assert.equal(again.body.code, 'SIGNER_NOT_FOUND');
    const list = await api(inst.apiUrl, 'GET', '/v1/orgs/aerospace/signers', { key: admin });
    assert.equal(list.body.signers.find((k: Json) => k.address === a2.address).until, del.body.until);
  });

  it('a key removed on chain behind the service is refused once the 5 s cache expires', async () => {
    const a3 = Wallet.createRandom();
    assert.equal(
      (await api(inst.apiUrl, 'POST', '/v1/orgs/aerospace/signers', { key: admin, body: { address: a3.address } }))
        .status,
      201,
    );
    assert.equal((await submit(aero, (await signed('aerospace', [a3])).body)).status, 202); // cached: active
    const registrar = new Wallet(EMBEDDED_DEPLOYER_KEY, provider);
    const directory = new Contract(inst.demo.memberDirectory, ['function removeKey(address account)'], registrar);
    await (await directory.removeKey(a3.address)).wait();
    const start = Date.now();
    await eventually(
      async () => (await submit(aero, (await signed('aerospace', [a3])).body)).status === 422,
      10_000,
      500,
    );
    assert.ok(Date.now() - start < 8_000);
  });

  it('notary org signer add|list|remove and org set --require-signatures', async () => {
    const env = { NOTARY_API_URL: inst.apiUrl, NOTARY_API_KEY: admin };
    const k = Wallet.createRandom();
    const add = await notary(['--json', 'org', 'signer', 'add', 'bank', k.address], env);
    assert.equal(add.code, 0, add.stdout);
    assert.equal(JSON.parse(add.stdout).address, k.address);
    const list = await notary(['org', 'signer', 'list', 'bank'], env);
    assert.equal(list.code, 0);
    assert.match(list.stdout, new RegExp(`${k.address}\\s+\\d+\\s+–`));
    const rm = await notary(['--json', 'org', 'signer', 'remove', 'bank', k.address], env);
    assert.equal(rm.code, 0, rm.stdout);
    assert.ok(JSON.parse(rm.stdout).until > 0);
    const twice = await notary(['org', 'signer', 'remove', 'bank', k.address], env);
    assert.equal(twice.code, 1);
    const on = await notary(['--json', 'org', 'set', 'bank', '--require-signatures', 'on'], env);
    assert.equal(on.code, 0, on.stdout);
    assert.equal(JSON.parse(on.stdout).requireSignatures, true);
    const bank = inst.demo.orgs.find((o) => o.id === 'bank')!.apiKey;
    await refused(bank, { type: 'invoice.issued', payload: invoicePayload(n++) }, 422, 'SIGNATURE_REQUIRED');
    const off = await notary(['org', 'set', 'bank', '--require-signatures', 'off'], env);
    assert.equal(off.code, 0);
    assert.match(off.stdout, /signatures optional/);
    assert.equal((await notary(['org', 'set', 'bank'], env)).code, 2);
  });

  it('sets and reads co-signing policies in the directory', async () => {
    const put = await api(inst.apiUrl, 'PUT', '/v1/policies/invoice.issued', {
      key: admin,
      body: { orgs: ['bank', 'employer'] },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const get = await api(inst.apiUrl, 'GET', '/v1/policies/invoice.issued', { key: admin });
    assert.deepEqual(get.body, { recordType: 'invoice.issued', orgs: ['bank', 'employer'] });
    const clear = await api(inst.apiUrl, 'PUT', '/v1/policies/invoice.issued', { key: admin, body: { orgs: [] } });
    assert.deepEqual(clear.body.orgs, []);
    assert.deepEqual((await api(inst.apiUrl, 'GET', '/v1/policies/invoice.issued', { key: admin })).body.orgs, []);
    const unknownType = await api(inst.apiUrl, 'GET', '/v1/policies/no.such', { key: admin });
    assert.equal(unknownType.status, 422);
    assert.equal(unknownType.body.code, 'UNKNOWN_RECORD_TYPE');
    const unknownOrg = await api(inst.apiUrl, 'PUT', '/v1/policies/invoice.issued', {
      key: admin,
      body: { orgs: ['nobody'] },
    });
    assert.equal(unknownOrg.status, 404);
    assert.equal(unknownOrg.body.code, 'ORG_NOT_FOUND');
  });
});
