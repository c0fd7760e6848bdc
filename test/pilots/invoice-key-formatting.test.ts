import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInstance, api, type Instance } from '../helpers/instance';
import { invoiceKey } from '../../src/domain/invoice-key';
import { invoiceIdentity } from '../../src/domain/record-types';
import * as P from '../../scripts/lib/pilot-payloads';

const SECRET = 'ledger-notary-embedded-consortium-secret'; // the embedded default (config.ts)

// Issue: the same paper invoice notarized by two organisations as `044031900111 / 00000042 / 91440300MA5ABCDE1X`
// and as `0440-3190-0111 / 42 / 91440300ma5abcde1x` gave two invoice keys (v1 hashed the raw strings), so both
// claims succeeded. With invoice key v2 (DESIGN §2.5) they are one invoice: the second claim is refused by the chain.
describe('an invoice typed two ways is reimbursed once (invoice key v2, real chain)', () => {
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
});
