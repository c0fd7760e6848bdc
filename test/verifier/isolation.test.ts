import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

describe('src/verifier', () => {
  describe('when required on its own in a fresh process', () => {
    it('loads neither typeorm nor fastify (nor hardhat)', () => {
      const root = path.join(__dirname, '..', '..');
      const out = execFileSync(
        process.execPath,
        [
          '-r',
          'ts-node/register',
          '-e',
          "require('./src/verifier'); console.log(JSON.stringify(Object.keys(require.cache)))",
        ],
        { cwd: root, encoding: 'utf8' },
      );
      const loaded = JSON.parse(out) as string[];
      assert.ok(
        loaded.some((p) => p.includes(`${path.sep}src${path.sep}verifier${path.sep}`)),
        'verifier was loaded',
      );
      const offending = loaded.filter((p) => /node_modules[\\/](typeorm|fastify|@fastify|hardhat)[\\/]/.test(p));
      assert.deepEqual(offending, []);
    });
  });

  describe('when imported', () => {
    it('does no work: no WebAssembly compiled, no timer, socket or file handle left open', () => {
      const root = path.join(__dirname, '..', '..');
      const script = `
        const calls = [];
        for (const k of ['compile', 'instantiate', 'compileStreaming', 'instantiateStreaming']) {
          const orig = WebAssembly[k];
          WebAssembly[k] = function (...a) { calls.push(k); return orig.apply(this, a); };
        }
        const before = process.getActiveResourcesInfo();
        const v = require('./src/verifier');
        const hashing = require('./src/domain/hashing');
        setImmediate(() => setTimeout(() => {
          const extra = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
          console.log(JSON.stringify({ calls, fast: hashing.isFastHashingReady(), before: before.length, extra,
            exports: typeof v.verifyReceipt }));
        }, 50));`;
      const out = execFileSync(process.execPath, ['-r', 'ts-node/register', '-e', script], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
      });
      const got = JSON.parse(out.trim().split('\n').pop()!) as {
        calls: string[];
        fast: boolean;
        before: number;
        extra: string[];
        exports: string;
      };
      assert.equal(got.exports, 'function');
      assert.deepEqual(got.calls, [], 'no WebAssembly compiled at import');
      assert.equal(got.fast, false, 'the WASM keccak starts only with initHashing()');
      assert.equal(got.extra.length, got.before, `handles opened at import: ${got.extra.join(', ')}`);
    });
  });
});
