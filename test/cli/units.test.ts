// Pure parts of the CLI: CSV parsing, input loading, tree rendering.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadInput, parseCsv } from '../../src/cli/inputs';
import { renderAudit, renderTrace } from '../../src/cli/lineage';
import { errorLine, CliError } from '../../src/cli/errors';

describe('parseCsv (RFC 4180)', () => {
  it('quotes, doubled quotes, commas and newlines inside quotes, CRLF, BOM, trailing newline', () => {
    const text = '\uFEFFa,b,c\r\n1,"x, y","say ""hi"""\r\n2,"multi\nline",\n';
    assert.deepEqual(parseCsv(text), [
      ['a', 'b', 'c'],
      ['1', 'x, y', 'say "hi"'],
      ['2', 'multi\nline', ''],
    ]);
  });
  it('rejects an unterminated quote', () => {
    assert.throws(() => parseCsv('a\n"open'), /unterminated/);
  });
});

describe('loadInput', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-cli-unit-'));
  it('a JSON array of records: one receipt per record under <file>.receipts/', () => {
    const file = path.join(dir, 'batch.json');
    fs.writeFileSync(
      file,
      JSON.stringify([
        { type: 'document', externalId: 'A/1', payload: { title: 'a' } },
        { type: 'document', payload: { title: 'b' } },
      ]),
    );
    const l = loadInput(file, {});
    assert.equal(l.kind, 'file');
    assert.equal(l.statePath, `${file}.notary-state.json`);
    assert.deepEqual(
      l.items.map((i) => [i.key, path.relative(dir, i.receiptPath)]),
      [
        ['externalId:A/1', path.join('batch.json.receipts', 'A_1.receipt.json')],
        ['batch.json#1', path.join('batch.json.receipts', '2.receipt.json')],
      ],
    );
  });
  it('a bare payload needs --type; CSV rows keep amounts as strings and nest dotted columns', () => {
    const bare = path.join(dir, 'bare.json');
    fs.writeFileSync(bare, JSON.stringify({ title: 'x' }));
    assert.throws(
      () => loadInput(bare, {}),
      (e: CliError) => e.exitCode === 2 && /--type/.test(e.message),
    );
    const csv = path.join(dir, 'r.csv');
    fs.writeFileSync(csv, 'id,amount,seller.taxId\nX1,0.10,FR1\n');
    const l = loadInput(csv, { type: 'document', externalIdField: 'id' });
    assert.deepEqual(l.items[0]!.record, {
      type: 'document',
      externalId: 'X1',
      payload: { id: 'X1', amount: '0.10', seller: { taxId: 'FR1' } },
    });
    assert.throws(() => loadInput(csv, { type: 'document', externalIdField: 'nope' }), /no column "nope"/);
  });
});

describe('renderTrace', () => {
  it('ancestors above, descendants below, with ✓/✗/– marks; shared nodes are not expanded twice', () => {
    const n = (id: string, type: string, valid: boolean | null) => ({
      id,
      type,
      orgId: 'o',
      status: valid === null ? 'pending' : 'anchored',
      verification: valid === null ? null : { valid },
    });
    const lines = renderTrace({
      root: 'c',
      nodes: [
        n('i1', 'invoice.issued', true),
        n('i2', 'invoice.issued', false),
        n('c', 'expense.claim', true),
        n('a', 'expense.approved', null),
      ],
      edges: [
        { parent: 'i1', child: 'c' },
        { parent: 'i2', child: 'c' },
        { parent: 'c', child: 'a' },
      ],
    });
    assert.equal(lines[0], '● ✓ expense.claim  c  org o  anchored');
    assert.ok(lines.includes('   ├─ ✓ invoice.issued  i1  org o  anchored'));
    assert.ok(lines.includes('   └─ ✗ invoice.issued  i2  org o  anchored'));
    assert.ok(lines.includes('   └─ – expense.approved  a  org o  pending'));
    assert.match(lines.at(-1)!, /4 record\(s\): 2 verified ✓, 1 failed ✗, 1 not anchored yet –/);
  });
  it('renderTrace: records of other organisations are boundary nodes (·, metadata only)', () => {
    const lines = renderTrace({
      root: 'c',
      truncated: true,
      nodes: [
        {
          id: 'c',
          type: 'expense.claim',
          orgId: 'employer',
          status: 'anchored',
          visible: true,
          verification: { valid: true },
        },
        {
          id: 'i',
          type: 'invoice.issued',
          orgId: 'aerospace',
          status: 'confirmed',
          visible: false,
          verification: null,
        },
      ],
      edges: [{ parent: 'i', child: 'c' }],
    });
    assert.ok(
      lines.includes('   └─ · invoice.issued  i  org aerospace  confirmed  (another organisation: metadata only)'),
    );
    assert.ok(lines.some((l) => l.includes('1 of other organisations ·')));
    assert.match(lines.at(-1)!, /^\(truncated/);
  });
  it('renderAudit: the completeness report, verdict first, each discrepancy listed', () => {
    const lines = renderAudit('bank', {
      orgId: 'bank',
      address: '0xabc',
      chain: { head: '0xh', length: 3 },
      database: { batches: 2, inFlight: 0 },
      consistent: false,
      missingInDatabase: ['0xr3'],
      missingOnChain: [],
      leafCountMismatch: [{ root: '0xr1', chain: 5, database: 4 }],
      errors: [],
    });
    assert.equal(lines[0], '✗ org bank: chain of batches INCOMPLETE or inconsistent');
    assert.ok(lines.includes('  on chain: 3 batch(es), head 0xh'));
    assert.ok(lines.includes('  on chain, missing in the database: 1'));
    assert.ok(lines.includes('    ✗ 0xr3'));
    assert.ok(lines.includes('    ✗ 0xr1: chain 5, database 4'));
    assert.ok(lines.includes('  errors: none'));
    // an unknown shape still renders
    assert.equal(renderAudit('x', { complete: true, n: 1 })[0], '✓ org x: chain of batches complete and consistent');
  });
});

describe('errorLine', () => {
  it('is one line with the code', () => {
    assert.equal(errorLine(new CliError('X_Y', 'boom')), 'notary: X_Y: boom');
    assert.equal(errorLine(new Error('a\nb')), 'notary: ERROR: a');
  });
});
