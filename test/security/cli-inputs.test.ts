import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadInput } from '../../src/cli/inputs';
import { CliError } from '../../src/cli/errors';

/**
 * Issue 11: the CLI's inputs (src/cli/inputs.ts) are untrusted JSON and CSV too. A CSV header `__proto__.x`
 * used to set `x` on Object.prototype (every object of the process); now such headers are refused with a
 * clear error. JSON files nested past the shared cap, or holding prototype keys, are named before anything
 * is sent.
 */

const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-cli-inputs-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};
const refused = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CliError, String(err));
    assert.equal(err.code, 'INPUT_INVALID');
    assert.equal(err.exitCode, 2);
    assert.match(err.message, pattern);
    return true;
  });

describe('CLI inputs are untrusted (issue 11)', () => {
  for (const header of ['__proto__.polluted', 'a.__proto__.polluted', 'constructor.prototype.polluted', '__proto__']) {
    it(`a CSV column "${header}" is refused and Object.prototype stays untouched`, () => {
      const file = write(`p-${header.replace(/\W/g, '_')}.csv`, `id,${header}\nINV-1,yes\n`);
      refused(() => loadInput(file, { type: 'document', externalIdField: 'id' }), /cannot be a field name/);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), PROTO_KEYS);
    });
  }

  it('dotted CSV columns still nest; names of Object.prototype members are ordinary own fields', () => {
    const file = write(
      'ok.csv',
      'id,seller.name,seller.toString,hasOwnProperty,constructor,prototype\nINV-1,ACME,x,y,Airbus,P1\n',
    );
    const { items } = loadInput(file, { type: 'document', externalIdField: 'id' });
    assert.deepEqual(items[0]!.record.payload, {
      id: 'INV-1',
      seller: { name: 'ACME', toString: 'x' },
      hasOwnProperty: 'y',
      constructor: 'Airbus',
      prototype: 'P1',
    });
    assert.equal(Object.getPrototypeOf(items[0]!.record.payload), Object.prototype);
  });

  it('a CSV column nested past the depth cap is refused', () => {
    const file = write('deep.csv', `${Array.from({ length: 300 }, () => 'a').join('.')}\n1\n`);
    refused(() => loadInput(file, { type: 'document' }), /nests 300 levels/);
  });

  it('a JSON file nested 80,000 levels deep is refused with a clear error (no stack overflow)', () => {
    const file = write('deep.json', `{"type":"document","payload":{"x":${'['.repeat(80_000)}${']'.repeat(80_000)}}}`);
    refused(() => loadInput(file, {}), /nested deeper than 256 levels/);
  });

  it('a JSON file with an escaped "__proto__" key is refused', () => {
    const file = write('proto.json', '[{"type":"document","payload":{"a":{"\\u005f_proto__":{"polluted":1}}}}]');
    refused(() => loadInput(file, {}), /forbidden prototype property at \/0\/payload\/a\/__proto__/);
  });

  it('a JSON record at the cap is accepted', () => {
    const file = write('ok.json', `[{"type":"document","payload":{"x":${'['.repeat(254)}${']'.repeat(254)}}}]`);
    assert.equal(loadInput(file, {}).items.length, 1);
  });
});
