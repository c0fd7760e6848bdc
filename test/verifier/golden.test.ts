import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  MemoryRootSource,
  verifyReceipt,
  type AnchorRecord,
  type AnchorTransaction,
  type MemberKey,
} from '../../src/verifier';

// Replays test/fixtures/receipts/v1 and v2 (made once by scripts/make-golden-receipts.ts on a 1.x registry and
// scripts/make-golden-receipts-v2.ts on the organisation-bound 2.x registry, both on the in-process Hardhat network;
// never regenerated here). The chain facts read at that time (chain-state.json) feed a MemoryRootSource.

interface Golden {
  /** fixture folder */
  set: 'v1' | 'v2';
  /** every check's status for a valid receipt with its payload */
  validStatuses: string[];
  /** the organisation check of a valid receipt */
  organisation: { name: string; status: string; reason?: string };
}

const SETS: Golden[] = [
  {
    set: 'v1',
    validStatuses: ['passed', 'passed', 'passed', 'passed', 'passed', 'skipped', 'passed', 'passed'],
    organisation: { name: 'organisation', status: 'skipped', reason: 'organisation not verified (registry 1.x)' },
  },
  {
    set: 'v2',
    validStatuses: ['passed', 'passed', 'passed', 'passed', 'passed', 'passed', 'passed', 'passed'],
    organisation: { name: 'organisation', status: 'passed' },
  },
];

for (const g of SETS) {
  const DIR = path.join(__dirname, '..', 'fixtures', 'receipts', g.set);
  const read = (f: string): any => JSON.parse(readFileSync(path.join(DIR, f), 'utf8')); // eslint-disable-line @typescript-eslint/no-explicit-any
  const state = read('chain-state.json') as {
    chainId: number;
    registry: string;
    anchors: Record<string, AnchorRecord>;
    transactions: Record<string, AnchorTransaction>;
    payloads: Record<string, unknown>;
  };
  const expectations = read('expectations.json') as Record<
    string,
    { base: string; withPayload: boolean; failed: string[] }
  >;

  const source = (): MemoryRootSource => {
    const s = new MemoryRootSource();
    for (const [root, a] of Object.entries(state.anchors))
      s.set({ chainId: state.chainId, registry: state.registry, root }, a);
    for (const [txHash, tx] of Object.entries(state.transactions)) {
      s.setTransaction({ chainId: state.chainId, registry: state.registry, txHash }, tx);
    }
    return s;
  };

  describe(`golden receipts ${g.set}`, () => {
    const files = readdirSync(DIR);
    const valid = files.filter((f) => f.startsWith('valid-'));
    const tampered = files.filter((f) => f.startsWith('tampered-'));
    it('has valid and tampered fixtures with an expectation for each tampered one', () => {
      assert.ok(valid.length >= 4);
      assert.deepEqual(tampered.sort(), Object.keys(expectations).sort());
    });

    describe('when a valid receipt is verified with its payload', () => {
      for (const f of valid) {
        it(`${f} passes every check (organisation ${g.organisation.status})`, async () => {
          const r = read(f);
          const v = await verifyReceipt(r, { payload: state.payloads[r.record.id], rootSource: source() });
          assert.equal(v.valid, true, JSON.stringify(v.checks));
          assert.deepEqual(
            v.checks.map((c) => c.status),
            g.validStatuses,
          );
          assert.deepEqual(v.checks[5], g.organisation);
        });
      }
    });

    describe('when a tampered receipt is verified', () => {
      for (const f of tampered) {
        const exp = expectations[f]!;
        it(`${f} fails exactly ${exp.failed.join(' + ')}`, async () => {
          const r = read(f);
          const base = read(exp.base);
          const payload = exp.withPayload ? state.payloads[base.record.id] : undefined;
          const v = await verifyReceipt(r, { payload, rootSource: source() });
          assert.equal(v.valid, false);
          assert.deepEqual(
            v.checks.filter((c) => c.status === 'failed').map((c) => c.name),
            exp.failed,
          );
        });
      }
    });
  });
}

// Signed receipts (receipt version 2), made once by scripts/make-golden-receipts-signed.ts on the in-process Hardhat
// network; chain-state.json also holds the directory's memberOf() of every key, read after the last key removal.
describe('golden signed receipts (receipt v2)', () => {
  const DIR = path.join(__dirname, '..', 'fixtures', 'receipts', 'signed');
  const read = (f: string): any => JSON.parse(readFileSync(path.join(DIR, f), 'utf8')); // eslint-disable-line @typescript-eslint/no-explicit-any
  const state = read('chain-state.json') as {
    chainId: number;
    registry: string;
    anchors: Record<string, AnchorRecord>;
    transactions: Record<string, AnchorTransaction>;
    members: Record<string, MemberKey>;
    payloads: Record<string, unknown>;
  };
  const expectations = read('expectations.json') as Record<string, { withPayload: boolean; failed: string[] }>;
  const source = (): MemoryRootSource => {
    const s = new MemoryRootSource();
    const at = { chainId: state.chainId, registry: state.registry };
    for (const [root, a] of Object.entries(state.anchors)) s.set({ ...at, root }, a);
    for (const [txHash, tx] of Object.entries(state.transactions)) s.setTransaction({ ...at, txHash }, tx);
    for (const [account, k] of Object.entries(state.members)) s.setMemberKey({ ...at, account }, k);
    return s;
  };
  const files = readdirSync(DIR);
  const valid = files.filter((f) => f.startsWith('valid-'));
  const tampered = files.filter((f) => f.startsWith('tampered-'));

  it('has valid and tampered fixtures with an expectation for each tampered one', () => {
    assert.ok(valid.length >= 4);
    assert.deepEqual(tampered.sort(), Object.keys(expectations).sort());
  });

  for (const f of valid) {
    it(`${f} passes all nine checks and names its signers`, async () => {
      const r = read(f);
      const v = await verifyReceipt(r, { payload: state.payloads[r.record.id], rootSource: source() });
      assert.equal(v.valid, true, JSON.stringify(v.checks));
      assert.deepEqual(
        v.checks.map((c) => [c.name, c.status]),
        [
          'schema',
          'digest',
          'commitment',
          'signatures',
          'merkle',
          'anchor',
          'organisation',
          'submitter',
          'timestamp',
        ].map((n) => [n, 'passed']),
      );
      assert.deepEqual(
        v.signers?.map((s) => s.signer),
        r.signatures.map((s: { signer: string }) => s.signer),
      );
    });
  }

  it('a signer removed after the anchor still vouches for it (its window ends after the anchor block)', async () => {
    const r = read('valid-signer-removed-after-anchor.json');
    const key = state.members[r.signatures[0].signer]!;
    assert.ok(key.until > r.anchor.blockNumber, JSON.stringify(key));
    const v = await verifyReceipt(r, { rootSource: source() });
    assert.equal(v.signers?.[0]?.until, key.until);
  });

  for (const f of tampered) {
    const exp = expectations[f]!;
    it(`${f} fails exactly ${exp.failed.join(' + ')}`, async () => {
      const r = read(f);
      const payload = exp.withPayload ? state.payloads[r.record.id] : undefined;
      const v = await verifyReceipt(r, { payload, rootSource: source() });
      assert.equal(v.valid, false);
      // who signed is said only when the signatures check passed (a swapped signature passes it, merkle fails)
      assert.equal(v.signers === undefined, v.checks.find((c) => c.name === 'signatures')?.status !== 'passed');
      assert.deepEqual(
        v.checks.filter((c) => c.status === 'failed').map((c) => c.name),
        exp.failed,
      );
    });
  }
});
