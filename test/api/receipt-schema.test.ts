import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { Receipt } from '../../src/api/schemas';
import { ReceiptV1Schema } from '../../src/domain';
import { Database } from '../../src/storage/db';
import { SqlStore } from '../../src/storage/sql-repo';

// One receipt schema: the API documents and serializes receipts with the domain's ReceiptV1Schema (the one the
// verifier and the page check), not a looser copy (any orgId, extra properties allowed).
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
    assert.equal(Receipt, ReceiptV1Schema);
  });

  it('is what the OpenAPI document publishes for GET /v1/records/{id}/receipt: strict, bounded', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    /* eslint-disable @typescript-eslint/no-explicit-any */
    const spec = res.json() as any;
    const op = spec.paths['/v1/records/{id}/receipt'].get;
    const schema = op.responses['200'].content['application/json'].schema;
    /* eslint-enable @typescript-eslint/no-explicit-any */
    assert.equal(schema.additionalProperties, false);
    for (const part of ['record', 'proof', 'anchor']) {
      assert.equal(schema.properties[part].additionalProperties, false, `${part} allows no extra property`);
    }
    const domain = ReceiptV1Schema.properties.record.properties as unknown as Record<string, Record<string, unknown>>;
    const org = schema.properties.record.properties.orgId;
    assert.equal(org.maxLength, domain.orgId!.maxLength);
    assert.equal(org.minLength, 1);
    assert.equal(schema.properties.record.properties.type.pattern, domain.type!.pattern);
    assert.equal(schema.properties.proof.properties.path.maxItems, 64);
    assert.equal(schema.properties.anchor.properties.chainId.minimum, 1);
  });
});
