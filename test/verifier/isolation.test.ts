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
});
