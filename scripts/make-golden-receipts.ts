// Writes the golden receipt fixtures of test/fixtures/receipts/v1 ONCE, by really anchoring on the in-process
// Hardhat network with the real NotaryRegistry. The fixtures are committed and replayed by
// test/verifier/golden.test.ts forever; that test never regenerates them.
// Run: node -r ts-node/register scripts/make-golden-receipts.ts [--tampered-only]
// --tampered-only re-derives only the tampered-*.json fixtures and expectations.json from the committed valid ones.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ReceiptV1 } from '../src/domain';
import { ChainRootSource, verifyReceipt } from '../src/verifier';
import { anchorBatch, deployRegistry, loadHardhat } from '../test/helpers/notary-chain';

const dir = path.join(__dirname, '..', 'test', 'fixtures', 'receipts', 'v1');

export const invoice = {
  seller: { name: 'Aero Parts GmbH', taxId: 'DE811907980' },
  buyer: { name: 'Skyline Messaging Ltd', taxId: 'GB123456789' },
  invoiceCode: 'AP-2025',
  invoiceNumber: '000417',
  issueDate: '2025-11-03',
  currency: 'EUR',
  lines: [
    { description: 'Titanium fastener, M6', quantity: '400', unitPrice: '2.50', amount: '1000.00', taxRate: '0.19' },
    {
      description: 'Certification fee — Prüfbericht',
      quantity: '1',
      unitPrice: '250.00',
      amount: '250.00',
      taxRate: '0.19',
    },
  ],
  totalNet: '1250.00',
  totalTax: '237.50',
  totalGross: '1487.50',
};
export const doc = {
  title: 'Board minutes 2025-11-01',
  content: { attendees: ['Zoë', '李雷'], quorum: true, votes: 7 },
};
export const paid = {
  amount: '1487.50',
  currency: 'EUR',
  paidAt: '2025-11-20T09:30:00Z',
  paymentReference: 'SEPA-88412',
};
export const claim = {
  employeeId: 'emp-0042',
  amount: '1487.50',
  currency: 'EUR',
  category: 'travel',
  description: 'Parts for demo rig',
  submittedAt: '2025-11-21T08:00:00Z',
};

export type Mutation = (r: ReceiptV1) => void;
const flip = (hex: string): string => hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0');

/**
 * One field changed per case, with the checks that must fail, reasoned by hand (DESIGN §2.4): record fields feed
 * only the commitment; the commitment feeds commitment and merkle; the root feeds merkle and the anchor lookup
 * (not anchored → submitter/timestamp skipped); blockNumber/seq/txHash are compared by the anchor check.
 */
export const TAMPERED: Record<string, { failed: string[]; mutate: Mutation; withPayload?: boolean }> = {
  'tampered-digest': {
    failed: ['digest', 'commitment'],
    withPayload: true,
    mutate: (r) => (r.record.digest = flip(r.record.digest)),
  },
  'tampered-salt': { failed: ['commitment'], mutate: (r) => (r.record.salt = flip(r.record.salt)) },
  'tampered-id': {
    failed: ['commitment'],
    mutate: (r) => (r.record.id = r.record.id.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))),
  },
  'tampered-org-id': { failed: ['commitment'], mutate: (r) => (r.record.orgId = 'skyline') },
  'tampered-type': { failed: ['commitment'], mutate: (r) => (r.record.type = 'invoice.voided') },
  'tampered-parents': { failed: ['commitment'], mutate: (r) => (r.record.parents = [flip(r.record.parents[0]!)]) },
  'tampered-commitment': { failed: ['commitment', 'merkle'], mutate: (r) => (r.commitment = flip(r.commitment)) },
  'tampered-path': { failed: ['merkle'], mutate: (r) => (r.proof.path[0] = flip(r.proof.path[0]!)) },
  'tampered-root': { failed: ['merkle', 'anchor'], mutate: (r) => (r.proof.root = flip(r.proof.root)) },
  'tampered-block-number': { failed: ['anchor'], mutate: (r) => (r.anchor.blockNumber += 1) },
  'tampered-seq': { failed: ['anchor'], mutate: (r) => (r.anchor.seq += 1) },
  'tampered-tx-hash': { failed: ['anchor'], mutate: (r) => (r.anchor.txHash = flip(r.anchor.txHash)) },
  'tampered-submitter': {
    failed: ['submitter'],
    mutate: (r) => (r.anchor.submitter = '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc'),
  },
  'tampered-timestamp': { failed: ['timestamp'], mutate: (r) => (r.anchor.blockTimestamp += 1) },
  'tampered-uppercase-digest': {
    failed: ['schema'],
    mutate: (r) => (r.record.digest = r.record.digest.toUpperCase().replace('0X', '0x')),
  },
  'tampered-extra-field': { failed: ['schema'], mutate: (r) => Object.assign(r.anchor, { note: 'trust me' }) },
};

function writeTampered(): void {
  const base = 'valid-invoice-paid';
  const valid = JSON.parse(readFileSync(path.join(dir, `${base}.json`), 'utf8')) as ReceiptV1;
  const expectations: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(TAMPERED)) {
    const r = structuredClone(valid);
    t.mutate(r);
    writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(r, null, 2) + '\n');
    expectations[`${name}.json`] = { base: `${base}.json`, withPayload: t.withPayload ?? false, failed: t.failed };
  }
  writeFileSync(path.join(dir, 'expectations.json'), JSON.stringify(expectations, null, 2) + '\n');
  console.log(`wrote ${Object.keys(TAMPERED).length} tampered receipts and expectations.json to ${dir}`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--tampered-only')) return writeTampered();
  const hre = await loadHardhat();
  const { registry, anchorer, address } = await deployRegistry(hre);
  const [issued, document] = await anchorBatch(hre, registry, anchorer, [
    {
      id: '0b7e5a3c-1f2d-4c8e-9a6b-3d5f7e9a1c2b',
      orgId: 'aero-parts',
      type: 'invoice.issued',
      payload: invoice,
      parents: [],
    },
    { id: '5c1d9e2f-7a3b-4d6c-8e9f-0a1b2c3d4e5f', orgId: 'aero-parts', type: 'document', payload: doc, parents: [] },
  ]);
  const [paidR, claimR] = await anchorBatch(hre, registry, anchorer, [
    {
      id: '9f8e7d6c-5b4a-4321-8fed-cba987654321',
      orgId: 'aero-parts',
      type: 'invoice.paid',
      payload: paid,
      parents: [issued!.commitment],
    },
    {
      id: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
      orgId: 'skyline',
      type: 'expense.claim',
      payload: claim,
      parents: [issued!.commitment],
    },
  ]);
  const source = new ChainRootSource({ provider: hre.ethers.provider });
  const valid: [string, ReceiptV1, unknown][] = [
    ['valid-invoice-issued', issued!, invoice],
    ['valid-document', document!, doc],
    ['valid-invoice-paid', paidR!, paid],
    ['valid-expense-claim', claimR!, claim],
  ];
  mkdirSync(dir, { recursive: true });
  const anchors: Record<string, unknown> = {};
  const transactions: Record<string, unknown> = {};
  for (const [name, receipt, payload] of valid) {
    const verdict = await verifyReceipt(receipt, { payload, rootSource: source });
    if (!verdict.valid) throw new Error(`${name} does not verify: ${JSON.stringify(verdict.checks)}`);
    writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(receipt, null, 2) + '\n');
    const ref = { chainId: receipt.anchor.chainId, registry: address, root: receipt.proof.root };
    anchors[receipt.proof.root] = await source.getAnchor(ref);
    transactions[receipt.anchor.txHash] = await source.getAnchorTransaction({ ...ref, txHash: receipt.anchor.txHash });
  }
  const payloads = Object.fromEntries(valid.map(([, r, p]) => [r.record.id, p]));
  writeFileSync(
    path.join(dir, 'chain-state.json'),
    JSON.stringify(
      {
        note: 'anchorOf() and transaction facts read from the in-process Hardhat network when the fixtures were made',
        chainId: issued!.anchor.chainId,
        registry: address,
        anchors,
        transactions,
        payloads,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${valid.length} valid receipts and chain-state.json to ${dir}`);
  writeTampered();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
