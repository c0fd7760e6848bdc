import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Signature, Wallet } from 'ethers';
import { initHashing } from '../../src/domain/hashing';
import {
  RECORD_COMMITMENT_TYPES,
  isCanonicalSignature,
  recordSigningDomain,
  recoverRecordSigner,
} from '../../src/domain/signatures';
import { isCanonicalSignatureFast, nativeRecovery, recoverSignerAddress } from '../../src/service/signer-keys';

const N = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
const hex64 = (x: bigint) => x.toString(16).padStart(64, '0');
const domain = recordSigningDomain(31337, '0x' + '42'.repeat(20));

describe('signature recovery on the ingest path', () => {
  it('uses libsecp256k1 on this machine (the secp256k1 native binding)', () => {
    assert.equal(nativeRecovery(), true);
  });

  it('recovers the same signer as ethers (the pure-JS oracle), and nothing for a tampered signature', async () => {
    await initHashing();
    const w = Wallet.createRandom();
    for (let i = 0; i < 20; i++) {
      const commitment = '0x' + randomBytes(32).toString('hex');
      const sig = await w.signTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment });
      const native = recoverSignerAddress(domain, commitment, sig);
      assert.equal(native, w.address.toLowerCase());
      assert.equal(native, recoverRecordSigner(domain, commitment, sig)!.toLowerCase());
      assert.equal(recoverSignerAddress(domain, commitment, sig, { pureJs: true }), native);
      // Another commitment, another domain: another (or no) address, the same on both paths.
      const other = '0x' + randomBytes(32).toString('hex');
      assert.notEqual(recoverSignerAddress(domain, other, sig), native);
      assert.equal(
        recoverSignerAddress(domain, other, sig),
        recoverSignerAddress(domain, other, sig, { pureJs: true }),
      );
      const elsewhere = recordSigningDomain(1, '0x' + '42'.repeat(20));
      assert.notEqual(recoverSignerAddress(elsewhere, commitment, sig), native);
    }
  });

  it('judges canonical form like the domain check', async () => {
    const w = Wallet.createRandom();
    const commitment = '0x' + randomBytes(32).toString('hex');
    const good = await w.signTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment });
    const s = Signature.from(good);
    const r = s.r.slice(2);
    const sHex = s.s.slice(2);
    const v = good.slice(130);
    const flip = v === '1b' ? '1c' : '1b';
    const cases = [
      good,
      good.toUpperCase().replace('0X', '0x'),
      '0x' + r + hex64(N - BigInt(s.s)) + flip, // high s
      '0x' + r + sHex + '00',
      '0x' + r + sHex + '01',
      '0x' + r + sHex + '1d',
      '0x' + hex64(0n) + sHex + v,
      '0x' + r + hex64(0n) + v,
      '0x' + hex64(N) + sHex + v,
      '0x' + hex64(N - 1n) + sHex + v,
      '0x' + r + hex64(N / 2n) + v,
      '0x' + r + hex64(N / 2n + 1n) + v,
      good.slice(0, 130),
      good + '00',
      'not a signature',
    ];
    // r = 0, s = 0 and r ≥ n: the domain check leaves them to recovery, which finds no signer; the fast check refuses them.
    const noR = new Set([cases[6], cases[7], cases[8]]);
    for (const c of cases) {
      if (noR.has(c)) {
        assert.equal(isCanonicalSignatureFast(c), false, c);
        assert.equal(recoverRecordSigner(domain, commitment, c!), null, c);
      } else if (c === cases[11]) {
        // s = n/2 + 1: high by EIP-2 (refused here); the domain check only refuses s ≥ 2^255 (ethers' rule).
        assert.equal(isCanonicalSignatureFast(c), false);
      } else assert.equal(isCanonicalSignatureFast(c), isCanonicalSignature(c), c);
    }
    assert.equal(isCanonicalSignatureFast(good), true);
    assert.equal(isCanonicalSignatureFast(cases[2]), false);
  });
});
