import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * Issue 11: `notary start` installs last-resort handlers (src/service/process-guards.ts). A stray rejected
 * promise is logged with its cause and the process keeps serving; an uncaught exception is logged with its
 * stack, the cleanup runs (bounded), and the process exits with code 1. Run in a child process: the handlers
 * are process-wide.
 */

const GUARDS = path.join(__dirname, '..', '..', 'src', 'service', 'process-guards.ts');

function runChild(body: string) {
  const script = `
    require('ts-node').register({ transpileOnly: true });
    const { installProcessGuards } = require(${JSON.stringify(GUARDS)});
    ${body}
  `;
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
}

describe('process guards (issue 11)', { timeout: 120_000 }, () => {
  it('an unhandled rejection is logged with its cause and the process keeps running', () => {
    const r = runChild(`
      installProcessGuards();
      Promise.reject(new Error('stray background failure', { cause: new Error('socket hang up') }));
      setTimeout(() => { console.log('still serving'); process.exit(0); }, 300);
    `);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /still serving/);
    assert.match(
      r.stderr,
      /unhandled promise rejection \(the service keeps running\): Error: stray background failure/,
    );
    assert.match(r.stderr, /caused by: Error: socket hang up/);
  });

  it('an uncaught exception is logged with its stack, the cleanup runs, and the process exits with code 1', () => {
    const r = runChild(`
      installProcessGuards({ onFatal: async () => { console.log('cleanup ran'); } });
      setTimeout(() => { throw new TypeError('state is now unknown'); }, 50);
      setTimeout(() => console.log('must not run'), 2000);
    `);
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      /uncaught exception \(uncaughtException\), exiting: TypeError: state is now unknown\n\s+at /,
    );
    assert.match(r.stdout, /cleanup ran/);
    assert.doesNotMatch(r.stdout, /must not run/);
  });

  it('a cleanup that hangs does not keep the process alive', () => {
    const r = runChild(`
      installProcessGuards({ onFatal: () => new Promise(() => setInterval(() => {}, 1000)), fatalTimeoutMs: 200 });
      setTimeout(() => { throw new Error('boom'); }, 10);
    `);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /exiting: Error: boom/);
  });
});
