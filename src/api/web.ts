import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Folder of the auditor web page (index.html, app.js, app.css); from dist/api, the sources' copy. */
export const PUBLIC_DIR = existsSync(path.join(__dirname, 'public'))
  ? path.join(__dirname, 'public')
  : path.join(__dirname, '..', '..', 'src', 'api', 'public');

// ethers' `exports` map does not expose dist/, so find the package folder from its main entry.
function ethersUmdPath(): string {
  let dir = path.dirname(require.resolve('ethers'));
  for (let i = 0; i < 5 && !existsSync(path.join(dir, 'dist', 'ethers.umd.min.js')); i++) dir = path.dirname(dir);
  const file = path.join(dir, 'dist', 'ethers.umd.min.js');
  if (!existsSync(file)) throw new Error(`ethers UMD bundle not found at ${file}`);
  return file;
}

interface VendorFile {
  body: Buffer;
  etag: string;
}

function vendor(body: string | Buffer): VendorFile {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  return { body: buf, etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 27)}"` };
}

/** The `canonicalize` package's CommonJS file, unchanged, exposed as `window.canonicalize`. */
export function canonicalizeBrowserSource(): string {
  const src = readFileSync(require.resolve('canonicalize'), 'utf8');
  return `(function (module) {\n${src}\n;window.canonicalize = module.exports;\n})({ exports: {} });\n`;
}

// A week: vendor files change only with a dependency bump; the ETag revalidates after that.
const VENDOR_CACHE = 'public, max-age=604800';

/**
 * The auditor web page (DESIGN §5, `/`): static files from src/api/public plus two vendor scripts, ethers' UMD
 * bundle and the `canonicalize` package wrapped for the browser. All routes are hidden from the OpenAPI document.
 * The page calls the chain's JSON-RPC directly only if the app's CSP `connect-src` allows the RPC origin.
 */
export async function webPlugin(app: FastifyInstance): Promise<void> {
  const files: Record<string, VendorFile> = {
    'ethers.umd.min.js': vendor(readFileSync(ethersUmdPath())),
    'canonicalize.js': vendor(canonicalizeBrowserSource()),
  };

  for (const [name, file] of Object.entries(files)) {
    app.get(`/vendor/${name}`, { schema: { hide: true } }, async (req, reply) => {
      reply.header('cache-control', VENDOR_CACHE).header('etag', file.etag).type('text/javascript; charset=utf-8');
      if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
      return reply.send(file.body);
    });
  }

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
