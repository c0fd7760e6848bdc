import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

// The verifier published alone: scripts/build-verifier-package.cjs builds @ledger-notary/verifier, `npm pack`
// packs it, and the tarball is installed into an empty folder (from the npm cache: offline, or preferring the
// cache when it lacks some metadata). There, a plain node script verifies the golden receipts the way
// test/verifier/golden.test.ts does (the chain facts recorded with them feed a MemoryRootSource).
const ROOT = path.join(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'receipts', 'v1');
const NAME = '@ledger-notary/verifier';

const CHECK = `'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { verifyReceipt, MemoryRootSource } = require('${NAME}');
const { computeCommitment, digestPayload } = require('${NAME}/domain');
const dir = process.argv[2];
const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
const state = read('chain-state.json');
const expectations = read('expectations.json');
const source = () => {
  const s = new MemoryRootSource();
  for (const [root, a] of Object.entries(state.anchors)) s.set({ chainId: state.chainId, registry: state.registry, root }, a);
  for (const [txHash, tx] of Object.entries(state.transactions))
    s.setTransaction({ chainId: state.chainId, registry: state.registry, txHash }, tx);
  return s;
};
(async () => {
  const out = {};
  for (const f of fs.readdirSync(dir).filter((x) => /^(valid|tampered)-/.test(x)).sort()) {
    const r = read(f);
    const exp = expectations[f];
    const payload = exp ? (exp.withPayload ? state.payloads[read(exp.base).record.id] : undefined) : state.payloads[r.record.id];
    const v = await verifyReceipt(r, { payload, rootSource: source() });
    out[f] = { valid: v.valid, failed: v.checks.filter((c) => c.status === 'failed').map((c) => c.name) };
  }
  const first = read('valid-document.json');
  out.primitives = {
    commitment: computeCommitment({ recordId: first.record.id, orgId: first.record.orgId, type: first.record.type,
      digest: first.record.digest, salt: first.record.salt, parents: first.record.parents }) === first.commitment,
    digest: digestPayload(state.payloads[first.record.id]) === first.record.digest,
  };
  out.resolvedFrom = require.resolve('${NAME}');
  console.log(JSON.stringify(out));
})();
`;

describe('the standalone verifier package', () => {
  let work: string;
  let app: string;
  let installMode = '';
  let tarball = '';

  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'notary-verifier-pkg-'));
    const out = path.join(work, 'package');
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-verifier-package.cjs'), '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], {
      cwd: out,
      encoding: 'utf8',
    });
    tarball = path.join(work, packed.trim().split('\n').pop()!);
    // An empty project of its own (with a package.json, so npm does not climb to a parent folder).
    app = path.join(work, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), '{ "name": "receipt-check", "private": true }\n');
    const install = (mode: string) =>
      spawnSync('npm', ['install', mode, '--no-audit', '--no-fund', '--no-save', tarball], {
        cwd: app,
        encoding: 'utf8',
      });
    let r = install('--offline');
    installMode = '--offline';
    if (r.status !== 0 && /ENOTCACHED/.test(r.stderr)) {
      console.log('npm cache lacks some metadata: installing with --prefer-offline');
      r = install('--prefer-offline');
      installMode = '--prefer-offline';
    }
    assert.equal(r.status, 0, `npm install ${installMode} failed:\n${r.stdout}\n${r.stderr}`);
    writeFileSync(path.join(app, 'check.cjs'), CHECK);
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('has its own package.json, types and only the dependencies it uses', () => {
    const pkg = JSON.parse(readFileSync(path.join(app, 'node_modules', ...NAME.split('/'), 'package.json'), 'utf8'));
    assert.equal(pkg.name, NAME);
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['canonicalize', 'ethers', 'hash-wasm', 'typebox']);
    assert.equal(pkg.devDependencies, undefined);
    const dir = path.join(app, 'node_modules', ...NAME.split('/'));
    for (const f of ['lib/verifier/index.js', 'lib/verifier/index.d.ts', 'lib/domain/index.d.ts', 'formats.md']) {
      assert.ok(existsSync(path.join(dir, f)), `${f} is in the package`);
    }
    const installed = readdirSync(path.join(app, 'node_modules'));
    for (const banned of ['typeorm', 'fastify', '@fastify', 'hardhat', '@nomicfoundation', 'pg', 'better-sqlite3']) {
      assert.ok(!installed.includes(banned), `${banned} was installed (${installed.join(', ')})`);
    }
    console.log(`installed with npm install ${installMode}: ${installed.join(', ')}`);
  });

  it('verifies the golden receipts in the empty folder, exactly as the repository does', () => {
    const out = execFileSync(process.execPath, ['check.cjs', FIXTURES], { cwd: app, encoding: 'utf8' });
    const got = JSON.parse(out) as Record<string, { valid: boolean; failed: string[] }> & {
      primitives: { commitment: boolean; digest: boolean };
      resolvedFrom: string;
    };
    assert.ok(got.resolvedFrom.startsWith(path.join(app, 'node_modules')), got.resolvedFrom);
    assert.deepEqual(got.primitives, { commitment: true, digest: true });
    const expectations = JSON.parse(readFileSync(path.join(FIXTURES, 'expectations.json'), 'utf8')) as Record<
      string,
      { failed: string[] }
    >;
    const files = readdirSync(FIXTURES).filter((f) => /^(valid|tampered)-/.test(f));
    assert.ok(files.length >= 20);
    for (const f of files) {
      if (f.startsWith('valid-')) assert.deepEqual(got[f], { valid: true, failed: [] }, f);
      else assert.deepEqual(got[f], { valid: false, failed: expectations[f]!.failed }, f);
    }
  });
});
