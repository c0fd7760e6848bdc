import { createHmac } from 'node:crypto';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  allowedParentTypes,
  assertReceipt,
  checkLineage,
  DomainError,
  invoiceIdentity,
  invoiceKey,
  isReceipt,
  parentArity,
  RECORD_TYPES,
  receiptErrors,
  validatePayload,
  type RecordType,
} from '../../src/domain';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'receipts', 'v1');
const load = (name: string): unknown => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));
const chainState = load('chain-state.json') as { payloads: Record<string, unknown> };
const invoice = chainState.payloads['0b7e5a3c-1f2d-4c8e-9a6b-3d5f7e9a1c2b'];

describe('RECORD_TYPES', () => {
  it('lists the 11 pilot types, document and cosignature', () => {
    assert.equal(RECORD_TYPES.length, 13);
    assert.ok(RECORD_TYPES.includes('document'));
    assert.ok(RECORD_TYPES.includes('cosignature'));
  });
});

describe('validatePayload', () => {
  describe('when the golden payloads are checked', () => {
    it('accepts each one for its type', () => {
      assert.deepEqual(validatePayload('invoice.issued', invoice), { ok: true });
      assert.deepEqual(validatePayload('invoice.paid', chainState.payloads['9f8e7d6c-5b4a-4321-8fed-cba987654321']), {
        ok: true,
      });
      assert.deepEqual(validatePayload('expense.claim', chainState.payloads['a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d']), {
        ok: true,
      });
      assert.deepEqual(validatePayload('document', chainState.payloads['5c1d9e2f-7a3b-4d6c-8e9f-0a1b2c3d4e5f']), {
        ok: true,
      });
    });
  });
  describe('when amounts, dates or ids are wrong', () => {
    it('reports each bad path', () => {
      const bad = structuredClone(invoice) as Record<string, unknown>;
      bad.totalGross = 1487.5; // a binary float, not a decimal string
      bad.issueDate = '2025-13-03';
      const r = validatePayload('invoice.issued', bad);
      assert.equal(r.ok, false);
      const paths = r.ok ? [] : r.errors.map((e) => e.path);
      assert.ok(paths.includes('/totalGross'), paths.join());
      assert.ok(paths.includes('/issueDate'), paths.join());
    });
    it('rejects a security issuance with a malformed ISIN and a float nominal', () => {
      const r = validatePayload('security.issuance', {
        isin: 'US037833100',
        issuerLei: '529900T8BM49AURSDO55',
        tranche: {
          currency: 'EUR',
          nominal: 1e6,
          denomination: '1000',
          couponRate: '0.035',
          issueDate: '2025-01-15',
          maturityDate: '2030-01-15',
        },
      });
      assert.equal(r.ok, false);
    });
    it('accepts a well-formed security issuance', () => {
      const r = validatePayload('security.issuance', {
        isin: 'US0378331005',
        issuerLei: '529900T8BM49AURSDO55',
        tranche: {
          currency: 'EUR',
          nominal: '1000000.00',
          denomination: '1000',
          couponRate: '0.035',
          issueDate: '2025-01-15',
          maturityDate: '2030-01-15',
        },
      });
      assert.deepEqual(r, { ok: true });
    });
    it('rejects an unknown type', () => {
      assert.equal(validatePayload('nope' as RecordType, {}).ok, false);
    });
  });
});

describe('checkLineage', () => {
  const p = (...types: RecordType[]) => types.map((type) => ({ type }));
  const ok: [RecordType, RecordType[]][] = [
    ['security.issuance', []],
    ['security.allocation', ['security.issuance']],
    ['security.transfer', ['security.issuance']],
    ['security.transfer', ['security.transfer']],
    ['security.redemption', ['security.issuance']],
    ['invoice.issued', []],
    ['invoice.voided', ['invoice.issued']],
    ['invoice.paid', ['invoice.issued']],
    ['expense.claim', ['invoice.issued', 'invoice.issued', 'invoice.issued']],
    ['expense.approved', ['expense.claim']],
    ['expense.rejected', ['expense.claim']],
    ['expense.reimbursed', ['expense.approved']],
    ['document', []],
    ['document', ['invoice.paid', 'security.issuance', 'document']],
  ];
  const bad: [RecordType, RecordType[], string][] = [
    ['security.issuance', ['security.issuance'], 'LINEAGE_PARENT_COUNT'],
    ['security.allocation', [], 'LINEAGE_PARENT_COUNT'],
    ['security.allocation', ['security.transfer'], 'LINEAGE_PARENT_TYPE'],
    ['security.transfer', ['security.issuance', 'security.transfer'], 'LINEAGE_PARENT_COUNT'],
    ['security.redemption', ['security.allocation'], 'LINEAGE_PARENT_TYPE'],
    ['invoice.issued', ['document'], 'LINEAGE_PARENT_COUNT'],
    ['invoice.paid', ['invoice.voided'], 'LINEAGE_PARENT_TYPE'],
    ['expense.claim', [], 'LINEAGE_PARENT_COUNT'],
    ['expense.claim', ['invoice.issued', 'invoice.paid'], 'LINEAGE_PARENT_TYPE'],
    ['expense.approved', ['expense.claim', 'expense.claim'], 'LINEAGE_PARENT_COUNT'],
    ['expense.reimbursed', ['expense.claim'], 'LINEAGE_PARENT_TYPE'],
    ['expense.reimbursed', ['expense.rejected'], 'LINEAGE_PARENT_TYPE'],
  ];
  for (const [type, parents] of ok) {
    it(`accepts ${type} with [${parents.join(', ')}]`, () =>
      assert.deepEqual(checkLineage(type, p(...parents)), { ok: true }));
  }
  for (const [type, parents, code] of bad) {
    it(`refuses ${type} with [${parents.join(', ')}] as ${code}`, () => {
      const r = checkLineage(type, p(...parents));
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, code);
    });
  }
  it('refuses the same parent named twice', () => {
    const r = checkLineage('expense.claim', [
      { type: 'invoice.issued', commitment: '0x1' },
      { type: 'invoice.issued', commitment: '0x1' },
    ]);
    assert.equal(!r.ok && r.code, 'LINEAGE_DUPLICATE_PARENT');
  });
  it('exposes the rules as allowedParentTypes and parentArity', () => {
    assert.deepEqual(allowedParentTypes('security.transfer'), ['security.issuance', 'security.transfer']);
    assert.deepEqual(parentArity('expense.claim'), { min: 1, max: Infinity });
    assert.deepEqual(parentArity('invoice.issued'), { min: 0, max: 0 });
  });
});

describe('invoiceKey', () => {
  // Known answer from the shell (invoice key v2: the identity is normalised first, DESIGN §2.5):
  // printf '%s' '{"invoiceCode":"AP2025","invoiceNumber":"417","sellerTaxId":"DE811907980","v":2}' \
  //   | openssl dgst -sha256 -hmac 'consortium-secret-0001'
  const want =
    '0x' +
    createHmac('sha256', 'consortium-secret-0001')
      .update('{"invoiceCode":"AP2025","invoiceNumber":"417","sellerTaxId":"DE811907980","v":2}')
      .digest('hex');
  it('is HMAC-SHA256 over the JCS of the normalised identity fields', () => {
    assert.equal(invoiceKey('consortium-secret-0001', invoiceIdentity(invoice)), want);
    assert.equal(invoiceKey(Buffer.from('consortium-secret-0001'), invoiceIdentity(invoice)), want);
  });
  it('differs for another secret and refuses a short secret', () => {
    assert.notEqual(invoiceKey('another-consortium-secret', invoiceIdentity(invoice)), want);
    assert.throws(
      () => invoiceKey('short', invoiceIdentity(invoice)),
      (e: unknown) => e instanceof DomainError,
    );
  });
  it('invoiceIdentity refuses a payload that is not an invoice', () => {
    assert.throws(
      () => invoiceIdentity({ foo: 1 }),
      (e: unknown) => e instanceof DomainError && e.code === 'PAYLOAD_INVALID',
    );
  });
});

describe('assertReceipt', () => {
  const valid = load('valid-invoice-paid.json') as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  describe('when the receipt is a golden valid one', () => {
    it('passes and isReceipt is true', () => {
      assert.doesNotThrow(() => assertReceipt(valid));
      assert.equal(isReceipt(valid), true);
    });
  });
  describe('when several fields are invalid at once', () => {
    it('throws RECEIPT_INVALID listing every invalid field', () => {
      const r = structuredClone(valid);
      r.version = 3; // 2 is a receipt v2 (then signatures are missing too)
      r.record.id = r.record.id.toUpperCase();
      r.record.parents.push(r.record.parents[0]);
      r.proof.path[0] = '0x12';
      r.anchor.seq = -1;
      r.anchor.blockNumber = 1.5;
      r.anchor.registry = 'not-an-address';
      r.anchor.extra = true;
      delete r.commitment;
      assert.throws(
        () => assertReceipt(r),
        (e: unknown) => {
          assert.ok(e instanceof DomainError);
          assert.equal(e.code, 'RECEIPT_INVALID');
          assert.deepEqual(
            [...(e.fields ?? [])].sort(),
            [
              '$.anchor.blockNumber',
              '$.anchor.extra',
              '$.anchor.registry',
              '$.anchor.seq',
              '$.commitment',
              '$.proof.path[0]',
              '$.record.id',
              '$.record.parents[1]',
              '$.version',
            ].sort(),
          );
          return true;
        },
      );
      assert.equal(isReceipt(r), false);
    });
  });
  describe('when random JSON is given', () => {
    it('the field walk and the TypeBox schema agree', () => {
      const mutated = fc.tuple(fc.anything(), fc.constantFrom('version', 'record', 'commitment', 'proof', 'anchor'));
      fc.assert(
        fc.property(
          fc.oneof(
            fc.anything(),
            mutated.map(([v, k]) => ({ ...valid, [k]: v })),
          ),
          (x) => {
            const walk = receiptErrors(x).length === 0;
            assert.equal(isReceipt(x), walk);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
