import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Wallet, id } from 'ethers';
import fc from 'fast-check';
import { Compile } from 'typebox/compile';
import {
  RECORD_COMMITMENT_TYPES,
  assertReceipt,
  buildMerkleTreeSync,
  computeCommitment,
  isReceipt,
  receiptErrors,
  ReceiptV2Schema,
  recordSigningDomain,
  sealedLeaf,
  type ReceiptV2,
} from '../../src/domain';
import {
  KEY_KIND_ANCHORER,
  KEY_KIND_SIGNER,
  MemoryRootSource,
  verifyReceipt,
  type RootSource,
  type Verdict,
} from '../../src/verifier';

// The `signatures` check of a receipt v2 against recorded directory facts (MemoryRootSource). The same check on the
// real chain: test/verifier/golden-signed.test.ts and test/verifier/offline-public.test.ts.

const CHAIN = 31337;
const REGISTRY = '0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0';
const SUBMITTER = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
const ORG = 'aero-parts';
const BLOCK = 20;
const alice = new Wallet('0x' + '11'.repeat(32));
const bob = new Wallet('0x' + '22'.repeat(32));
const carol = new Wallet('0x' + '33'.repeat(32)); // never added to the directory
const domain = recordSigningDomain(CHAIN, REGISTRY);

const record = {
  id: '0190b6a4-7c3e-7d2a-9b1c-3e5f7a9b1c2d',
  orgId: ORG,
  type: 'document',
  digest: '0x' + 'aa'.repeat(32),
  salt: '0x' + 'bb'.repeat(32),
  parents: [] as string[],
};
const commitment = computeCommitment({ recordId: record.id, ...record });

const sign = (w: Wallet, c = commitment) => w.signTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment: c });
const failed = (v: Verdict) => v.checks.filter((c) => c.status === 'failed').map((c) => c.name);

/** A receipt v2 whose batch (with one other leaf) holds the sealed leaf of `signatures`, and a source that knows it. */
function signedReceipt(signatures: { signer: string; signature: string }[]): {
  r: ReceiptV2;
  source: MemoryRootSource;
} {
  const tree = buildMerkleTreeSync([sealedLeaf(commitment, signatures), '0x' + 'cc'.repeat(32)]);
  const r: ReceiptV2 = {
    version: 2,
    record: { ...record },
    commitment,
    proof: { root: tree.root, path: tree.proof(0) },
    anchor: {
      chainId: CHAIN,
      registry: REGISTRY,
      txHash: '0x' + 'dd'.repeat(32),
      blockNumber: BLOCK,
      blockTimestamp: 1_796_000_000,
      submitter: SUBMITTER,
      seq: 1,
    },
    signatures,
  };
  const source = new MemoryRootSource().set(
    { chainId: CHAIN, registry: REGISTRY, root: tree.root },
    {
      timestamp: 1_796_000_000,
      blockNumber: BLOCK,
      submitter: SUBMITTER,
      seq: 1,
      prev: ('0x' + '00'.repeat(32)) as never,
      leafCount: 2,
      org: id(ORG).toLowerCase() as never,
    },
  );
  source.setTransaction(
    { chainId: CHAIN, registry: REGISTRY, txHash: r.anchor.txHash },
    { blockNumber: BLOCK, status: 1, roots: [tree.root] },
  );
  const ref = (account: string) => ({ chainId: CHAIN, registry: REGISTRY, account });
  source.setMemberKey(ref(alice.address), { org: id(ORG) as never, kind: KEY_KIND_SIGNER, since: 5, until: 0 });
  source.setMemberKey(ref(bob.address), { org: id(ORG) as never, kind: KEY_KIND_SIGNER, since: 5, until: 0 });
  return { r, source };
}

describe('receipt v2 schema', () => {
  it('accepts 1..8 signatures of distinct signers and refuses anything else, naming the field', async () => {
    const { r } = signedReceipt([{ signer: alice.address, signature: await sign(alice) }]);
    assert.ok(isReceipt(r));
    assertReceipt(r);
    const none = { ...r, signatures: [] };
    assert.deepEqual(receiptErrors(none), ['$.signatures']);
    const twice = { ...r, signatures: [r.signatures[0], r.signatures[0]] };
    assert.deepEqual(receiptErrors(twice), ['$.signatures[1].signer']);
    assert.equal(isReceipt(twice), false);
    const short = { ...r, signatures: [{ signer: alice.address, signature: '0x12' }] };
    assert.deepEqual(receiptErrors(short), ['$.signatures[0].signature']);
    const extra = { ...r, signatures: [{ ...r.signatures[0], by: 'x' }] };
    assert.deepEqual(receiptErrors(extra), ['$.signatures[0].by']);
    const { signatures: _s, ...unsigned } = r;
    assert.deepEqual(receiptErrors(unsigned), ['$.signatures']);
    assert.deepEqual(receiptErrors({ ...r, version: 1 }), ['$.signatures']); // v1 has no signatures
    assert.throws(() => assertReceipt(none), /invalid receipt v2: \$\.signatures/);
  });
});

describe('receipt v2 schema, random input', () => {
  it('the field walk and the TypeBox schema agree (the walk also refuses a signer twice)', async () => {
    const { r } = signedReceipt([
      { signer: alice.address, signature: await sign(alice) },
      { signer: bob.address, signature: await sign(bob) },
    ]);
    const schema = Compile(ReceiptV2Schema);
    const sigEntry = fc.oneof(
      fc.anything(),
      fc.record({ signer: fc.oneof(fc.constant(alice.address), fc.string()), signature: fc.string() }),
      fc.constant(r.signatures[0]),
      fc.constant(r.signatures[1]),
    );
    const mutated = fc.oneof(
      fc
        .tuple(fc.anything(), fc.constantFrom('version', 'record', 'commitment', 'proof', 'anchor', 'signatures'))
        .map(([v, k]) => ({ ...r, [k]: v })),
      fc.array(sigEntry, { maxLength: 10 }).map((signatures) => ({ ...r, signatures })),
    );
    fc.assert(
      fc.property(mutated, (x) => {
        const sigs = (x as { signatures?: unknown }).signatures;
        const signers = Array.isArray(sigs)
          ? sigs.map((e) => String((e as { signer?: unknown })?.signer).toLowerCase())
          : [];
        const twice = new Set(signers).size !== signers.length;
        const walk = receiptErrors(x).length === 0;
        assert.equal(isReceipt(x), walk);
        if (!twice) assert.equal(schema.Check(x), walk, JSON.stringify(x));
      }),
      { numRuns: 400 },
    );
  });
});

describe('the signatures check', () => {
  it('passes for active SIGNER keys of the organisation and lists the signers, after commitment', async () => {
    const sigs = [
      { signer: alice.address, signature: await sign(alice) },
      { signer: bob.address.toLowerCase(), signature: await sign(bob) },
    ];
    const { r, source } = signedReceipt(sigs);
    const v = await verifyReceipt(r, { rootSource: source });
    assert.equal(v.valid, true, JSON.stringify(v.checks));
    assert.deepEqual(
      v.checks.map((c) => c.name),
      ['schema', 'digest', 'commitment', 'signatures', 'merkle', 'anchor', 'organisation', 'submitter', 'timestamp'],
    );
    assert.deepEqual(v.signers, [
      { signer: alice.address, orgId: ORG, since: 5, until: 0 },
      { signer: bob.address.toLowerCase(), orgId: ORG, since: 5, until: 0 },
    ]);
  });

  it('fails for a signature over another commitment, and lists no signer', async () => {
    const { r, source } = signedReceipt([
      { signer: alice.address, signature: await sign(alice, '0x' + '01'.repeat(32)) },
    ]);
    const v = await verifyReceipt(r, { rootSource: source });
    assert.deepEqual(failed(v), ['signatures']);
    assert.match(v.checks[3]!.reason!, /not by/);
    assert.equal(v.signers, undefined);
  });

  it('fails for a signer the directory does not know, of another organisation, or not a SIGNER key', async () => {
    const { r, source } = signedReceipt([{ signer: carol.address, signature: await sign(carol) }]);
    let v = await verifyReceipt(r, { rootSource: source });
    assert.deepEqual(failed(v), ['signatures']);
    assert.match(v.checks[3]!.reason!, /not a key in the member directory/);
    const ref = { chainId: CHAIN, registry: REGISTRY, account: carol.address };
    source.setMemberKey(ref, { org: id('skyline') as never, kind: KEY_KIND_SIGNER, since: 1, until: 0 });
    v = await verifyReceipt(r, { rootSource: source });
    assert.match(v.checks[3]!.reason!, /key of organisation 0x[0-9a-f]{64}, not of "aero-parts"/);
    source.setMemberKey(ref, { org: id(ORG) as never, kind: KEY_KIND_ANCHORER, since: 1, until: 0 });
    v = await verifyReceipt(r, { rootSource: source });
    assert.match(v.checks[3]!.reason!, /not a SIGNER key/);
  });

  it('dates the key at the anchor block: [since, until), removed later still valid', async () => {
    const { r, source } = signedReceipt([{ signer: carol.address, signature: await sign(carol) }]);
    const ref = { chainId: CHAIN, registry: REGISTRY, account: carol.address };
    const at = async (since: number, until: number) => {
      source.setMemberKey(ref, { org: id(ORG) as never, kind: KEY_KIND_SIGNER, since, until });
      return (await verifyReceipt(r, { rootSource: source })).checks[3]!.status;
    };
    assert.equal(await at(BLOCK, 0), 'passed');
    assert.equal(await at(BLOCK + 1, 0), 'failed'); // added after the anchor
    assert.equal(await at(1, BLOCK + 1), 'passed'); // removed after the anchor
    assert.equal(await at(1, BLOCK), 'failed'); // removed in the anchor's block
    assert.equal(await at(1, BLOCK - 1), 'failed'); // removed before
  });

  it('a signature swapped for another valid one passes signatures but fails merkle', async () => {
    const { r, source } = signedReceipt([{ signer: alice.address, signature: await sign(alice) }]);
    const swapped = structuredClone(r);
    swapped.signatures = [{ signer: bob.address, signature: await sign(bob) }];
    const v = await verifyReceipt(swapped, { rootSource: source });
    assert.deepEqual(failed(v), ['merkle']);
    assert.equal(v.checks[3]!.status, 'passed');
  });

  it('fails, saying why, when the root source cannot read the directory or it fails', async () => {
    const { r, source } = signedReceipt([{ signer: alice.address, signature: await sign(alice) }]);
    const blind: RootSource = { getAnchor: (ref) => source.getAnchor(ref) };
    let v = await verifyReceipt(r, { rootSource: blind });
    assert.deepEqual(failed(v), ['signatures']);
    assert.match(v.checks[3]!.reason!, /cannot read the member directory/);
    const broken: RootSource = {
      getAnchor: (ref) => source.getAnchor(ref),
      getMemberKey: async () => {
        throw new Error('node down');
      },
    };
    v = await verifyReceipt(r, { rootSource: broken });
    assert.deepEqual(failed(v), ['signatures']);
    assert.match(v.checks[3]!.reason!, /directory read failed: Error: node down/);
  });

  it('a receipt v1 keeps exactly the v1 checks', async () => {
    const { r } = signedReceipt([{ signer: alice.address, signature: await sign(alice) }]);
    const { signatures: _s, ...rest } = r;
    const v = await verifyReceipt({ ...rest, version: 1 }, { rootSource: new MemoryRootSource() });
    assert.equal(v.checks.length, 8);
    assert.ok(!v.checks.some((c) => c.name === 'signatures'));
  });
});
