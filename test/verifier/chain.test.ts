import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { JsonRpcProvider, Wallet } from 'ethers';
import { RECORD_COMMITMENT_TYPES, recordSigningDomain, type ReceiptV1 } from '../../src/domain';
import { ChainRootSource, VerifierError, verifyBundle, verifyReceipt, type Verdict } from '../../src/verifier';
import { anchorBatch, deployRegistry, loadHardhat } from '../helpers/notary-chain';

const failed = (v: Verdict) => v.checks.filter((c) => c.status === 'failed').map((c) => c.name);
const flip = (hex: string) => hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let hre: any;
let source: ChainRootSource;
let issued: ReceiptV1;
let paid: ReceiptV1;
let claim: ReceiptV1;
let registryAddress: string;
const invoice = { title: 'stand-in invoice document', n: 1 };
const payment = { title: 'payment', amount: '10.00' };

describe('verifyReceipt against the real NotaryRegistry (in-process Hardhat)', () => {
  before(async () => {
    hre = await loadHardhat();
    const { registry, anchorer, address } = await deployRegistry(hre);
    registryAddress = address;
    [issued] = (await anchorBatch(hre, registry, anchorer, [
      {
        id: '11111111-1111-4111-8111-111111111111',
        orgId: 'aero',
        type: 'invoice.issued',
        payload: invoice,
        parents: [],
      },
      { id: '22222222-2222-4222-8222-222222222222', orgId: 'aero', type: 'document', payload: { x: 1 }, parents: [] },
      { id: '33333333-3333-4333-8333-333333333333', orgId: 'aero', type: 'document', payload: { x: 2 }, parents: [] },
      // five leaves: every proof in this batch has at least two elements
      { id: '66666666-6666-4666-8666-666666666666', orgId: 'aero', type: 'document', payload: { x: 3 }, parents: [] },
      { id: '77777777-7777-4777-8777-777777777777', orgId: 'aero', type: 'document', payload: { x: 4 }, parents: [] },
    ])) as [ReceiptV1];
    [paid, claim] = (await anchorBatch(hre, registry, anchorer, [
      {
        id: '44444444-4444-4444-8444-444444444444',
        orgId: 'aero',
        type: 'invoice.paid',
        payload: payment,
        parents: [issued.commitment],
      },
      {
        id: '55555555-5555-4555-8555-555555555555',
        orgId: 'sky',
        type: 'expense.claim',
        payload: { a: 1 },
        parents: [issued.commitment],
      },
    ])) as [ReceiptV1, ReceiptV1];
    source = new ChainRootSource({ provider: hre.ethers.provider });
  });

  describe('when a receipt v2 names a registry 1.x', () => {
    it('fails signatures: a 1.x registry names no member directory to date the signer key', async () => {
      const w = Wallet.createRandom();
      const domain = recordSigningDomain(issued.anchor.chainId, issued.anchor.registry);
      const signature = await w.signTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment: issued.commitment });
      const v = await verifyReceipt(
        { ...issued, version: 2, signatures: [{ signer: w.address, signature }] },
        { rootSource: source },
      );
      const sig = v.checks.find((c) => c.name === 'signatures')!;
      assert.equal(sig.status, 'failed');
      assert.match(sig.reason!, /1\.x: it names no member directory/);
    });
  });

  describe('when the receipt is genuine', () => {
    it('passes every check, including txHash read from the chain', async () => {
      const v = await verifyReceipt(issued, { payload: invoice, rootSource: source });
      assert.equal(v.valid, true, JSON.stringify(v.checks));
      assert.equal(v.checks.find((c) => c.name === 'anchor')?.reason, undefined);
      assert.deepEqual(v.receipt, {
        recordId: issued.record.id,
        orgId: 'aero',
        type: 'invoice.issued',
        root: issued.proof.root,
        chainId: 31337,
        registry: registryAddress,
      });
    });
    it('skips only the digest check (and organisation: registry 1.x) without a payload and stays valid', async () => {
      const v = await verifyReceipt(paid, { rootSource: source });
      assert.equal(v.valid, true);
      assert.deepEqual(
        v.checks.filter((c) => c.status === 'skipped').map((c) => [c.name, c.reason]),
        [
          ['digest', undefined],
          ['organisation', 'organisation not verified (registry 1.x)'],
        ],
      );
    });
    it('accepts a checksummed registry address and submitter', async () => {
      const { getAddress } = await import('ethers');
      const r = structuredClone(paid);
      r.anchor.registry = getAddress(r.anchor.registry);
      r.anchor.submitter = getAddress(r.anchor.submitter);
      assert.equal((await verifyReceipt(r, { payload: payment, rootSource: source })).valid, true);
    });
  });

  describe('when exactly one field is tampered with', () => {
    // field → the checks that must fail (reasoned from DESIGN §2.4; see also the golden fixtures)
    const cases: [string, (r: ReceiptV1) => void, string[], boolean?][] = [
      [
        'record.digest (with payload)',
        (r) => (r.record.digest = flip(r.record.digest)),
        ['digest', 'commitment'],
        true,
      ],
      ['record.digest (no payload)', (r) => (r.record.digest = flip(r.record.digest)), ['commitment']],
      ['record.salt', (r) => (r.record.salt = flip(r.record.salt)), ['commitment']],
      ['record.id', (r) => (r.record.id = '44444444-4444-4444-8444-444444444445'), ['commitment']],
      ['record.orgId', (r) => (r.record.orgId = 'sky'), ['commitment']],
      ['record.type', (r) => (r.record.type = 'invoice.voided'), ['commitment']],
      ['record.parents (changed)', (r) => (r.record.parents = [flip(r.record.parents[0]!)]), ['commitment']],
      ['record.parents (dropped)', (r) => (r.record.parents = []), ['commitment']],
      ['commitment', (r) => (r.commitment = flip(r.commitment)), ['commitment', 'merkle']],
      ['proof.root', (r) => (r.proof.root = flip(r.proof.root)), ['merkle', 'anchor']],
      ['proof.path (dropped element)', (r) => r.proof.path.pop(), ['merkle']],
      ['anchor.chainId', (r) => (r.anchor.chainId = 1), ['anchor']],
      ['anchor.registry', (r) => (r.anchor.registry = '0x000000000000000000000000000000000000dead'), ['anchor']],
      ['anchor.txHash', (r) => (r.anchor.txHash = flip(r.anchor.txHash)), ['anchor']],
      ['anchor.blockNumber', (r) => (r.anchor.blockNumber -= 1), ['anchor']],
      ['anchor.blockTimestamp', (r) => (r.anchor.blockTimestamp += 1), ['timestamp']],
      ['anchor.submitter', (r) => (r.anchor.submitter = '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc'), ['submitter']],
      ['anchor.seq', (r) => (r.anchor.seq += 1), ['anchor']],
      ['version', (r) => ((r as { version: number }).version = 3), ['schema']],
    ];
    for (const [field, mutate, want, withPayload] of cases) {
      it(`${field} fails ${want.join(' + ')}`, async () => {
        const r = structuredClone(paid);
        mutate(r);
        const v = await verifyReceipt(r, { rootSource: source, payload: withPayload ? payment : undefined });
        assert.equal(v.valid, false);
        assert.deepEqual(failed(v), want, JSON.stringify(v.checks));
      });
    }
    it('each proof path element fails merkle only', async () => {
      const r0 = structuredClone(issued);
      assert.ok(r0.proof.path.length >= 2);
      for (let i = 0; i < r0.proof.path.length; i++) {
        const r = structuredClone(issued);
        r.proof.path[i] = flip(r.proof.path[i]!);
        assert.deepEqual(failed(await verifyReceipt(r, { rootSource: source })), ['merkle']);
      }
    });
    it('another record payload fails digest only', async () => {
      const v = await verifyReceipt(paid, { payload: { ...payment, amount: '10.01' }, rootSource: source });
      assert.deepEqual(failed(v), ['digest']);
    });
  });

  describe('when the auditor pins registries', () => {
    it('fails the anchor check for a registry not in verifyReceipt trustedRegistries', async () => {
      const v = await verifyReceipt(paid, {
        rootSource: source,
        trustedRegistries: ['0x000000000000000000000000000000000000dEaD'],
      });
      assert.deepEqual(failed(v), ['anchor']);
    });
    it('fails the anchor check when the ChainRootSource does not trust it', async () => {
      const pinned = new ChainRootSource(
        { provider: hre.ethers.provider },
        { trustedRegistries: ['0x000000000000000000000000000000000000dEaD'] },
      );
      const v = await verifyReceipt(paid, { rootSource: pinned });
      assert.deepEqual(failed(v), ['anchor']);
      assert.match(v.checks.find((c) => c.name === 'anchor')!.reason!, /REGISTRY_NOT_TRUSTED/);
      await assert.rejects(
        pinned.getAnchor({ chainId: 31337, registry: registryAddress, root: paid.proof.root }),
        (e: unknown) => e instanceof VerifierError && e.code === 'REGISTRY_NOT_TRUSTED',
      );
    });
    it('passes with the registry pinned in any case', async () => {
      const pinned = new ChainRootSource(
        { provider: hre.ethers.provider },
        { trustedRegistries: [registryAddress.toUpperCase().replace('0X', '0x')] },
      );
      assert.equal(
        (await verifyReceipt(paid, { rootSource: pinned, trustedRegistries: [registryAddress] })).valid,
        true,
      );
    });
  });

  describe('when the RPC endpoint is unreachable', () => {
    it('fails the anchor check with a coded reason instead of throwing', async () => {
      const provider = new JsonRpcProvider('http://127.0.0.1:9', 31337, { staticNetwork: true });
      const dead = new ChainRootSource({ provider });
      await assert.rejects(
        dead.getAnchor({ chainId: 31337, registry: registryAddress, root: paid.proof.root }),
        (e: unknown) => e instanceof VerifierError && e.code === 'CHAIN_CALL_FAILED',
      );
      const v = await verifyReceipt(paid, { rootSource: dead });
      assert.deepEqual(failed(v), ['anchor']);
      assert.deepEqual(
        v.checks.filter((c) => c.status === 'skipped').map((c) => c.name),
        ['digest', 'organisation', 'submitter', 'timestamp'],
      );
      provider.destroy();
    });
  });

  describe('when random mutations of a valid receipt are verified (fuzz)', () => {
    it('never throws and never says valid', async () => {
      const paths: string[][] = [
        ['version'],
        ['record'],
        ['record', 'id'],
        ['record', 'orgId'],
        ['record', 'type'],
        ['record', 'digest'],
        ['record', 'salt'],
        ['record', 'parents'],
        ['commitment'],
        ['proof'],
        ['proof', 'root'],
        ['proof', 'path'],
        ['anchor'],
        ['anchor', 'chainId'],
        ['anchor', 'registry'],
        ['anchor', 'txHash'],
        ['anchor', 'blockNumber'],
        ['anchor', 'blockTimestamp'],
        ['anchor', 'submitter'],
        ['anchor', 'seq'],
      ];
      const replacement = fc.oneof(
        fc.anything(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString('hex')}`),
        fc.integer(),
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), replacement, async (p, value) => {
          const r = structuredClone(paid) as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
          let o = r;
          for (const k of p.slice(0, -1)) o = o[k];
          const last = p[p.length - 1]!;
          fc.pre(JSON.stringify(o[last]) !== JSON.stringify(value));
          // a checksummed/uppercase variant of the same address is the same value, not a mutation
          fc.pre(
            !(
              typeof value === 'string' &&
              typeof o[last] === 'string' &&
              value.toLowerCase() === o[last].toLowerCase()
            ),
          );
          o[last] = value;
          const v = await verifyReceipt(r, { rootSource: source, payload: payment });
          assert.equal(v.valid, false);
        }),
        { numRuns: 200 },
      );
    });
    it('never throws on hostile non-receipts', async () => {
      const hostile = new Proxy(
        {},
        {
          get: () => {
            throw new Error('boom');
          },
          ownKeys: () => {
            throw new Error('boom');
          },
        },
      );
      for (const x of [null, undefined, 42, 'x', [], hostile, { version: 1 }]) {
        const v = await verifyReceipt(x, { rootSource: source });
        assert.equal(v.valid, false);
        assert.equal(v.checks[0]!.status, 'failed');
      }
    });
  });

  describe('verifyBundle', () => {
    it('accepts a lineage bundle whose parents are all inside', async () => {
      const v = await verifyBundle(
        { version: 1, root: claim.record.id, receipts: [claim, issued] },
        { rootSource: source },
      );
      assert.equal(v.valid, true, v.errors.join('; '));
      assert.deepEqual(v.links, [{ child: claim.record.id, parent: issued.commitment, status: 'linked' }]);
    });
    it('refuses a bundle with a missing parent unless it is listed as external', async () => {
      const missing = await verifyBundle(
        { version: 1, root: paid.record.id, receipts: [paid] },
        { rootSource: source },
      );
      assert.equal(missing.valid, false);
      assert.equal(missing.links[0]!.status, 'missing');
      const ext = await verifyBundle(
        { version: 1, root: paid.record.id, receipts: [paid], external: [issued.commitment] },
        { rootSource: source },
      );
      assert.equal(ext.valid, true, ext.errors.join('; '));
    });
    it('refuses a bundle whose lineage breaks the rules or contains an invalid receipt', async () => {
      const bad = structuredClone(claim);
      bad.anchor.seq += 1;
      const v = await verifyBundle(
        { version: 1, root: claim.record.id, receipts: [bad, issued] },
        { rootSource: source },
      );
      assert.equal(v.valid, false);
      assert.equal(v.receipts[0]!.valid, false);
      const wrongType = await verifyBundle({ version: 1, root: 'x', receipts: [] }, { rootSource: source });
      assert.equal(wrongType.valid, false);
      assert.equal((await verifyBundle('nope', { rootSource: source })).valid, false);
    });
  });
});

after(() => {
  // the in-process Hardhat network keeps no handles open; nothing to close
});
