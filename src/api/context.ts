import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RootSource } from '../verifier';
import type { AdminService } from '../service/admin';
import type { AnchorService } from '../service/anchoring';
import { AuthService, type Principal } from '../service/auth';
import type { ChainPort } from '../service/chain-port';
import type { Scope, Store } from '../service/ports';
import type { QueryService } from '../service/queries';
import type { RecordService } from '../service/records';
import type { PreparePool } from '../service/prepare-pool';
import type { Metrics } from './metrics';

/**
 * What the routes read from the anchoring worker: the worker itself (WORKER=inline) or the supervisor of the worker
 * process (WORKER=process), which mirrors the worker's state from its heartbeats.
 */
export type AnchorView = Pick<
  AnchorService,
  'lastError' | 'blocked' | 'stats' | 'chainHealthy' | 'blockedOf' | 'holding'
>;

/** Everything the routes use, built once by `buildApp`. */
export interface AppContext {
  store: Store;
  chain?: ChainPort;
  anchor?: AnchorView;
  rootSource?: RootSource;
  /** Consortium secret of the invoice keys (DESIGN §2.5); never served. */
  consortiumSecret?: string;
  /** CONFIRMATIONS: blocks on the canonical chain before a chain transaction counts. */
  confirmations: number;
  auth: AuthService;
  records: RecordService;
  /** Prepares batch bodies (parse, checks, JCS, hashes), on a worker thread when they are large. */
  prepare: PreparePool;
  queries: QueryService;
  admin: AdminService;
  metrics: Metrics;
  info: {
    version: string;
    chainId: number | null;
    registry: string | null;
    claimRegistry: string | null;
    rpcUrl: string | null;
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Marks the hooks made by {@link authenticate} (buildApp moves them to `onRequest`, after the rate limit). */
export const AUTH_HOOK = Symbol('ledger-notary.authenticate');

export type AuthHook = ((req: FastifyRequest, reply: FastifyReply) => Promise<void>) & { [AUTH_HOOK]: true };

export const isAuthHook = (f: unknown): f is AuthHook =>
  typeof f === 'function' && (f as Partial<AuthHook>)[AUTH_HOOK] === true;

/**
 * Hook factory: authenticates the Bearer key and requires one of `scopes` (none: any valid key). Routes may list
 * it as `onRequest` or `preHandler`: buildApp runs it as an `onRequest` hook either way (right after the rate
 * limit), so an unauthenticated request is answered before its body is read, parsed or validated.
 */
export function authenticate(ctx: AppContext, ...scopes: Scope[]): AuthHook {
  const hook = async (req: FastifyRequest, _reply: FastifyReply) => {
    req.principal = await ctx.auth.authenticate(req.headers.authorization);
    if (scopes.length) AuthService.require(req.principal, ...scopes);
  };
  return Object.assign(hook, { [AUTH_HOOK]: true as const });
}
