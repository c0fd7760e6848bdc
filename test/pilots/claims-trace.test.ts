import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ZeroAddress, id } from 'ethers';
import { startInstance, api, eventually, type Instance } from '../helpers/instance';
import { ChainRootSource, verifyBundle } from '../../src/verifier';
import { invoiceKey } from '../../src/domain/invoice-key';
import { invoiceIdentity } from '../../src/domain/record-types';
import { ClaimService } from '../../src/service/claims';
import { encodeRelease, simulate } from '../../src/chain/registries';
import { RecordService } from '../../src/service/records';
import { ServiceError } from '../../src/service/errors';
import * as P from '../../scripts/lib/pilot-payloads';

const SECRET = 'ledger-notary-embedded-consortium-secret'; // the embedded default (config.ts)

describe('pilot workflows over HTTP on a real chain (claims, trace, bundle, completeness)', () => {
  let inst: Instance;
  let key: Record<'aerospace' | 'employer' | 'bank' | 'auditor' | 'admin', string>;
  let n = 0;
  const call = (who: keyof typeof key, method: string, url: string, body?: unknown) =>
    api(inst.apiUrl, method, url, { key: key[who], body });

  const newInvoice = async (payload = P.invoice(`T${++n}`)) => {
    const r = await call('aerospace', 'POST', '/v1/records', {
      type: 'invoice.issued',
      externalId: `INV-${++n}`,
      payload,
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return { id: r.body.id as string, payload };
  };
  // Another member's record of the same paper invoice (same seller, code and number: the same invoice key). A
  // claim names only invoices its organisation may read, so the bank claims through its own copy.
  const bankCopy = async (payload: unknown) => {
    const r = await call('bank', 'POST', '/v1/records', { type: 'invoice.issued', externalId: `COPY-${++n}`, payload });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.id as string;
  };
  const claimIt = (who: 'employer' | 'bank', externalId: string, invoices: string[]) =>
    call(who, 'POST', '/v1/claims', { externalId, payload: P.claim(`E-${externalId}`), invoices });
  const record = async (who: keyof typeof key, type: string, payload: unknown, parents: string[]) => {
    const r = await call(who, 'POST', '/v1/records', { type, payload, parents });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.id as string;
  };
  const anchored = (who: keyof typeof key, id: string) =>
    eventually(async () => (await call(who, 'GET', `/v1/records/${id}`)).body.status !== 'pending', 30_000);
  const consumption = (k: string) => inst.runtime.gateway.consumptionOf(k);
  const keyOf = (payload: unknown) => invoiceKey(SECRET, invoiceIdentity(payload));
  const rootSource = () =>
    new ChainRootSource(
      { provider: inst.runtime.provider },
      { trustedRegistries: [inst.runtime.deployment.notaryRegistry.address] },
    );

  before(async () => {
    inst = await startInstance();
    const org = (id: string) => inst.demo.orgs.find((o) => o.id === id)!.apiKey;
    key = {
      aerospace: org('aerospace'),
      employer: org('employer'),
      bank: org('bank'),
      auditor: inst.demo.auditor.apiKey,
      admin: inst.demo.admin.apiKey,
    };
  });
  after(async () => inst?.stop());

  it('an over-claim is refused (422 CLAIM_EXCEEDS_INVOICES) before any chain transaction', async () => {
    const inv = await newInvoice(P.invoice(`T${++n}`, '1000.00'));
    const r = await call('employer', 'POST', '/v1/claims', {
      externalId: 'OVER-1',
      payload: P.claim('E-over', '1000.01'),
      invoices: [inv.id],
    });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.deepEqual([r.body.code, r.body.expected, r.body.given], ['CLAIM_EXCEEDS_INVOICES', '≤ 1000.00', '1000.01']);
    // Nothing was prepared or consumed: the invoice can still be claimed for its amount.
    assert.equal(await inst.runtime.store.read((s) => s.getClaimByExternalId('employer', 'OVER-1')), null);
    assert.equal((await consumption(keyOf(inv.payload))).consumer, ZeroAddress);
    const ok = await call('employer', 'POST', '/v1/claims', {
      externalId: 'OVER-2',
      payload: P.claim('E-over', '1000.00'),
      invoices: [inv.id],
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });

  describe('claims', () => {
    it('consumes the invoice key on chain, then records the claim; the same externalId again is the same claim', async () => {
      const inv = await newInvoice();
      const res = await claimIt('employer', 'CLM-1', [inv.id]);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual(res.body.invoiceKeys, [keyOf(inv.payload)]);
      assert.match(res.body.chain.txHash, /^0x[0-9a-f]{64}$/);
      assert.equal(res.body.status, 'pending');
      const c = await consumption(keyOf(inv.payload));
      assert.equal(c.claim, res.body.commitment);
      assert.equal(c.consumer, inst.demo.orgs.find((o) => o.id === 'employer')!.address);
      assert.equal(c.org, id('employer'), 'ClaimRegistry v2 records the consuming organisation');
      assert.equal(c.settled, false);
      const rec = await call('employer', 'GET', `/v1/records/${res.body.id}`);
      assert.deepEqual(
        [rec.body.type, rec.body.parents, rec.body.commitment],
        ['expense.claim', [inv.id], res.body.commitment],
      );
      const again = await claimIt('employer', 'CLM-1', [inv.id]);
      assert.equal(again.status, 200);
      assert.deepEqual(
        [again.body.id, again.body.duplicate, again.body.chain.txHash],
        [res.body.id, true, res.body.chain.txHash],
      );
      const other = await call('employer', 'POST', '/v1/claims', {
        externalId: 'CLM-1',
        payload: P.claim('E-other'),
        invoices: [inv.id],
      });
      assert.equal(other.body.code, 'EXTERNAL_ID_CONFLICT');
    });

    it('a second claim of the same invoice, by any org, is 409 INVOICE_ALREADY_CLAIMED naming the earlier claim', async () => {
      const inv = await newInvoice();
      const first = await claimIt('employer', 'CLM-2', [inv.id]);
      assert.equal(first.status, 201);
      const copy = await bankCopy(inv.payload);
      for (const [who, ext, invoice] of [
        ['bank', 'BANK-CLM-2', copy],
        ['employer', 'CLM-2b', inv.id],
      ] as const) {
        const second = await claimIt(who, ext, [invoice]);
        assert.equal(second.status, 409, JSON.stringify(second.body));
        assert.equal(second.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        assert.equal(second.body.code, 'INVOICE_ALREADY_CLAIMED');
        assert.equal(second.body.invoice, invoice);
        // another organisation's claim record id is not named (the chain shows commitment and org to all)
        assert.equal(second.body.earlierClaim.id, who === 'employer' ? first.body.id : null);
        assert.equal(second.body.earlierClaim.commitment, first.body.commitment);
        // the consuming organisation, as ClaimRegistry v2 names it (its id is public in the directory)
        assert.equal(second.body.earlierClaim.org, id('employer'));
        assert.equal(second.body.earlierClaim.orgId, 'employer');
        assert.match(second.body.detail, who === 'employer' ? /by this organisation/ : /by organisation employer/);
      }
    });

    it('refuses a voided invoice, an unknown one, a non-invoice, and expense.claim through POST /v1/records', async () => {
      const inv = await newInvoice();
      await record('aerospace', 'invoice.voided', P.voided('CN-9'), [inv.id]);
      const res = await claimIt('employer', 'CLM-void', [inv.id]);
      assert.deepEqual([res.status, res.body.code], [409, 'INVOICE_VOIDED']);
      assert.equal((await consumption(keyOf(inv.payload))).consumer, ZeroAddress);
      const unknown = await claimIt('employer', 'CLM-unknown', ['00000000-0000-4000-8000-000000000000']);
      assert.deepEqual([unknown.status, unknown.body.code], [422, 'PARENT_NOT_FOUND']);
      const doc = await call('employer', 'POST', '/v1/records', { type: 'document', payload: { title: 'x' } });
      const notInvoice = await claimIt('employer', 'CLM-doc', [doc.body.id]);
      assert.deepEqual([notInvoice.status, notInvoice.body.code], [422, 'LINEAGE_VIOLATION']);
      const plain = await call('employer', 'POST', '/v1/records', {
        type: 'expense.claim',
        payload: P.claim(),
        parents: [inv.id],
      });
      assert.deepEqual([plain.status, plain.body.code], [422, 'CLAIMS_ENDPOINT_REQUIRED']);
      const auditor = await claimIt('employer', 'CLM-dup', [inv.id, inv.id]);
      assert.equal(auditor.status, 400);
    });

    it('a rejected claim releases its keys on chain; the invoice can then be claimed again', async () => {
      const inv = await newInvoice();
      const c = await claimIt('employer', 'CLM-rej', [inv.id]);
      assert.equal(c.status, 201);
      await record('employer', 'expense.rejected', P.rejected(), [c.body.id]);
      const view = await eventually(async () => {
        const v = await call('employer', 'GET', `/v1/claims/${c.body.id}`);
        return v.body.status === 'released' && v.body;
      }, 20_000);
      assert.equal(view.releaseTx.status, 'mined');
      assert.equal((await consumption(keyOf(inv.payload))).consumer, ZeroAddress);
      const again = await claimIt('bank', 'BANK-CLM-rej', [await bankCopy(inv.payload)]);
      assert.equal(again.status, 201, JSON.stringify(again.body));
      assert.equal((await consumption(keyOf(inv.payload))).claim, again.body.commitment);
      // An approved claim keeps its keys and cannot be rejected afterwards.
      const inv2 = await newInvoice();
      const c2 = await claimIt('employer', 'CLM-appr', [inv2.id]);
      await record('employer', 'expense.approved', P.approved(), [c2.body.id]);
      const rej = await call('employer', 'POST', '/v1/records', {
        type: 'expense.rejected',
        payload: P.rejected(),
        parents: [c2.body.id],
      });
      assert.deepEqual([rej.status, rej.body.code], [409, 'ALREADY_DECIDED']);
    });

    it('a claim that loses the race on chain (mined, reverted KEY_ALREADY_CONSUMED) is 409 and leaves no record', async () => {
      const inv = await newInvoice();
      const first = await claimIt('employer', 'CLM-race', [inv.id]);
      assert.equal(first.status, 201);
      // Without the eth_call pre-check the second consume is signed, mined and reverts: the chain decides.
      const svc = new ClaimService(inst.runtime.store, inst.runtime.gateway, new RecordService(inst.runtime.store), {
        consortiumSecret: SECRET,
        precheck: false,
      });
      const bank = (await inst.runtime.store.read((r) => r.getOrg('bank')))!;
      const copy = await bankCopy(inv.payload);
      const err = await svc
        .claim(bank, { externalId: 'BANK-race', payload: P.claim(), invoices: [copy] })
        .catch((e: unknown) => e);
      assert.ok(err instanceof ServiceError, String(err));
      assert.equal(err.code, 'INVOICE_ALREADY_CLAIMED');
      assert.equal((err.details!.earlierClaim as { commitment: string }).commitment, first.body.commitment);
      const stored = (await inst.runtime.store.read((r) => r.getClaimByExternalId('bank', 'BANK-race')))!;
      assert.equal(stored.status, 'failed');
      assert.match(stored.error!, /KEY_ALREADY_CONSUMED/);
      const recs = await inst.runtime.store.read((r) =>
        r.findByExternalIds('bank', [{ type: 'expense.claim', externalId: 'BANK-race' }]),
      );
      assert.equal(recs.length, 0);
    });

    it('not mined in time: 503 CHAIN_UNAVAILABLE with the transaction kept in the outbox; the retry finishes it', async () => {
      const inv = await newInvoice();
      const slow = new ClaimService(inst.runtime.store, inst.runtime.gateway, new RecordService(inst.runtime.store), {
        consortiumSecret: SECRET,
        receiptTimeoutMs: 500,
      });
      const emp = (await inst.runtime.store.read((r) => r.getOrg('employer')))!;
      const provider = inst.runtime.provider;
      await provider.send('evm_setAutomine', [false]);
      let err: unknown;
      try {
        err = await slow
          .claim(emp, { externalId: 'CLM-slow', payload: P.claim('E-slow'), invoices: [inv.id] })
          .catch((e: unknown) => e);
      } finally {
        await provider.send('evm_setAutomine', [true]);
      }
      assert.ok(err instanceof ServiceError && err.code === 'CHAIN_UNAVAILABLE', String(err));
      const stored = (await inst.runtime.store.read((r) => r.getClaimByExternalId('employer', 'CLM-slow')))!;
      assert.equal(stored.status, 'signed');
      const tx = (await inst.runtime.store.read((r) => r.getOutbox(stored.consumeTxId!)))!;
      assert.deepEqual([tx.kind, tx.status, tx.refId], ['consume', 'sent', stored.commitment]);
      await provider.send('evm_mine', []);
      const retry = await call('employer', 'POST', '/v1/claims', {
        externalId: 'CLM-slow',
        payload: P.claim('E-slow'),
        invoices: [inv.id],
      });
      assert.equal(retry.status, 201, JSON.stringify(retry.body));
      assert.deepEqual([retry.body.commitment, retry.body.chain.txHash], [stored.commitment, tx.txHash]);
    });

    for (const step of ['broadcast', 'mined'] as const) {
      it(`crash after the consume was ${step === 'mined' ? 'mined' : 'broadcast'}: a retry with the same externalId finishes the same claim`, async () => {
        const inv = await newInvoice();
        const crashing = new ClaimService(
          inst.runtime.store,
          inst.runtime.gateway,
          new RecordService(inst.runtime.store),
          {
            consortiumSecret: SECRET,
            onStep: (s) => {
              if (s === step) throw new Error(`crash at ${s}`);
            },
          },
        );
        const emp = (await inst.runtime.store.read((r) => r.getOrg('employer')))!;
        const ext = `CLM-crash-${step}`;
        await assert.rejects(
          crashing.claim(emp, { externalId: ext, payload: P.claim('E-crash'), invoices: [inv.id] }),
          /crash at/,
        );
        const prepared = (await inst.runtime.store.read((r) => r.getClaimByExternalId('employer', ext)))!;
        assert.equal(prepared.status, step === 'mined' ? 'consumed' : 'signed');
        await eventually(async () => (await consumption(keyOf(inv.payload))).claim === prepared.commitment);
        // The retry (through the API) sees the keys consumed by its own commitment and records the claim.
        const retry = await call('employer', 'POST', '/v1/claims', {
          externalId: ext,
          payload: P.claim('E-crash'),
          invoices: [inv.id],
        });
        assert.equal(retry.status, 201, JSON.stringify(retry.body));
        assert.deepEqual([retry.body.id, retry.body.commitment], [prepared.id, prepared.commitment]);
        const recs = await inst.runtime.store.read((r) =>
          r.findByExternalIds('employer', [{ type: 'expense.claim', externalId: ext }]),
        );
        assert.equal(recs.length, 1);
        assert.equal((await inst.runtime.store.read((r) => r.getClaim(prepared.id)))!.status, 'recorded');
      });
    }
  });

  describe('trace and bundles', () => {
    let inv: { id: string; payload: unknown };
    let paidId: string;
    let claimId: string;
    let approvalId: string;
    let reimbId: string;

    before(async () => {
      inv = await newInvoice();
      paidId = await record('aerospace', 'invoice.paid', P.paid('TR-1'), [inv.id]);
      const c = await claimIt('employer', 'CLM-trace', [inv.id]);
      claimId = c.body.id;
      approvalId = await record('employer', 'expense.approved', P.approved(), [claimId]);
      reimbId = await record('employer', 'expense.reimbursed', P.reimbursed(), [approvalId]);
      await anchored('employer', reimbId);
      await anchored('aerospace', paidId);
    });

    it('the reimbursed claim is settled on chain; a release is then refused (service and chain)', async () => {
      const view = await eventually(async () => {
        const v = await call('employer', 'GET', `/v1/claims/${claimId}`);
        return v.body.status === 'settled' && v.body;
      }, 20_000);
      assert.equal(view.settleTx.status, 'mined');
      const c = await consumption(keyOf(inv.payload));
      assert.deepEqual([c.settled, c.org], [true, id('employer')]);
      const svc = new ClaimService(inst.runtime.store, inst.runtime.gateway, new RecordService(inst.runtime.store), {
        consortiumSecret: SECRET,
      });
      const employer = (await inst.runtime.store.read((r) => r.getOrg('employer')))!;
      const claim = (await inst.runtime.store.read((r) => r.getClaim(claimId)))!;
      await assert.rejects(
        svc.release(employer, claim, 'rejected'),
        (e: unknown) => e instanceof ServiceError && e.code === 'ALREADY_REIMBURSED',
      );
      // the chain refuses it too, whoever of the organisation asks
      const f = await simulate(inst.runtime.provider, {
        from: employer.address!,
        to: inst.runtime.gateway.claimRegistry,
        data: encodeRelease(claim.commitment),
      });
      assert.ok(!f.ok);
      assert.equal(f.error.code, 'CLAIM_SETTLED');
      assert.equal((await inst.runtime.store.read((r) => r.getClaim(claimId)))!.status, 'settled');
    });

    it('a granted auditor sees the whole lineage, every node verified against the chain', async () => {
      const t = await call('auditor', 'GET', `/v1/records/${inv.id}/trace`);
      assert.equal(t.status, 200, JSON.stringify(t.body));
      const ids = new Set(t.body.nodes.map((x: { id: string }) => x.id));
      assert.deepEqual(ids, new Set([inv.id, paidId, claimId, approvalId, reimbId]));
      assert.equal(t.body.nodes[0].id, inv.id);
      for (const node of t.body.nodes) {
        assert.equal(node.visible, true);
        assert.ok(node.payload, node.id);
        assert.equal(node.verification.valid, true, JSON.stringify(node.verification));
        assert.equal(node.verification.checks.find((c: { name: string }) => c.name === 'digest').status, 'passed');
        assert.match(node.anchor.txHash, /^0x/);
      }
      const edges = new Set(t.body.edges.map((e: { parent: string; child: string }) => `${e.parent}>${e.child}`));
      assert.deepEqual(
        edges,
        new Set([
          `${inv.id}>${paidId}`,
          `${inv.id}>${claimId}`,
          `${claimId}>${approvalId}`,
          `${approvalId}>${reimbId}`,
        ]),
      );
    });

    it("an org sees other orgs' records in its lineage as metadata only, and not beyond them", async () => {
      const emp = await call('employer', 'GET', `/v1/records/${reimbId}/trace`);
      const node = (id: string) => emp.body.nodes.find((x: { id: string }) => x.id === id);
      assert.deepEqual(
        new Set(emp.body.nodes.map((x: { id: string }) => x.id)),
        new Set([reimbId, approvalId, claimId, inv.id]),
      );
      const invoiceNode = node(inv.id);
      assert.deepEqual(
        [
          invoiceNode.visible,
          invoiceNode.orgId,
          invoiceNode.type,
          invoiceNode.payload,
          invoiceNode.digest,
          invoiceNode.verification,
        ],
        [false, 'aerospace', 'invoice.issued', undefined, null, null],
      );
      assert.equal(node(claimId).verification.valid, true);
      // The seller sees that its invoice was claimed (boundary node), not the employer's approvals.
      const aero = await call('aerospace', 'GET', `/v1/records/${inv.id}/trace`);
      const aeroIds = new Set(aero.body.nodes.map((x: { id: string }) => x.id));
      assert.deepEqual(aeroIds, new Set([inv.id, paidId, claimId]));
      assert.equal(aero.body.nodes.find((x: { id: string }) => x.id === claimId).visible, false);
      // Not readable at all: 404.
      assert.equal((await call('bank', 'GET', `/v1/records/${inv.id}/trace`)).status, 404);
    });

    it('?format=bundle verifies offline as one unit; one tampered receipt makes it invalid', async () => {
      const b = await call('auditor', 'GET', `/v1/records/${reimbId}/trace?format=bundle`);
      assert.equal(b.status, 200, JSON.stringify(b.body));
      assert.equal(b.body.receipts.length, 4);
      assert.equal(b.body.external, undefined);
      const v = await verifyBundle(b.body, { rootSource: rootSource() });
      assert.equal(v.valid, true, JSON.stringify(v.errors));
      const tampered = structuredClone(b.body);
      tampered.receipts[1].record.digest = '0x' + 'ab'.repeat(32);
      const bad = await verifyBundle(tampered, { rootSource: rootSource() });
      assert.equal(bad.valid, false);
      // The employer's bundle lists the aerospace invoice as external (not disclosed), and is valid.
      const eb = await call('employer', 'GET', `/v1/records/${claimId}/trace?format=bundle`);
      const [invCommitment] = (await inst.runtime.store.read((r) => r.getRecordsMeta([inv.id]))).map(
        (m) => m.commitment,
      );
      assert.deepEqual(eb.body.external, [invCommitment]);
      assert.equal((await verifyBundle(eb.body, { rootSource: rootSource() })).valid, true);
      const withoutExternal = { ...eb.body, external: undefined };
      assert.equal((await verifyBundle(withoutExternal, { rootSource: rootSource() })).valid, false);
    });

    it('supersession: GET /v1/records/:id, the trace node and POST /v1/verify report "superseded by"', async () => {
      const a = await newInvoice();
      const b = await call('aerospace', 'POST', '/v1/records', {
        type: 'invoice.issued',
        externalId: `INV-fix-${++n}`,
        payload: P.invoice(`T${n}`, '1400.00'),
        supersedes: a.id,
      });
      assert.equal(b.status, 202);
      assert.equal((await call('aerospace', 'GET', `/v1/records/${a.id}`)).body.supersededBy, b.body.id);
      assert.equal((await call('aerospace', 'GET', `/v1/records/${b.body.id}`)).body.supersededBy, null);
      await anchored('aerospace', a.id);
      const t = await call('aerospace', 'GET', `/v1/records/${a.id}/trace`);
      assert.equal(t.body.nodes[0].supersededBy, b.body.id);
      const receipt = (await call('aerospace', 'GET', `/v1/records/${a.id}/receipt`)).body;
      const verdict = await api(inst.apiUrl, 'POST', '/v1/verify', { body: { receipt, payload: a.payload } });
      assert.deepEqual([verdict.body.valid, verdict.body.superseded], [true, { by: b.body.id }]);
      const again = await call('aerospace', 'POST', '/v1/records', {
        type: 'invoice.issued',
        payload: P.invoice('T-x'),
        supersedes: a.id,
      });
      assert.deepEqual([again.status, again.body.code], [409, 'ALREADY_SUPERSEDED']);
    });
  });

  describe('completeness (GET /v1/orgs/:id/chain)', () => {
    it('matches the registry chain, and reports a batch deleted from the database as missing in the database', async () => {
      const inv = await newInvoice();
      await anchored('aerospace', inv.id);
      await eventually(
        async () => (await inst.runtime.store.read((r) => r.unfinishedBatches('aerospace'))).length === 0,
      );
      const ok = await call('aerospace', 'GET', '/v1/orgs/aerospace/chain');
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.consistent, true, JSON.stringify(ok.body));
      assert.ok(ok.body.chain.length >= 2);
      assert.equal(ok.body.chain.length, ok.body.database.batches);
      assert.equal((await call('auditor', 'GET', '/v1/orgs/aerospace/chain')).status, 200);
      assert.equal((await call('admin', 'GET', '/v1/orgs/aerospace/chain')).status, 200);
      assert.equal((await call('bank', 'GET', '/v1/orgs/aerospace/chain')).status, 403);

      const [first] = await inst.runtime.store.read((r) => r.batchesOf('aerospace'));
      await inst.runtime.store.tx((r) => r.deleteBatch(first!.id));
      const broken = await call('aerospace', 'GET', '/v1/orgs/aerospace/chain');
      assert.equal(broken.body.consistent, false);
      assert.deepEqual(broken.body.missingInDatabase, [first!.root]);
      assert.deepEqual(broken.body.missingOnChain, []);
      assert.equal(broken.body.chain.length, ok.body.chain.length);
    });
  });
});
