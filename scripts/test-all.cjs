#!/usr/bin/env node
// The whole suite in one command: compile, type-check, lint, contract tests (hardhat/mocha), then the
// TypeScript tests (node:test + ts-node). Ends with one line CI reads:
//   tests: N passed, N failed, N skipped
// Usage: node scripts/test-all.cjs [--only contracts|node] [--no-typecheck] [test files...]
// (--no-typecheck also skips lint; --only skips lint)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const skipTypecheck = args.includes('--no-typecheck');
const explicitFiles = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--only');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const totals = { passed: 0, failed: 0, skipped: 0 };
let stageFailed = false;

function run(label, cmd, cmdArgs, opts = {}) {
  process.stdout.write(`\n=== ${label}\n`);
  const res = spawnSync(cmd, cmdArgs, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    env: { ...process.env, ...opts.env },
  });
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  process.stdout.write(out);
  return { status: res.status ?? 1, out };
}

function finish() {
  const failed = totals.failed + (stageFailed && totals.failed === 0 ? 1 : 0);
  console.log(`\ntests: ${totals.passed} passed, ${failed} failed, ${totals.skipped} skipped`);
  process.exit(failed > 0 || stageFailed ? 1 : 0);
}

function listTests(dir) {
  const out = [];
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTests(p));
    else if (entry.name.endsWith('.test.ts')) out.push(path.relative(root, p));
  }
  return out.sort();
}

// 1. compile (also generates typechain types the TypeScript code imports)
if (run('compile', bin('hardhat'), ['compile', '--quiet']).status !== 0) {
  stageFailed = true;
  finish();
}

// 2. type-check everything
if (!skipTypecheck) {
  if (run('typecheck', bin('tsc'), ['--noEmit', '-p', '.']).status !== 0) {
    stageFailed = true;
    finish();
  }
}

// 2b. lint: eslint, solhint and prettier must be clean (`npm run lint`)
if (!skipTypecheck && !only) {
  if (run('lint', 'npm', ['run', '--silent', 'lint']).status !== 0) {
    stageFailed = true;
    finish();
  }
}

// 3. contract tests (hardhat's mocha)
if (!only || only === 'contracts') {
  const r = run('contracts (hardhat test)', bin('hardhat'), ['test', '--no-compile']);
  const num = (re) => Number((r.out.match(re) || [0, 0])[1]);
  totals.passed += num(/(\d+) passing/);
  totals.failed += num(/(\d+) failing/);
  totals.skipped += num(/(\d+) pending/);
  if (r.status !== 0 && num(/(\d+) failing/) === 0) stageFailed = true;
}

// 4. domain, verifier, service, API, CLI tests (node:test + ts-node)
if (!only || only === 'node') {
  const files = explicitFiles.length
    ? explicitFiles
    : listTests(path.join(root, 'test')).filter((f) => !f.startsWith(`test${path.sep}contracts${path.sep}`));
  if (files.length) {
    const r = run(
      'node tests (node --test)',
      process.execPath,
      ['--require', 'ts-node/register', '--test', '--test-reporter=spec', ...files],
      { env: { TS_NODE_TRANSPILE_ONLY: 'true' } },
    );
    const num = (re) => Number((r.out.match(re) || [0, 0])[1]);
    totals.passed += num(/ℹ pass (\d+)/);
    totals.failed += num(/ℹ fail (\d+)/);
    totals.skipped += num(/ℹ skipped (\d+)/) + num(/ℹ todo (\d+)/);
    if (r.status !== 0 && num(/ℹ fail (\d+)/) === 0) stageFailed = true;
    if (/PostgreSQL tests SKIPPED/.test(r.out)) {
      console.log(
        '\n!!! PostgreSQL was not reachable: the PostgreSQL half of the suite was SKIPPED (set TEST_DATABASE_URL).',
      );
    }
  }
}

finish();
