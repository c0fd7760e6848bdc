// The anchoring worker's entry (src/cli/worker.ts) bundled by esbuild into one CommonJS file, packages left
// external (resolved from node_modules at run time, native ones included). scripts/test-all.cjs builds it from the
// working tree right before the node tests and names it to them in NOTARY_WORKER_BUNDLE, so every worker process
// a test forks loads plain JavaScript instead of ts-node + TypeScript (src/cli/worker-process.ts).
// Never stale: one file per run (the run's pid in its name), built from the sources as they are at that moment,
// removed when the run ends; no other command reads it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
/** Inside the tree so that its `require('typeorm')` etc. resolve from node_modules; git ignores it. */
const dir = path.join(root, '.test-build');

function buildWorkerBundle(tag = String(process.pid)) {
  const esbuild = require('esbuild');
  const outfile = path.join(dir, `worker-${tag}.js`);
  fs.mkdirSync(dir, { recursive: true });
  esbuild.buildSync({
    entryPoints: [path.join(root, 'src', 'cli', 'worker.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    tsconfig: path.join(root, 'tsconfig.json'),
    sourcemap: true, // worker-<tag>.js.map beside it (node --enable-source-maps shows TypeScript lines)
    logLevel: 'error',
  });
  // A module that finds files next to itself would look in .test-build/ once bundled: refuse rather than run a
  // worker that differs from the one `npm start` forks.
  const code = fs.readFileSync(outfile, 'utf8');
  const m = /\b__(dirname|filename)\b/.exec(code);
  if (m) {
    removeWorkerBundle(outfile);
    throw new Error(`the worker's modules use ${m[0]}: bundled, it would point at ${dir}`);
  }
  return outfile;
}

function removeWorkerBundle(file) {
  for (const f of [file, `${file}.map`]) fs.rmSync(f, { force: true });
  try {
    fs.rmdirSync(dir); // only when no other run's bundle is there
  } catch {
    /* not empty or gone */
  }
}

module.exports = { buildWorkerBundle, removeWorkerBundle };
