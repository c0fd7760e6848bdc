import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ClaimService, MAX_INVOICES_PER_CLAIM } from '../../service/claims';
import { ServiceError } from '../../service/errors';
import { CHAIN_PAGE_DEFAULT, CHAIN_PAGE_MAX, TraceService, checkCompleteness } from '../../service/trace';
import { authenticate, type AppContext } from '../context';
import { Hex32, OrgId, RecordStatus, Uuid, errors } from '../schemas';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const ClaimBody = Type.Object(
  {
    externalId: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'the claimant’s own id: the same id again returns the same claim',
    }),
    payload: Type.Unknown({ description: 'expense.claim payload' }),
    invoices: Type.Array(Uuid, {
      minItems: 1,
      maxItems: MAX_INVOICES_PER_CLAIM,
      uniqueItems: true,
      description: 'invoice.issued record ids (any organisation of the consortium)',
    }),
  },
  { additionalProperties: false },
);

const ClaimResponse = Type.Object({
  id: Uuid,
  digest: Hex32,
  commitment: Hex32,
  status: RecordStatus,
  invoiceKeys: Type.Array(Hex32),
  chain: Type.Object({ txHash: Type.String(), blockNumber: Nullable(Type.Integer()) }),
  claimStatus: Type.String({ description: 'prepared | signed | consumed | recorded | failed | releasing | released' }),
  duplicate: Type.Boolean(),
  warnings: Type.Optional(
    Type.Array(
      Type.Object({
        code: Type.Literal('POSSIBLE_DUPLICATE'),
        invoice: Uuid,
        detail: Type.String(),
        earlier: Type.Object({
          claim: Nullable(Uuid),
          invoice: Nullable(Uuid),
          sameOrganisation: Type.Boolean(),
        }),
      }),
      {
        description:
          'An invoice matches one claimed before (same seller, gross, currency, issue date) under another number',
      },
    ),
  ),
});

const ClaimView = Type.Object({
  id: Uuid,
  orgId: Type.String(),
  externalId: Type.String(),
  commitment: Hex32,
  invoices: Type.Array(Uuid),
  invoiceKeys: Type.Array(Hex32),
  status: Type.String(),
  consumeTx: Nullable(Type.Object({ txHash: Hex32, status: Type.String(), blockNumber: Nullable(Type.Integer()) })),
  releaseTx: Nullable(Type.Object({ txHash: Hex32, status: Type.String(), blockNumber: Nullable(Type.Integer()) })),
  settleTx: Nullable(Type.Object({ txHash: Hex32, status: Type.String(), blockNumber: Nullable(Type.Integer()) })),
  error: Nullable(Type.String()),
});

const Check = Type.Object({ name: Type.String(), status: Type.String(), reason: Type.Optional(Type.String()) });
const Cosigning = Type.Object(
  {
    record: Uuid,
    type: Type.String(),
    required: Type.Array(Hex32, { description: 'keccak256(bytes(orgId)) of each organisation the policy names' }),
    cosigned: Type.Array(Type.Object({ org: Hex32, orgId: Type.String(), cosignature: Uuid })),
    missing: Type.Array(Hex32),
    met: Type.Boolean(),
  },
  { description: 'the co-signing policy of the record type (MemberDirectory) and the verified, signed co-signatures' },
);
const TraceNode = Type.Object({
  id: Uuid,
  type: Type.String(),
  orgId: Type.String(),
  status: RecordStatus,
  visible: Type.Boolean({ description: 'false: a record of an organisation you may not read (metadata only)' }),
  digest: Nullable(Hex32),
  commitment: Hex32,
  anchor: Nullable(
    Type.Object({ txHash: Hex32, blockNumber: Type.Integer(), blockTimestamp: Type.Integer(), root: Hex32 }),
  ),
  verification: Nullable(Type.Object({ valid: Type.Boolean(), checks: Type.Array(Check) })),
  supersedes: Nullable(Uuid),
  supersededBy: Nullable(Uuid),
  payload: Type.Optional(Type.Unknown()),
  cosigning: Type.Optional(Cosigning),
});
const TraceResponse = Type.Object({
  root: Uuid,
  nodes: Type.Array(TraceNode),
  edges: Type.Array(Type.Object({ parent: Uuid, child: Uuid })),
  truncated: Type.Boolean(),
  cosigning: Type.Optional(Type.Array(Cosigning)),
});
const BundleResponse = Type.Object({
  version: Type.Literal(1),
  root: Uuid,
  receipts: Type.Array(Type.Unknown()),
  external: Type.Optional(Type.Array(Hex32)),
  cosigning: Type.Optional(Type.Array(Cosigning)),
});

const CompletenessResponse = Type.Object({
  orgId: Type.String(),
  address: Nullable(Type.String()),
  chain: Type.Object({ head: Hex32, length: Type.Integer() }),
  database: Type.Object({ batches: Type.Integer(), inFlight: Type.Integer() }),
  consistent: Type.Boolean(),
  missingInDatabase: Type.Array(Hex32),
  missingOnChain: Type.Array(Hex32),
  leafCountMismatch: Type.Array(Type.Object({ root: Hex32, chain: Type.Integer(), database: Type.Integer() })),
  errors: Type.Array(Type.String()),
  truncated: Type.Boolean({ description: 'the walk stopped at `limit`: older batches are in the next page' }),
  next: Nullable(Hex32),
});

/**
 * Pilot workflows (DESIGN §1, §5): POST /v1/claims, GET /v1/claims/:id, GET /v1/records/:id/trace
 * (?format=bundle), GET /v1/orgs/:id/chain. Registered through `AppDeps.plugins`. The claims reconciler (finishes
 * interrupted claims, releases rejected ones) runs in the worker loop, beside the anchoring worker (src/cli/worker.ts,
 * or src/cli/runtime.ts with WORKER=inline).
 */
export async function pilotRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const security = [{ bearer: [] }];
  const trustedRegistries = ctx.info.registry ? [ctx.info.registry] : undefined;
  const traces = new TraceService(ctx.store, { rootSource: ctx.rootSource, trustedRegistries });
  const claims =
    ctx.chain && ctx.consortiumSecret
      ? new ClaimService(ctx.store, ctx.chain, ctx.records, {
          consortiumSecret: ctx.consortiumSecret,
          confirmations: ctx.confirmations,
        })
      : null;

  r.post(
    '/v1/claims',
    {
      preHandler: authenticate(ctx, 'submit'),
      schema: {
        tags: ['claims'],
        summary: 'Claim invoices for reimbursement: consumes their keys on chain, then records the expense.claim',
        description:
          'Each invoice (any organisation’s invoice.issued, not voided) is keyed by HMAC(consortium secret, seller tax id, code, number) (DESIGN §2.5). The keys are consumed on the ClaimRegistry in one transaction from your chain account; only once that is mined and has CONFIRMATIONS blocks on the canonical chain is the expense.claim record stored (a consume a reorg dropped is sent again). 409 INVOICE_ALREADY_CLAIMED (naming the earlier claim) when any invoice was claimed before anywhere in the consortium. 503 CHAIN_UNAVAILABLE when the transaction is not mined and confirmed in time: retry with the same externalId. A claim that gets an expense.rejected record releases its keys.',
        security,
        body: ClaimBody,
        response: { 201: ClaimResponse, 200: ClaimResponse, ...errors(400, 401, 403, 404, 409, 422, 429, 503) },
      },
    },
    async (req, reply) => {
      if (!claims) throw new ServiceError('CLAIMS_UNAVAILABLE', 'This service has no chain or no consortium secret');
      const res = await claims.claim(req.principal!.org, req.body);
      ctx.metrics.inc('notary_records_submitted_total', { duplicate: String(res.duplicate) });
      return reply.code(res.duplicate ? 200 : 201).send(res);
    },
  );

  r.get(
    '/v1/claims/:id',
    {
      preHandler: authenticate(ctx),
      schema: {
        tags: ['claims'],
        summary: 'State of a claim on chain: consume and release transactions',
        security,
        params: Type.Object({ id: Uuid }),
        response: { 200: ClaimView, ...errors(400, 401, 404, 429) },
      },
    },
    async (req) => {
      const readable = await ctx.auth.readableOrgs(req.principal!);
      const found = await ctx.store.read(async (s) => {
        const c = await s.getClaim(req.params.id);
        if (!c || !readable.has(c.orgId)) return null;
        const consume = c.consumeTxId ? await s.getOutbox(c.consumeTxId) : null;
        const release = c.releaseTxId ? await s.getOutbox(c.releaseTxId) : null;
        const settle = c.settleTxId ? await s.getOutbox(c.settleTxId) : null;
        return { c, consume, release, settle };
      });
      if (!found) throw new ServiceError('CLAIM_NOT_FOUND', `Claim ${req.params.id} not found`);
      const tx = (t: typeof found.consume) =>
        t ? { txHash: t.txHash, status: t.status, blockNumber: t.blockNumber } : null;
      const { c } = found;
      return {
        id: c.id,
        orgId: c.orgId,
        externalId: c.externalId,
        commitment: c.commitment,
        invoices: c.invoices,
        invoiceKeys: c.invoiceKeys,
        status: c.status,
        consumeTx: tx(found.consume),
        releaseTx: tx(found.release),
        settleTx: tx(found.settle),
        error: c.error,
      };
    },
  );

  r.get(
    '/v1/records/:id/trace',
    {
      preHandler: authenticate(ctx),
      schema: {
        tags: ['records'],
        summary: 'Lineage: ancestors and descendants with their verification against the chain',
        description: `A DAG of at most 500 records. Records of organisations you may not read appear with metadata only (visible: false) and the walk stops there. ?format=bundle returns a lineage bundle { version: 1, root, receipts, external? } that the verifier's verifyBundle checks offline as one unit. A record whose type has a co-signing policy in the member directory carries \`cosigning\`: the organisations the policy names, those with a verified, signed cosignature child, and whether the policy is met (a cosignature of a record you may read is readable too).`,
        security,
        params: Type.Object({ id: Uuid }),
        querystring: Type.Object({
          format: Type.Optional(Type.Union([Type.Literal('graph'), Type.Literal('bundle')])),
        }),
        response: { 200: Type.Union([TraceResponse, BundleResponse]), ...errors(400, 401, 404, 409, 429) },
      },
    },
    async (req) => {
      const readable = await ctx.auth.readableOrgs(req.principal!);
      if (req.query.format === 'bundle') return traces.bundle(req.params.id, readable);
      return traces.trace(req.params.id, readable);
    },
  );

  r.get(
    '/v1/orgs/:id/chain',
    {
      preHandler: authenticate(ctx),
      schema: {
        tags: ['batches'],
        summary: 'Completeness: the organisation’s batch chain on the registry compared with the database',
        description:
          'Walks the organisation’s chain on the registry, headOf(keccak256(orgId)) across its key rotations (or `cursor`), then anchorOf(prev) on the registry alone, at most `limit` links, and compares the roots with the stored batches within them. Past `limit`: `truncated: true` and `next`, the cursor of the next, older page. For admins, the organisation itself and its granted auditors.',
        security,
        params: Type.Object({ id: OrgId }),
        querystring: Type.Object({
          limit: Type.Optional(
            Type.String({
              pattern: '^[1-9][0-9]{0,4}$',
              description: `links per page (default ${CHAIN_PAGE_DEFAULT}, at most ${CHAIN_PAGE_MAX})`,
            }),
          ),
          cursor: Type.Optional(Hex32),
        }),
        response: { 200: CompletenessResponse, ...errors(400, 401, 403, 404, 429, 503) },
      },
    },
    async (req) => {
      const p = req.principal!;
      const readable = await ctx.auth.readableOrgs(p);
      if (!p.scopes.includes('admin') && !readable.has(req.params.id)) {
        throw new ServiceError('FORBIDDEN', `Not allowed to audit organisation ${req.params.id}`);
      }
      if (!ctx.chain) throw new ServiceError('CHAIN_UNAVAILABLE', 'This service has no chain connection');
      return checkCompleteness(ctx.store, ctx.chain, req.params.id, {
        limit: req.query.limit === undefined ? undefined : Number(req.query.limit),
        cursor: req.query.cursor,
      });
    },
  );
}
