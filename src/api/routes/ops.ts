import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../context';

/**
 * Liveness, readiness (database and chain reachable) and Prometheus metrics. Anyone may call them; /ready and
 * /metrics are rate-limited like every route, and name organisations and show error messages only to an admin
 * key (anonymous callers get the same checks and totals without them).
 */
export async function opsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  /** True when the request carries a valid admin key (no key or any other key: the anonymous view). */
  const isAdmin = async (req: FastifyRequest): Promise<boolean> => {
    if (!req.headers.authorization) return false;
    try {
      return (await ctx.auth.authenticate(req.headers.authorization)).scopes.includes('admin');
    } catch {
      return false;
    }
  };

  r.get(
    '/health',
    {
      config: { rateLimit: false },
      schema: { tags: ['ops'], summary: 'Liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );

  const Ready = Type.Object({
    status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
    checks: Type.Object({
      database: Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) }),
      chain: Type.Object({
        ok: Type.Boolean(),
        detail: Type.Optional(Type.String()),
        blockNumber: Type.Optional(Type.Integer()),
      }),
      anchoring: Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) }),
    }),
  });

  r.get(
    '/ready',
    {
      schema: {
        tags: ['ops'],
        summary:
          'Readiness: database and chain reachable (503 otherwise; submissions are still accepted while the chain is down)',
        description:
          'With an admin key, `anchoring.detail` names each organisation whose anchoring fails and why; without, it only counts them.',
        response: { 200: Ready, 503: Ready },
      },
    },
    async (req, reply) => {
      const database = (await ctx.store.ping()) ? { ok: true } : { ok: false, detail: 'database unreachable' };
      let chain: { ok: boolean; detail?: string; blockNumber?: number } = { ok: false, detail: 'no chain configured' };
      if (ctx.chain) {
        try {
          chain = { ok: true, blockNumber: await ctx.chain.blockNumber() };
        } catch (err) {
          chain = { ok: false, detail: ctx.chain.failureOf(err)?.code ?? 'CHAIN_UNREACHABLE' };
        }
      }
      const errs = ctx.anchor ? [...ctx.anchor.lastError.entries()] : [];
      const anchoring = !errs.length
        ? { ok: true }
        : (await isAdmin(req))
          ? { ok: false, detail: errs.map(([o, e]) => `${o}: ${e}`).join('; ') }
          : { ok: false, detail: `anchoring fails for ${errs.length} organisation(s) (details: admin key)` };
      const ok = database.ok && chain.ok;
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ready' : 'unavailable', checks: { database, chain, anchoring } });
    },
  );

  r.get(
    '/metrics',
    {
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics',
        description: 'With an admin key, `notary_records_waiting` is per organisation; without, one total.',
        hide: false,
      },
    },
    async (req, reply) => {
      const waiting = await ctx.store.read((x) => x.orgsWithPending());
      const perOrg = await isAdmin(req);
      const a = ctx.anchor?.stats;
      const text = await ctx.metrics.render([
        {
          name: 'notary_records_waiting',
          help: 'Records accepted and not yet in a batch',
          values: perOrg
            ? waiting.map((w) => ({ labels: { org: w.orgId }, value: w.count }))
            : [{ value: waiting.reduce((n, w) => n + w.count, 0) }],
        },
        {
          name: 'notary_batches_built',
          help: 'Batches built by this process',
          type: 'counter',
          values: [{ value: a?.batches ?? 0 }],
        },
        {
          name: 'notary_leaves_batched',
          help: 'Records put into batches by this process',
          type: 'counter',
          values: [{ value: a?.leaves ?? 0 }],
        },
        {
          name: 'notary_batch_store_seconds',
          help: 'Time spent in the database transactions that stored new batches (tree, leaf positions, signed tx)',
          type: 'counter',
          values: [{ value: (a?.buildTxMs ?? 0) / 1000 }],
        },
        {
          name: 'notary_batches_confirmed',
          help: 'Batches confirmed by this process',
          type: 'counter',
          values: [{ value: a?.confirmed ?? 0 }],
        },
        {
          name: 'notary_chain_up',
          help: '1 when the last anchoring pass reached the chain',
          values: [{ value: ctx.anchor?.chainHealthy === false ? 0 : 1 }],
        },
      ]);
      return reply.type('text/plain; version=0.0.4').send(text);
    },
  );
}
