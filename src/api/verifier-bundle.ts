import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// The auditor page's verifier: src/verifier/browser.ts (src/domain + src/verifier and the parts of ethers,
// TypeBox and canonicalize they use) bundled by esbuild into one IIFE script that defines
// `window.NotaryVerifier`. Built on demand — at app start when missing or older than its sources (so `npm start`
// and the tests always serve the current code), and by `npm run build` (scripts/build-verifier-bundle.cjs) — into
// dist/web/, which the app serves as /notary-verifier.js.

/** Repository root (this file is src/api/verifier-bundle.ts or, built, dist/src/api/verifier-bundle.js). */
function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 5 && !existsSync(path.join(dir, 'package.json')); i++) dir = path.dirname(dir);
  return dir;
}

const ROOT = repoRoot();
export const VERIFIER_ENTRY = path.join(ROOT, 'src', 'verifier', 'browser.ts');
export const VERIFIER_BUNDLE = path.join(ROOT, 'dist', 'web', 'notary-verifier.js');

// What the bundle is made of: a change in any of these makes it stale.
function inputs(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) files.push(p);
    }
  };
  walk(path.join(ROOT, 'src', 'domain'));
  walk(path.join(ROOT, 'src', 'verifier'));
  files.push(__filename);
  for (const dep of ['ethers', 'typebox', 'canonicalize', 'hash-wasm']) {
    files.push(path.join(ROOT, 'node_modules', dep, 'package.json'));
  }
  return files.filter((f) => existsSync(f));
}

/** True when the bundle is missing or older than one of its inputs (false when the sources are not shipped). */
export function isVerifierBundleStale(): boolean {
  if (!existsSync(VERIFIER_BUNDLE)) return true;
  if (!existsSync(VERIFIER_ENTRY)) return false;
  const built = statSync(VERIFIER_BUNDLE).mtimeMs;
  return inputs().some((f) => statSync(f).mtimeMs > built);
}

/** Bundles the verifier for browsers into {@link VERIFIER_BUNDLE} (atomically: concurrent builds are safe). */
export function buildVerifierBundle(): { file: string; bytes: number } {
  if (!existsSync(VERIFIER_ENTRY)) {
    throw new Error(`cannot build the web verifier: ${VERIFIER_ENTRY} not found`);
  }
  // Required here, not at the top: serving an existing bundle needs no bundler.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const result = esbuild.buildSync({
    entryPoints: [VERIFIER_ENTRY],
    absWorkingDir: ROOT,
    bundle: true,
    format: 'iife',
    globalName: 'NotaryVerifier',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    logLevel: 'silent',
    banner: { js: '/* Ledger Notary verifier (src/domain + src/verifier), bundled for the auditor page. */' },
  });
  const code = result.outputFiles[0]!.contents;
  mkdirSync(path.dirname(VERIFIER_BUNDLE), { recursive: true });
  const tmp = `${VERIFIER_BUNDLE}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, VERIFIER_BUNDLE);
  return { file: VERIFIER_BUNDLE, bytes: code.byteLength };
}

/** The bundle's bytes, built first when missing or stale. Throws if it can be neither built nor found. */
export function verifierBundle(): Buffer {
  if (isVerifierBundleStale()) buildVerifierBundle();
  return readFileSync(VERIFIER_BUNDLE);
}
