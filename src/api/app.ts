import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { STATUS_CODES } from 'node:http';
import type { RootSource } from '../verifier';
import { AdminService, type AccountProvisioner, type KeyRotator } from '../service/admin';
import { AuthService } from '../service/auth';
import type { ChainPort } from '../service/chain-port';
import { ServiceError, problemOf, type ErrorCode } from '../service/errors';
import type { DirectoryAdmin, DirectoryReader, Store } from '../service/ports';
import { recordSigningFor } from '../service/signer-keys';
import { QueryService } from '../service/queries';
import { RecordService } from '../service/records';
import { PreparePool } from '../service/prepare-pool';
import { isAuthHook, type AnchorView, type AppContext } from './context';
import { Metrics } from './metrics';
import { adminRoutes } from './routes/admin';
import { opsRoutes } from './routes/ops';
import { recordRoutes } from './routes/records';
import { verifyRoutes } from './routes/verify';
import { Problem } from './schemas';
import { webPlugin } from './web';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

export interface AppDeps {
  store: Store;
  chain?: ChainPort;
  anchor?: AnchorView;
  rootSource?: RootSource;
  provisionAccount?: AccountProvisioner;
  /** Rotates a member's chain key (new account bound, old one removed in the directory). */
  rotateKey?: KeyRotator;
  /** The member directory the registry names: signed records (receipt v2) are checked against its SIGNER keys. */
  directory?: DirectoryReader;
  /** The directory as its registrar: SIGNER keys and co-signing policies through the admin API. */
  directoryAdmin?: DirectoryAdmin;
  /** Consortium secret of the invoice keys (DESIGN §2.5, CONSORTIUM_SECRET): enables POST /v1/claims. */
  consortiumSecret?: string;
  /** Blocks on the canonical chain before a claim's consume, release or settle counts (CONFIRMATIONS; default 1). */
  confirmations?: number;
  /** RPC URL auditors may use directly (shown at /v1/info). */
  publicRpcUrl?: string;
  /** Extra route plugins (e.g. claims, trace) registered with the same context. */
  plugins?: ((app: FastifyInstance, ctx: AppContext) => Promise<void>)[];
}

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
  /** Largest body of POST /v1/records/batch (BODY_LIMIT, 16 MiB); every other route takes {@link BODY_LIMIT_SINGLE}. */
  bodyLimit?: number;
  /** Requests per minute per API key, or per client address (anonymous or unknown keys; always for /v1/verify). */
  rateLimitMax?: number;
  /**
   * The address clients use (PUBLIC_URL). Only when it is https does the service send HSTS and the CSP
   * `upgrade-insecure-requests`: over plain HTTP they would send the browser to https for every script and style.
   */
  publicUrl?: string;
  /** Serve the auditor web page at / (default true). */
  web?: boolean;
}

/** Largest body of every route but the batch submit (one record, a claim, admin calls, a verification). */
export const BODY_LIMIT_SINGLE = 1024 * 1024;

/** Routes whose body may be larger than {@link BODY_LIMIT_SINGLE}: up to AppOptions.bodyLimit. */
const LARGE_BODY_ROUTES = new Set(['POST /v1/records/batch']);

/** An RPC URL without its credentials (user:password@), or null when it is not a URL. */
export function withoutCredentials(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return null;
  }
}

/**
 * A request answered before its body was read (401 in onRequest, 429, 404, 413 on its declared length): the unread
 * body is read and discarded (O(1) memory), up to `cap` bytes, so that the client, still sending, gets the answer
 * and the connection can be reused. Closing at once would reset the connection under a client that is still
 * writing: it would see EPIPE/ECONNRESET instead of the answer. A declared length over `cap` closes the connection
 * after the answer (as fastify does for its 413); a longer chunked body is cut off at `cap`.
 */
function boundUnreadBody(req: FastifyRequest, reply: FastifyReply, cap: number): void {
  const raw = req.raw;
  if (raw.complete || raw.readableEnded || raw.listenerCount('data') > 0) return;
  const declared = Number(req.headers['content-length']);
  if (!req.headers['transfer-encoding'] && !(declared > 0)) return;
  if (declared > cap) {
    reply.header('connection', 'close');
    return;
  }
  if (String(reply.getHeader('connection')).toLowerCase() === 'close') reply.removeHeader('connection');
  let seen = 0;
  raw.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > cap) raw.socket?.destroy();
  });
  raw.resume();
}

/** Maps fastify's own errors to our catalogue. */
function fastifyErrorCode(err: FastifyError): ErrorCode | null {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'BODY_TOO_LARGE';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'MALFORMED_JSON';
    default:
      break;
  }
  if (err.validation) return 'VALIDATION_FAILED';
  if (err instanceof SyntaxError) return 'MALFORMED_JSON';
  if (err.statusCode === 429) return 'RATE_LIMITED';
  if (err.statusCode === 404) return 'NOT_FOUND';
  if (err.statusCode === 413) return 'BODY_TOO_LARGE';
  if (err.statusCode === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return 'VALIDATION_FAILED';
  return null;
}

/** Builds the HTTP API (DESIGN §5) around the use cases; the caller owns listen/close. */
export async function buildApp(deps: AppDeps, opts: AppOptions = {}): Promise<FastifyInstance> {
  const largeBodyLimit = opts.bodyLimit ?? 16 * 1024 * 1024;
  const bodyLimit = Math.min(BODY_LIMIT_SINGLE, largeBodyLimit);
  const tls = opts.publicUrl ? new URL(opts.publicUrl).protocol === 'https:' : false;
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit,
    // First error only: with allErrors, ajv walks every item of an attacker-sized array (and the error list grows
    // with it). The answer still names the failing path and rule.
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
    return503OnClosing: true,
    // Errors fastify raises before routing (FST_ERR_BAD_URL: invalid percent-encoding such as %ff or an encoded
    // lone surrogate) skip setErrorHandler: answer them as problem+json with a code too.
    frameworkErrors: (err, _req, reply) => {
      const se =
        err.code === 'FST_ERR_BAD_URL'
          ? new ServiceError('MALFORMED_URL', 'Invalid percent-encoding in the URL')
          : new ServiceError('MALFORMED_REQUEST', err.message);
      void (reply as FastifyReply).code(se.status).type('application/problem+json').send(problemOf(se));
    },
    // Errors of the HTTP parser itself (URL or headers over Node's 16 KiB, timeouts, garbage): problem+json too.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const se =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? new ServiceError('HEADERS_TOO_LARGE')
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? new ServiceError('REQUEST_TIMEOUT')
            : new ServiceError('MALFORMED_REQUEST');
      const body = JSON.stringify(problemOf(se));
      if (socket.writable) {
        socket.write(
          `HTTP/1.1 ${se.status} ${STATUS_CODES[se.status]}\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
            `Connection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy(err);
    },
  });

  const metrics = new Metrics();
  metrics.counter('notary_http_requests_total', 'HTTP requests by route and status');
  metrics.counter('notary_records_submitted_total', 'Records accepted by the API');
  metrics.counter('notary_verifications_total', 'Receipt verifications served');

  const signing = recordSigningFor(deps.chain, deps.directory);
  const ctx: AppContext = {
    store: deps.store,
    chain: deps.chain,
    anchor: deps.anchor,
    rootSource: deps.rootSource,
    consortiumSecret: deps.consortiumSecret,
    confirmations: deps.confirmations ?? 1,
    auth: new AuthService(deps.store),
    records: new RecordService(deps.store, undefined, undefined, signing),
    prepare: new PreparePool(),
    queries: new QueryService(deps.store, deps.chain, deps.anchor),
    admin: new AdminService(deps.store, deps.provisionAccount, deps.rotateKey, deps.anchor, deps.directoryAdmin, (a) =>
      signing?.keys.forget(a),
    ),
    metrics,
    info: {
      version,
      chainId: deps.chain?.chainId ?? null,
      registry: deps.chain?.registry ?? null,
      claimRegistry: deps.chain?.claimRegistry ?? null,
      rpcUrl: withoutCredentials(deps.publicRpcUrl),
    },
  };

  app.addSchema(Problem);
  app.addHook('onClose', async () => ctx.prepare.close());

  app.setErrorHandler((err: FastifyError, req, reply) => {
    boundUnreadBody(req, reply, largeBodyLimit);
    let se: ServiceError;
    if (err instanceof ServiceError) se = err;
    else {
      const code = fastifyErrorCode(err);
      if (code === 'VALIDATION_FAILED' && err.validation) {
        se = new ServiceError(code, `Invalid request ${err.validationContext ?? ''}`.trim(), {
          errors: err.validation.slice(0, 20).map((v) => ({ path: v.instancePath, message: v.message ?? 'invalid' })),
        });
      } else if (code) se = new ServiceError(code, code === 'VALIDATION_FAILED' ? err.message : undefined);
      else {
        req.log.error({ err }, 'unhandled error');
        se = new ServiceError('INTERNAL', 'Internal Server Error');
      }
    }
    if (se.code === 'CHAIN_UNAVAILABLE' || se.code === 'CHAIN_BUSY') reply.header('retry-after', '5');
    return reply
      .code(se.status)
      .type('application/problem+json')
      .send({ ...problemOf(se), instance: req.url.split('?')[0] });
  });

  app.setNotFoundHandler((req, reply) => {
    const se = new ServiceError('NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`);
    boundUnreadBody(req, reply, largeBodyLimit);
    return reply.code(404).type('application/problem+json').send(problemOf(se));
  });

  app.addHook('onResponse', async (req, reply) => {
    metrics.inc('notary_http_requests_total', {
      method: req.method,
      route: req.routeOptions.url ?? 'unknown',
      status: reply.statusCode,
    });
  });

  await app.register(helmet, {
    // The web page and Swagger UI load only same-origin scripts and styles.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", ...(ctx.info.rpcUrl ? [new URL(ctx.info.rpcUrl).origin] : [])],
        // Over plain HTTP (an intranet host name) this would send every script and style request to https.
        upgradeInsecureRequests: tls ? [] : null,
      },
    },
    // HSTS only when clients reach the service over TLS (PUBLIC_URL=https://…); browsers ignore it over HTTP,
    // and on a host name also served over HTTP it would break that.
    strictTransportSecurity: tls ? { maxAge: 31_536_000, includeSubDomains: false } : false,
    // Both are ignored, with a console error, on an untrustworthy origin (plain HTTP under a host name).
    ...(tls ? {} : { crossOriginOpenerPolicy: false, originAgentCluster: false }),
  });
  // No route: answer before reading the body (the not-found handler would run after parsing it).
  app.addHook('onRequest', async (req) => {
    if (req.is404) throw new ServiceError('NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`);
  });
  await app.register(rateLimit, {
    max: opts.rateLimitMax ?? 6000,
    timeWindow: '1 minute',
    // Per API key for keys that authenticated recently, else per client address: a random or unknown key shares
    // its address's bucket. Decided in memory before the key is looked up (the limit runs before authentication).
    keyGenerator: (req) => ctx.auth.rateLimitKey(req.headers.authorization, req.ip),
    errorResponseBuilder: (_req, c) =>
      new ServiceError('RATE_LIMITED', `Rate limit exceeded, retry in ${Math.ceil(c.ttl / 1000)} s`),
  });
  // Every route: its body limit, and its authentication as an onRequest hook after the rate limit's (whether the
  // route lists `authenticate(...)` as onRequest or preHandler), so that an unauthenticated request costs O(1)
  // whatever its body: answered before the body is read, parsed or validated.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.some((m) => LARGE_BODY_ROUTES.has(`${m} ${route.url}`))) route.bodyLimit ??= largeBodyLimit;
    const list = (h: unknown): unknown[] => (h === undefined ? [] : Array.isArray(h) ? h : [h]);
    const pre = list(route.preHandler);
    const onReq = list(route.onRequest);
    const auth = [...onReq, ...pre].filter(isAuthHook);
    if (!auth.length) return;
    route.preHandler = pre.filter((h) => !isAuthHook(h)) as typeof route.preHandler;
    route.onRequest = [...onReq.filter((h) => !isAuthHook(h)), ...auth] as typeof route.onRequest;
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Ledger Notary API',
        version,
        description:
          'Notarization of business records on a permissioned EVM chain. Formats (digest, commitment, Merkle tree, receipt) are normative: see DESIGN.md §2. Errors are RFC 9457 problem details with a stable `code`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(async (scope) => {
    await recordRoutes(scope, ctx);
    await verifyRoutes(scope, ctx);
    await adminRoutes(scope, ctx);
    await opsRoutes(scope, ctx);
    for (const p of deps.plugins ?? []) await p(scope, ctx);
  });

  if (opts.web !== false) await app.register(webPlugin);
  return app;
}
