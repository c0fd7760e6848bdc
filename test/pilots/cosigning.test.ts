// Co-signing on a real chain (the `npm start` code path, embedded anvil): the bank signs a securities issuance with
// its SIGNER key, the registrar — named by the demo policy `security.issuance` → [registrar] — co-signs it with a
// `cosignature` record signed by its own SIGNER key; the trace and its bundle show the policy met, and verifyBundle
// (reading the policy from the directory) agrees; without the co-signature, or with an unsigned one, it does not.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Contract, JsonRpcProvider, Wallet, id as orgHashOf } from 'ethers';
import { NotaryClient, digestSignerFromKey, type DigestSigner } from '../../src/client';
import { ChainRootSource, verifyBundle } from '../../src/verifier';
import { ChainPolicySource, withCosignPolicies } from '../../src/verifier/cosign-policy';
import * as P from '../../scripts/lib/pilot-payloads';
import { api, eventually, startInstance, type Instance, type Json } from '../helpers/instance';

let inst: Instance;
const key = (org: string) => inst.demo.orgs.find((o) => o.id === org)!.apiKey;
const signerOf = (org: string): DigestSigner => {
  const s = inst.demo.orgs.find((o) => o.id === org)!.signer!;
  return digestSignerFromKey(fs.readFileSync(s.keyFile, 'utf8').trim());
};
const client = (org: string) => new NotaryClient({ baseUrl: inst.apiUrl, apiKey: key(org) });
const anchored = (org: string, ids: string[]) =>
  eventually(async () => {
    const r = await client(org).receipts(ids);
    return r.ready === ids.length;
  }, 60_000);

describe('co-signing (real chain)', { timeout: 240_000 }, () => {
  let provider: JsonRpcProvider;
  before(async () => {
    inst = await startInstance();
    provider = new JsonRpcProvider(inst.rpcUrl);
  });
  after(async () => {
    provider?.destroy();
    await inst?.stop();
  });
  const source = () => {
    const rs = new ChainRootSource({ provider }, { trustedRegistries: [inst.demo.registry] });
    return withCosignPolicies(rs, new ChainPolicySource({ provider }, { ttlMs: 0 }));
  };

  it('seeds the demo: the registrar, SIGNER keys of bank and registrar, the security.issuance policy', async () => {
    assert.deepEqual(inst.demo.cosignPolicies, { 'security.issuance': ['registrar'] });
    const dir = new Contract(
      inst.demo.memberDirectory,
      [
        'function memberOf(address) view returns (bytes32 org, uint8 kind, uint64 since, uint64 until)',
        'function cosignPolicyOf(string) view returns (bytes32[])',
      ],
      provider,
    );
    for (const org of ['bank', 'registrar']) {
      const s = inst.demo.orgs.find((o) => o.id === org)!.signer!;
      assert.equal(new Wallet(fs.readFileSync(s.keyFile, 'utf8').trim()).address, s.address);
      assert.equal((fs.statSync(s.keyFile).mode & 0o777).toString(8), '600');
      const [o, kind, since, until] = await dir.memberOf(s.address);
      assert.equal(o, orgHashOf(org));
      assert.equal(Number(kind), 1, 'SIGNER');
      assert.ok(since > 0n);
      assert.equal(until, 0n);
    }
    assert.deepEqual([...(await dir.cosignPolicyOf('security.issuance'))], [orgHashOf('registrar')]);
    assert.deepEqual([...(await dir.cosignPolicyOf('security.transfer'))], []);
  });

  it('a cosignature may name a record of another organisation only when readable or named by the policy', async () => {
    const iss = await client('bank').submit({ type: 'security.issuance', payload: P.issuance(31) });
    const doc = await client('bank').submit({ type: 'document', payload: { title: 'no policy' } });
    // The employer is named by no policy and has no grant from the bank: the issuance does not exist for it.
    const r1 = await api(inst.apiUrl, 'POST', '/v1/records', {
      key: key('employer'),
      body: { type: 'cosignature', payload: { role: 'trustee' }, parents: [iss.id] },
    });
    assert.equal(r1.status, 422, JSON.stringify(r1.body));
    assert.equal(r1.body.code, 'PARENT_NOT_FOUND');
    // The registrar may co-sign the issuance (policy), not the bank's document (no policy for `document`).
    const r2 = await api(inst.apiUrl, 'POST', '/v1/records', {
      key: key('registrar'),
      body: { type: 'cosignature', payload: { role: 'registrar' }, parents: [doc.id] },
    });
    assert.equal(r2.body.code, 'PARENT_NOT_FOUND');
    // Not its other records either: only a cosignature crosses organisations.
    const r3 = await api(inst.apiUrl, 'POST', '/v1/records', {
      key: key('registrar'),
      body: { type: 'document', payload: {}, parents: [iss.id] },
    });
    assert.equal(r3.body.code, 'PARENT_NOT_FOUND');
    const r4 = await api(inst.apiUrl, 'POST', '/v1/records', {
      key: key('registrar'),
      body: { type: 'cosignature', payload: { role: 'registrar' }, parents: [iss.id] },
    });
    assert.equal(r4.status, 202, JSON.stringify(r4.body));
    // Exactly one parent.
    const r5 = await api(inst.apiUrl, 'POST', '/v1/records', {
      key: key('registrar'),
      body: { type: 'cosignature', payload: {}, parents: [] },
    });
    assert.equal(r5.body.code, 'LINEAGE_VIOLATION');
    // An unsigned co-signature does not meet the policy: the trace and verifyBundle say so.
    await anchored('bank', [iss.id]);
    await anchored('registrar', [r4.body.id]);
    const t = await api(inst.apiUrl, 'GET', `/v1/records/${iss.id}/trace`, { key: key('bank') });
    assert.equal(t.status, 200);
    const node = t.body.nodes.find((n: Json) => n.id === iss.id);
    assert.equal(node.cosigning.met, false);
    assert.deepEqual(node.cosigning.missing, [orgHashOf('registrar')]);
    const cos = t.body.nodes.find((n: Json) => n.id === r4.body.id);
    assert.equal(cos.visible, true, 'the co-signature of a readable record is readable');
    const b = await api(inst.apiUrl, 'GET', `/v1/records/${iss.id}/trace?format=bundle`, { key: key('bank') });
    const v = await verifyBundle(b.body, { rootSource: source() });
    assert.equal(v.valid, false);
    assert.equal(v.checks.find((c) => c.name === 'cosigning')!.status, 'failed');
    assert.equal(v.cosigning[0]!.met, false);
  });

  it('signed issuance co-signed by the registrar: the trace and the bundle show the policy met', async () => {
    const bank = client('bank');
    const registrar = client('registrar');
    const [issIn] = await bank.signRecords(
      [{ type: 'security.issuance', externalId: 'ISS-COSIGN-1', payload: P.issuance(32) }],
      signerOf('bank'),
      { orgId: 'bank' },
    );
    const iss = await bank.submit(issIn!);
    assert.equal(iss.id, issIn!.id, 'the service keeps the id the client chose');
    // The registrar cannot read the issuance: the bank hands it the id and commitment (e.g. with the prospectus).
    const [cosIn] = await registrar.signRecords(
      [
        {
          type: 'cosignature',
          payload: { role: 'registrar', statement: 'Entered in the register' },
          parents: [iss.id],
        },
      ],
      signerOf('registrar'),
      { orgId: 'registrar', parentCommitments: { [iss.id]: iss.commitment } },
    );
    const cos = await registrar.submit(cosIn!);
    // A signed child of the bank's own: the client fetches the parent's commitment (GET /v1/records/:id) to sign.
    const [allocIn] = await bank.signRecords(
      [{ type: 'security.allocation', payload: P.allocation('INV-A', '10'), parents: [iss.id] }],
      signerOf('bank'),
      { orgId: 'bank' },
    );
    const alloc = await bank.submit(allocIn!);
    assert.equal(alloc.id, allocIn!.id);
    await anchored('bank', [iss.id, alloc.id]);
    await anchored('registrar', [cos.id]);
    assert.equal((await bank.receipt(alloc.id)).version as number, 2);

    const receipt = await bank.receipt(iss.id);
    assert.equal(receipt.version as number, 2);
    const t = await api(inst.apiUrl, 'GET', `/v1/records/${iss.id}/trace`, { key: key('bank') });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    const node = t.body.nodes.find((n: Json) => n.id === iss.id);
    assert.equal(node.verification.valid, true, JSON.stringify(node.verification));
    assert.equal(node.cosigning.met, true, JSON.stringify(node.cosigning));
    assert.deepEqual(node.cosigning.cosigned, [
      { org: orgHashOf('registrar'), orgId: 'registrar', cosignature: cos.id },
    ]);
    const cosNode = t.body.nodes.find((n: Json) => n.id === cos.id);
    assert.equal(cosNode.verification.valid, true, JSON.stringify(cosNode.verification));
    assert.deepEqual(t.body.cosigning, [node.cosigning]);

    const b = await api(inst.apiUrl, 'GET', `/v1/records/${iss.id}/trace?format=bundle`, {
      key: inst.demo.auditor.apiKey,
    });
    assert.equal(b.status, 200, JSON.stringify(b.body));
    const v = await verifyBundle(b.body, { rootSource: source() });
    assert.equal(v.valid, true, JSON.stringify(v.errors));
    assert.deepEqual(v.checks, [{ name: 'cosigning', status: 'passed' }]);
    assert.equal(v.cosigning[0]!.met, true);
    // Without the co-signature's receipt the same bundle fails the cosigning check.
    const stripped = { ...b.body, receipts: b.body.receipts.filter((r: Json) => r.record.type !== 'cosignature') };
    const v2 = await verifyBundle(stripped, { rootSource: source() });
    assert.equal(v2.valid, false);
    assert.match(v2.errors.join('\n'), /cosigning: security.issuance .* lacks a valid co-signature/);
    // Without a policy source the check is skipped (and says so), not passed.
    const v3 = await verifyBundle(b.body, { rootSource: new ChainRootSource({ provider }) });
    assert.equal(v3.checks[0]!.status, 'skipped');
  });
});
