import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

// scripts/test-all.cjs (npm test, npm run test:service): every selection runs what it names, and a selection
// it does not know is refused instead of running nothing and exiting green.
const ROOT = path.join(__dirname, '..', '..');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'test-all.cjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });

describe('scripts/test-all.cjs', () => {
  for (const bad of [['--only', 'servce'], ['--only'], ['--only='], ['--only', 'unit'], ['--frobnicate']]) {
    it(`refuses ${bad.join(' ')} with exit code 2 and a message, running nothing`, () => {
      const r = run(...bad);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /^test-all: .+\nusage: /);
      assert.doesNotMatch(r.stdout, /=== /, 'no stage ran');
    });
  }

  it('--only service runs exactly the test files of test/service', () => {
    const r = run('--only', 'service', '--list');
    assert.equal(r.status, 0, r.stderr);
    const listed = r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.endsWith('.test.ts'));
    const expected = readdirSync(path.join(ROOT, 'test', 'service'))
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => `test/service/${f}`)
      .sort();
    assert.ok(expected.length > 0);
    assert.deepEqual(listed, expected);
    assert.doesNotMatch(r.stdout, /=== lint|=== contracts/, 'neither lint nor the contract tests');
  });

  it('--only contracts runs the Hardhat tests and no node tests; --only node every node test', () => {
    const c = run('--only', 'contracts', '--list');
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /=== contracts \(hardhat test\)/);
    assert.doesNotMatch(c.stdout, /=== node tests/);
    const n = run('--only', 'node', '--list');
    assert.equal(n.status, 0, n.stderr);
    assert.doesNotMatch(n.stdout, /=== contracts/);
    assert.match(n.stdout, /test\/web\/verifier\.test\.ts/);
    assert.doesNotMatch(n.stdout, /test\/contracts\//);
  });
});
