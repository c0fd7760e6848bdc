// `--require scripts/lib/ts-register.cjs`: loads .ts files by transpiling each one with esbuild (transform only,
// file by file, the tsconfig's options), for the node tests of scripts/test-all.cjs. It does what
// `ts-node/register` does there with TS_NODE_TRANSPILE_ONLY (no type check: test-all runs `tsc --noEmit` first),
// without loading the TypeScript compiler into every test process (~2 s of CPU per process through ts-node).
// Stack traces point at the TypeScript lines (inline source maps, process.setSourceMapsEnabled).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const tsconfig = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'tsconfig.json'), 'utf8'));
const tsconfigRaw = { compilerOptions: tsconfig.compilerOptions };

process.setSourceMapsEnabled(true);
require.extensions['.ts'] = function loadTs(module, filename) {
  const { code } = esbuild.transformSync(fs.readFileSync(filename, 'utf8'), {
    loader: 'ts',
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcefile: filename,
    sourcemap: 'inline',
    tsconfigRaw,
    // `import()` becomes a require, as tsc does for CommonJS (a directory or extensionless import then resolves).
    supported: { 'dynamic-import': false },
  });
  module._compile(code, filename);
};
