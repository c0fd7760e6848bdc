import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config';

/** WORKER: where the anchoring worker runs (issue 18: its own process by default). */
describe('WORKER setting', () => {
  const of = (v?: string) => {
    const c = loadConfig(v === undefined ? {} : { WORKER: v });
    return [c.worker, c.workerMode];
  };
  it('defaults to a child process; inline and false as before', () => {
    assert.deepEqual(of(), [true, 'process']);
    assert.deepEqual(of(''), [true, 'process']);
    assert.deepEqual(of('process'), [true, 'process']);
    assert.deepEqual(of('true'), [true, 'process']);
    assert.deepEqual(of('inline'), [true, 'inline']);
    assert.equal(of('false')[0], false);
  });
  it('refuses anything else, naming the variable', () => {
    assert.throws(
      () => loadConfig({ WORKER: 'thread' }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /^WORKER must be process, inline or false, got "thread"$/);
        return true;
      },
    );
  });
});
