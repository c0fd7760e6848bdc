// Shared fixture for the chain tests: fresh accounts, registries deployed THROUGH the layer under test
// (offline-signed raw transactions + broadcastRaw), on a real chain (anvil or in-process Hardhat).
import assert from 'node:assert/strict';
import { Wallet, hexlify, randomBytes } from 'ethers';
import { ClaimRegistryV2__factory, MemberDirectory__factory, NotaryRegistryV2__factory } from '../../typechain-types';
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

/** The fixture's organisations. */
export const ORG_A = 'org-a';
export const ORG_B = 'org-b';

export interface ChainFixture {
  provider: ChainProvider;
  chainId: number;
  fee: FeePolicy;
  admin: Wallet;
  anchorer: Wallet;
  claimant: Wallet;
  stranger: Wallet;
  /** MemberDirectory: `anchorer` is the ANCHORER key of ORG_A, `claimant` of ORG_B; `stranger` is unbound. */
  directory: string;
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
  const dirIface = MemberDirectory__factory.createInterface();
  const notaryIface = NotaryRegistryV2__factory.createInterface();
  const claimIface = ClaimRegistryV2__factory.createInterface();
  const directory = await deploy(
    MemberDirectory__factory.bytecode + dirIface.encodeDeploy([0, admin.address]).slice(2),
  );
  const notary = await deploy(
    NotaryRegistryV2__factory.bytecode + notaryIface.encodeDeploy([0, admin.address, directory]).slice(2),
  );
  const claims = await deploy(
    ClaimRegistryV2__factory.bytecode + claimIface.encodeDeploy([0, admin.address, directory]).slice(2),
  );
  const call = async (to: string, data: string) =>
    assert.equal((await receipt((await send(admin, to, data)).hash)).status, 1);
  const REGISTRAR = await MemberDirectory__factory.connect(directory, provider).REGISTRAR_ROLE();
  const PAUSER = await NotaryRegistryV2__factory.connect(notary, provider).PAUSER_ROLE();
  await call(directory, dirIface.encodeFunctionData('grantRole', [REGISTRAR, admin.address]));
  await call(notary, notaryIface.encodeFunctionData('grantRole', [PAUSER, admin.address]));
  // one account per org: it anchors AND claims (DESIGN §3: an ANCHORER key)
  await call(directory, dirIface.encodeFunctionData('addKey', [ORG_A, anchorer.address, 0]));
  await call(directory, dirIface.encodeFunctionData('addKey', [ORG_B, claimant.address, 0]));
  return { provider, chainId, fee, admin, anchorer, claimant, stranger, directory, notary, claims, send, receipt };
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
