// Writes the golden receipt fixtures of test/fixtures/receipts/v2 ONCE, by really anchoring on the in-process
// Hardhat network with the organisation-bound registry (MemberDirectory + NotaryRegistryV2, docs/formats.md §4 and
// §6): each organisation anchors its own batches with its own ANCHORER key, so every valid receipt passes the
// `organisation` check. The tampered set is v1's (scripts/make-golden-receipts.ts) plus a receipt that a member
// really anchored for a record naming another organisation: every check passes but `organisation`.
// The fixtures are committed and replayed by test/verifier/golden-v2.test.ts; that test never regenerates them.
// Run: node -r ts-node/register scripts/make-golden-receipts-v2.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ReceiptV1 } from '../src/domain';
import { orgHash } from '../src/chain/registries';
import { ChainRootSource, MemoryRootSource, verifyReceipt } from '../src/verifier';
import { anchorBatch, deployRegistryV2, loadHardhat } from '../test/helpers/notary-chain';
import { TAMPERED, claim, doc, invoice, paid } from './make-golden-receipts';

const dir = path.join(__dirname, '..', 'test', 'fixtures', 'receipts', 'v2');

/** v1's expectations hold on v2, but a receipt whose orgId was changed now also names the wrong organisation. */
const V2_FAILED: Record<string, string[]> = { 'tampered-org-id': ['commitment', 'organisation'] };

async function main(): Promise<void> {
  const hre = await loadHardhat();
  const { registry, anchorers, address } = await deployRegistryV2(hre, { 'aero-parts': 1, skyline: 2 });
  const aero = anchorers['aero-parts']!;
  const sky = anchorers.skyline!;
  const [issued, document] = await anchorBatch(
    hre,
    registry,
    aero,
    [
      {
        id: '0b7e5a3c-1f2d-4c8e-9a6b-3d5f7e9a1c2b',
        orgId: 'aero-parts',
        type: 'invoice.issued',
        payload: invoice,
        parents: [],
      },
      { id: '5c1d9e2f-7a3b-4d6c-8e9f-0a1b2c3d4e5f', orgId: 'aero-parts', type: 'document', payload: doc, parents: [] },
    ],
    orgHash('aero-parts'),
  );
  // two leaves, so that the tampered set (mutations of the paid receipt) has a Merkle path to tamper with
  const [paidR, later] = await anchorBatch(
    hre,
    registry,
    aero,
    [
      {
        id: '9f8e7d6c-5b4a-4321-8fed-cba987654321',
        orgId: 'aero-parts',
        type: 'invoice.paid',
        payload: paid,
        parents: [issued!.commitment],
      },
      { id: 'c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f', orgId: 'aero-parts', type: 'document', payload: doc, parents: [] },
    ],
    orgHash('aero-parts'),
  );
  const [claimR] = await anchorBatch(
    hre,
    registry,
    sky,
    [
      {
        id: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
        orgId: 'skyline',
        type: 'expense.claim',
        payload: claim,
        parents: [issued!.commitment],
      },
    ],
    orgHash('skyline'),
  );
  // The attack of issue 12: aero-parts anchors, from its own key, a record that names skyline.
  const [forged] = await anchorBatch(
    hre,
    registry,
    aero,
    [{ id: 'f0f0f0f0-0000-4000-8000-00000000000f', orgId: 'skyline', type: 'document', payload: doc, parents: [] }],
    orgHash('aero-parts'),
  );

  const chain = new ChainRootSource({ provider: hre.ethers.provider });
  const valid: [string, ReceiptV1, unknown][] = [
    ['valid-invoice-issued', issued!, invoice],
    ['valid-document', document!, doc],
    ['valid-invoice-paid', paidR!, paid],
    ['valid-document-later', later!, doc],
    ['valid-expense-claim', claimR!, claim],
  ];
  mkdirSync(dir, { recursive: true });
  const anchors: Record<string, unknown> = {};
  const transactions: Record<string, unknown> = {};
  for (const [name, receipt, payload] of [...valid, ['tampered-anchored-by-another-org', forged!, doc] as const]) {
    writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(receipt, null, 2) + '\n');
    const ref = { chainId: receipt.anchor.chainId, registry: address, root: receipt.proof.root };
    anchors[receipt.proof.root] = await chain.getAnchor(ref);
    transactions[receipt.anchor.txHash] = await chain.getAnchorTransaction({ ...ref, txHash: receipt.anchor.txHash });
    const verdict = await verifyReceipt(receipt, { payload, rootSource: chain });
    const failed = verdict.checks.filter((c) => c.status === 'failed').map((c) => c.name);
    const want = name.startsWith('valid-') ? [] : ['organisation'];
    if (JSON.stringify(failed) !== JSON.stringify(want))
      throw new Error(`${name}: failed ${failed.join(',')} (want ${want.join(',')}) ${JSON.stringify(verdict.checks)}`);
  }
  const payloads = Object.fromEntries([...valid, ['', forged!, doc] as const].map(([, r, p]) => [r.record.id, p]));
  const state = {
    note: 'anchorOf() (with the organisation) and transaction facts read from the in-process Hardhat network, registry 2.x',
    chainId: issued!.anchor.chainId,
    registry: address,
    anchors,
    transactions,
    payloads,
  };
  writeFileSync(path.join(dir, 'chain-state.json'), JSON.stringify(state, null, 2) + '\n');

  // The tampered set: v1's mutations of valid-invoice-paid, checked against the recorded chain facts as written.
  const memory = new MemoryRootSource();
  for (const [root, a] of Object.entries(anchors))
    memory.set({ chainId: state.chainId, registry: address, root }, a as never);
  for (const [txHash, tx] of Object.entries(transactions)) {
    memory.setTransaction({ chainId: state.chainId, registry: address, txHash: txHash as never }, tx as never);
  }
  const expectations: Record<string, unknown> = {
    'tampered-anchored-by-another-org.json': {
      base: 'tampered-anchored-by-another-org.json',
      withPayload: true,
      failed: ['organisation'],
    },
  };
  for (const [name, t] of Object.entries(TAMPERED)) {
    const r = structuredClone(paidR!);
    t.mutate(r);
    const failedWanted = V2_FAILED[name] ?? t.failed;
    const v = await verifyReceipt(r, { payload: t.withPayload ? paid : undefined, rootSource: memory });
    const failed = v.checks.filter((c) => c.status === 'failed').map((c) => c.name);
    if (JSON.stringify(failed) !== JSON.stringify(failedWanted)) {
      throw new Error(`${name}: fails ${failed.join(' + ')}, reasoned ${failedWanted.join(' + ')}`);
    }
    writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(r, null, 2) + '\n');
    expectations[`${name}.json`] = {
      base: 'valid-invoice-paid.json',
      withPayload: t.withPayload ?? false,
      failed: failedWanted,
    };
  }
  writeFileSync(path.join(dir, 'expectations.json'), JSON.stringify(expectations, null, 2) + '\n');
  console.log(`wrote ${valid.length} valid and ${Object.keys(expectations).length} tampered receipts to ${dir}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
