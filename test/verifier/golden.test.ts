import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MemoryRootSource, verifyReceipt, type AnchorRecord, type AnchorTransaction } from '../../src/verifier';

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
