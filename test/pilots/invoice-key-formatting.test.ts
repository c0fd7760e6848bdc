import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ZeroHash } from 'ethers';
import { startInstance, api, type Instance } from '../helpers/instance';
import { invoiceKey } from '../../src/domain/invoice-key';
import { invoiceIdentity } from '../../src/domain/record-types';
import * as P from '../../scripts/lib/pilot-payloads';

const SECRET = 'ledger-notary-embedded-consortium-secret'; // the embedded default (config.ts)

// Issue: the same paper invoice notarized by two organisations as `044031900111 / 00000042 / 91440300MA5ABCDE1X`
// and as `0440-3190-0111 / 42 / 91440300ma5abcde1x` gave two invoice keys (v1 hashed the raw strings), so both
// claims succeeded. With invoice key v2 (DESIGN §2.5) they are one invoice: the second claim is refused by the chain.
describe('an invoice typed two ways, or corrected, is reimbursed once (invoice key v2, real chain)', () => {
  let inst: Instance;
  const keyOf = (who: string) =>
    who === 'admin' ? inst.demo.admin.apiKey : inst.demo.orgs.find((o) => o.id === who)!.apiKey;
  const call = (who: string, method: string, url: string, body?: unknown) =>
    api(inst.apiUrl, method, url, { key: keyOf(who), body });

  before(async () => {
    inst = await startInstance();
  });
  after(async () => inst?.stop());

  it('gives both spellings one key, and the second claim answers 409 INVOICE_ALREADY_CLAIMED', async () => {
    const seller = { name: 'Shenzhen Parts Co', taxId: '91440300MA5ABCDE1X' };
    const asIssued = P.invoice('00000042', '1500.00', { invoiceCode: '044031900111', seller });
    const asRetyped = P.invoice('42', '1500.00', {
      invoiceCode: '0440-3190-0111',
      seller: { ...seller, taxId: '91440300ma5abcde1x' },
    });
    assert.equal(invoiceKey(SECRET, invoiceIdentity(asIssued)), invoiceKey(SECRET, invoiceIdentity(asRetyped)));

    const a = await call('aerospace', 'POST', '/v1/records', {
      type: 'invoice.issued',
      externalId: 'CN-42-as-issued',
      payload: asIssued,
    });
    assert.equal(a.status, 202, JSON.stringify(a.body));
    const b = await call('bank', 'POST', '/v1/records', {
      type: 'invoice.issued',
      externalId: 'CN-42-retyped',
      payload: asRetyped,
    });
    assert.equal(b.status, 202, JSON.stringify(b.body));
    assert.notEqual(a.body.digest, b.body.digest, 'two different records of one invoice');

    const first = await call('employer', 'POST', '/v1/claims', {
      externalId: 'CLM-42-a',
      payload: P.claim('E-42'),
      invoices: [a.body.id],
    });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const second = await call('employer', 'POST', '/v1/claims', {
      externalId: 'CLM-42-b',
      payload: P.claim('E-43'),
      invoices: [b.body.id],
    });
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.equal(second.body.code, 'INVOICE_ALREADY_CLAIMED');
    assert.deepEqual(first.body.invoiceKeys, [invoiceKey(SECRET, invoiceIdentity(asRetyped))]);
  });

  it('refuses a superseded invoice (409 naming its correction); claiming the correction consumes every version', async () => {
    const seller = { name: 'Aerostar Group', taxId: 'FR12345678901' };
    const v1 = P.invoice('INV-7001', '1500.00', { seller });
    // the correction also fixes a mistyped number: two versions, two keys
    const v2 = P.invoice('INV-7010', '1500.00', { seller });
    const first = await call('aerospace', 'POST', '/v1/records', {
      type: 'invoice.issued',
      externalId: 'INV-7001',
      payload: v1,
    });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const correction = await call('aerospace', 'POST', '/v1/records', {
      type: 'invoice.issued',
      externalId: 'INV-7001-corrected',
      payload: v2,
      supersedes: first.body.id,
    });
    assert.equal(correction.status, 202, JSON.stringify(correction.body));

    const old = await call('employer', 'POST', '/v1/claims', {
      externalId: 'CLM-7001-old',
      payload: P.claim('E-7'),
      invoices: [first.body.id],
    });
    assert.equal(old.status, 409, JSON.stringify(old.body));
    assert.deepEqual(
      [old.body.code, old.body.invoice, old.body.supersededBy],
      ['INVOICE_SUPERSEDED', first.body.id, correction.body.id],
    );

    const ok = await call('employer', 'POST', '/v1/claims', {
      externalId: 'CLM-7001-new',
      payload: P.claim('E-7'),
      invoices: [correction.body.id],
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const k1 = invoiceKey(SECRET, invoiceIdentity(v1));
    const k2 = invoiceKey(SECRET, invoiceIdentity(v2));
    assert.notEqual(k1, k2);
    assert.deepEqual(ok.body.invoiceKeys, [k2, k1]);
    for (const k of [k1, k2]) {
      assert.equal((await inst.runtime.gateway.consumptionOf(k)).claim, ok.body.commitment, `key ${k} consumed`);
    }

    // another member that holds the first version under its own record cannot claim it either
    const copy = await call('bank', 'POST', '/v1/records', {
      type: 'invoice.issued',
      externalId: 'copy-of-INV-7001',
      payload: v1,
    });
    assert.equal(copy.status, 202, JSON.stringify(copy.body));
    const again = await call('employer', 'POST', '/v1/claims', {
      externalId: 'CLM-7001-copy',
      payload: P.claim('E-8'),
      invoices: [copy.body.id],
    });
    assert.deepEqual([again.status, again.body.code], [409, 'INVOICE_ALREADY_CLAIMED']);
  });

  describe('rights: a claim names only invoices its organisation may read', () => {
    const submit = async (who: string, type: string, payload: unknown, parents: string[] = []) => {
      const r = await call(who, 'POST', '/v1/records', { type, payload, parents });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return r.body.id as string;
    };
    const claim = (who: string, externalId: string, invoices: string[]) =>
      call(who, 'POST', '/v1/claims', { externalId, payload: P.claim('E-9'), invoices });
    /** The answer with the named id blanked: what an unknown id gets must be all another org's id gets. */
    const shape = (body: Record<string, unknown>, id: string) =>
      JSON.parse(JSON.stringify(body).split(id).join('<id>'));

    it("another organisation's invoice, voided invoice or document answers exactly like an unknown id", async () => {
      const buyer = { name: 'Someone Else SA', taxId: 'ES00000000X' };
      const invoice = await submit('aerospace', 'invoice.issued', P.invoice('R-1', '1500.00', { buyer }));
      const voided = await submit('aerospace', 'invoice.issued', P.invoice('R-2', '1500.00', { buyer }));
      await submit('aerospace', 'invoice.voided', P.voided('CN-R2'), [voided]);
      const doc = await submit('aerospace', 'document', { title: 'board minutes' });
      const unknownId = '01a230f1-0000-7000-8000-000000000000';
      const unknown = await claim('bank', 'R-unknown', [unknownId]);
      assert.equal(unknown.status, 422);
      assert.equal(unknown.body.code, 'PARENT_NOT_FOUND');
      for (const [i, id] of [invoice, voided, doc].entries()) {
        const r = await claim('bank', `R-${i}`, [id]);
        assert.equal(r.status, unknown.status, JSON.stringify(r.body));
        assert.deepEqual(shape(r.body, id), shape(unknown.body, unknownId));
      }
      assert.equal(
        (
          await inst.runtime.gateway.consumptionOf(
            invoiceKey(SECRET, invoiceIdentity(P.invoice('R-1', '1500.00', { buyer }))),
          )
        ).claim,
        ZeroHash,
      );
    });

    it('the buyer (by tax id, however spelled) and an organisation granted the records may claim', async () => {
      const spelled = P.invoice('R-3', '1500.00', { buyer: { name: 'Chatwave', taxId: 'gb-987-654-321' } });
      const byBuyer = await claim('employer', 'R-buyer', [await submit('aerospace', 'invoice.issued', spelled)]);
      assert.equal(byBuyer.status, 201, JSON.stringify(byBuyer.body));

      const foreign = await submit(
        'aerospace',
        'invoice.issued',
        P.invoice('R-4', '1500.00', { buyer: { name: 'X', taxId: 'NL000000001B01' } }),
      );
      assert.equal((await claim('bank', 'R-granted-before', [foreign])).body.code, 'PARENT_NOT_FOUND');
      const g = await call('admin', 'POST', '/v1/orgs/aerospace/grants', { auditorOrgId: 'bank' });
      assert.equal(g.status, 204, JSON.stringify(g.body));
      const granted = await claim('bank', 'R-granted', [foreign]);
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
    });

    it('organisations have tax ids (admin API): one organisation per tax id, kept as given, compared normalised', async () => {
      const got = await call('admin', 'GET', '/v1/orgs/employer/tax-ids');
      assert.deepEqual(got.body, { orgId: 'employer', taxIds: ['GB987654321'] });
      const taken = await call('admin', 'PUT', '/v1/orgs/bank/tax-ids', { taxIds: ['GB100200300', 'gb 987654321'] });
      assert.deepEqual([taken.status, taken.body.code], [409, 'TAX_ID_TAKEN']);
      const twice = await call('admin', 'PUT', '/v1/orgs/bank/tax-ids', { taxIds: ['GB1', 'gb-1'] });
      assert.deepEqual([twice.status, twice.body.code], [400, 'VALIDATION_FAILED']);
      const set = await call('admin', 'PUT', '/v1/orgs/bank/tax-ids', { taxIds: ['GB 100 200 300', 'IE1234567T'] });
      assert.deepEqual([set.status, set.body.taxIds], [200, ['GB 100 200 300', 'IE1234567T']]);
      const bankKey = await call('bank', 'PUT', '/v1/orgs/bank/tax-ids', { taxIds: [] });
      assert.equal(bankKey.status, 403);
    });
  });

  it('a claim of an invoice like one claimed before under another number is accepted with POSSIBLE_DUPLICATE', async () => {
    const like = { issueDate: '2026-10-03' }; // one seller, gross, currency and date; three numbers
    const submit = async (who: string, number: string, gross = '1500.00') => {
      const r = await call(who, 'POST', '/v1/records', {
        type: 'invoice.issued',
        payload: P.invoice(number, gross, like),
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return r.body.id as string;
    };
    const claim = (who: string, ext: string, invoice: string, amount = '1500.00') =>
      call(who, 'POST', '/v1/claims', { externalId: ext, payload: P.claim(`E-${ext}`, amount), invoices: [invoice] });

    const a = await submit('aerospace', 'D-100');
    const first = await claim('employer', 'DUP-1', a);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.warnings, undefined);

    const b = await submit('aerospace', 'D-101');
    const second = await claim('employer', 'DUP-2', b);
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.equal(second.body.warnings.length, 1);
    assert.deepEqual(
      [second.body.warnings[0].code, second.body.warnings[0].invoice, second.body.warnings[0].earlier],
      ['POSSIBLE_DUPLICATE', b, { claim: first.body.id, invoice: a, sameOrganisation: true }],
    );

    // another member's claim of a third alike invoice is warned too, without naming the employer's records
    const c = await submit('bank', 'D-102');
    const third = await claim('bank', 'DUP-3', c);
    assert.equal(third.status, 201, JSON.stringify(third.body));
    assert.deepEqual(third.body.warnings[0].earlier, { claim: null, invoice: null, sameOrganisation: false });
    assert.ok(!JSON.stringify(third.body).includes(first.body.id));

    // an invoice with another gross is not alike
    const d = await submit('aerospace', 'D-103', '1499.00');
    const fourth = await claim('employer', 'DUP-4', d, '1499.00');
    assert.equal(fourth.status, 201, JSON.stringify(fourth.body));
    assert.equal(fourth.body.warnings, undefined);
  });
});
