#!/usr/bin/env node
// `npm start` / `notary`: compiles the contracts (and their typechain types) when they are missing or
// older than the sources, then runs the TypeScript entry point through ts-node (transpile-only).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function newest(dir) {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

function ensureCompiled() {
  const marker = path.join(root, 'typechain-types', 'index.ts');
  const built = fs.existsSync(marker) ? fs.statSync(marker).mtimeMs : 0;
  if (built && built >= newest(path.join(root, 'contracts'))) return;
  process.stderr.write('[notary] compiling contracts (first run)…\n');
  const r = spawnSync(
    process.execPath,
    [require.resolve('hardhat/internal/cli/cli', { paths: [root] }), 'compile', '--quiet'],
    {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  if (r.status !== 0) {
    process.stderr.write('[notary] contract compilation failed\n');
    process.exit(1);
  }
}

ensureCompiled();
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = path.join(root, 'tsconfig.json');
// NOTARY_TS_LOADER (set by scripts/test-all.cjs for the node tests, never needed otherwise): a module that
// registers a .ts loader instead of ts-node — the tests' esbuild transform (scripts/lib/ts-register.cjs), which
// runs the same sources transpile-only without ~2 s of TypeScript compiler per start.
if (process.env.NOTARY_TS_LOADER) require(path.resolve(process.env.NOTARY_TS_LOADER));
else require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
require(path.join(root, 'src', 'cli', 'main.ts'));
