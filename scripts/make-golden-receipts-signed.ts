// Writes the golden SIGNED receipts (receipt version 2, docs/formats.md "Receipt version 2") of
// test/fixtures/receipts/signed ONCE, by really signing and anchoring on the in-process Hardhat network with the
// organisation-bound registry (MemberDirectory + NotaryRegistryV2): the organisations' SIGNER keys are added to the
// directory, each record's commitment is signed with ethers `signTypedData` (EIP-712), and the batch anchors the
// sealed leaves. Valid receipts (one signer, two signers, a signer removed after the anchor) and tampered cases,
// each failing exactly the named check; every expectation is checked against the chain before anything is written.
// (test/fixtures/receipts/v2 holds version 1 receipts anchored on the v2 registries: another thing.)
// The fixtures are committed and replayed by test/verifier/golden.test.ts; that test never regenerates them.
// test/verifier/offline-public.test.ts rebuilds the same set on a fresh in-process chain with buildSignedSet().
// Run: node -r ts-node/register scripts/make-golden-receipts-signed.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Signer } from 'ethers';
import {
  RECORD_COMMITMENT_TYPES,
  buildMerkleTree,
  computeCommitment,
  digestPayload,
  recordSigningDomain,
  sealedLeaf,
  type Hex32,
  type ReceiptV2,
  type RecordSignature,
  type RecordType,
} from '../src/domain';
import { orgHash } from '../src/chain/registries';
import { ChainRootSource, verifyReceipt } from '../src/verifier';
import { deployRegistryV2, loadHardhat } from '../test/helpers/notary-chain';
import { claim, doc, invoice } from './make-golden-receipts';

const dir = path.join(__dirname, '..', 'test', 'fixtures', 'receipts', 'signed');
const SIGNER = 1; // KeyKind.SIGNER

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Hre = any;

interface SignedSpec {
  id: string;
  orgId: string;
  type: RecordType;
  payload: unknown;
  /** the keys that sign, in receipt order */
  signers: Signer[];
  /** sign this commitment instead of the record's (a signature over another commitment) */
  signOver?: Hex32;
}

/** One golden case: the receipt, its payload and the checks it must fail ([] for a valid one). */
export interface SignedCase {
  name: string;
  receipt: ReceiptV2;
  payload: unknown;
  failed: string[];
}

/** Signs each record's commitment with its signers, anchors the sealed leaves as one batch, returns receipts v2. */
async function anchorSigned(
  hre: Hre,
  registry: Hre,
  anchorer: Signer,
  orgId: string,
  specs: SignedSpec[],
): Promise<ReceiptV2[]> {
  const { chainId } = await hre.ethers.provider.getNetwork();
  const registryAddress = String(await registry.getAddress()).toLowerCase();
  const domain = recordSigningDomain(chainId, registryAddress);
  const prepared: { s: SignedSpec; salt: Hex32; digest: Hex32; commitment: Hex32; signatures: RecordSignature[] }[] =
    [];
  for (const s of specs) {
    // fixed salts: the set is the same on every run (only block times differ)
    const salt = digestPayload({ salt: s.id });
    const digest = digestPayload(s.payload);
    const commitment = computeCommitment({ recordId: s.id, orgId: s.orgId, type: s.type, digest, salt, parents: [] });
    const signatures: RecordSignature[] = [];
    for (const key of s.signers) {
      const signature = await key.signTypedData(domain, RECORD_COMMITMENT_TYPES, {
        commitment: s.signOver ?? commitment,
      });
      signatures.push({ signer: await key.getAddress(), signature: signature.toLowerCase() });
    }
    prepared.push({ s, salt, digest, commitment, signatures });
  }
  const tree = await buildMerkleTree(prepared.map((p) => sealedLeaf(p.commitment, p.signatures)));
  const [head] = await registry.headOf(orgHash(orgId));
  const tx = await registry.connect(anchorer).anchor(tree.root, head, prepared.length);
  const rcpt = await tx.wait();
  const block = await hre.ethers.provider.getBlock(rcpt.blockNumber);
  const a = await registry.anchorOf(tree.root);
  return prepared.map((p, i) => ({
    version: 2 as const,
    record: { id: p.s.id, orgId: p.s.orgId, type: p.s.type, digest: p.digest, salt: p.salt, parents: [] },
    commitment: p.commitment,
    proof: { root: tree.root, path: tree.proof(i) },
    anchor: {
      chainId: Number(chainId),
      registry: registryAddress,
      txHash: String(rcpt.hash).toLowerCase(),
      blockNumber: Number(rcpt.blockNumber),
      blockTimestamp: Number(block.timestamp),
      submitter: String(a.submitter).toLowerCase(),
      seq: Number(a.seq),
    },
    signatures: p.signatures,
  }));
}

/**
 * Deploys the directory and the registry, adds the SIGNER keys, signs and anchors every case on `hre`'s chain and
 * returns the cases with what each must fail. Hardhat accounts: 0 registrar, 1 and 2 the ANCHORER keys of
 * aero-parts and skyline, 3 and 4 SIGNER keys of aero-parts, 5 a SIGNER key of skyline, 6 an aero-parts SIGNER key
 * removed before its record is anchored, 7 one removed after.
 */
export async function buildSignedSet(
  hre: Hre,
): Promise<{ cases: SignedCase[]; registry: string; directory: string; signerKeys: string[] }> {
  const { registry, directory, anchorers, address } = await deployRegistryV2(hre, { 'aero-parts': 1, skyline: 2 });
  const s = await hre.ethers.getSigners();
  const [alice, bob, sky, old, later] = [s[3], s[4], s[5], s[6], s[7]] as Signer[];
  const add = async (orgId: string, key: Signer) =>
    (await directory.addKey(orgId, await key.getAddress(), SIGNER)).wait();
  await add('aero-parts', alice!);
  await add('aero-parts', bob!);
  await add('skyline', sky!);
  await add('aero-parts', old!);
  await add('aero-parts', later!);
  await (await directory.removeKey(await old!.getAddress())).wait();
  const aero = anchorers['aero-parts']!;

  const [one, two] = await anchorSigned(hre, registry, aero, 'aero-parts', [
    {
      id: '0190b6a4-0001-7000-8000-000000000001',
      orgId: 'aero-parts',
      type: 'invoice.issued',
      payload: invoice,
      signers: [alice!],
    },
    {
      id: '0190b6a4-0002-7000-8000-000000000002',
      orgId: 'aero-parts',
      type: 'document',
      payload: doc,
      signers: [alice!, bob!],
    },
  ]);
  const [removedLater] = await anchorSigned(hre, registry, aero, 'aero-parts', [
    {
      id: '0190b6a4-0003-7000-8000-000000000003',
      orgId: 'aero-parts',
      type: 'document',
      payload: doc,
      signers: [later!],
    },
  ]);
  await (await directory.removeKey(await later!.getAddress())).wait(); // after the anchor: the receipt stays valid
  const [otherCommitment, otherOrg, removedBefore] = await anchorSigned(hre, registry, aero, 'aero-parts', [
    {
      id: '0190b6a4-0004-7000-8000-000000000004',
      orgId: 'aero-parts',
      type: 'document',
      payload: doc,
      signers: [alice!],
      signOver: one!.commitment,
    },
    {
      id: '0190b6a4-0005-7000-8000-000000000005',
      orgId: 'aero-parts',
      type: 'document',
      payload: doc,
      signers: [sky!],
    },
    {
      id: '0190b6a4-0006-7000-8000-000000000006',
      orgId: 'aero-parts',
      type: 'document',
      payload: doc,
      signers: [old!],
    },
  ]);
  const [skyClaim] = await anchorSigned(hre, registry, anchorers.skyline!, 'skyline', [
    {
      id: '0190b6a4-0007-7000-8000-000000000007',
      orgId: 'skyline',
      type: 'expense.claim',
      payload: claim,
      signers: [sky!],
    },
  ]);

  // After anchoring: bob's valid signature of the same commitment put in place of alice's. The signatures check
  // passes (bob is an active SIGNER key of aero-parts), but the anchored leaf sealed alice's signature.
  const swapped = structuredClone(one!);
  const domain = recordSigningDomain(one!.anchor.chainId, one!.anchor.registry);
  swapped.signatures = [
    {
      signer: await bob!.getAddress(),
      signature: (
        await bob!.signTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment: one!.commitment })
      ).toLowerCase(),
    },
  ];
  // The signer field changed, the signature kept: it recovers to alice, not to the named signer.
  const renamed = structuredClone(one!);
  renamed.signatures = [{ signer: two!.signatures[1]!.signer, signature: one!.signatures[0]!.signature }];
  // The signatures dropped from a version 2 receipt, and a version 1 receipt carrying signatures: both malformed.
  const { signatures: _dropped, ...unsigned } = structuredClone(one!);
  const asV1 = { ...structuredClone(one!), version: 1 } as unknown as ReceiptV2;

  const cases: SignedCase[] = [
    { name: 'valid-one-signer', receipt: one!, payload: invoice, failed: [] },
    { name: 'valid-two-signers', receipt: two!, payload: doc, failed: [] },
    { name: 'valid-signer-removed-after-anchor', receipt: removedLater!, payload: doc, failed: [] },
    { name: 'valid-expense-claim', receipt: skyClaim!, payload: claim, failed: [] },
    {
      name: 'tampered-signature-over-other-commitment',
      receipt: otherCommitment!,
      payload: doc,
      failed: ['signatures'],
    },
    { name: 'tampered-signer-of-other-org', receipt: otherOrg!, payload: doc, failed: ['signatures'] },
    { name: 'tampered-signer-removed-before-anchor', receipt: removedBefore!, payload: doc, failed: ['signatures'] },
    { name: 'tampered-signature-swapped', receipt: swapped, payload: invoice, failed: ['merkle'] },
    { name: 'tampered-signer-renamed', receipt: renamed, payload: invoice, failed: ['signatures'] },
    { name: 'tampered-signatures-dropped', receipt: unsigned as ReceiptV2, payload: invoice, failed: ['schema'] },
    { name: 'tampered-version-1-with-signatures', receipt: asV1, payload: invoice, failed: ['schema'] },
  ];
  const signerKeys = await Promise.all([alice, bob, sky, old, later].map((k) => k!.getAddress()));
  return { cases, registry: address, directory: String(await directory.getAddress()).toLowerCase(), signerKeys };
}

/** The failed checks of `c` verified against the chain, or an error naming the difference. */
export async function checkCase(c: SignedCase, chain: ChainRootSource): Promise<void> {
  const v = await verifyReceipt(c.receipt, { payload: c.payload, rootSource: chain });
  const failed = v.checks.filter((x) => x.status === 'failed').map((x) => x.name);
  if (JSON.stringify(failed) !== JSON.stringify(c.failed) || v.valid !== (c.failed.length === 0)) {
    throw new Error(
      `${c.name}: fails [${failed.join(', ')}], want [${c.failed.join(', ')}] ${JSON.stringify(v.checks)}`,
    );
  }
}

async function main(): Promise<void> {
  const hre = await loadHardhat();
  const { cases, registry, directory, signerKeys } = await buildSignedSet(hre);
  const chain = new ChainRootSource({ provider: hre.ethers.provider });
  for (const c of cases) await checkCase(c, chain);

  mkdirSync(dir, { recursive: true });
  const anchors: Record<string, unknown> = {};
  const transactions: Record<string, unknown> = {};
  const payloads: Record<string, unknown> = {};
  const expectations: Record<string, unknown> = {};
  const chainId = cases[0]!.receipt.anchor.chainId;
  for (const c of cases) {
    writeFileSync(path.join(dir, `${c.name}.json`), JSON.stringify(c.receipt, null, 2) + '\n');
    const { anchor, proof, record } = c.receipt;
    const ref = { chainId, registry, root: proof.root };
    anchors[proof.root] = await chain.getAnchor(ref);
    transactions[anchor.txHash] = await chain.getAnchorTransaction({ ...ref, txHash: anchor.txHash });
    payloads[record.id] = c.payload;
    if (c.name.startsWith('tampered-')) expectations[`${c.name}.json`] = { withPayload: true, failed: c.failed };
  }
  // The directory's memberOf() of every SIGNER key (read after the last removal) and of the ANCHORER keys.
  const members: Record<string, unknown> = {};
  const anchorerKeys = (await hre.ethers.getSigners()).slice(1, 3).map((x: { address: string }) => x.address);
  for (const account of [...signerKeys, ...anchorerKeys]) {
    members[account] = await chain.getMemberKey({ chainId, registry, account });
  }
  const state = {
    note: 'anchorOf(), transaction facts and the directory memberOf() read from the in-process Hardhat network, registry 2.x',
    chainId,
    registry,
    directory,
    anchors,
    transactions,
    members,
    payloads,
  };
  writeFileSync(path.join(dir, 'chain-state.json'), JSON.stringify(state, null, 2) + '\n');
  writeFileSync(path.join(dir, 'expectations.json'), JSON.stringify(expectations, null, 2) + '\n');
  const valid = cases.filter((c) => c.failed.length === 0).length;
  console.log(`wrote ${valid} valid and ${cases.length - valid} tampered signed receipts to ${dir}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
