// Pure parts of the CLI: CSV parsing, input loading, tree rendering.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadInput, parseCsv } from '../../src/cli/inputs';
import { renderAudit, renderTrace } from '../../src/cli/lineage';
import { errorLine, CliError } from '../../src/cli/errors';
import { distinctReceiptPaths } from '../../src/cli/submit';
import { parseDuration } from '../../src/cli/commands';

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
        // sanitized (`/` → `_`): the exact externalId's hash keeps it apart from a literal "A_1"
        ['externalId:A/1', path.join('batch.json.receipts', 'A_1~a5b3d27a.receipt.json')],
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

describe('receipt file names', () => {
  it('are distinct even where sanitizing or case folding would merge them (A/1, A_1, a_1, A:1, Ab, AB)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-cli-names-'));
    const file = path.join(dir, 'collide.json');
    const ids = ['A/1', 'A_1', 'a_1', 'A:1', 'Ab', 'AB', 'ab'];
    fs.writeFileSync(file, JSON.stringify(ids.map((externalId) => ({ type: 'document', externalId, payload: {} }))));
    const l = loadInput(file, {});
    distinctReceiptPaths(l.items);
    const names = l.items.map((i) => path.basename(i.receiptPath));
    assert.equal(new Set(names.map((n) => n.toLowerCase())).size, ids.length, names.join(' '));
    // Names that needed no change keep it; the first of a case-folded pair too.
    assert.equal(names[1], 'A_1.receipt.json');
    assert.equal(names[4], 'Ab.receipt.json');
    assert.match(names[2]!, /^a_1~[0-9a-f]{8}\.receipt\.json$/);
    assert.match(names[5]!, /^AB~[0-9a-f]{8}\.receipt\.json$/);
    // Stable: the same input gives the same names.
    const again = loadInput(file, {});
    distinctReceiptPaths(again.items);
    assert.deepEqual(
      again.items.map((i) => path.basename(i.receiptPath)),
      names,
    );
  });
  it('a directory with A.json and a.json: two receipt files on a case-insensitive file system too', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-cli-names-'));
    fs.mkdirSync(path.join(dir, 'in'));
    fs.writeFileSync(path.join(dir, 'in', 'A.json'), JSON.stringify({ n: 1 }));
    fs.writeFileSync(path.join(dir, 'in', 'a.json'), JSON.stringify({ n: 2 }));
    const l = loadInput(path.join(dir, 'in'), { type: 'document' });
    distinctReceiptPaths(l.items);
    const names = l.items.map((i) => path.basename(i.receiptPath).toLowerCase());
    assert.equal(new Set(names).size, 2, names.join(' '));
  });
});

describe('parseDuration', () => {
  it('30s, 2m, 500ms, 1h, plain seconds; anything else is a usage error', () => {
    assert.deepEqual(
      ['30s', '2m', '500ms', '1h', '5', '0', '1.5s'].map((v) => parseDuration(v, '--x')),
      [30_000, 120_000, 500, 3_600_000, 5000, 0, 1500],
    );
    assert.throws(
      () => parseDuration('soon', '--blocked-grace'),
      (e: CliError) => e.exitCode === 2 && /--blocked-grace soon/.test(e.message),
    );
  });
});
