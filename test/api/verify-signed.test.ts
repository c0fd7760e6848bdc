import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { Database } from '../../src/storage/db';
import { SqlStore } from '../../src/storage/sql-repo';
import { MemoryRootSource, type AnchorRecord, type AnchorTransaction, type MemberKey } from '../../src/verifier';

// POST /v1/verify on receipts version 2 (test/fixtures/receipts/signed): the verdict carries the `signatures` check
// and, only when it passed, who signed — through the route's own root-source wrapper and response schema.
const DIR = path.join(__dirname, '..', 'fixtures', 'receipts', 'signed');
/* eslint-disable @typescript-eslint/no-explicit-any */
const read = (f: string): any => JSON.parse(readFileSync(path.join(DIR, f), 'utf8'));
const state = read('chain-state.json') as {
  chainId: number;
  registry: string;
  anchors: Record<string, AnchorRecord>;
  transactions: Record<string, AnchorTransaction>;
  members: Record<string, MemberKey>;
  payloads: Record<string, unknown>;
};

describe('POST /v1/verify with a receipt v2', () => {
  let db: Database;
  let app: FastifyInstance;
  before(async () => {
    const source = new MemoryRootSource();
    const at = { chainId: state.chainId, registry: state.registry };
    for (const [root, a] of Object.entries(state.anchors)) source.set({ ...at, root }, a);
    for (const [txHash, tx] of Object.entries(state.transactions)) source.setTransaction({ ...at, txHash }, tx);
    for (const [account, k] of Object.entries(state.members)) source.setMemberKey({ ...at, account }, k);
    db = await Database.open({ sqlitePath: ':memory:' });
    app = await buildApp({ store: new SqlStore(db), rootSource: source }, { web: false });
  });
  after(async () => {
    await app?.close();
    await db?.close();
  });

  const verify = async (f: string, withPayload = true) => {
    const receipt = read(f);
    const body = withPayload ? { receipt, payload: state.payloads[receipt.record.id] } : { receipt };
    const res = await app.inject({ method: 'POST', url: '/v1/verify', payload: body });
    assert.equal(res.statusCode, 200, res.body);
    return { receipt, v: res.json() as any };
  };

  it('a receipt signed by two keys: valid, nine checks, both signers with their key windows', async () => {
    const { receipt, v } = await verify('valid-two-signers.json');
    assert.equal(v.valid, true, JSON.stringify(v.checks));
    assert.equal(v.organisationVerified, true);
    assert.deepEqual(
      v.checks.map((c: any) => c.name),
      ['schema', 'digest', 'commitment', 'signatures', 'merkle', 'anchor', 'organisation', 'submitter', 'timestamp'],
    );
    assert.deepEqual(
      v.signers,
      receipt.signatures.map((s: any) => ({
        signer: s.signer,
        orgId: 'aero-parts',
        since: state.members[s.signer]!.since,
        until: 0,
      })),
    );
  });

  it('a key removed after the anchor: still valid, the removal block is said', async () => {
    const { receipt, v } = await verify('valid-signer-removed-after-anchor.json');
    assert.equal(v.valid, true);
    assert.ok(v.signers[0].until > receipt.anchor.blockNumber);
  });

  it('a signer of another organisation: not valid, signatures failed with the reason, no signers', async () => {
    const { v } = await verify('tampered-signer-of-other-org.json');
    assert.equal(v.valid, false);
    const sig = v.checks.find((c: any) => c.name === 'signatures');
    assert.equal(sig.status, 'failed');
    assert.match(sig.reason, /not of "aero-parts"/);
    assert.equal(v.signers, undefined);
  });

  it('a receipt v1 verdict has no signatures check and no signers', async () => {
    const { signatures: _s, ...rest } = read('valid-one-signer.json');
    const res = await app.inject({ method: 'POST', url: '/v1/verify', payload: { receipt: { ...rest, version: 1 } } });
    const v = res.json() as any;
    assert.equal(v.checks.length, 8);
    assert.equal(v.signers, undefined);
  });
});
