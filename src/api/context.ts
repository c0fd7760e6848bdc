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

/** Everything the routes use, built once by `buildApp`. */
export interface AppContext {
  store: Store;
  chain?: ChainPort;
  anchor?: AnchorService;
  rootSource?: RootSource;
  /** Consortium secret of the invoice keys (DESIGN §2.5); never served. */
  consortiumSecret?: string;
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

/** preHandler factory: authenticates the Bearer key and requires one of `scopes` (none: any valid key). */
export function authenticate(ctx: AppContext, ...scopes: Scope[]) {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    req.principal = await ctx.auth.authenticate(req.headers.authorization);
    if (scopes.length) AuthService.require(req.principal, ...scopes);
  };
}
