import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

// scripts/lib/ts-register.cjs, the TypeScript loader of the node tests in scripts/test-all.cjs: strict mode as with
// the tsconfig's `strict`, and stack traces at the TypeScript lines.
const HOOK = path.join(__dirname, '..', '..', 'scripts', 'lib', 'ts-register.cjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-ts-register-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const runTs = (source: string) => {
  const file = path.join(dir, `t${Math.random().toString(36).slice(2)}.ts`);
  fs.writeFileSync(file, source);
  return { file, ...spawnSync(process.execPath, ['--require', HOOK, file], { encoding: 'utf8', timeout: 30_000 }) };
};

describe('scripts/lib/ts-register.cjs', () => {
  it('runs TypeScript as strict CommonJS', () => {
    const r = runTs(
      [
        "import path from 'node:path';",
        'interface P { n: number }',
        'const p: P = { n: 1 };',
        'function self(this: unknown) { return this; }',
        'console.log(JSON.stringify([typeof path.join, p.n, self() === undefined, typeof module]));',
      ].join('\n'),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '["function",1,true,"object"]');
  });

  it('turns import() into a require, as tsc does for CommonJS (directory imports resolve)', () => {
    fs.mkdirSync(path.join(dir, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'lib', 'index.ts'), 'export const answer: number = 42;\n');
    const r = runTs("void import('./lib').then((m) => console.log(m.answer));\n");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '42');
  });

  it('reports errors at the TypeScript line', () => {
    const r = runTs(
      ['type T = {', '  a: string;', '};', 'const t: T = { a: "x" };', 'throw new Error(t.a);'].join('\n'),
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`${path.basename(r.file).replace('.', '\\.')}:5:7`), r.stderr);
  });
});
