import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { Receipt } from '../../src/api/schemas';
import { ReceiptSchema, ReceiptV1Schema, ReceiptV2Schema } from '../../src/domain/receipt';
import { Database } from '../../src/storage/db';
import { SqlStore } from '../../src/storage/sql-repo';

// One receipt schema: the API documents and serializes receipts with the domain's ReceiptSchema (version 1 or 2,
// the one the verifier and the page check), not a looser copy (any orgId, extra properties allowed).
describe("the API's receipt schema", () => {
  let db: Database;
  let app: FastifyInstance;
  before(async () => {
    db = await Database.open({ sqlitePath: ':memory:' });
    app = await buildApp({ store: new SqlStore(db) }, { web: false });
  });
  after(async () => {
    await app?.close();
    await db?.close();
  });

  it('is the domain schema itself', () => {
    assert.equal(Receipt, ReceiptSchema);
  });

  it('is what the OpenAPI document publishes for GET /v1/records/{id}/receipt: strict, bounded', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    /* eslint-disable @typescript-eslint/no-explicit-any */
    const spec = res.json() as any;
    const op = spec.paths['/v1/records/{id}/receipt'].get;
    const union = op.responses['200'].content['application/json'].schema;
    const deref = (x: any) => (x.$ref ? spec.components.schemas[String(x.$ref).split('/').pop()!] : x);
    const branches = (union.anyOf ?? union.oneOf).map(deref);
    /* eslint-enable @typescript-eslint/no-explicit-any */
    assert.deepEqual(
      branches
        .map(
          (b: { properties: { version: { const?: number; enum: number[] } } }) =>
            b.properties.version.const ?? b.properties.version.enum[0],
        )
        .sort(),
      [1, 2],
    );
    const domain = ReceiptV1Schema.properties.record.properties as unknown as Record<string, Record<string, unknown>>;
    for (const schema of branches) {
      assert.equal(schema.additionalProperties, false);
      for (const part of ['record', 'proof', 'anchor']) {
        assert.equal(schema.properties[part].additionalProperties, false, `${part} allows no extra property`);
      }
      const org = schema.properties.record.properties.orgId;
      assert.equal(org.maxLength, domain.orgId!.maxLength);
      assert.equal(org.minLength, 1);
      assert.equal(schema.properties.record.properties.type.pattern, domain.type!.pattern);
      assert.equal(schema.properties.proof.properties.path.maxItems, 64);
      assert.equal(schema.properties.anchor.properties.chainId.minimum, 1);
    }
    const v2 = branches.find(
      (b: { properties: { version: { const?: number; enum: number[] } } }) =>
        (b.properties.version.const ?? b.properties.version.enum[0]) === 2,
    );
    assert.equal(
      v2.properties.signatures.maxItems,
      (ReceiptV2Schema.properties.signatures as unknown as { maxItems: number }).maxItems,
    );
    assert.equal(v2.properties.signatures.items.additionalProperties, false);
  });
});
