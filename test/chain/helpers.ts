// Shared fixture for the chain tests: fresh accounts, registries deployed THROUGH the layer under test
// (offline-signed raw transactions + broadcastRaw), on a real chain (anvil or in-process Hardhat).
import assert from 'node:assert/strict';
import { Wallet, hexlify, randomBytes } from 'ethers';
import { ClaimRegistry__factory, NotaryRegistry__factory } from '../../typechain-types';
import {
  ChainError,
  broadcastRaw,
  fundAccounts,
  getReceiptInfo,
  pendingNonce,
  resolveFeePolicy,
  signTransaction,
  type ChainProvider,
  type FeePolicy,
  type ReceiptInfo,
} from '../../src/chain';

export const randomBytes32 = (): string => hexlify(randomBytes(32));
export const ZERO32 = `0x${'00'.repeat(32)}`;

export interface ChainFixture {
  provider: ChainProvider;
  chainId: number;
  fee: FeePolicy;
  admin: Wallet;
  anchorer: Wallet;
  claimant: Wallet;
  stranger: Wallet;
  notary: string;
  claims: string;
  /** Signs offline with the account's pending nonce, broadcasts, returns hash + receipt (mined by automine). */
  send(wallet: Wallet, to: string | null, data: string, gasLimit?: bigint): Promise<{ hash: string; raw: string }>;
  receipt(hash: string): Promise<ReceiptInfo>;
}

export async function setUpChain(provider: ChainProvider): Promise<ChainFixture> {
  const chainId = Number((await provider.getNetwork()).chainId);
  const fee = await resolveFeePolicy(provider);
  const [admin, anchorer, claimant, stranger] = [0, 1, 2, 3].map(() => new Wallet(randomBytes32()));
  assert.ok(admin && anchorer && claimant && stranger);
  await fundAccounts(
    provider,
    null,
    [admin, anchorer, claimant, stranger].map((w) => w.address),
    10n ** 20n,
  );

  const send: ChainFixture['send'] = async (wallet, to, data, gasLimit = 6_000_000n) => {
    const nonce = await pendingNonce(provider, wallet.address);
    const signed = signTransaction(wallet, { chainId, to, data, nonce, gasLimit, fee });
    const hash = await broadcastRaw(provider, signed.raw);
    return { hash, raw: signed.raw };
  };
  const receipt = async (hash: string): Promise<ReceiptInfo> => {
    for (let i = 0; i < 100; i++) {
      const r = await getReceiptInfo(provider, hash);
      if (r) return r;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new ChainError({ code: 'TX_REJECTED', message: `no receipt for ${hash}` });
  };

  const deploy = async (data: string): Promise<string> => {
    const r = await receipt((await send(admin, null, data)).hash);
    assert.equal(r.status, 1);
    assert.ok(r.contractAddress);
    return r.contractAddress;
  };
  const notaryIface = NotaryRegistry__factory.createInterface();
  const claimIface = ClaimRegistry__factory.createInterface();
  const notary = await deploy(NotaryRegistry__factory.bytecode + notaryIface.encodeDeploy([0, admin.address]).slice(2));
  const claims = await deploy(ClaimRegistry__factory.bytecode + claimIface.encodeDeploy([0, admin.address]).slice(2));
  const grant = async (to: string, data: string) =>
    assert.equal((await receipt((await send(admin, to, data)).hash)).status, 1);
  const ANCHORER = await NotaryRegistry__factory.connect(notary, provider).ANCHORER_ROLE();
  const PAUSER = await NotaryRegistry__factory.connect(notary, provider).PAUSER_ROLE();
  const CLAIMANT = await ClaimRegistry__factory.connect(claims, provider).CLAIMANT_ROLE();
  await grant(notary, notaryIface.encodeFunctionData('grantRole', [ANCHORER, anchorer.address]));
  await grant(notary, notaryIface.encodeFunctionData('grantRole', [PAUSER, admin.address]));
  await grant(claims, claimIface.encodeFunctionData('grantRole', [CLAIMANT, claimant.address]));
  // the same org account anchors AND claims (DESIGN: one account per org)
  await grant(claims, claimIface.encodeFunctionData('grantRole', [CLAIMANT, anchorer.address]));
  return { provider, chainId, fee, admin, anchorer, claimant, stranger, notary, claims, send, receipt };
}

/** Asserts that `fn` rejects with a ChainError of `code` and returns it for further checks. */
export async function rejectsWithCode(fn: () => Promise<unknown>, code: string): Promise<ChainError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ChainError, `expected ChainError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected a ChainError ${code}`);
}
