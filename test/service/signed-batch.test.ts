import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { MemberDirectoryReader } from '../../src/chain/registries';
import { digestSignerFromKey, signRecords, type RecordToSign } from '../../src/client';
import { computeCommitment } from '../../src/domain/commitment';
import { initHashing } from '../../src/domain/hashing';
import { isPrepareFailure, prepareBatchBody, type Prepared } from '../../src/service/prepare';
import { RecordService, type BatchItemResult, type SubmitResult } from '../../src/service/records';
import { recordSigningFor } from '../../src/service/signer-keys';
import { Database } from '../../src/storage/db';
import { SqlStore } from '../../src/storage/sql-repo';
import { deployRegistryV2, loadHardhat } from '../helpers/notary-chain';

/**
 * The bulk path of signed records: a batch prepared with its organisation and chain known carries each record's
 * commitment and recovered signers, which the transaction reuses only for that organisation. Real chain (Hardhat
 * in-process MemberDirectory), real SQLite.
 */
describe('signed batches: what the preparation computed is reused only where it applies', { timeout: 180_000 }, () => {
  let db: Database;
  let svc: RecordService;
  let chainId: number;
  let registry: string;
  const key = Wallet.createRandom().privateKey;
  const signer = digestSignerFromKey(key);

  before(async () => {
    await initHashing();
    const hre = await loadHardhat();
    const { directory, address } = await deployRegistryV2(hre, {});
    await (await directory.addKey('bank', signer.address, 1)).wait(); // KeyKind.SIGNER
    chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
    registry = address;
    db = await Database.open({ sqlitePath: ':memory:' });
    const store = new SqlStore(db);
    await store.tx(async (r) => {
      for (const id of ['bank', 'other'])
        await r.insertOrg({ id, name: id, kind: 'member', address: null, createdAt: 1 });
    });
    const reader = new MemberDirectoryReader(hre.ethers.provider, await directory.getAddress());
    svc = new RecordService(store, undefined, undefined, recordSigningFor({ chainId, registry }, reader));
  });
  after(async () => db?.dataSource.destroy());

  const batch = (tag: string, n = 5) => {
    const recs: RecordToSign[] = Array.from({ length: n }, (_, i) => ({
      type: 'document',
      payload: { title: `${tag} ${i}` },
    }));
    const signed = signRecords(signer, recs, { orgId: 'bank', chainId, registry });
    const raw = JSON.stringify({
      records: signed.map((s, i) => ({ ...recs[i]!, id: s.id, salt: s.salt, signatures: s.signatures })),
    });
    return { raw, signed };
  };
  const prepared = (raw: string, orgId: string): Prepared[] => {
    const res = prepareBatchBody(raw, { orgId, chainId, registry });
    assert.ok('items' in res);
    return res.items.map((p) => {
      assert.ok(!isPrepareFailure(p), JSON.stringify(p));
      return p;
    });
  };
  const accepted = (out: BatchItemResult[]): SubmitResult[] =>
    out.map((x) => {
      assert.ok(!('error' in x), JSON.stringify(x));
      return x;
    });

  it('a batch prepared for its organisation: accepted with the commitment the client signed', async () => {
    const { raw, signed } = batch('own');
    const items = prepared(raw, 'bank');
    assert.ok(
      items.every((p) => p.recovered?.orgId === 'bank' && p.recovered.signers[0] === signer.address.toLowerCase()),
    );
    const out = accepted(await svc.submitPrepared('bank', items));
    assert.deepEqual(
      out.map((r) => r.commitment),
      signed.map((s) => s.commitment),
    );
  });

  it('a batch prepared for another organisation: commitments and signers are recomputed for the submitter', async () => {
    const { raw, signed } = batch('elsewhere');
    const items = prepared(raw, 'other');
    // The preparation computed other's commitments (and signers recovered over them): none of them is bank's.
    for (const [i, p] of items.entries()) assert.notEqual(p.recovered!.commitment, signed[i]!.commitment);
    const out = accepted(await svc.submitPrepared('bank', items));
    for (const [i, r] of out.entries()) {
      assert.equal(r.commitment, signed[i]!.commitment);
      assert.equal(
        r.commitment,
        computeCommitment({
          recordId: signed[i]!.id,
          orgId: 'bank',
          type: 'document',
          digest: r.digest,
          salt: signed[i]!.salt,
          parents: [],
        }),
      );
    }
  });

  it('a recovered signer that does not match is refused (SIGNATURE_INVALID), every record on its own', async () => {
    const { raw } = batch('tampered', 3);
    const items = prepared(raw, 'bank');
    items[1]!.recovered!.signers[0] = Wallet.createRandom().address.toLowerCase();
    const out = await svc.submitPrepared('bank', items);
    assert.ok(!('error' in out[0]!));
    assert.equal('error' in out[1]! && out[1].error.code, 'SIGNATURE_INVALID');
    assert.ok(!('error' in out[2]!));
  });
});
