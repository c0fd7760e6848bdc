import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DB_KINDS, PG_AVAILABLE } from '../helpers/db';
import { invoicePayload, documentPayload } from '../helpers/payloads';
import { SqlStore } from '../../src/storage/sql-repo';
import { RecordService, type SubmitResult } from '../../src/service/records';
import { computeCommitment } from '../../src/domain/commitment';
import { digestPayload } from '../../src/domain/canonicalize';
import { initHashing } from '../../src/domain/hashing';
import { prepareBatchBody, type Prepared } from '../../src/service/prepare';

const ok = (r: unknown): SubmitResult => {
  assert.ok(r && typeof r === 'object' && !('error' in r), `expected success, got ${JSON.stringify(r)}`);
  return r as SubmitResult;
};
const err = (r: unknown): { code: string; status: number } => {
  assert.ok(r && typeof r === 'object' && 'error' in r, `expected an error, got ${JSON.stringify(r)}`);
  return (r as { error: { code: string; status: number } }).error;
};

for (const kind of DB_KINDS) {
  describe(`RecordService on ${kind.name}`, () => {
    const skip = kind.name === 'postgres' && !PG_AVAILABLE;
    let store: SqlStore;
    let svc: RecordService;
    let close: () => Promise<void>;

    before(async () => {
      if (skip) return;
      await initHashing();
      const opened = await kind.open();
      close = opened.close;
      store = new SqlStore(opened.db);
      svc = new RecordService(store);
      await store.tx(async (r) => {
        for (const id of ['acme', 'globex'])
          await r.insertOrg({ id, name: id, kind: 'member', address: null, createdAt: 1 });
      });
    });
    after(async () => close?.());

    it('stores a record with the DESIGN §2 digest and commitment', { skip }, async () => {
      const payload = invoicePayload(1);
      const res = await svc.submitOne('acme', { type: 'invoice.issued', externalId: 'INV-1', payload });
      assert.equal(res.status, 'pending');
      assert.equal(res.duplicate, false);
      assert.equal(res.digest, digestPayload(payload));
      const rec = (await store.read((r) => r.getRecord(res.id)))!;
      // Independent recomputation from what is stored.
      assert.equal(
        res.commitment,
        computeCommitment({
          recordId: rec.id,
          orgId: 'acme',
          type: 'invoice.issued',
          digest: rec.digest,
          salt: rec.salt,
          parents: [],
        }),
      );
      assert.equal(rec.payload, JSON.stringify(JSON.parse(rec.payload)));
    });

    it(
      'takes the id, salt and commitment drawn where a batch was prepared, for that organisation only',
      { skip },
      async () => {
        const raw = JSON.stringify({
          records: [
            { type: 'invoice.issued', externalId: 'DRAWN-1', payload: invoicePayload(901) },
            { type: 'document', payload: documentPayload(902) },
          ],
        });
        const prepared = prepareBatchBody(raw, undefined, 'acme');
        assert.ok(!('error' in prepared));
        const drawn = prepared.items.map((p) => (p as Prepared).drawn!);
        assert.ok(drawn.every((d) => d && d.orgId === 'acme'));
        const res = (await svc.submitPrepared('acme', prepared.items)).map(ok);
        for (const [i, r] of res.entries()) {
          assert.equal(r.id, drawn[i]!.id);
          assert.equal(r.commitment, drawn[i]!.commitment);
          const rec = (await store.read((x) => x.getRecord(r.id)))!;
          assert.equal(rec.salt, drawn[i]!.salt);
          const type = i === 0 ? 'invoice.issued' : 'document';
          const parents: string[] = [];
          assert.equal(
            rec.commitment,
            computeCommitment({ recordId: rec.id, orgId: 'acme', type, digest: rec.digest, salt: rec.salt, parents }),
          );
        }
        // Prepared for acme, submitted by globex: its own id, salt and commitment.
        const other = prepareBatchBody(
          JSON.stringify({ records: [{ type: 'document', payload: documentPayload(903) }] }),
          undefined,
          'acme',
        );
        assert.ok(!('error' in other));
        const [g] = (await svc.submitPrepared('globex', other.items)).map(ok);
        const d = (other.items[0] as Prepared).drawn!;
        assert.notEqual(g!.id, d.id);
        const rec = (await store.read((x) => x.getRecord(g!.id)))!;
        assert.notEqual(rec.salt, d.salt);
        assert.equal(
          g!.commitment,
          computeCommitment({
            recordId: rec.id,
            orgId: 'globex',
            type: 'document',
            digest: rec.digest,
            salt: rec.salt,
            parents: [],
          }),
        );
      },
    );

    describe('idempotency', () => {
      it('returns the existing record for the same externalId and payload', { skip }, async () => {
        const a = await svc.submitOne('acme', {
          type: 'invoice.issued',
          externalId: 'INV-2',
          payload: invoicePayload(2),
        });
        const b = await svc.submitOne('acme', {
          type: 'invoice.issued',
          externalId: 'INV-2',
          payload: invoicePayload(2),
        });
        assert.equal(b.id, a.id);
        assert.equal(b.duplicate, true);
      });

      it('refuses the same externalId with a different payload (409 EXTERNAL_ID_CONFLICT)', { skip }, async () => {
        await svc.submitOne('acme', { type: 'invoice.issued', externalId: 'INV-3', payload: invoicePayload(3) });
        await assert.rejects(
          svc.submitOne('acme', {
            type: 'invoice.issued',
            externalId: 'INV-3',
            payload: invoicePayload(3, { totalGross: '1.00' }),
          }),
          (e: { code: string; status: number }) => e.code === 'EXTERNAL_ID_CONFLICT' && e.status === 409,
        );
      });

      it('treats the same payload without externalId as the same record', { skip }, async () => {
        const a = await svc.submitOne('acme', { type: 'document', payload: documentPayload(1) });
        const b = await svc.submitOne('acme', { type: 'document', payload: documentPayload(1) });
        assert.equal(b.id, a.id);
      });

      it('keeps organisations apart: the same externalId in another org is a new record', { skip }, async () => {
        const a = await svc.submitOne('acme', {
          type: 'invoice.issued',
          externalId: 'SHARED',
          payload: invoicePayload(4),
        });
        const b = await svc.submitOne('globex', {
          type: 'invoice.issued',
          externalId: 'SHARED',
          payload: invoicePayload(4),
        });
        assert.notEqual(a.id, b.id);
        assert.equal(b.duplicate, false);
      });

      it('deduplicates inside one batch request', { skip }, async () => {
        const input = { type: 'invoice.issued', externalId: 'INV-dup', payload: invoicePayload(5) };
        const [a, b] = await svc.submit('acme', [input, input]);
        assert.equal(ok(b).id, ok(a).id);
        assert.equal(ok(b).duplicate, true);
      });

      it('answers concurrent submissions of one externalId with one record', { skip }, async () => {
        const input = { type: 'invoice.issued', externalId: 'INV-race', payload: invoicePayload(6) };
        const results = await Promise.all(Array.from({ length: 8 }, () => svc.submitOne('acme', input)));
        assert.equal(new Set(results.map((r) => r.id)).size, 1);
        assert.equal(results.filter((r) => !r.duplicate).length, 1);
      });
    });

    describe('validation and lineage', () => {
      it(
        'rejects an unknown type, an invalid payload and a non-canonicalizable payload with their own codes',
        { skip },
        async () => {
          const res = await svc.submit('acme', [
            { type: 'invoice.forged', payload: {} },
            { type: 'invoice.issued', payload: invoicePayload(7, { totalGross: 1500 }) },
            { type: 'document', payload: { title: 'x', body: '\ud800' } },
            { type: 'document', payload: documentPayload(77) },
          ]);
          assert.equal(err(res[0]).code, 'UNKNOWN_RECORD_TYPE');
          assert.equal(err(res[1]).code, 'PAYLOAD_INVALID');
          assert.equal(err(res[2]).code, 'PAYLOAD_NOT_CANONICALIZABLE');
          ok(res[3]);
        },
      );

      it('refuses expense.claim outside the claims use case', { skip }, async () => {
        const [r] = await svc.submit('acme', [{ type: 'expense.claim', payload: {} }]);
        assert.equal(err(r).code, 'CLAIMS_ENDPOINT_REQUIRED');
      });

      it('links a child to its parent and binds the parent commitment', { skip }, async () => {
        const inv = await svc.submitOne('acme', {
          type: 'invoice.issued',
          externalId: 'INV-p',
          payload: invoicePayload(8),
        });
        const paid = await svc.submitOne('acme', {
          type: 'invoice.paid',
          externalId: 'PAY-p',
          payload: { amount: '1500.00', currency: 'EUR', paidAt: '2026-11-21T10:00:00Z', paymentReference: 'SEPA-1' },
          parents: [inv.id],
        });
        const rec = (await store.read((r) => r.getRecord(paid.id)))!;
        assert.deepEqual(rec.parents, [inv.id]);
        assert.equal(
          paid.commitment,
          computeCommitment({
            recordId: paid.id,
            orgId: 'acme',
            type: 'invoice.paid',
            digest: rec.digest,
            salt: rec.salt,
            parents: [inv.commitment],
          }),
        );
        const children = await store.read((r) => r.childrenOf([inv.id]));
        assert.deepEqual(children, [{ parentId: inv.id, childId: paid.id }]);
      });

      it('refuses a missing parent, another org’s parent, and a parent of the wrong type', { skip }, async () => {
        const theirs = await svc.submitOne('globex', {
          type: 'invoice.issued',
          externalId: 'G-1',
          payload: invoicePayload(9),
        });
        const doc = await svc.submitOne('acme', { type: 'document', payload: documentPayload(9) });
        const voided = (parents: string[]) => ({
          type: 'invoice.voided',
          payload: { reason: 'duplicate billing', creditNoteNumber: 'CN-1' },
          parents,
        });
        const res = await svc.submit('acme', [
          voided(['00000000-0000-4000-8000-000000000000']),
          voided([theirs.id]),
          voided([doc.id]),
          voided([]),
        ]);
        assert.equal(err(res[0]).code, 'PARENT_NOT_FOUND');
        assert.equal(err(res[1]).code, 'PARENT_NOT_FOUND');
        assert.equal(err(res[2]).code, 'LINEAGE_VIOLATION');
        assert.equal(err(res[3]).code, 'LINEAGE_VIOLATION');
      });

      it('accepts a parent submitted earlier in the same batch', { skip }, async () => {
        const ids = await svc.submit('acme', [
          { type: 'invoice.issued', externalId: 'INV-b', payload: invoicePayload(10) },
        ]);
        const [child] = await svc.submit('acme', [
          { type: 'document', payload: documentPayload(10), parents: [ok(ids[0]).id] },
        ]);
        ok(child);
      });
    });

    it('accepts a 2,000-record batch in one transaction and answers in request order', { skip }, async () => {
      const inputs = Array.from({ length: 2000 }, (_, i) => ({
        type: 'invoice.issued',
        externalId: `BULK-${i}`,
        payload: invoicePayload(1000 + i),
      }));
      const res = await svc.submit('acme', inputs);
      assert.equal(res.length, 2000);
      const digests = res.map((r) => ok(r).digest);
      assert.equal(digests[1234], digestPayload(inputs[1234]!.payload));
      const pending = await store.read((r) => r.orgsWithPending());
      assert.ok(pending.find((p) => p.orgId === 'acme')!.count >= 2000);
    });
  });
}
