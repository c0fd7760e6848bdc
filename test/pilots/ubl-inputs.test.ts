import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadInput } from '../../src/cli/inputs';
import { CliError } from '../../src/cli/errors';

const DIR = path.join(__dirname, '..', 'fixtures', 'peppol');

describe('notary submit inputs: UBL files', () => {
  it('a directory of *.xml becomes invoice.issued records with source.sha256 of each file', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-xml-'));
    try {
      for (const f of ['vat-category-O.xml', 'base-creditnote-correction.xml'])
        fs.copyFileSync(path.join(DIR, f), path.join(work, f));
      const { items } = loadInput(work, {});
      assert.deepEqual(
        items.map((i) => [i.label, i.record.type, i.record.externalId]),
        [
          ['base-creditnote-correction.xml', 'invoice.issued', 'ubl:credit-note:Snippet1'],
          ['vat-category-O.xml', 'invoice.issued', 'ubl:invoice:Vat-O'],
        ],
      );
      for (const i of items) {
        const want = createHash('sha256')
          .update(fs.readFileSync(path.join(work, i.label)))
          .digest('hex');
        assert.deepEqual((i.record.payload as { source: unknown }).source, { format: 'ubl-2.1', sha256: want });
      }
      assert.equal(items[0]!.receiptPath, path.join(work, 'base-creditnote-correction.receipt.json'));
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('a hostile XML file is an input error (exit 2), not a crash', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-xml-'));
    try {
      const f = path.join(work, 'evil.xml');
      fs.writeFileSync(
        f,
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]><Invoice>&a;</Invoice>',
      );
      assert.throws(
        () => loadInput(f, {}),
        (e: unknown) => e instanceof CliError && e.exitCode === 2 && /DOCTYPE/.test(e.message),
      );
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
