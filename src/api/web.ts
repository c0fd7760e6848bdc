import { createHash } from 'node:crypto';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { VERIFIER_ENTRY, verifierBundle } from './verifier-bundle';

/** Folder of the auditor web page (index.html, app.js, app.css): the sources' copy, also for a dist/ build. */
export const PUBLIC_DIR = path.join(path.dirname(VERIFIER_ENTRY), '..', 'api', 'public');

interface ServedFile {
  body: Buffer;
  etag: string;
}

function served(body: Buffer): ServedFile {
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

// The bundle changes with each release of the verifier: always revalidate (cheap: ETag).
const BUNDLE_CACHE = 'no-cache';

/**
 * The auditor web page (DESIGN §5, `/`): static files from src/api/public plus /notary-verifier.js, the
 * src/domain + src/verifier code bundled for browsers (src/api/verifier-bundle.ts; built here when missing or
 * stale), so the page checks digest, commitment, Merkle proof and receipt format with the service's own code.
 * Everything is same-origin (CSP `script-src 'self'`). All routes are hidden from the OpenAPI document.
 * The page calls the chain's JSON-RPC directly only if the app's CSP `connect-src` allows the RPC origin.
 */
export async function webPlugin(app: FastifyInstance): Promise<void> {
  const bundle = served(verifierBundle());
  app.get('/notary-verifier.js', { schema: { hide: true } }, async (req, reply) => {
    reply.header('cache-control', BUNDLE_CACHE).header('etag', bundle.etag).type('text/javascript; charset=utf-8');
    if (req.headers['if-none-match'] === bundle.etag) return reply.code(304).send();
    return reply.send(bundle.body);
  });

  await app.register(fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: '/',
    index: ['index.html'],
    wildcard: false,
    decorateReply: false,
    schemaHide: true,
    // The page is small and changes with releases: always revalidate (ETag / Last-Modified).
    cacheControl: true,
    maxAge: 0,
  });
}
