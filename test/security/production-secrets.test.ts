import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConfigError,
  DEV_CONSORTIUM_SECRET,
  DEV_KEYSTORE_PASSWORD,
  assertProductionSecrets,
  loadConfig,
} from '../../src/config';
import { freePort } from '../../src/chain/anvil';

/**
 * Issue 11: outside the embedded default (RPC_URL or DATABASE_URL set) the service refuses to start with the
 * development secrets: an empty or development KEYSTORE_PASSWORD, scrypt N below 2^17, an unset, development
 * or short CONSORTIUM_SECRET. One line naming the variable, exit code 1, nothing touched. `npm start` with no
 * settings is unchanged.
 */

const ROOT = path.join(__dirname, '..', '..');
const GOOD = {
  KEYSTORE_PASSWORD: 'a long operator password, not in the repository',
  KEYSTORE_SCRYPT_N: '131072',
  CONSORTIUM_SECRET: 'x'.repeat(32),
};
const RPC = { RPC_URL: 'http://127.0.0.1:1', DEPLOYMENT_FILE: '/nonexistent/deployment.json' };
const PG = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' };

/** [what, environment, the variable the refusal must name] */
const BAD: [string, Record<string, string>, string][] = [];
for (const [mode, base] of [
  ['RPC_URL', RPC],
  ['DATABASE_URL', PG],
] as const) {
  BAD.push(
    [`${mode}: KEYSTORE_PASSWORD unset`, { ...base, ...GOOD, KEYSTORE_PASSWORD: '' }, 'KEYSTORE_PASSWORD'],
    [
      `${mode}: KEYSTORE_PASSWORD is the development password`,
      { ...base, ...GOOD, KEYSTORE_PASSWORD: DEV_KEYSTORE_PASSWORD },
      'KEYSTORE_PASSWORD',
    ],
    [`${mode}: KEYSTORE_SCRYPT_N unset (4096)`, { ...base, ...GOOD, KEYSTORE_SCRYPT_N: '' }, 'KEYSTORE_SCRYPT_N'],
    [`${mode}: KEYSTORE_SCRYPT_N = 65536`, { ...base, ...GOOD, KEYSTORE_SCRYPT_N: '65536' }, 'KEYSTORE_SCRYPT_N'],
    [`${mode}: CONSORTIUM_SECRET unset`, { ...base, ...GOOD, CONSORTIUM_SECRET: '' }, 'CONSORTIUM_SECRET'],
    [
      `${mode}: CONSORTIUM_SECRET is the development secret`,
      { ...base, ...GOOD, CONSORTIUM_SECRET: DEV_CONSORTIUM_SECRET },
      'CONSORTIUM_SECRET',
    ],
    [
      `${mode}: CONSORTIUM_SECRET of 31 bytes`,
      { ...base, ...GOOD, CONSORTIUM_SECRET: 'é'.repeat(15) + 'x' },
      'CONSORTIUM_SECRET',
    ],
  );
}

describe('production mode refuses the development secrets (issue 11)', { timeout: 180_000 }, () => {
  describe('assertProductionSecrets(loadConfig(env))', () => {
    for (const [what, env, variable] of BAD) {
      it(`refuses ${what}, naming ${variable} on one line`, () => {
        const config = loadConfig(env);
        assert.throws(
          () => assertProductionSecrets(config),
          (err: unknown) => {
            assert.ok(err instanceof ConfigError, String(err));
            assert.ok(err.message.startsWith(`${variable} `), err.message);
            assert.ok(!err.message.includes('\n'), err.message);
            // A secret is never echoed back.
            for (const v of Object.values(env))
              if (v.length >= 8 && v !== '131072') assert.ok(!err.message.includes(v));
            return true;
          },
        );
      });
    }
    it('accepts real secrets with RPC_URL and with DATABASE_URL (32 bytes, N = 2^17)', () => {
      assertProductionSecrets(loadConfig({ ...RPC, ...GOOD }));
      assertProductionSecrets(loadConfig({ ...PG, ...GOOD, CONSORTIUM_SECRET: 'é'.repeat(16) }));
    });
    it('the embedded default (no settings) is unchanged: development secrets, and accepted', () => {
      const config = loadConfig({});
      assert.equal(config.keystorePassword, DEV_KEYSTORE_PASSWORD);
      assert.equal(config.consortiumSecret, DEV_CONSORTIUM_SECRET);
      assert.equal(config.keystoreScryptN, undefined);
      assertProductionSecrets(config);
      assertProductionSecrets(loadConfig({ PORT: '0', DATA_DIR: '/tmp/x', KEYSTORE_SCRYPT_N: '4096' }));
    });
  });

  describe('the real start command (node bin/notary.js start)', () => {
    const start = async (env: Record<string, string>) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-secrets-'));
      const dataDir = path.join(dir, 'data');
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'notary.js'), 'start'], {
        cwd: ROOT,
        // Only what the test sets (no settings inherited from the caller's shell), on free ports.
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? os.homedir(),
          DATA_DIR: dataDir,
          PORT: '0',
          CHAIN_PORT: String(await freePort()),
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      clearTimeout(timer);
      const created = fs.existsSync(dataDir);
      fs.rmSync(dir, { recursive: true, force: true });
      return { code, out, err, created };
    };

    const cases: [string, Record<string, string>, string][] = [
      ['RPC_URL without KEYSTORE_PASSWORD', { ...RPC, ...GOOD, KEYSTORE_PASSWORD: '' }, 'KEYSTORE_PASSWORD'],
      ['DATABASE_URL with scrypt N 4096', { ...PG, ...GOOD, KEYSTORE_SCRYPT_N: '4096' }, 'KEYSTORE_SCRYPT_N'],
      ['DATABASE_URL without CONSORTIUM_SECRET', { ...PG, ...GOOD, CONSORTIUM_SECRET: '' }, 'CONSORTIUM_SECRET'],
    ];
    it('refuses each, with exit code 1 and one line naming the variable, before touching DATA_DIR', async () => {
      const results = await Promise.all(cases.map(([, env]) => start(env)));
      cases.forEach(([what, , variable], i) => {
        const r = results[i]!;
        const show = `${what}: exit ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`;
        assert.equal(r.code, 1, show);
        const lines = r.err.trim().split('\n');
        assert.equal(lines.length, 1, show);
        assert.match(lines[0]!, new RegExp(`^notary: ${variable} must `), show);
        assert.equal(r.out, '', show);
        assert.equal(r.created, false, `${what}: the data folder was created`);
      });
    });
  });
});
