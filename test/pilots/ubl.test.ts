import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DB_KINDS, PG_AVAILABLE } from '../helpers/db';
import { buildApp } from '../../src/api/app';
import { SqlStore } from '../../src/storage/sql-repo';
import { AdminService } from '../../src/service/admin';
import { initHashing } from '../../src/domain/hashing';
import { invoiceIdentity } from '../../src/domain/record-types';
import { invoiceKey } from '../../src/domain/invoice-key';
import * as P from '../../scripts/lib/pilot-payloads';

const DIR = path.join(__dirname, '..', 'fixtures', 'peppol');
const FIXTURES = readdirSync(DIR).filter((f) => f.endsWith('.xml'));
const bytes = (f: string) => readFileSync(path.join(DIR, f));
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const SECRET = 'consortium-secret-for-tests-0001';

for (const kind of DB_KINDS) {
  describe(`UBL 2.1 in, on ${kind.name}`, { skip: kind.name === 'postgres' && !PG_AVAILABLE }, () => {
    let app: FastifyInstance;
    let store: SqlStore;
    let close: (() => Promise<void>) | undefined;
    let key: string;
    let other: string;
    let adminKey: string;

    before(async () => {
      await initHashing();
      const opened = await kind.open();
      close = opened.close;
      store = new SqlStore(opened.db);
      const admin = new AdminService(store);
      await admin.createOrg({ id: 'aero', name: 'Aerostar', kind: 'member', address: '0x' + '11'.repeat(20) });
      await admin.createOrg({ id: 'peer', name: 'Peer', kind: 'member', address: '0x' + '22'.repeat(20) });
      await admin.createOrg({ id: 'ops', name: 'Operator', kind: 'operator' });
      key = (await admin.createKey('aero', 'k', ['submit', 'audit'])).key;
      other = (await admin.createKey('peer', 'k', ['submit', 'audit'])).key;
      adminKey = (await admin.createKey('ops', 'k', ['admin'])).key;
      app = await buildApp({ store }, { web: false });
    });
    after(async () => {
      await app?.close();
      await close?.();
    });

    const postXml = (body: string | Buffer, opts: { key?: string | null; query?: string; type?: string } = {}) =>
      app.inject({
        method: 'POST',
        url: `/v1/records${opts.query ?? ''}`,
        headers: {
          'content-type': opts.type ?? 'application/xml',
          ...(opts.key === null ? {} : { authorization: `Bearer ${opts.key ?? key}` }),
        },
        payload: body,
      });
    const stored = async (id: string) => JSON.parse((await store.read((r) => r.getRecord(id)))!.payload);

    it('accepts every official Peppol example; source.sha256 is the SHA-256 of the exact bytes', async () => {
      assert.ok(FIXTURES.length >= 8, FIXTURES.join());
      for (const f of FIXTURES) {
        const res = await postXml(bytes(f), { query: `?externalId=peppol-${f}` });
        assert.equal(res.statusCode, 202, `${f}: ${res.body}`);
        const p = await stored(res.json().id);
        assert.deepEqual(p.source, { format: 'ubl-2.1', sha256: sha256(bytes(f)) }, f);
        // Same bytes again: the same record (idempotent).
        const again = await postXml(bytes(f), { query: `?externalId=peppol-${f}` });
        assert.equal(again.statusCode, 200, f);
        assert.equal(again.json().id, res.json().id);
      }
    });

    it('maps the business terms (BT-1, BT-2, BT-3, BT-5, BT-31, BT-48, totals, breakdown, BT-25)', async () => {
      const res = await postXml(bytes('Allowance-example.xml'), { query: '?externalId=map-allowance' });
      const p = await stored(res.json().id);
      assert.equal(p.invoiceNumber, 'Snippet1');
      assert.equal(p.issueDate, '2017-11-13');
      assert.deepEqual([p.invoiceType, p.typeCode, p.currency], ['invoice', '380', 'EUR']);
      assert.deepEqual([p.seller.taxId, p.buyer.taxId], ['GB1232434', 'SE4598375937']);
      assert.deepEqual(
        [p.lineTotal, p.allowanceTotal, p.chargeTotal, p.totalNet, p.totalTax, p.totalGross, p.prepaid, p.payable],
        ['5900', '200', '200', '5900', '1225.00', '7125', '1000', '6125.00'],
      );
      assert.deepEqual(
        p.taxBreakdown.map((t: Record<string, string>) => [t.category, t.rate, t.taxableAmount, t.taxAmount]),
        [
          ['S', '0.25', '4900.0', '1225'],
          ['E', '0', '1000.0', '0'],
        ],
      );
      assert.deepEqual(p.lines[1], {
        id: '2',
        description: 'item name',
        quantity: '10',
        unit: 'C62',
        unitPrice: '200',
        baseQuantity: '2',
        amount: '1000.00',
        taxCategory: 'E',
        taxRate: '0',
      });
      const cn = await stored(
        (await postXml(bytes('base-creditnote-correction.xml'), { query: '?externalId=map-cn' })).json().id,
      );
      assert.deepEqual(
        [cn.invoiceType, cn.typeCode, cn.precedingInvoice],
        ['credit-note', '381', { number: 'Snippet1' }],
      );
    });

    it('refuses tampered copies whose totals no longer add up (422 naming the rule)', async () => {
      const xml = bytes('base-example.xml').toString('utf8');
      const cases: [string, string, string, string][] = [
        [
          '<cbc:PayableAmount currencyID="EUR">1656.25<',
          '<cbc:PayableAmount currencyID="EUR">1666.25<',
          'INVOICE_AMOUNT_DUE_MISMATCH',
          'BR-CO-16',
        ],
        [
          '<cbc:TaxInclusiveAmount currencyID="EUR">1656.25<',
          '<cbc:TaxInclusiveAmount currencyID="EUR">1656.26<',
          'INVOICE_GROSS_TOTAL_MISMATCH',
          'BR-CO-15',
        ],
        [
          '<cbc:LineExtensionAmount currencyID= "EUR">2800<',
          '<cbc:LineExtensionAmount currencyID= "EUR">2900<',
          'INVOICE_LINE_NET_MISMATCH',
          'PEPPOL-EN16931-R120',
        ],
        [
          '<cbc:LineExtensionAmount currencyID="EUR">1300<',
          '<cbc:LineExtensionAmount currencyID="EUR">1400<',
          'INVOICE_LINE_TOTAL_MISMATCH',
          'BR-CO-10',
        ],
        [
          '<cbc:TaxAmount currencyID="EUR">331.25</cbc:TaxAmount>\n        <cac:TaxSubtotal>',
          '<cbc:TaxAmount currencyID="EUR">331.26</cbc:TaxAmount>\n        <cac:TaxSubtotal>',
          'INVOICE_TAX_TOTAL_MISMATCH',
          'BR-CO-14',
        ],
      ];
      for (const [from, to, code, rule] of cases) {
        assert.ok(xml.includes(from), from);
        const res = await postXml(xml.replace(from, to), { query: `?externalId=tampered-${rule}` });
        assert.equal(res.statusCode, 422, `${rule}: ${res.body}`);
        const body = res.json();
        assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
        assert.ok(
          body.violations.some((v: { code: string; rule: string }) => v.code === code && v.rule === rule),
          `${rule}: ${res.body}`,
        );
      }
    });

    it('refuses hostile XML with a 4xx before building anything: DOCTYPE/entities, depth, size, garbage', async () => {
      const laughs =
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><Invoice>&lol3;</Invoice>';
      const xxe =
        '<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Invoice><cbc:ID>&xxe;</cbc:ID></Invoice>';
      const deep = '<Invoice>' + '<a>'.repeat(5000) + '</a>'.repeat(5000) + '</Invoice>';
      for (const [name, body] of [
        ['billion laughs', laughs],
        ['XXE', xxe],
        ['depth', deep],
      ] as const) {
        const res = await postXml(body);
        assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
        assert.equal(res.json().code, 'XML_FORBIDDEN', name);
        assert.ok(!res.body.includes('root:'), 'no file content');
      }
      const big = await postXml('<Invoice>' + 'x'.repeat(2 * 1024 * 1024) + '</Invoice>');
      assert.equal(big.statusCode, 413, big.body);
      assert.equal(big.json().code, 'BODY_TOO_LARGE');
      const garbage = await postXml('<Invoice><unclosed></Invoice>');
      assert.deepEqual([garbage.statusCode, garbage.json().code], [400, 'XML_MALFORMED']);
      const notUbl = await postXml('<Order><ID>1</ID></Order>');
      assert.deepEqual([notUbl.statusCode, notUbl.json().code], [422, 'UBL_INVALID']);
      // Only POST /v1/records takes XML.
      for (const url of ['/v1/records/batch', '/v1/verify']) {
        const r = await app.inject({
          method: 'POST',
          url,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' },
          payload: bytes('vat-category-Z.xml'),
        });
        assert.deepEqual([r.statusCode, r.json().code], [415, 'UNSUPPORTED_MEDIA_TYPE'], url);
      }
      // Authentication comes before any parsing.
      const anon = await postXml(laughs, { key: null });
      assert.equal(anon.statusCode, 401);
    });

    it('the invoice key of a UBL invoice equals the key of the same invoice submitted as JSON', async () => {
      const res = await postXml(bytes('vat-category-Z.xml'), { query: '?externalId=key-ubl' });
      const ubl = await stored(res.json().id);
      const json = {
        seller: { name: 'The Sellercompany Incorporated', taxId: 'GB928741974' },
        buyer: { name: 'The Buyercompany' },
        invoiceNumber: 'Vat-Z',
        issueDate: '2018-08-30',
        currency: 'GBP',
        lines: [
          {
            description: 'Test item, category Z',
            quantity: '10',
            unitPrice: '120.00',
            amount: '1200.00',
            taxRate: '0',
            taxCategory: 'Z',
          },
        ],
        totalNet: '1200.00',
        totalTax: '0.00',
        totalGross: '1200.00',
      };
      const j = await app.inject({
        method: 'POST',
        url: '/v1/records',
        headers: { authorization: `Bearer ${other}` },
        payload: { type: 'invoice.issued', externalId: 'key-json', payload: json },
      });
      assert.equal(j.statusCode, 202, j.body);
      const a = invoiceKey(SECRET, invoiceIdentity(ubl));
      const b = invoiceKey(SECRET, invoiceIdentity(await stored(j.json().id)));
      assert.equal(a, b);
      assert.notEqual(a, invoiceKey(SECRET, invoiceIdentity({ ...json, invoiceNumber: 'Vat-O' })));
    });

    it('a credit note naming a known invoice becomes its correction: linked, and it reduces what is due', async () => {
      const inv = await postXml(bytes('base-example.xml'), { key: other });
      assert.equal(inv.statusCode, 202, inv.body);
      const cn = await postXml(bytes('base-creditnote-correction.xml'), { key: other });
      assert.equal(cn.statusCode, 202, cn.body);
      const meta = (await store.read((r) => r.getRecordsMeta([cn.json().id])))[0]!;
      assert.deepEqual(meta.parents, [inv.json().id]);
      assert.equal(meta.externalId, 'ubl:credit-note:Snippet1');
      // Fully credited: nothing is left to pay.
      const pay = await app.inject({
        method: 'POST',
        url: '/v1/records',
        headers: { authorization: `Bearer ${other}` },
        payload: { type: 'invoice.paid', payload: P.paid('SEPA-CN', '1.00'), parents: [inv.json().id] },
      });
      assert.deepEqual([pay.statusCode, pay.json().code], [422, 'PAYMENT_EXCEEDS_AMOUNT_DUE']);
      const view = await app.inject({
        method: 'GET',
        url: `/v1/records/${inv.json().id}`,
        headers: { authorization: `Bearer ${other}` },
      });
      assert.deepEqual(view.json().settlement, {
        currency: 'EUR',
        amountDue: '1656.25',
        credited: '1656.25',
        paid: '0.00',
        outstanding: '0.00',
        status: 'credited',
      });
    });

    it('GET /v1/records/:id of an invoice shows its settlement: open → partially-paid → paid', async () => {
      const headers = { authorization: `Bearer ${key}` };
      const inv = await postXml(bytes('vat-category-O.xml'), { query: '?externalId=settle-O' });
      const id = inv.json().id as string;
      const settlement = async () =>
        (await app.inject({ method: 'GET', url: `/v1/records/${id}`, headers })).json().settlement;
      assert.deepEqual(await settlement(), {
        currency: 'SEK',
        amountDue: '3200.00',
        credited: '0.00',
        paid: '0.00',
        outstanding: '3200.00',
        status: 'open',
      });
      const pay = (amount: string) =>
        app.inject({
          method: 'POST',
          url: '/v1/records',
          headers,
          payload: {
            type: 'invoice.paid',
            payload: { ...P.paid(`S-${amount}`, amount), currency: 'SEK' },
            parents: [id],
          },
        });
      assert.equal((await pay('3000.00')).statusCode, 202);
      assert.equal((await settlement()).status, 'partially-paid');
      assert.equal((await pay('200.00')).statusCode, 202);
      assert.deepEqual([(await settlement()).status, (await settlement()).outstanding], ['paid', '0.00']);
    });

    it('POST /v1/records/batch (prepared on the worker thread) applies the same rules item by item', async () => {
      const items = Array.from({ length: 400 }, (_, i) => ({
        type: 'invoice.issued',
        externalId: `BATCH-${i}`,
        payload:
          i === 123
            ? P.invoice(`B${i}`, '1500.00', { totalGross: '1500.01' }) // BR-CO-15 broken
            : P.invoice(`B${i}`),
      }));
      const res = await app.inject({
        method: 'POST',
        url: '/v1/records/batch',
        headers: { authorization: `Bearer ${other}` },
        payload: { records: items },
      });
      assert.ok(JSON.stringify(items).length > 40_000, 'large enough for the worker thread');
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.deepEqual([body.accepted, body.rejected], [399, 1]);
      assert.deepEqual(
        [body.records[123].error.code, body.records[123].error.rule, body.records[123].error.expected],
        ['INVOICE_GROSS_TOTAL_MISMATCH', 'BR-CO-15', '1500.00'],
      );
    });

    it('rules: "warn" set by the admin API: the issue-17 invoice is accepted with warnings', async () => {
      const bad = P.invoice('WARN1', '7.00', {
        lines: [{ description: 'x', quantity: '2', unitPrice: '1250.00', amount: '1.00', taxRate: '0.20' }],
        totalNet: '1250.00',
        totalTax: '999.00',
        totalGross: '7.00',
      });
      const submit = () =>
        app.inject({
          method: 'POST',
          url: '/v1/records',
          headers: { authorization: `Bearer ${key}` },
          payload: { type: 'invoice.issued', externalId: 'WARN-1', payload: bad },
        });
      const refused = await submit();
      assert.deepEqual(
        [refused.statusCode, refused.json().code, refused.json().rule],
        [422, 'INVOICE_LINE_NET_MISMATCH', 'PEPPOL-EN16931-R120'],
      );
      const set = await app.inject({
        method: 'PATCH',
        url: '/v1/orgs/aero',
        headers: { authorization: `Bearer ${adminKey}` },
        payload: { rules: 'warn' },
      });
      assert.equal(set.statusCode, 200, set.body);
      assert.equal(set.json().rules, 'warn');
      const accepted = await submit();
      assert.equal(accepted.statusCode, 202, accepted.body);
      assert.deepEqual(
        accepted.json().warnings.map((w: { rule: string }) => w.rule),
        ['PEPPOL-EN16931-R120', 'BR-CO-10', 'BR-CO-14', 'BR-CO-15'],
      );
      const notAdmin = await app.inject({
        method: 'PATCH',
        url: '/v1/orgs/aero',
        headers: { authorization: `Bearer ${key}` },
        payload: { rules: 'refuse' },
      });
      assert.equal(notAdmin.statusCode, 403);
    });
  });
}
