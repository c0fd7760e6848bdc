import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypedDataEncoder, Wallet, verifyTypedData } from 'ethers';
import { initHashing } from '../../src/domain';
import {
  RECORD_COMMITMENT_TYPES,
  isCanonicalSignature,
  leafValueOf,
  recordSigningDigest,
  recordSigningDomain,
  recoverRecordSigner,
  sealedLeaf,
  sealedLeafReference,
} from '../../src/domain/signatures';

const REGISTRY = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
const commitment = '0x' + 'ab'.repeat(32);

test('the signing digest is EIP-712 as ethers computes it, with and without the fast keccak', async () => {
  const domain = recordSigningDomain(31337, REGISTRY);
  const expected = TypedDataEncoder.hash(domain, RECORD_COMMITMENT_TYPES, { commitment }).toLowerCase();
  assert.equal(recordSigningDigest(domain, commitment), expected);
  await initHashing();
  assert.equal(recordSigningDigest(domain, commitment), expected);
  assert.notEqual(recordSigningDigest(recordSigningDomain(1, REGISTRY), commitment), expected);
});

test('a wallet signature recovers to the wallet; another commitment or domain does not', async () => {
  const w = Wallet.createRandom();
  const domain = recordSigningDomain(31337, REGISTRY);
  const sig = await w.signTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment });
  assert.ok(isCanonicalSignature(sig));
  assert.equal(recoverRecordSigner(domain, commitment, sig), w.address);
  assert.equal(verifyTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment }, sig), w.address);
  assert.notEqual(recoverRecordSigner(domain, '0x' + 'cd'.repeat(32), sig), w.address);
  assert.notEqual(recoverRecordSigner(recordSigningDomain(5, REGISTRY), commitment, sig), w.address);
});

test('non-canonical signatures are refused: high s, bad v, wrong length', async () => {
  const w = Wallet.createRandom();
  const domain = recordSigningDomain(31337, REGISTRY);
  const sig = await w.signTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment });
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const s = BigInt('0x' + sig.slice(66, 130));
  const v = parseInt(sig.slice(130), 16);
  const highS = sig.slice(0, 66) + (n - s).toString(16).padStart(64, '0') + (v === 27 ? '1c' : '1b');
  assert.equal(isCanonicalSignature(highS), false);
  assert.equal(recoverRecordSigner(domain, commitment, highS), null);
  assert.equal(isCanonicalSignature(sig.slice(0, 130) + '00'), false);
  // s just above n/2 with its top bit clear: ethers' Signature.from accepts it (it tests the top bit only); EIP-2 not.
  const justAboveHalf = (n >> 1n) + 1n;
  assert.equal(justAboveHalf >> 255n, 0n);
  assert.equal(isCanonicalSignature(sig.slice(0, 66) + justAboveHalf.toString(16).padStart(64, '0') + '1b'), false);
  assert.equal(isCanonicalSignature(sig.slice(0, 66) + (n >> 1n).toString(16).padStart(64, '0') + '1b'), true);
  assert.equal(isCanonicalSignature('0x' + '0'.repeat(64) + sig.slice(66)), false);
  assert.equal(isCanonicalSignature(sig.slice(0, 128)), false);
});

test('the sealed leaf matches an independent ethers computation and depends on order', async () => {
  const domain = recordSigningDomain(31337, REGISTRY);
  const a = await Wallet.createRandom().signTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment });
  const b = await Wallet.createRandom().signTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment });
  const sigs = [{ signature: a }, { signature: b }];
  assert.equal(sealedLeaf(commitment, sigs), sealedLeafReference(commitment, sigs));
  assert.notEqual(sealedLeaf(commitment, sigs), sealedLeaf(commitment, [...sigs].reverse()));
  assert.equal(leafValueOf(commitment), commitment);
  assert.equal(leafValueOf(commitment, []), commitment);
  assert.equal(leafValueOf(commitment, sigs), sealedLeaf(commitment, sigs));
});
