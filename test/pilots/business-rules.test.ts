import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DB_KINDS, PG_AVAILABLE } from '../helpers/db';
import { SqlStore } from '../../src/storage/sql-repo';
import { RecordService, type BatchItemResult, type RecordInput, type SubmitResult } from '../../src/service/records';
import { initHashing } from '../../src/domain/hashing';
import * as P from '../../scripts/lib/pilot-payloads';

const ok = (r: BatchItemResult | undefined): SubmitResult => {
  assert.ok(r && !('error' in r), `expected success, got ${JSON.stringify(r)}`);
  return r;
};
const err = (r: BatchItemResult | undefined): { code: string; status: number; [k: string]: unknown } => {
  assert.ok(r && 'error' in r, `expected an error, got ${JSON.stringify(r)}`);
  return r.error;
};

/** The invoice of issue 17: 2 × 1250.00 with a line amount of 1.00, net 1250.00, tax 999.00, gross 7.00. */
const inconsistent = (n: string) =>
  P.invoice(n, '7.00', {
    lines: [{ description: 'Cabin refit', quantity: '2', unitPrice: '1250.00', amount: '1.00', taxRate: '0.20' }],
    totalNet: '1250.00',
    totalTax: '999.00',
    totalGross: '7.00',
  });

for (const kind of DB_KINDS) {
  describe(`business rules on ${kind.name}`, { skip: kind.name === 'postgres' && !PG_AVAILABLE }, () => {
    let store: SqlStore;
    let svc: RecordService;
    let close: (() => Promise<void>) | undefined;
    let n = 0;

    before(async () => {
      await initHashing();
      const opened = await kind.open();
      close = opened.close;
      store = new SqlStore(opened.db);
      svc = new RecordService(store);
      await store.tx(async (r) => {
        for (const id of ['aero', 'emp', 'bank'])
          await r.insertOrg({ id, name: id, kind: 'member', address: null, createdAt: 1 });
        await r.insertOrg({ id: 'lax', name: 'lax', kind: 'member', address: null, createdAt: 1, rules: 'warn' });
      });
    });
    after(async () => close?.());

    const one = async (org: string, input: RecordInput) => (await svc.submit(org, [input]))[0];
    const submit = async (org: string, input: RecordInput) => ok(await one(org, input));
    const newInvoice = (gross = '1500.00', org = 'aero') =>
      submit(org, { type: 'invoice.issued', externalId: `INV-${++n}`, payload: P.invoice(`R${n}`, gross) });
    const claim = async (invoices: string[], amount: string, currency = 'EUR') =>
      (
        await svc.submit(
          'emp',
          [
            {
              type: 'expense.claim',
              externalId: `C-${++n}`,
              payload: { ...P.claim(`E-${n}`, amount), currency },
              parents: invoices,
            },
          ],
          { allowReserved: true, policy: () => null },
        )
      )[0];

    it('refuses the inconsistent invoice of issue 17 with a code naming the rule, expected and given', async () => {
      const e = err(await one('aero', { type: 'invoice.issued', externalId: 'BAD-1', payload: inconsistent('BAD1') }));
      assert.equal(e.status, 422);
      assert.equal(e.code, 'INVOICE_LINE_NET_MISMATCH');
      assert.equal(e.rule, 'PEPPOL-EN16931-R120');
      assert.deepEqual([e.expected, e.given, e.path], ['2500.00', '1.00', '/lines/0/amount']);
      const rules = (e.violations as { rule: string; code: string; expected: string; given: string }[]).map((v) => [
        v.rule,
        v.code,
        v.expected,
        v.given,
      ]);
      assert.deepEqual(rules, [
        ['PEPPOL-EN16931-R120', 'INVOICE_LINE_NET_MISMATCH', '2500.00', '1.00'],
        ['BR-CO-10', 'INVOICE_LINE_TOTAL_MISMATCH', '1.00', '1250.00'],
        ['BR-CO-14', 'INVOICE_TAX_TOTAL_MISMATCH', '0.20', '999.00'],
        ['BR-CO-15', 'INVOICE_GROSS_TOTAL_MISMATCH', '2249.00', '7.00'],
      ]);
      assert.equal(
        (await store.read((r) => r.findByExternalIds('aero', [{ type: 'invoice.issued', externalId: 'BAD-1' }])))
          .length,
        0,
      );
    });

    it('accepts it with warnings for an organisation that chose rules: "warn"', async () => {
      const r = ok(await one('lax', { type: 'invoice.issued', externalId: 'BAD-2', payload: inconsistent('BAD2') }));
      assert.equal(r.duplicate, false);
      assert.deepEqual(
        r.warnings?.map((w) => [w.code, w.rule, w.expected, w.given]),
        [
          ['INVOICE_LINE_NET_MISMATCH', 'PEPPOL-EN16931-R120', '2500.00', '1.00'],
          ['INVOICE_LINE_TOTAL_MISMATCH', 'BR-CO-10', '1.00', '1250.00'],
          ['INVOICE_TAX_TOTAL_MISMATCH', 'BR-CO-14', '0.20', '999.00'],
          ['INVOICE_GROSS_TOTAL_MISMATCH', 'BR-CO-15', '2249.00', '7.00'],
        ],
      );
      // The setting can be switched back: the same organisation then refuses.
      await store.tx((repo) => repo.setOrgRules('lax', 'refuse'));
      assert.equal(
        err(await one('lax', { type: 'invoice.issued', externalId: 'BAD-3', payload: inconsistent('BAD3') })).code,
        'INVOICE_LINE_NET_MISMATCH',
      );
      await store.tx((repo) => repo.setOrgRules('lax', 'warn'));
      assert.equal((await store.read((r) => r.getOrg('lax')))?.rules, 'warn');
    });

    it('due date before the issue date, and a consistent invoice with allowances, charges and a breakdown', async () => {
      const e = err(
        await one('aero', {
          type: 'invoice.issued',
          payload: P.invoice(`D${++n}`, '1500.00', { dueDate: '2026-11-19' }),
        }),
      );
      assert.deepEqual([e.code, e.rule, e.given], ['INVOICE_DUE_DATE_BEFORE_ISSUE', 'NOTARY-DUE-DATE', '2026-11-19']);
      const full = P.invoice(`F${++n}`, '1500.00', {
        lines: [
          {
            description: 'a',
            quantity: '3',
            unitPrice: '400.00',
            amount: '1200.00',
            taxRate: '0.20',
            taxCategory: 'S',
          },
          // A correction line (negative quantity) with a line charge.
          {
            description: 'b',
            quantity: '-1',
            unitPrice: '100.00',
            amount: '-90.00',
            taxRate: '0.20',
            taxCategory: 'S',
            charges: [{ amount: '10.00' }],
          },
        ],
        allowances: [{ amount: '60.00', taxCategory: 'S', taxRate: '0.20', reason: 'discount' }],
        charges: [{ amount: '200.00', taxCategory: 'S', taxRate: '0.20', reason: 'freight' }],
        taxBreakdown: [{ category: 'S', rate: '0.20', taxableAmount: '1250.00', taxAmount: '250.00' }],
        lineTotal: '1110.00',
        allowanceTotal: '60.00',
        chargeTotal: '200.00',
        totalNet: '1250.00',
        totalTax: '250.00',
        totalGross: '1500.00',
        prepaid: '500.00',
        payable: '1000.00',
      });
      const inv = await submit('aero', { type: 'invoice.issued', payload: full });
      // The amount due is BT-115 (1000.00): 1000.01 is too much.
      assert.equal(
        err(await one('aero', { type: 'invoice.paid', payload: P.paid('P', '1000.01'), parents: [inv.id] })).code,
        'PAYMENT_EXCEEDS_AMOUNT_DUE',
      );
      const broken = { ...full, payable: '1000.10' };
      const b = err(await one('aero', { type: 'invoice.issued', payload: broken }));
      assert.deepEqual(
        [b.code, b.rule, b.expected, b.given],
        ['INVOICE_AMOUNT_DUE_MISMATCH', 'BR-CO-16', '1000.00', '1000.10'],
      );
      const noTax = err(
        await one('aero', {
          type: 'invoice.issued',
          payload: { ...full, totalTax: '249.00', totalGross: '1499.00', payable: '999.00' },
        }),
      );
      assert.deepEqual([noTax.code, noTax.rule], ['INVOICE_TAX_TOTAL_MISMATCH', 'BR-CO-14']);
    });

    it('partial payments up to the amount due; over-payment refused; the last one pays the invoice', async () => {
      const inv = await newInvoice();
      await submit('aero', { type: 'invoice.paid', payload: P.paid('PP1', '1000.00'), parents: [inv.id] });
      const over = err(
        await one('aero', { type: 'invoice.paid', payload: P.paid('PP2', '500.01'), parents: [inv.id] }),
      );
      assert.deepEqual(
        [over.code, over.status, over.expected, over.given],
        ['PAYMENT_EXCEEDS_AMOUNT_DUE', 422, '≤ 500.00', '500.01'],
      );
      const last = await submit('aero', { type: 'invoice.paid', payload: P.paid('PP3', '500.00'), parents: [inv.id] });
      assert.ok(last.id);
      const more = err(await one('aero', { type: 'invoice.paid', payload: P.paid('PP4', '0.01'), parents: [inv.id] }));
      assert.equal(more.code, 'INVOICE_ALREADY_PAID');
      const wrong = err(
        await one('aero', {
          type: 'invoice.paid',
          payload: { ...P.paid('PP5', '1.00'), currency: 'USD' },
          parents: [(await newInvoice()).id],
        }),
      );
      assert.equal(wrong.code, 'CURRENCY_MISMATCH');
    });

    it('applies the amount rules between items of one batch request', async () => {
      const inv = await newInvoice();
      const res = await svc.submit('aero', [
        { type: 'invoice.paid', payload: P.paid('B1', '700.00'), parents: [inv.id] },
        { type: 'invoice.paid', payload: P.paid('B2', '700.00'), parents: [inv.id] },
        { type: 'invoice.paid', payload: P.paid('B3', '700.00'), parents: [inv.id] },
        { type: 'invoice.paid', payload: P.paid('B4', '100.00'), parents: [inv.id] },
      ]);
      ok(res[0]);
      ok(res[1]);
      assert.equal(err(res[2]).code, 'PAYMENT_EXCEEDS_AMOUNT_DUE');
      ok(res[3]);
    });

    it('a credit note linked to its invoice reduces what is due; it cannot exceed the invoice', async () => {
      const inv = await newInvoice();
      const cn = (num: string, gross: string) => ({
        ...P.invoice(num, gross),
        invoiceType: 'credit-note' as const,
        typeCode: '381',
        precedingInvoice: { number: `R${n}` },
      });
      const num = n;
      await submit('aero', {
        type: 'invoice.issued',
        payload: { ...cn(`CN${num}`, '300.00'), precedingInvoice: { number: `R${num}` } },
        parents: [inv.id],
      });
      assert.equal(
        err(await one('aero', { type: 'invoice.paid', payload: P.paid('CP1', '1500.00'), parents: [inv.id] })).code,
        'PAYMENT_EXCEEDS_AMOUNT_DUE',
      );
      await submit('aero', { type: 'invoice.paid', payload: P.paid('CP2', '1200.00'), parents: [inv.id] });
      const tooMuch = err(
        await one('aero', {
          type: 'invoice.issued',
          payload: { ...cn(`CN${num}b`, '1300.00'), precedingInvoice: { number: `R${num}` } },
          parents: [inv.id],
        }),
      );
      assert.deepEqual([tooMuch.code, tooMuch.expected], ['CREDIT_NOTE_EXCEEDS_INVOICE', '≤ 1200.00']);
      const wrongRef = err(
        await one('aero', {
          type: 'invoice.issued',
          payload: { ...cn(`CN${num}c`, '1.00'), precedingInvoice: { number: 'OTHER' } },
          parents: [inv.id],
        }),
      );
      assert.equal(wrongRef.code, 'LINEAGE_VIOLATION');
      // An ordinary invoice still cannot name a parent.
      assert.equal(
        err(await one('aero', { type: 'invoice.issued', payload: P.invoice(`X${++n}`), parents: [inv.id] })).code,
        'LINEAGE_VIOLATION',
      );
    });

    it('over-claim refused: a claim is not above its invoices’ gross in its currency', async () => {
      const a = await newInvoice('1500.00');
      const b = await newInvoice('1000.00');
      const over = err(await claim([a.id, b.id], '2500.01'));
      assert.deepEqual(
        [over.code, over.status, over.expected, over.given],
        ['CLAIM_EXCEEDS_INVOICES', 422, '≤ 2500.00', '2500.01'],
      );
      assert.equal(err(await claim([a.id], '1.00', 'USD')).code, 'CLAIM_EXCEEDS_INVOICES');
      const c = ok(await claim([a.id, b.id], '2500.00'));
      const appr = await submit('emp', {
        type: 'expense.approved',
        payload: { ...P.approved(), amount: '2000.00' },
        parents: [c.id],
      });
      const r = err(
        await one('emp', { type: 'expense.reimbursed', payload: P.reimbursed('R1', '2500.00'), parents: [appr.id] }),
      );
      assert.deepEqual([r.code, r.expected, r.given], ['REIMBURSEMENT_NOT_APPROVED_AMOUNT', '2000.00', '2500.00']);
      await submit('emp', { type: 'expense.reimbursed', payload: P.reimbursed('R2', '2000.00'), parents: [appr.id] });
      // Without an approved amount, the claim's amount is what was approved.
      const c2 = ok(await claim([(await newInvoice()).id], '1500.00'));
      const appr2 = await submit('emp', { type: 'expense.approved', payload: P.approved(), parents: [c2.id] });
      assert.equal(
        err(
          await one('emp', { type: 'expense.reimbursed', payload: P.reimbursed('R3', '1499.99'), parents: [appr2.id] }),
        ).code,
        'REIMBURSEMENT_NOT_APPROVED_AMOUNT',
      );
      const c3 = ok(await claim([(await newInvoice()).id], '100.00'));
      assert.equal(
        err(
          await one('emp', {
            type: 'expense.approved',
            payload: { ...P.approved(), amount: '100.01' },
            parents: [c3.id],
          }),
        ).code,
        'APPROVAL_EXCEEDS_CLAIM',
      );
    });

    it('securities: over-allocation, over-transfer and over-redemption refused (also within one request)', async () => {
      // Nominal 500,000,000 in denominations of 100,000: 5,000 units.
      const iss = await submit('bank', { type: 'security.issuance', externalId: `ISS-${++n}`, payload: P.issuance(n) });
      await submit('bank', { type: 'security.allocation', payload: P.allocation('H-A', '3000'), parents: [iss.id] });
      const over = err(
        await one('bank', { type: 'security.allocation', payload: P.allocation('H-B', '2001'), parents: [iss.id] }),
      );
      assert.deepEqual(
        [over.code, over.status, over.expected, over.given],
        ['ALLOCATION_EXCEEDS_NOMINAL', 422, '≤ 200000000', '200100000'],
      );
      const [b, c] = await svc.submit('bank', [
        { type: 'security.allocation', payload: P.allocation('H-B', '2000'), parents: [iss.id] },
        { type: 'security.allocation', payload: P.allocation('H-C', '1'), parents: [iss.id] },
      ]);
      ok(b);
      assert.equal(err(c).code, 'ALLOCATION_EXCEEDS_NOMINAL');
      const t = err(
        await one('bank', {
          type: 'security.transfer',
          payload: P.transfer('H-A', 'H-C', '3001', 2),
          parents: [iss.id],
        }),
      );
      assert.deepEqual([t.code, t.holder, t.expected, t.given], ['TRANSFER_EXCEEDS_POSITION', 'H-A', '≤ 3000', '3001']);
      const t1 = await submit('bank', {
        type: 'security.transfer',
        payload: P.transfer('H-A', 'H-C', '1000', 2),
        parents: [iss.id],
      });
      // H-C holds 1000 (received), H-D nothing.
      assert.equal(
        err(
          await one('bank', { type: 'security.transfer', payload: P.transfer('H-D', 'H-A', '1', 3), parents: [t1.id] }),
        ).code,
        'TRANSFER_EXCEEDS_POSITION',
      );
      const [t2, t3] = await svc
        .submit('bank', [{ type: 'security.transfer', payload: P.transfer('H-C', 'H-D', '600', 3), parents: [t1.id] }])
        .then(async (r) => [
          r[0],
          (
            await svc.submit('bank', [
              { type: 'security.transfer', payload: P.transfer('H-C', 'H-E', '401', 4), parents: [ok(r[0]).id] },
            ])
          )[0],
        ]);
      ok(t2);
      assert.equal(err(t3).code, 'TRANSFER_EXCEEDS_POSITION');
      const red = err(
        await one('bank', { type: 'security.redemption', payload: P.redemption('500000000.01'), parents: [iss.id] }),
      );
      assert.deepEqual([red.code, red.expected], ['REDEMPTION_EXCEEDS_OUTSTANDING', '≤ 500000000']);
      assert.equal(
        err(
          await one('bank', {
            type: 'security.redemption',
            payload: { ...P.redemption(), currency: 'USD' },
            parents: [iss.id],
          }),
        ).code,
        'CURRENCY_MISMATCH',
      );
      await submit('bank', { type: 'security.redemption', payload: P.redemption(), parents: [iss.id] });
    });

    it('concurrent partial payments of one invoice: their sum never exceeds the amount due', async () => {
      const inv = await newInvoice();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          one('aero', { type: 'invoice.paid', payload: P.paid(`CC-${i}`, '400.00'), parents: [inv.id] }),
        ),
      );
      const wins = results.filter((r) => r && !('error' in r));
      assert.equal(wins.length, 3, JSON.stringify(results.map((r) => (r && 'error' in r ? r.error.code : 'ok'))));
      assert.ok(results.every((r) => !r || !('error' in r) || r.error.code === 'PAYMENT_EXCEEDS_AMOUNT_DUE'));
    });
  });
}
