import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Wallet, decryptKeystoreJsonSync } from 'ethers';
import { DEV_SCRYPT_N, FileKeystore, fromPrivateKeys } from '../../src/chain';
import { rejectsWithCode } from './helpers';

describe('FileKeystore', () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'keystore-')), 'keys');
  after(() => rmSync(path.dirname(dir), { recursive: true, force: true }));

  describe('when a key is created', () => {
    it('writes one encrypted v3 JSON file, mode 0600 in a 0700 folder, with the dev scrypt cost', async () => {
      const ks = new FileKeystore(dir, 'pw');
      const { address, label } = await ks.create('bank');
      assert.equal(label, 'bank');
      const file = path.join(dir, `${address.toLowerCase()}.json`);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { Crypto: { kdfparams: { n: number } }; label: string };
      assert.equal(doc.Crypto.kdfparams.n, DEV_SCRYPT_N);
      assert.equal(doc.label, 'bank');
      assert.equal(
        decryptKeystoreJsonSync(readFileSync(file, 'utf8'), 'pw').address,
        address,
        'standard decoders read it',
      );
      assert.deepEqual(readdirSync(dir), [path.basename(file)], 'no temp files left');
    });

    it('a fresh instance lists it and loads the same key with the password', async () => {
      const [info] = await new FileKeystore(dir, 'pw').list();
      assert.ok(info);
      const fresh = new FileKeystore(dir, 'pw');
      const w = await fresh.load(info.address.toLowerCase());
      assert.equal(w.address, info.address);
      assert.equal(await fresh.load(info.address), w, 'cached after the first decrypt');
    });

    it('refuses a wrong password and an unknown address with INVALID_ARGUMENT', async () => {
      const [info] = await new FileKeystore(dir, 'pw').list();
      assert.ok(info);
      const err = await rejectsWithCode(() => new FileKeystore(dir, 'nope').load(info.address), 'INVALID_ARGUMENT');
      assert.match(err.message, /wrong password/);
      await rejectsWithCode(() => new FileKeystore(dir, 'pw').load(Wallet.createRandom().address), 'INVALID_ARGUMENT');
    });

    it('imports an existing key and honours a production scrypt cost', async () => {
      const pk = Wallet.createRandom().privateKey;
      const ks = new FileKeystore(dir, 'pw', { scryptN: 1 << 14 });
      const { address } = await ks.importKey(pk, 'employer');
      const doc = JSON.parse(readFileSync(path.join(dir, `${address.toLowerCase()}.json`), 'utf8')) as {
        Crypto: { kdfparams: { n: number } };
      };
      assert.equal(doc.Crypto.kdfparams.n, 1 << 14);
      assert.equal((await new FileKeystore(dir, 'pw').load(address)).privateKey, pk);
      assert.deepEqual((await ks.list()).map((k) => k.label).sort(), ['bank', 'employer']);
    });

    it('rejects a scrypt N that is not a power of two', () => {
      assert.throws(() => new FileKeystore(dir, 'pw', { scryptN: 5000 }), { code: 'INVALID_ARGUMENT' });
    });
  });
});

describe('fromPrivateKeys', () => {
  it('serves the given keys by address, lists labels, and creates new in-memory keys', async () => {
    const pk = Wallet.createRandom().privateKey;
    const ks = fromPrivateKeys({ bank: pk });
    const address = new Wallet(pk).address;
    assert.equal((await ks.load(address)).privateKey, pk);
    const created = await ks.create('auditor');
    assert.equal((await ks.load(created.address)).address, created.address);
    assert.deepEqual(
      (await ks.list()).map((k) => k.label),
      ['bank', 'auditor'],
    );
    await rejectsWithCode(() => ks.load(Wallet.createRandom().address), 'INVALID_ARGUMENT');
    assert.throws(() => fromPrivateKeys({ bad: '0x1234' }), { code: 'INVALID_ARGUMENT' });
  });
});
