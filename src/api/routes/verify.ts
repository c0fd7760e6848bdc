import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isOrganisationVerified, verifyReceipt } from '../../verifier';
import type { RootSource } from '../../verifier';
import { RootSourceBusyError } from '../../verifier/caching-root-source';
import { ServiceError } from '../../service/errors';
import { authenticate, type AppContext } from '../context';
import { BatchView, Hex32, Verdict, VerifyBody, errors } from '../schemas';

/**
 * `src` for one request, noting whether a read was refused because too many chain reads are in flight: the
 * route then answers 503 CHAIN_BUSY (retry) instead of a verdict that blames the receipt.
 */
function watchBusy(src: RootSource): { source: RootSource; busy: () => boolean } {
  let busy = false;
  const note = (err: unknown): never => {
    if (err instanceof RootSourceBusyError) busy = true;
    throw err;
  };
  const source: RootSource = { getAnchor: (ref) => src.getAnchor(ref).catch(note) };
  const tx = src.getAnchorTransaction?.bind(src);
  if (tx) source.getAnchorTransaction = (ref) => tx(ref).catch(note);
  const key = src.getMemberKey?.bind(src);
  if (key) source.getMemberKey = (ref) => key(ref).catch(note);
  return { source, busy: () => busy };
}

/** A root source that answers for no chain (when the service runs without one). */
const NO_CHAIN: RootSource = {
  async getAnchor() {
    throw new Error('CHAIN_UNAVAILABLE: this service has no chain connection');
  },
};

export async function verifyRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post(
    '/v1/verify',
    {
      // Anonymous: limited per client address whatever Authorization header comes with it.
      config: { rateLimit: { keyGenerator: (req: FastifyRequest) => `ip:${req.ip}` } },
      schema: {
        tags: ['verify'],
        summary: 'Verify a receipt (and optionally its payload) against the chain',
        description:
          'Anyone may call it. Checks, in order: schema, digest (when a payload is given), commitment, signatures (receipt v2 only: each signature recovers to its signer, an active SIGNER key of the record\'s organisation at the anchor block; the signers are listed in `signers`), merkle, anchor, organisation (registry 2.x: the anchor was made for the organisation the record names; on a registry 1.x skipped with the reason "organisation not verified (registry 1.x)", and `organisationVerified` is false), submitter, timestamp. Always 200 with a verdict for a well-formed request body.',
        body: VerifyBody,
        response: { 200: Verdict, ...errors(400, 413, 415, 429, 503) },
      },
    },
    async (req) => {
      const body = req.body as { receipt: unknown; payload?: unknown };
      const watched = watchBusy(ctx.rootSource ?? NO_CHAIN);
      const checked = await verifyReceipt(body.receipt, {
        payload: 'payload' in body ? body.payload : undefined,
        rootSource: watched.source,
        trustedRegistries: ctx.info.registry ? [ctx.info.registry] : undefined,
      });
      if (watched.busy())
        throw new ServiceError('CHAIN_BUSY', 'Too many chain reads in flight; retry in a few seconds');
      const verdict = { ...checked, organisationVerified: isOrganisationVerified(checked) };
      ctx.metrics.inc('notary_verifications_total', { valid: String(verdict.valid) });
      // "Valid, superseded by …": only for a valid receipt of a record this service holds with that commitment.
      // Superseders first: most records have none, and then the record itself need not be read.
      if (verdict.valid && verdict.receipt) {
        const { recordId } = verdict.receipt;
        const commitment = (body.receipt as { commitment: string }).commitment;
        const by = await ctx.store.read(async (r) => {
          const [first] = await r.supersedersOf([recordId]);
          if (first === undefined) return null;
          const [m] = await r.getRecordsMeta([recordId]);
          return m?.commitment === commitment ? first.id : null;
        });
        if (by) return { ...verdict, superseded: { by } };
      }
      return verdict;
    },
  );

  r.get(
    '/v1/batches/:root',
    {
      onRequest: authenticate(ctx),
      schema: {
        tags: ['batches'],
        summary: 'A batch by its Merkle root: submitter, leaf count, anchor, confirmations',
        security: [{ bearer: [] }],
        params: Type.Object({ root: Hex32 }),
        response: { 200: BatchView, ...errors(400, 401, 404, 429) },
      },
    },
    async (req) => ctx.queries.batch(req.params.root),
  );

  r.get(
    '/v1/info',
    {
      schema: {
        tags: ['ops'],
        summary: 'Chain and registry this service anchors to',
        response: {
          200: Type.Object({
            version: Type.String(),
            chainId: Type.Union([Type.Integer(), Type.Null()]),
            registry: Type.Union([Type.String(), Type.Null()]),
            claimRegistry: Type.Union([Type.String(), Type.Null()]),
            rpcUrl: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async () => ctx.info,
  );
}
