// Gas per anchored batch on the embedded anvil chain, with real anchors:
// - 1 and 1,000 leaves: records submitted to a real instance, anchored by its worker (one `anchor` per batch);
// - 1,000,000 leaves: the service's tree (src/domain/merkle) over 1M random commitments, anchored directly on the
//   same NotaryRegistry by a second submitter (ingesting 1M records through the API is the ingest figure's job).
// Receipt gas = what the transaction costs; execution gas = receipt gas − 21,000 intrinsic − calldata
// (16 per non-zero byte, 4 per zero byte). A submitter's FIRST anchor also pays for creating its head slot
// (zero → non-zero SSTOREs), so first and later anchors are reported apart.
// The naive design, one `anchor` per record, costs N × a later single-leaf anchor.
import { randomBytes } from 'node:crypto';
import { Contract, JsonRpcProvider, NonceManager, Wallet, type TransactionReceipt } from 'ethers';
import { buildMerkleTree } from '../src/domain/merkle';
import { initHashing } from '../src/domain/hashing';
import { orgHash } from '../src/chain/registries';
import { invoicePayload } from '../test/helpers/payloads';
import { startAnvil } from '../src/chain/anvil';
import { MemberDirectory__factory, NotaryRegistryV2__factory } from '../typechain-types';
import { api, eventually, startServer } from './lib';

/** anvil's default account #0 (a public dev key): the embedded chain's deployer and registry admin. */
const ANVIL_KEY_0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const REGISTRY_ABI = [
  'function anchor(bytes32 root, bytes32 prev, uint32 leafCount) returns (uint64)',
  'function headOf(bytes32 org) view returns (bytes32 root, uint64 seq)',
];
const DIRECTORY_ABI = ['function addKey(string orgId, address account, uint8 kind)'];

export interface GasRow {
  leaves: number;
  /** first anchor of its submitter, or a later one */
  first: boolean;
  via: 'service worker' | 'direct';
  receiptGas: number;
  executionGas: number;
}

function calldataGas(data: string): number {
  const b = Buffer.from(data.slice(2), 'hex');
  let g = 0;
  for (const x of b) g += x === 0 ? 4 : 16;
  return g;
}

async function rowOf(
  provider: JsonRpcProvider,
  r: TransactionReceipt,
  leaves: number,
  first: boolean,
  via: GasRow['via'],
) {
  const tx = (await provider.getTransaction(r.hash))!;
  const receiptGas = Number(r.gasUsed);
  return { leaves, first, via, receiptGas, executionGas: receiptGas - 21_000 - calldataGas(tx.data) };
}

export async function gas(): Promise<{ rows: GasRow[]; naivePerRecord: number }> {
  await initHashing();
  const server = await startServer({
    // Mined on every transaction (blockTime 0): nothing would mine a second block for depth 2.
    env: { RATE_LIMIT_MAX: '1000000', ANCHOR_INTERVAL_MS: '200', CONFIRMATIONS: '1' },
    blockTime: 0,
  });
  const provider = new JsonRpcProvider(server.demo.rpcUrl, undefined, { staticNetwork: true });
  try {
    const key = server.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
    let n = 0;
    /** Submits `count` records in one request and returns the receipt of the anchor transaction of their batch. */
    const anchorThroughService = async (count: number) => {
      const records = Array.from({ length: count }, () => ({ type: 'invoice.issued', payload: invoicePayload(++n) }));
      const res = await api(server.apiUrl, 'POST', '/v1/records/batch', { key, body: { records } });
      if (res.status !== 200 || res.body.accepted !== count) throw new Error(`batch: HTTP ${res.status}`);
      const id = (res.body.records as { id: string }[])[count - 1]!.id;
      const receipt = await eventually(async () => {
        const r = await api(server.apiUrl, 'GET', `/v1/records/${id}/receipt`, { key });
        return r.status === 200 ? r.body : null;
      });
      const batch = await api(server.apiUrl, 'GET', `/v1/batches/${receipt.proof.root}`, { key });
      if (batch.body.leafCount !== count)
        throw new Error(`expected one batch of ${count}, got ${batch.body.leafCount}`);
      return (await provider.getTransactionReceipt(receipt.anchor.txHash))!;
    };
    const rows: GasRow[] = [];
    rows.push(await rowOf(provider, await anchorThroughService(1), 1, true, 'service worker'));
    rows.push(await rowOf(provider, await anchorThroughService(1), 1, false, 'service worker'));
    rows.push(await rowOf(provider, await anchorThroughService(1000), 1000, false, 'service worker'));

    // 1M leaves: a second organisation (anvil #0, the deployer and registrar, binds its own key as ANCHORER of
    // "bench-direct" in the MemberDirectory), anchoring the service's tree directly.
    const admin = new NonceManager(new Wallet(ANVIL_KEY_0, provider));
    const registry = new Contract(server.demo.registry, REGISTRY_ABI, admin);
    const directory = new Contract(server.demo.memberDirectory, DIRECTORY_ABI, admin);
    await (await directory.getFunction('addKey')('bench-direct', await admin.getAddress(), 0)).wait();
    for (const first of [true, false]) {
      const tree = await buildMerkleTree(new Uint8Array(randomBytes(32 * 1_000_000)));
      const [prev] = (await registry.getFunction('headOf')(orgHash('bench-direct'))) as [string, bigint];
      const tx = await registry.getFunction('anchor')(tree.root, prev, tree.length);
      rows.push(await rowOf(provider, (await tx.wait())!, tree.length, first, 'direct'));
    }
    return { rows, naivePerRecord: rows[1]!.receiptGas };
  } finally {
    provider.destroy();
    await server.stop();
  }
}

/**
 * NotaryRegistryV2 (issue 12: anchors bound to organisations through the MemberDirectory) on a fresh anvil, anchored
 * directly by an ANCHORER key of one organisation: first anchor, then later anchors of 1 / 1,000 / 1,000,000 leaves
 * (trees of the service's engine). The service still anchors on v1; this row is the registry's own cost.
 */
export async function gasV2(): Promise<GasRow[]> {
  await initHashing();
  const anvil = await startAnvil();
  const provider = new JsonRpcProvider(anvil.rpcUrl, undefined, { staticNetwork: true });
  try {
    const wallet = new Wallet(ANVIL_KEY_0, provider);
    const admin = new NonceManager(wallet); // back-to-back transactions of one account
    const directory = await new MemberDirectory__factory(admin).deploy(0, wallet.address);
    await directory.waitForDeployment();
    const registry = await new NotaryRegistryV2__factory(admin).deploy(0, wallet.address, await directory.getAddress());
    await registry.waitForDeployment();
    await (await directory.grantRole(await directory.REGISTRAR_ROLE(), wallet.address)).wait();
    await (await directory.addKey('bench-org', wallet.address, 0)).wait();
    const org = await directory.memberOf(wallet.address).then((m) => m.org);
    const rows: GasRow[] = [];
    for (const [leaves, first] of [
      [1, true],
      [1, false],
      [1_000, false],
      [1_000_000, false],
    ] as const) {
      const tree = await buildMerkleTree(new Uint8Array(randomBytes(32 * leaves)));
      const [prev] = await registry.headOf(org);
      const tx = await registry.anchor(tree.root, prev, tree.length);
      rows.push(await rowOf(provider, (await tx.wait())!, tree.length, first, 'direct'));
    }
    return rows;
  } finally {
    provider.destroy();
    await anvil.stop();
  }
}

if (require.main === module) {
  void (async () => console.log(JSON.stringify({ v1: await gas(), v2: await gasV2() })))();
}
