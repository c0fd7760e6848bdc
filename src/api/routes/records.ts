import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ServiceError } from '../../service/errors';
import type { ReceiptItem } from '../../service/queries';
import type { BatchItemResult, RecordInput as RecordInputT } from '../../service/records';
import { authenticate, type AppContext } from '../context';
import {
  BatchSubmitBody,
  BatchSubmitResult,
  Hex32,
  ProblemRef,
  Receipt,
  RecordInput,
  RecordView,
  SubmitResult,
  Uuid,
  errors,
} from '../schemas';

/** Most ids one POST /v1/receipts takes. */
export const MAX_RECEIPT_IDS = 10_000;

export const ReceiptsBody = Type.Object(
  {
    ids: Type.Array(Uuid, {
      minItems: 1,
      maxItems: MAX_RECEIPT_IDS,
      description: 'record ids (at most 10,000); answered in this order, duplicates included',
    }),
  },
  { additionalProperties: false },
);

export const ReceiptsItem = Type.Union([
  Type.Object({ id: Uuid, receipt: Receipt }),
  Type.Object({
    id: Uuid,
    error: ProblemRef,
  }),
]);

export const ReceiptsResult = Type.Object({
  receipts: Type.Array(ReceiptsItem, { description: 'one item per requested id, in request order' }),
  ready: Type.Integer({ description: 'items with a receipt' }),
  notReady: Type.Integer({ description: 'items answered RECEIPT_NOT_READY (pending)' }),
  notFound: Type.Integer({ description: 'items answered RECORD_NOT_FOUND' }),
});

/** What both submit routes say about signed records (receipt version 2). */
const SIGNED_RECORDS_DOC =
  'Signed records (receipt version 2): give `id` (UUIDv7, lowercase hyphenated), `salt` (0x + 64 lowercase hex) and `signatures` ([{signer, signature}], EIP-712 RecordCommitment(bytes32 commitment), domain {name: LedgerNotary, version: 2, chainId, verifyingContract: NotaryRegistry}) by active SIGNER keys of the organisation in the member directory (read through a 5 s cache: a removed key is refused within 5 s). Refusals: RECORD_ID_INVALID, SALT_INVALID, SIGNED_RECORD_INCOMPLETE, SIGNATURE_INVALID (not canonical, or not recovering to its signer over the commitment), SIGNER_DUPLICATE, SIGNER_NOT_ACTIVE, SIGNER_OF_OTHER_ORG (422); RECORD_ID_TAKEN, SALT_REUSED (409); SIGNATURE_REQUIRED (422) for an unsigned record of an organisation with requireSignatures; SIGNATURES_UNAVAILABLE / CHAIN_UNAVAILABLE (503) when the directory cannot be read. The same record again (same id, type, payload, salt, parents) answers the existing one.';

/** `?externalId=` of an XML submission (1..200 characters), else undefined. */
function externalIdOf(q: unknown): string | undefined {
  const v = (q as { externalId?: unknown } | undefined)?.externalId;
  return typeof v === 'string' && v.length >= 1 && v.length <= 200 ? v : undefined;
}

export async function recordRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  // UBL 2.1 in (issue 17): the XML body is only collected here (bounded by the body limit); it is parsed by the
  // handler, after authentication, with DOCTYPE/entities refused and depth capped (src/domain/ubl.ts).
  // Only POST /v1/records takes XML (this scope holds other routes too).
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'buffer' }, (req, body, done) =>
    req.routeOptions.url === '/v1/records'
      ? done(null, { type: 'invoice.issued', payload: body })
      : done(new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'Only POST /v1/records takes an XML body (UBL 2.1)')),
  );

  r.post(
    '/v1/records',
    {
      preHandler: authenticate(ctx, 'submit'),
      schema: {
        tags: ['records'],
        summary: 'Submit one record',
        description:
          'Hashes (RFC 8785 + SHA-256), commits and queues the record for anchoring. The same record again returns the existing one (200, duplicate: true); the same externalId with another payload is 409. With Content-Type: application/xml the body is a UBL 2.1 Invoice or CreditNote (Peppol BIS Billing 3.0), mapped to invoice.issued with source.sha256 of the exact bytes (docs/formats.md §8; ?externalId= optional). Invoices are checked by the EN 16931 calculation rules (422 naming the rule, or warnings for an organisation with rules: warn). ' +
          SIGNED_RECORDS_DOC,
        security: [{ bearer: [] }],
        body: RecordInput,
        response: { 202: SubmitResult, 200: SubmitResult, ...errors(400, 401, 403, 409, 413, 415, 422, 429, 503) },
      },
    },
    async (req, reply) => {
      const body = req.body as RecordInputT;
      const res = Buffer.isBuffer(body.payload)
        ? await ctx.records.submitUbl(req.principal!.org.id, body.payload, {
            externalId: externalIdOf(req.query),
          })
        : await ctx.records.submitOne(req.principal!.org.id, body);
      ctx.metrics.inc('notary_records_submitted_total', { duplicate: String(res.duplicate) });
      return reply.code(res.duplicate ? 200 : 202).send(res);
    },
  );

  // The batch body is parsed, checked, canonicalized and hashed by the PreparePool (a worker thread for
  // large batches), not by fastify: this scope takes the JSON body as text. Each item is checked on its
  // own there, so the route's body schema below only documents the shape (OpenAPI).
  await app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.withTypeProvider<TypeBoxTypeProvider>().post(
      '/v1/records/batch',
      {
        preHandler: authenticate(ctx, 'submit'),
        validatorCompiler: () => () => true,
        // The response schema documents the shape (OpenAPI); the objects built below are exactly that shape, so
        // plain JSON.stringify serializes them: fast-json-stringify validates every item against the union
        // (regexes per field) to pick a branch, which doubled the serialization cost of a 10,000-item answer.
        serializerCompiler: () => (data) => JSON.stringify(data),
        schema: {
          tags: ['records'],
          summary: 'Submit up to 10,000 records in one request',
          description:
            'One transaction for the whole request. Each item is accepted or rejected on its own; results come back in request order. ' +
            SIGNED_RECORDS_DOC +
            ' At most 32 distinct signers per request (TOO_MANY_SIGNERS beyond).',
          security: [{ bearer: [] }],
          body: BatchSubmitBody,
          response: { 200: BatchSubmitResult, ...errors(400, 401, 403, 413, 415, 429, 503) },
        },
      },
      async (req) => {
        const { chainId, registry } = ctx.info;
        const orgId = req.principal!.org.id;
        const prepared = await ctx.prepare.prepare(
          req.body as unknown as string,
          chainId !== null && registry !== null ? { orgId, chainId, registry } : undefined,
          orgId,
        );
        if ('error' in prepared)
          throw new ServiceError(prepared.error.code, prepared.error.message, prepared.error.details);
        const out: BatchItemResult[] = await ctx.records.submitPrepared(orgId, prepared.items);
        const rejected = out.filter((x) => 'error' in x).length;
        ctx.metrics.inc('notary_records_submitted_total', { duplicate: 'batch' }, out.length - rejected);
        return { records: out, accepted: out.length - rejected, rejected };
      },
    );
  });

  r.get(
    '/v1/records/:id',
    {
      preHandler: authenticate(ctx),
      schema: {
        tags: ['records'],
        summary: 'A record: metadata, status and (for its owner or a granted auditor) the payload',
        security: [{ bearer: [] }],
        params: Type.Object({ id: Uuid }),
        response: { 200: RecordView, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (req) => {
      const readable = await ctx.auth.readableOrgs(req.principal!);
      return ctx.queries.view(req.params.id, readable, true);
    },
  );

  r.get(
    '/v1/records/:id/receipt',
    {
      preHandler: authenticate(ctx),
      schema: {
        tags: ['records'],
        summary: 'The receipt (DESIGN §2.4) once the record is anchored',
        description: '409 RECEIPT_NOT_READY while the record is pending.',
        security: [{ bearer: [] }],
        params: Type.Object({ id: Uuid }),
        response: { 200: Receipt, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (req) => {
      const readable = await ctx.auth.readableOrgs(req.principal!);
      return ctx.queries.receipt(req.params.id, readable);
    },
  );

  r.post(
    '/v1/receipts',
    {
      preHandler: authenticate(ctx),
      // The items are built in exactly the documented shape; plain JSON.stringify serializes 10,000 receipts
      // several times faster than fast-json-stringify picking a union branch per item.
      serializerCompiler: () => (data) => JSON.stringify(data),
      schema: {
        tags: ['records'],
        summary: 'Receipts of up to 10,000 records in one request',
        description:
          'Scoped like GET /v1/records/:id/receipt (the owner, or an auditor granted access). Each item, in request order, is `{id, receipt}` or `{id, error}` with the problem the single route would answer: RECEIPT_NOT_READY (with recordStatus) while pending, RECORD_NOT_FOUND for unknown ids and for ids of organisations you may not read (indistinguishable). More than 10,000 ids: 400 VALIDATION_FAILED.',
        security: [{ bearer: [] }],
        body: ReceiptsBody,
        response: { 200: ReceiptsResult, ...errors(400, 401, 403, 413, 415, 429) },
      },
    },
    async (req) => {
      const readable = await ctx.auth.readableOrgs(req.principal!);
      const items: ReceiptItem[] = await ctx.queries.receipts(req.body.ids, readable);
      let ready = 0;
      let notReady = 0;
      for (const it of items) {
        if ('receipt' in it) ready++;
        else if (it.error.code === 'RECEIPT_NOT_READY') notReady++;
      }
      return { receipts: items, ready, notReady, notFound: items.length - ready - notReady };
    },
  );

  r.get(
    '/v1/batches/:root/receipts',
    {
      preHandler: authenticate(ctx),
      schema: {
        tags: ['batches'],
        summary: 'All receipts of one anchored batch, streamed as NDJSON (one receipt per line, leaf order)',
        description:
          'Content-Type application/x-ndjson. For the batch owner or a granted auditor; 404 BATCH_NOT_FOUND otherwise (also for unknown roots), 409 RECEIPT_NOT_READY before the batch is anchored.',
        security: [{ bearer: [] }],
        params: Type.Object({ root: Hex32 }),
        response: {
          200: Type.String({ description: 'NDJSON: one DESIGN §2.4 receipt per line' }),
          ...errors(400, 401, 404, 409, 429),
        },
      },
    },
    async (req, reply) => {
      const readable = await ctx.auth.readableOrgs(req.principal!);
      const { pages } = await ctx.queries.batchReceipts(req.params.root, readable);
      async function* lines(): AsyncGenerator<string> {
        for await (const page of pages) {
          if (page.length) yield page.map((x) => JSON.stringify(x)).join('\n') + '\n';
        }
      }
      // A stream is sent as is (fastify skips the serializer); the 200 schema above only documents the body.
      return reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(lines()) as unknown as string);
    },
  );
}
