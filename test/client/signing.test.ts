// Client-side record signing (src/client/signing.ts) against ethers' own EIP-712 implementation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Signature, TypedDataEncoder, Wallet, verifyTypedData } from 'ethers';
import {
  RECORD_COMMITMENT_TYPES,
  availableSigningBackends,
  digestSignerFromKey,
  newRecordIdV7,
  newRecordSalt,
  recordSigningDomain,
  signRecordWith,
  signRecords,
  type SigningContext,
} from '../../src/client';
import { computeCommitment } from '../../src/domain/commitment';
import { digestPayload } from '../../src/domain/canonicalize';
import { isCanonicalSignature, recoverRecordSigner } from '../../src/domain/signatures';

const ctx: SigningContext = { orgId: 'bank', chainId: 31337, registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3' };
const wallet = Wallet.createRandom();
const parent = '0x' + 'ab'.repeat(32);
const payload = { isin: 'XS0000000009', amount: '1000000.00', note: 'ünïcode ✓' };

describe('client signing', () => {
  it('chooses a UUIDv7 id and a 32-byte salt', () => {
    const before = Date.now();
    const id = newRecordIdV7();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    assert.ok(ms >= before && ms <= Date.now());
    assert.notEqual(newRecordIdV7(), newRecordIdV7());
    assert.match(newRecordSalt(), /^0x[0-9a-f]{64}$/);
    assert.notEqual(newRecordSalt(), newRecordSalt());
  });

  for (const backend of availableSigningBackends()) {
    it(`signs the commitment as EIP-712 RecordCommitment (${backend} backend)`, () => {
      const signer = digestSignerFromKey(wallet.privateKey, backend);
      assert.equal(signer.backend, backend);
      const [s] = signRecords(signer, [{ type: 'security.issuance', payload, parentCommitments: [parent] }], ctx);
      const expected = computeCommitment({
        recordId: s!.id,
        orgId: 'bank',
        type: 'security.issuance',
        digest: digestPayload(payload),
        salt: s!.salt,
        parents: [parent],
      });
      assert.equal(s!.commitment, expected);
      assert.equal(s!.digest, digestPayload(payload));
      assert.equal(s!.signatures.length, 1);
      const { signer: addr, signature } = s!.signatures[0]!;
      assert.equal(addr, wallet.address);
      const domain = recordSigningDomain(ctx.chainId, ctx.registry);
      assert.equal(
        verifyTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment: expected }, signature),
        wallet.address,
      );
      assert.ok(isCanonicalSignature(signature));
      assert.equal(recoverRecordSigner(domain, expected as `0x${string}`, signature), wallet.address);
      // Another chain or registry: the same signature recovers to someone else.
      const other = recordSigningDomain(1, ctx.registry);
      assert.notEqual(
        verifyTypedData(other, RECORD_COMMITMENT_TYPES, { commitment: expected }, signature),
        wallet.address,
      );
    });
  }

  it('every backend gives the same (deterministic, RFC 6979) signature as ethers signTypedData', async () => {
    const rec = { type: 'document', payload: { title: 'x' }, id: newRecordIdV7(), salt: newRecordSalt() };
    const viaWallet = await signRecordWith(wallet, rec, ctx);
    for (const backend of availableSigningBackends()) {
      const [s] = signRecords(digestSignerFromKey(wallet.privateKey, backend), [rec], ctx);
      assert.equal(s!.commitment, viaWallet.commitment);
      assert.deepEqual(s!.signatures, viaWallet.signatures);
    }
    const domain = recordSigningDomain(ctx.chainId, ctx.registry);
    const direct = wallet.signingKey.sign(
      TypedDataEncoder.hash(domain, RECORD_COMMITMENT_TYPES, { commitment: viaWallet.commitment }),
    );
    assert.equal(viaWallet.signatures[0]!.signature, Signature.from(direct).serialized.toLowerCase());
  });

  it('binds the parents as a set, and refuses what is not a commitment', () => {
    const signer = digestSignerFromKey(wallet.privateKey, 'ethers');
    const a = '0x' + '01'.repeat(32);
    const b = '0x' + '02'.repeat(32);
    const base = { type: 'document', payload: {}, id: newRecordIdV7(), salt: newRecordSalt() };
    const [x] = signRecords(signer, [{ ...base, parentCommitments: [a, b] }], ctx);
    const [y] = signRecords(signer, [{ ...base, parentCommitments: [b, a.toUpperCase().replace('0X', '0x')] }], ctx);
    assert.equal(x!.commitment, y!.commitment);
    assert.throws(() => signRecords(signer, [{ ...base, parentCommitments: ['0x1234'] }], ctx), /not 0x \+ 64 hex/);
    assert.throws(() => digestSignerFromKey('0x1234'), /private key/);
    assert.throws(() => signRecords(signer, [base], { ...ctx, registry: 'nope' }), /registry/);
  });

  it('signs 1,000 records in bulk, each verifiable on its own', () => {
    const signer = digestSignerFromKey(wallet.privateKey);
    const recs = Array.from({ length: 1000 }, (_, i) => ({ type: 'document', payload: { title: `doc ${i}` } }));
    const out = signRecords(signer, recs, ctx);
    assert.equal(new Set(out.map((s) => s.id)).size, 1000);
    assert.equal(new Set(out.map((s) => s.salt)).size, 1000);
    const domain = recordSigningDomain(ctx.chainId, ctx.registry);
    for (const s of out.filter((_, i) => i % 97 === 0))
      assert.equal(
        verifyTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment: s.commitment }, s.signatures[0]!.signature),
        wallet.address,
      );
  });
});
