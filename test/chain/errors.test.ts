// Pure mapping and offline-signing checks (no chain needed): revert data → codes, details as plain JSON.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Transaction, Wallet, makeError } from 'ethers';
import {
  ClaimRegistryV2__factory,
  ClaimRegistry__factory,
  NotaryRegistryV2__factory,
  NotaryRegistry__factory,
} from '../../typechain-types';
import {
  ChainError,
  decodeRevert,
  encodeAnchor,
  parseRawTransaction,
  signTransaction,
  toChainError,
} from '../../src/chain';
import { ZERO32, randomBytes32 } from './helpers';

describe('decodeRevert', () => {
  describe('when the data is a registry custom error', () => {
    it('maps v1 KeyAlreadyConsumed to KEY_ALREADY_CONSUMED with checksummed address and number timestamp', () => {
      const key = randomBytes32();
      const claim = randomBytes32();
      const consumer = Wallet.createRandom().address;
      const data = ClaimRegistry__factory.createInterface().encodeErrorResult('ClaimRegistryKeyAlreadyConsumed', [
        key,
        consumer.toLowerCase(),
        claim,
        1764000000n,
      ]);
      const err = decodeRevert(data);
      assert.equal(err.code, 'KEY_ALREADY_CONSUMED');
      assert.equal(err.errorName, 'ClaimRegistryKeyAlreadyConsumed');
      assert.deepEqual(err.details, { key, consumer, claim, timestamp: 1764000000 });
    });

    it('decodes the v2 errors: KeyAlreadyConsumed names the organisation, NotAnAnchorer, NotConsumingOrg, ClaimSettled', () => {
      const key = randomBytes32();
      const claim = randomBytes32();
      const org = randomBytes32();
      const account = Wallet.createRandom().address;
      const claims = ClaimRegistryV2__factory.createInterface();
      const notary = NotaryRegistryV2__factory.createInterface();
      const consumed = decodeRevert(
        claims.encodeErrorResult('ClaimRegistryKeyAlreadyConsumed', [key, org, claim, 1764000000n]),
      );
      assert.equal(consumed.code, 'KEY_ALREADY_CONSUMED');
      assert.deepEqual(consumed.details, { key, org, claim, timestamp: 1764000000 });
      const cases: [string, ChainError, Record<string, unknown>][] = [
        [
          'NOT_AUTHORIZED',
          decodeRevert(notary.encodeErrorResult('NotaryRegistryNotAnAnchorer', [account])),
          { account },
        ],
        [
          'NOT_AUTHORIZED',
          decodeRevert(claims.encodeErrorResult('ClaimRegistryNotAnAnchorer', [account])),
          { account },
        ],
        [
          'NOT_CONSUMER',
          decodeRevert(claims.encodeErrorResult('ClaimRegistryNotConsumingOrg', [claim, org, account])),
          { claim, org, caller: account },
        ],
        ['CLAIM_SETTLED', decodeRevert(claims.encodeErrorResult('ClaimRegistryClaimSettled', [claim])), { claim }],
        [
          'ROOT_ALREADY_ANCHORED',
          decodeRevert(notary.encodeErrorResult('NotaryRegistryRootAlreadyAnchored', [key, org, 7n])),
          { root: key, org, seq: 7 },
        ],
        [
          'UNEXPECTED_PREV',
          decodeRevert(notary.encodeErrorResult('NotaryRegistryUnexpectedPrev', [org, ZERO32, key])),
          { org, expected: ZERO32, given: key },
        ],
      ];
      for (const [code, err, details] of cases) {
        assert.equal(err.code, code, err.message);
        assert.deepEqual(err.details, details);
      }
    });

    it('keeps a uint64 beyond 2^53 exact as a decimal string', () => {
      const data = NotaryRegistry__factory.createInterface().encodeErrorResult('NotaryRegistryRootAlreadyAnchored', [
        randomBytes32(),
        Wallet.createRandom().address,
        2n ** 63n,
      ]);
      assert.equal(decodeRevert(data).details.seq, (2n ** 63n).toString());
    });
  });

  describe('when the data is not a known custom error', () => {
    it('gives TX_REVERTED for Error(string), an unknown selector, truncated data and no data', () => {
      const reason = decodeRevert(`0x08c379a0${'0'.repeat(62)}20${'0'.repeat(62)}02${'6869'.padEnd(64, '0')}`);
      assert.equal(reason.code, 'TX_REVERTED');
      assert.deepEqual(reason.details, { reason: 'hi' });
      assert.equal(decodeRevert('0xdeadbeef').code, 'TX_REVERTED');
      const truncated = NotaryRegistry__factory.createInterface()
        .encodeErrorResult('NotaryRegistryUnexpectedPrev', [Wallet.createRandom().address, ZERO32, ZERO32])
        .slice(0, 50);
      assert.equal(decodeRevert(truncated).code, 'TX_REVERTED');
      assert.equal(decodeRevert(undefined).code, 'TX_REVERTED');
    });
  });
});

describe('toChainError', () => {
  it('maps ethers error codes and node messages to the closed code set, keeping the cause', () => {
    const nonce = makeError('nonce has already been used', 'NONCE_EXPIRED');
    const mapped = toChainError(nonce);
    assert.equal(mapped.code, 'NONCE_TOO_LOW');
    assert.equal(mapped.cause, nonce);
    assert.equal(toChainError(makeError('insufficient funds', 'INSUFFICIENT_FUNDS')).code, 'INSUFFICIENT_FUNDS');
    assert.equal(
      toChainError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).code,
      'CHAIN_UNREACHABLE',
    );
    assert.equal(toChainError(makeError('request timeout', 'TIMEOUT')).code, 'CHAIN_UNREACHABLE');
    assert.equal(toChainError(new Error('Nonce too low. Expected nonce to be 3 but got 1.')).code, 'NONCE_TOO_LOW');
    assert.equal(toChainError(new Error('something odd')).code, 'TX_REJECTED');
    const pass = new ChainError({ code: 'PAUSED', message: 'x' });
    assert.equal(toChainError(pass), pass);
  });

  it('finds revert data nested in an EIP-1193 error', () => {
    const data = NotaryRegistry__factory.createInterface().encodeErrorResult('EnforcedPause', []);
    const err = toChainError({ message: 'execution reverted', error: { code: 3, data } });
    assert.equal(err.code, 'PAUSED');
  });
});

describe('signTransaction', () => {
  const wallet = Wallet.createRandom();
  const base = {
    chainId: 31337,
    to: wallet.address,
    data: encodeAnchor(randomBytes32(), ZERO32, 1),
    gasLimit: 150_000n,
  };

  it('produces a legacy zero-gas-price tx for a fixed gas price (Besu/Quorum)', () => {
    const s = signTransaction(wallet, { ...base, nonce: 7, fee: { type: 0, gasPrice: 0n } });
    const t = Transaction.from(s.raw);
    assert.equal(t.type, 0);
    assert.equal(t.gasPrice, 0n);
    assert.equal(t.nonce, 7);
    assert.equal(t.chainId, 31337n);
    assert.deepEqual(parseRawTransaction(s.raw), { hash: s.hash, from: wallet.address, nonce: 7, to: wallet.address });
  });

  it('is deterministic for the same inputs, and refuses a bad nonce', () => {
    const fee = { type: 2, maxFeePerGas: 3n, maxPriorityFeePerGas: 1n } as const;
    assert.equal(
      signTransaction(wallet, { ...base, nonce: 1, fee }).raw,
      signTransaction(wallet, { ...base, nonce: 1, fee }).raw,
    );
    assert.throws(() => signTransaction(wallet, { ...base, nonce: -1, fee }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => parseRawTransaction('0x1234'), { code: 'INVALID_ARGUMENT' });
  });

  it('encodeAnchor refuses a zero leafCount and a short root', () => {
    assert.throws(() => encodeAnchor(randomBytes32(), ZERO32, 0), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => encodeAnchor('0x1234', ZERO32, 1), { code: 'INVALID_ARGUMENT' });
  });
});
