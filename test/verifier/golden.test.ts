import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MemoryRootSource, verifyReceipt, type AnchorRecord, type AnchorTransaction } from '../../src/verifier';

// Replays test/fixtures/receipts/v1 (made once by scripts/make-golden-receipts.ts on the in-process Hardhat
// network; never regenerated here). The chain facts read at that time (chain-state.json) feed a MemoryRootSource.
const DIR = path.join(__dirname, '..', 'fixtures', 'receipts', 'v1');
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

function source(): MemoryRootSource {
  const s = new MemoryRootSource();
  for (const [root, a] of Object.entries(state.anchors))
    s.set({ chainId: state.chainId, registry: state.registry, root }, a);
  for (const [txHash, tx] of Object.entries(state.transactions)) {
    s.setTransaction({ chainId: state.chainId, registry: state.registry, txHash }, tx);
  }
  return s;
}

describe('golden receipts v1', () => {
  const files = readdirSync(DIR);
  const valid = files.filter((f) => f.startsWith('valid-'));
  const tampered = files.filter((f) => f.startsWith('tampered-'));
  it('has valid and tampered fixtures with an expectation for each tampered one', () => {
    assert.ok(valid.length >= 4);
    assert.deepEqual(tampered.sort(), Object.keys(expectations).sort());
  });

  describe('when a valid receipt is verified with its payload', () => {
    for (const f of valid) {
      it(`${f} passes every check (organisation skipped: registry 1.x)`, async () => {
        const r = read(f);
        const v = await verifyReceipt(r, { payload: state.payloads[r.record.id], rootSource: source() });
        assert.equal(v.valid, true, JSON.stringify(v.checks));
        assert.deepEqual(
          v.checks.map((c) => c.status),
          ['passed', 'passed', 'passed', 'passed', 'passed', 'skipped', 'passed', 'passed'],
        );
        assert.deepEqual(v.checks[5], {
          name: 'organisation',
          status: 'skipped',
          reason: 'organisation not verified (registry 1.x)',
        });
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
