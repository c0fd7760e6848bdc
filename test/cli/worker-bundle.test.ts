import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WORKER_BUNDLE_ENV, WorkerProcess, withoutTsNode } from '../../src/cli/worker-process';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildWorkerBundle, removeWorkerBundle } = require('../../scripts/lib/worker-bundle.cjs') as {
  buildWorkerBundle(tag?: string): string;
  removeWorkerBundle(file: string): void;
};

/** The worker entry test runs fork (scripts/test-all.cjs): src/cli/worker.ts bundled, no ts-node in the child. */
describe('worker bundle (NOTARY_WORKER_BUNDLE)', () => {
  it('drops only the ts-node require from execArgv', () => {
    const tsNode = '/x/node_modules/ts-node/register';
    assert.deepEqual(withoutTsNode(['--require', tsNode, '--enable-source-maps']), ['--enable-source-maps']);
    assert.deepEqual(withoutTsNode(['-r', 'ts-node/register', `--require=${tsNode}`]), []);
    assert.deepEqual(withoutTsNode(['--require', './other.js', '--inspect']), ['--require', './other.js', '--inspect']);
  });

  const file = buildWorkerBundle(`unit-${process.pid}`);
  after(() => removeWorkerBundle(file));

  it('is what WorkerProcess forks when named, as plain node, and it loads', async () => {
    const prev = process.env[WORKER_BUNDLE_ENV];
    process.env[WORKER_BUNDLE_ENV] = file;
    const child = WorkerProcess.fork();
    if (prev === undefined) delete process.env[WORKER_BUNDLE_ENV];
    else process.env[WORKER_BUNDLE_ENV] = prev;
    try {
      assert.ok(child.spawnargs.includes(file), child.spawnargs.join(' '));
      assert.ok(!child.spawnargs.some((a) => a.includes('ts-node')), child.spawnargs.join(' '));
      // Loaded, it answers `stop` before `init` by exiting 0 (a bundle that fails to load exits 1 with the error).
      const exited = once(child, 'exit');
      child.send({ t: 'stop' });
      const [code] = await exited;
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
