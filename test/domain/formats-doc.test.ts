import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  canonicalize,
  computeCommitment,
  digestPayload,
  encodeCommitmentInput,
  invoiceKey,
  processProof,
  ReceiptV1Schema,
  standardLeafHash,
} from '../../src/domain';
import { bytesToHex32 } from '../../src/domain/hex';
import { keccak256Bytes } from '../../src/domain/hashing';

// docs/formats.md is normative for outside verifiers: its worked example must stay what the code computes for
// the golden receipt it quotes, and its receipt table must name the fields the schema has.
const ROOT = path.join(__dirname, '..', '..');
const DOC = readFileSync(path.join(ROOT, 'docs', 'formats.md'), 'utf8');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'receipts', 'v1');
/* eslint-disable @typescript-eslint/no-explicit-any */
const read = (f: string): any => JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8'));
const receipt = read('valid-invoice-paid.json');
const state = read('chain-state.json');
const example = DOC.slice(DOC.indexOf('## 7. Worked example'));

describe('docs/formats.md', () => {
  it('quotes the golden receipt valid-invoice-paid.json unchanged', () => {
    const json = /```json\n([\s\S]*?)```/.exec(example)![1]!;
    assert.deepEqual(JSON.parse(json), receipt);
  });

  it('shows the canonical payload, the digest, the ABI words, the commitment, the fold and the root', () => {
    const payload = state.payloads[receipt.record.id];
    assert.ok(example.includes(`\n${canonicalize(payload)}\n`), 'canonical payload');
    assert.ok(example.includes(digestPayload(payload).slice(2)), 'digest');
    const r = receipt.record;
    const input = { recordId: r.id, orgId: r.orgId, type: r.type, digest: r.digest, salt: r.salt, parents: r.parents };
    const enc = encodeCommitmentInput(input);
    for (let o = 0; o < enc.length; o += 32) {
      const word = bytesToHex32(enc, o).slice(2);
      assert.match(example, new RegExp(`^\\s*${o}\\s+${word}\\b`, 'm'), `ABI word at byte ${o}`);
    }
    assert.ok(example.includes(`${enc.length} bytes`), 'encoding length');
    assert.ok(example.includes(computeCommitment(input)), 'commitment');
    const inner = bytesToHex32(keccak256Bytes(Uint8Array.from(Buffer.from(receipt.commitment.slice(2), 'hex'))));
    assert.ok(example.includes(inner), 'keccak256(commitment)');
    assert.ok(example.includes(standardLeafHash(receipt.commitment)), 'leaf');
    assert.equal(processProof(standardLeafHash(receipt.commitment), receipt.proof.path), receipt.proof.root);
    assert.ok(example.includes(`= proof.root`));
    const anchor = state.anchors[receipt.proof.root];
    assert.ok(example.includes(anchor.prev), 'prev of the anchor');
  });

  it('gives the invoice key the code derives', () => {
    const inv = read('valid-invoice-issued.json');
    const p = state.payloads[inv.record.id];
    const key = invoiceKey('ledger-notary-embedded-consortium-secret', {
      sellerTaxId: p.seller.taxId,
      invoiceCode: p.invoiceCode,
      invoiceNumber: p.invoiceNumber,
    });
    assert.ok(example.includes(key), key);
  });

  it('lists exactly the fields of ReceiptV1Schema in its receipt table', () => {
    const table = DOC.slice(DOC.indexOf('## 4. Receipt'), DOC.indexOf('### Verifying a receipt'));
    const listed = [...table.matchAll(/^\| `([a-zA-Z.]+)`/gm)].map((m) => m[1]).sort();
    const fields: string[] = [];
    for (const [k, v] of Object.entries(ReceiptV1Schema.properties)) {
      const props = (v as any).properties as Record<string, unknown> | undefined;
      if (props) for (const sub of Object.keys(props)) fields.push(`${k}.${sub}`);
      else fields.push(k);
    }
    assert.deepEqual(listed, fields.sort());
  });

  it('points only inside the repository, and keeps a section for UBL', () => {
    assert.doesNotMatch(DOC, /\.\.\/shared|\/work\/shared|DESIGN\.md/);
    assert.match(DOC, /^## 8\. UBL invoices and credit notes$/m);
  });
});
