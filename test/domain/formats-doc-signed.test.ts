import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TypedDataEncoder, verifyTypedData } from 'ethers';
import {
  RECORD_COMMITMENT_TYPES,
  ReceiptV1Schema,
  ReceiptV2Schema,
  recordSigningDigest,
  recordSigningDomain,
  sealedLeaf,
  signaturesDigest,
  standardLeafHash,
} from '../../src/domain';

// docs/formats.md section 4b (receipt version 2) must say what the code does: its worked values are those of the
// golden signed receipt it names, and its table lists exactly the fields version 2 adds to version 1.
const ROOT = path.join(__dirname, '..', '..');
const DOC = readFileSync(path.join(ROOT, 'docs', 'formats.md'), 'utf8');
const SECTION = DOC.slice(DOC.indexOf('## 4b. Receipt, version 2'), DOC.indexOf('## 5. Invoice key'));
/* eslint-disable @typescript-eslint/no-explicit-any */
const receipt: any = JSON.parse(
  readFileSync(path.join(ROOT, 'test', 'fixtures', 'receipts', 'signed', 'valid-one-signer.json'), 'utf8'),
);

describe('docs/formats.md, receipt version 2', () => {
  it('gives the worked values the code computes for valid-one-signer.json', () => {
    const value = (label: string) => new RegExp(`^${label}\\s+(0x[0-9a-fA-F]+)$`, 'm').exec(SECTION)?.[1];
    const domain = recordSigningDomain(receipt.anchor.chainId, receipt.anchor.registry);
    assert.ok(SECTION.includes(receipt.anchor.registry) && SECTION.includes(receipt.commitment));
    assert.equal(value('domainSeparator'), TypedDataEncoder.hashDomain(domain));
    assert.equal(value('signed digest'), recordSigningDigest(domain, receipt.commitment));
    const signer = verifyTypedData(
      domain,
      RECORD_COMMITMENT_TYPES,
      { commitment: receipt.commitment },
      receipt.signatures[0].signature,
    );
    assert.equal(value('signer'), signer);
    assert.equal(value('signaturesDigest'), signaturesDigest(receipt.signatures));
    const sealed = sealedLeaf(receipt.commitment, receipt.signatures);
    assert.equal(value('sealed'), sealed);
    assert.equal(value('leaf\\(sealed\\)'), standardLeafHash(sealed));
  });

  it('names the EIP-712 domain and type the code signs', () => {
    assert.match(
      SECTION,
      /name: "LedgerNotary", version: "2", chainId: anchor\.chainId, verifyingContract: anchor\.registry/,
    );
    assert.match(SECTION, /RecordCommitment\(bytes32 commitment\)/);
  });

  it('lists exactly the fields version 2 adds to version 1', () => {
    const listed = [...SECTION.matchAll(/^\| `([a-zA-Z.[\]]+)`/gm)].map((m) => m[1]).sort();
    const added = Object.keys(ReceiptV2Schema.properties).filter((k) => !(k in ReceiptV1Schema.properties));
    const item = (ReceiptV2Schema.properties.signatures as any).items.properties as Record<string, unknown>;
    assert.deepEqual(listed, [...added, ...Object.keys(item).map((k) => `signatures[i].${k}`)].sort());
  });
});
