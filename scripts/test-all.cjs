#!/usr/bin/env node
// The whole suite in one command: compile, type-check, lint, contract tests (hardhat/mocha), then the
// TypeScript tests (node:test, transpiled by esbuild: scripts/lib/ts-register.cjs). Ends with one line CI reads:
//   tests: N passed, N failed, N skipped
// Usage: node scripts/test-all.cjs [--only contracts|node|service] [--no-typecheck] [test files...]
//   --only contracts  the Hardhat contract tests
//   --only node       every node:test file under test/ (all but test/contracts)
//   --only service    the node:test files under test/service
// (--no-typecheck also skips lint; --only skips lint). --list prints the stages and test files that would run,
// and runs nothing. An unknown option or --only value exits 2.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { buildWorkerBundle, removeWorkerBundle } = require('./lib/worker-bundle.cjs');

const root = path.resolve(__dirname, '..');
const ONLY = { contracts: 'contract tests', node: 'node tests', service: 'node tests of test/service' };
const args = process.argv.slice(2);

function usage(problem) {
  console.error(`test-all: ${problem}`);
  console.error(
    `usage: node scripts/test-all.cjs [--only ${Object.keys(ONLY).join('|')}] [--no-typecheck] [--list] [test files...]`,
  );
  process.exit(2);
}

let only;
const explicitFiles = [];
let skipTypecheck = false;
let listOnly = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--only' || a.startsWith('--only=')) {
    const v = a === '--only' ? args[++i] : a.slice('--only='.length);
    if (v === undefined || v === '') usage('--only needs a value');
    if (!Object.prototype.hasOwnProperty.call(ONLY, v)) usage(`unknown --only value ${JSON.stringify(v)}`);
    if (only !== undefined && only !== v) usage('--only given twice');
    only = v;
  } else if (a === '--no-typecheck') skipTypecheck = true;
  else if (a === '--list') listOnly = true;
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else explicitFiles.push(a);
}
if (only === 'contracts' && explicitFiles.length) usage('test files cannot be combined with --only contracts');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const totals = { passed: 0, failed: 0, skipped: 0 };
let stageFailed = false;

function run(label, cmd, cmdArgs, opts = {}) {
  process.stdout.write(`\n=== ${label}\n`);
  if (listOnly) {
    const shown = cmd.startsWith(root + path.sep) ? path.relative(root, cmd) : cmd;
    process.stdout.write(`${[shown, ...cmdArgs].join('\n  ')}\n`);
    return { status: 0, out: '' };
  }
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

// 4. domain, verifier, service, API, CLI tests (node:test; TypeScript transpiled by esbuild)
if (!only || only === 'node' || only === 'service') {
  const files = explicitFiles.length
    ? explicitFiles
    : only === 'service'
      ? listTests(path.join(root, 'test', 'service'))
      : listTests(path.join(root, 'test')).filter((f) => !f.startsWith(`test${path.sep}contracts${path.sep}`));
  if (!files.length) {
    // Running nothing must not look like a green run.
    console.log(`\n!!! no test files found for ${only ? ONLY[only] : 'the node tests'}`);
    stageFailed = true;
  } else {
    // The anchoring worker process every test instance forks (WORKER=process, the default) loads this run's
    // src/cli/worker.ts bundled to plain JavaScript, built now from the working tree (scripts/lib/worker-bundle.cjs).
    process.stdout.write('\n=== worker bundle (esbuild src/cli/worker.ts)\n');
    let bundle;
    if (!listOnly) {
      try {
        bundle = buildWorkerBundle();
      } catch (err) {
        console.log(`!!! building the worker bundle failed: ${err.message}`);
        stageFailed = true;
        finish();
      }
    }
    const tsRegister = path.join(root, 'scripts', 'lib', 'ts-register.cjs');
    let r;
    try {
      r = run(
        'node tests (node --test)',
        process.execPath,
        // TypeScript through esbuild, file by file (scripts/lib/ts-register.cjs): what ts-node did here in
        // transpile-only mode, without the TypeScript compiler in every test process; the typecheck stage above
        // checks the types. The servers and CLI runs the tests start (scripts/start.cjs) use the same loader
        // (NOTARY_TS_LOADER); other processes they start with ts-node still use ts-node.
        ['--require', tsRegister, '--test', '--test-reporter=spec', ...files],
        {
          env: {
            TS_NODE_TRANSPILE_ONLY: 'true',
            NOTARY_TS_LOADER: tsRegister,
            ...(bundle ? { NOTARY_WORKER_BUNDLE: bundle } : {}),
          },
        },
      );
    } finally {
      if (bundle) removeWorkerBundle(bundle);
    }
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
