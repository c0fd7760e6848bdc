import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import canonicalize from 'canonicalize';
import { AbiCoder, Contract, keccak256, toUtf8Bytes, verifyTypedData, type Provider } from 'ethers';
import { ChainRootSource, verifyReceipt } from '../../src/verifier';
import { buildSignedSet, type SignedCase } from '../../scripts/make-golden-receipts-signed';
import { loadHardhat } from '../helpers/notary-chain';

// "A receipt v2 verifies offline with public libraries only": an independent verifier written here with nothing of
// this repository (ethers verifyTypedData, keccak256 and AbiCoder, @openzeppelin/merkle-tree on the sealed leaf,
// canonicalize + SHA-256 for the digest, the registry and the directory read with ethers Contract), run on the
// signed golden set rebuilt on a fresh in-process Hardhat chain, must give the same failed checks as src/verifier.

/* eslint-disable @typescript-eslint/no-explicit-any */
const abi = AbiCoder.defaultAbiCoder();
const REGISTRY_ABI = [
  'function anchorOf(bytes32 root) view returns (tuple(uint64 timestamp, uint64 blockNumber, address submitter, uint64 seq, bytes32 prev, uint32 leafCount, bytes32 org))',
  'function directory() view returns (address)',
  'event Anchored(bytes32 indexed root, bytes32 indexed org, uint64 indexed seq, address submitter, bytes32 prev, uint32 leafCount)',
];
const DIRECTORY_ABI = [
  'function memberOf(address account) view returns (bytes32 org, uint8 kind, uint64 since, uint64 until)',
];
const TYPES = { RecordCommitment: [{ name: 'commitment', type: 'bytes32' }] };

const commitmentOf = (r: any): string =>
  keccak256(
    abi.encode(
      ['string', 'string', 'string', 'bytes32', 'bytes32', 'bytes32[]'],
      [r.id, r.orgId, r.type, r.digest, r.salt, [...r.parents].sort()],
    ),
  );
const sealedOf = (receipt: any): string =>
  keccak256(
    abi.encode(
      ['bytes32', 'bytes32'],
      [receipt.commitment, keccak256('0x' + receipt.signatures.map((s: any) => s.signature.slice(2)).join(''))],
    ),
  );
const recovers = (receipt: any, s: any): boolean => {
  const domain = {
    name: 'LedgerNotary',
    version: '2',
    chainId: receipt.anchor.chainId,
    verifyingContract: receipt.anchor.registry,
  };
  try {
    return verifyTypedData(domain, TYPES, { commitment: receipt.commitment }, s.signature) === s.signer;
  } catch {
    return false;
  }
};

/** The checks that need no chain, with public libraries only; the names are the verifier's. */
function localFailures(receipt: any, payload: unknown): string[] {
  const ok = receipt?.version === 2 && Array.isArray(receipt.signatures) && receipt.signatures.length > 0;
  if (!ok) return ['schema'];
  const failed: string[] = [];
  const digest = '0x' + createHash('sha256').update(canonicalize(payload)!, 'utf8').digest('hex');
  if (digest !== receipt.record.digest) failed.push('digest');
  if (commitmentOf(receipt.record) !== receipt.commitment) failed.push('commitment');
  if (!receipt.signatures.every((s: any) => recovers(receipt, s))) failed.push('signatures');
  if (!StandardMerkleTree.verify(receipt.proof.root, ['bytes32'], [sealedOf(receipt)], receipt.proof.path)) {
    failed.push('merkle');
  }
  return failed;
}

/** Every check, the chain read with ethers Contract over `provider`. */
async function publicFailures(receipt: any, payload: unknown, provider: Provider): Promise<string[]> {
  const failed = localFailures(receipt, payload);
  if (failed.includes('schema')) return failed;
  const { anchor, record, proof } = receipt;
  const registry = new Contract(anchor.registry, REGISTRY_ABI, provider);
  const org = keccak256(toUtf8Bytes(record.orgId));
  if (!failed.includes('signatures')) {
    const directory = new Contract(await registry.getFunction('directory')(), DIRECTORY_ABI, provider);
    for (const s of receipt.signatures) {
      const [keyOrg, kind, since, until] = await directory.getFunction('memberOf')(s.signer);
      const active =
        since !== 0n &&
        keyOrg === org &&
        kind === 1n &&
        BigInt(anchor.blockNumber) >= since &&
        (until === 0n || BigInt(anchor.blockNumber) < until);
      if (!active) {
        failed.push('signatures');
        break;
      }
    }
  }
  const a = await registry.getFunction('anchorOf')(proof.root);
  const tx = await provider.getTransactionReceipt(anchor.txHash);
  const topic = registry.interface.getEvent('Anchored')!.topicHash;
  const inTx = tx?.logs.some((l) => l.topics[0] === topic && l.topics[1] === proof.root) ?? false;
  if (a.timestamp === 0n || Number(a.blockNumber) !== anchor.blockNumber || Number(a.seq) !== anchor.seq || !inTx) {
    failed.push('anchor');
  }
  if (a.timestamp !== 0n) {
    if (a.org !== org) failed.push('organisation');
    if (a.submitter.toLowerCase() !== anchor.submitter.toLowerCase()) failed.push('submitter');
    if (Number(a.timestamp) !== anchor.blockTimestamp) failed.push('timestamp');
  }
  const order = [
    'schema',
    'digest',
    'commitment',
    'signatures',
    'merkle',
    'anchor',
    'organisation',
    'submitter',
    'timestamp',
  ];
  return failed.sort((x, y) => order.indexOf(x) - order.indexOf(y));
}

describe('receipt v2 verified with public libraries only, on a fresh in-process chain', () => {
  let hre: any;
  let cases: SignedCase[];
  before(async () => {
    hre = await loadHardhat();
    ({ cases } = await buildSignedSet(hre));
  });
  after(() => hre?.network?.provider?.removeAllListeners?.());

  it('builds valid and tampered cases', () => {
    assert.ok(cases.filter((c) => c.failed.length === 0).length >= 3);
    assert.ok(cases.filter((c) => c.failed.length > 0).length >= 5);
  });

  it('gives, for every case, the failed checks src/verifier gives (and the generator expects)', async () => {
    const chain = new ChainRootSource({ provider: hre.ethers.provider });
    for (const c of cases) {
      const mine = await verifyReceipt(c.receipt, { payload: c.payload, rootSource: chain });
      const failedMine = mine.checks.filter((x) => x.status === 'failed').map((x) => x.name);
      const theirs = await publicFailures(c.receipt, c.payload, hre.ethers.provider);
      assert.deepEqual(theirs, failedMine, c.name);
      assert.deepEqual(failedMine, c.failed, c.name);
      assert.equal(mine.valid, theirs.length === 0, c.name);
    }
  });

  it('a signer key removed after the anchor: memberOf shows the removal, both verifiers still pass', async () => {
    const c = cases.find((x) => x.name === 'valid-signer-removed-after-anchor')!;
    const registry = new Contract(c.receipt.anchor.registry, REGISTRY_ABI, hre.ethers.provider);
    const directory = new Contract(await registry.getFunction('directory')(), DIRECTORY_ABI, hre.ethers.provider);
    const [, , , until] = await directory.getFunction('memberOf')(c.receipt.signatures[0]!.signer);
    assert.ok(until > BigInt(c.receipt.anchor.blockNumber));
    assert.deepEqual(await publicFailures(c.receipt, c.payload, hre.ethers.provider), []);
  });
});

describe('the committed signed golden set, local checks with public libraries only', () => {
  const DIR = path.join(__dirname, '..', 'fixtures', 'receipts', 'signed');
  const read = (f: string): any => JSON.parse(readFileSync(path.join(DIR, f), 'utf8'));
  const state = read('chain-state.json');
  for (const f of readdirSync(DIR).filter((x) => /^(valid|tampered)-/.test(x))) {
    it(`${f}: digest, commitment, signature recovery and the sealed Merkle leaf agree with src/verifier`, async () => {
      const r = read(f);
      const payload = state.payloads[r.record.id];
      const v = await verifyReceipt(r, {
        payload,
        rootSource: { getAnchor: async () => null }, // the chain part is replayed in golden.test.ts
      });
      const local = ['schema', 'digest', 'commitment', 'merkle'];
      const mine = v.checks.filter((c) => local.includes(c.name) && c.status === 'failed').map((c) => c.name);
      // signatures: only the recovery part is local; the verifier fails it on the directory too
      const theirs = localFailures(r, payload).filter((n) => n !== 'signatures');
      assert.deepEqual(theirs, mine);
      const sig = v.checks.find((c) => c.name === 'signatures');
      if (!theirs.includes('schema') && r.signatures.every((s: any) => !recovers(r, s))) {
        assert.equal(sig?.status, 'failed');
      }
    });
  }
});
