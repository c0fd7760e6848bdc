import { expect } from 'chai';
import { ethers } from 'hardhat';
import { loadFixture } from '@nomicfoundation/hardhat-network-helpers';
import type { HardhatEthersSigner } from '@nomicfoundation/hardhat-ethers/signers';
import type { ContractTransactionResponse } from 'ethers';
import fc from 'fast-check';
import type { ClaimRegistry, NotaryRegistry } from '../../typechain-types';

/**
 * Invariants of both registries under random interleavings of every state-changing call, checked
 * against the contracts' own views (not against a model of the expected outcome):
 *  - each submitter's head walks back to zero via anchorOf(prev), seq decreasing by exactly 1, every
 *    anchor on the way by that submitter; the walk length equals its successful anchors;
 *  - a root is anchored at most once (one Anchored event per root, ever);
 *  - a key is held by at most one live claim, and keysOf(claim) ↔ consumptionOf(key) agree both ways;
 *  - a claim id consumes at most once in its life.
 */

const ZERO = ethers.ZeroHash;
const ANCHORER_ROLE = ethers.id('ANCHORER_ROLE');
const CLAIMANT_ROLE = ethers.id('CLAIMANT_ROLE');
const PAUSER_ROLE = ethers.id('PAUSER_ROLE');

const ROOTS = Array.from({ length: 8 }, (_, i) => ethers.id(`inv-root-${i}`));
const KEYS = Array.from({ length: 6 }, (_, i) => ethers.id(`inv-key-${i}`));
const CLAIMS = Array.from({ length: 5 }, (_, i) => ethers.id(`inv-claim-${i}`));

async function deployFixture() {
  const [admin, a, b, c] = await ethers.getSigners();
  const notary = (await ethers.deployContract('NotaryRegistry', [0, admin.address])) as unknown as NotaryRegistry;
  const claims = (await ethers.deployContract('ClaimRegistry', [0, admin.address])) as unknown as ClaimRegistry;
  // a, b start with both roles, c with none; admin is also the pauser.
  for (const s of [a, b]) {
    await notary.grantRole(ANCHORER_ROLE, s.address);
    await claims.grantRole(CLAIMANT_ROLE, s.address);
  }
  await notary.grantRole(PAUSER_ROLE, admin.address);
  await claims.grantRole(PAUSER_ROLE, admin.address);
  return { notary, claims, admin, actors: [a, b, c] };
}

type Prev = 'head' | 'zero' | 'otherHead' | 'pool';
type Op =
  | { kind: 'anchor'; actor: number; root: number; prev: Prev; pool: number; leafCount: number }
  | { kind: 'consume'; actor: number; keys: number[]; claim: number }
  | { kind: 'release'; actor: number | 'admin'; claim: number }
  | { kind: 'role'; actor: number; registry: 'notary' | 'claims'; grant: boolean }
  | { kind: 'pause'; registry: 'notary' | 'claims'; on: boolean };

const actor = fc.integer({ min: 0, max: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('anchor' as const),
      actor,
      root: fc.integer({ min: -1, max: ROOTS.length - 1 }), // -1: the zero root
      prev: fc.constantFrom<Prev>('head', 'head', 'head', 'head', 'head', 'zero', 'otherHead', 'pool'),
      pool: fc.integer({ min: 0, max: ROOTS.length - 1 }),
      leafCount: fc.constantFrom(1, 1, 7, 4_294_967_295, 0),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('consume' as const),
      actor,
      keys: fc.array(fc.integer({ min: 0, max: KEYS.length - 1 }), { minLength: 0, maxLength: 4 }),
      claim: fc.integer({ min: 0, max: CLAIMS.length - 1 }),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      actor: fc.oneof(actor, fc.constant('admin' as const)),
      claim: fc.integer({ min: 0, max: CLAIMS.length - 1 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('role' as const),
      actor,
      registry: fc.constantFrom('notary' as const, 'claims' as const),
      grant: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('pause' as const),
      registry: fc.constantFrom('notary' as const, 'claims' as const),
      on: fc.boolean(),
    }),
  },
);

async function attempt(call: () => Promise<ContractTransactionResponse>): Promise<boolean> {
  try {
    await (await call()).wait();
    return true;
  } catch {
    return false;
  }
}

describe('Registry invariants (random call sequences, fast-check)', function () {
  this.timeout(120_000);

  it('hold for anchors, claims, releases, role changes and pauses in any order', async function () {
    const stats = { anchored: 0, anchorReverted: 0, consumed: 0, released: 0, reverted: 0 };

    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 30 }), async (ops) => {
        const { notary, claims, admin, actors } = await loadFixture(deployFixture);
        const anchoredBy = new Map<string, number>(); // submitter -> successful anchors
        const consumedClaims = new Set<string>();

        for (const op of ops) {
          switch (op.kind) {
            case 'anchor': {
              const who = actors[op.actor]!;
              const [head] = await notary.headOf(who.address);
              const [otherHead] = await notary.headOf(actors[(op.actor + 1) % actors.length]!.address);
              const prev = { head, zero: ZERO, otherHead, pool: ROOTS[op.pool]! }[op.prev];
              const root = op.root < 0 ? ZERO : ROOTS[op.root]!;
              const ok = await attempt(() => notary.connect(who).anchor(root, prev, op.leafCount));
              if (ok) {
                stats.anchored++;
                anchoredBy.set(who.address, (anchoredBy.get(who.address) ?? 0) + 1);
                // A successful anchor must have used the head as prev, a nonzero root and leaves.
                expect(prev).to.equal(head);
                expect(root).to.not.equal(ZERO);
                expect(op.leafCount).to.be.greaterThan(0);
              } else stats.anchorReverted++;
              break;
            }
            case 'consume': {
              const who = actors[op.actor]!;
              const c = CLAIMS[op.claim]!;
              const ok = await attempt(() =>
                claims.connect(who).consume(
                  op.keys.map((i) => KEYS[i]!),
                  c,
                ),
              );
              if (ok) {
                // A claim id consumes at most once in its whole life (also after a release).
                expect(consumedClaims.has(c), 'claim id consumed twice').to.equal(false);
                consumedClaims.add(c);
                stats.consumed++;
              } else stats.reverted++;
              break;
            }
            case 'release': {
              const who: HardhatEthersSigner = op.actor === 'admin' ? admin : actors[op.actor]!;
              const ok = await attempt(() => claims.connect(who).release(CLAIMS[op.claim]!));
              if (ok) stats.released++;
              else stats.reverted++;
              break;
            }
            case 'role': {
              const reg = op.registry === 'notary' ? notary : claims;
              const role = op.registry === 'notary' ? ANCHORER_ROLE : CLAIMANT_ROLE;
              const addr = actors[op.actor]!.address;
              await (await (op.grant ? reg.grantRole(role, addr) : reg.revokeRole(role, addr))).wait();
              break;
            }
            case 'pause': {
              const reg = op.registry === 'notary' ? notary : claims;
              if ((await reg.paused()) !== op.on) await (await (op.on ? reg.pause() : reg.unpause())).wait();
              break;
            }
          }
          await checkInvariants(notary, claims, actors, anchoredBy);
        }
      }),
      { numRuns: 30, seed: 424242 },
    );
    // The generator must reach both outcomes of the interesting calls, or the property says little.
    console.log(`      ${JSON.stringify(stats)}`);
    expect(stats.anchored).to.be.greaterThan(30);
    expect(stats.anchorReverted).to.be.greaterThan(40);
    expect(stats.consumed).to.be.greaterThan(20);
    expect(stats.released).to.be.greaterThan(5);
  });
});

async function checkInvariants(
  notary: NotaryRegistry,
  claims: ClaimRegistry,
  actors: HardhatEthersSigner[],
  anchoredBy: Map<string, number>,
): Promise<void> {
  // 1. Each submitter's heads form a chain back to zero, seq decreasing by 1.
  for (const s of actors) {
    const [headRoot, headSeq] = await notary.headOf(s.address);
    let root = headRoot;
    let seq = headSeq;
    let steps = 0;
    while (root !== ZERO) {
      const a = await notary.anchorOf(root);
      expect(a.timestamp, `anchor of ${root} exists`).to.be.greaterThan(0n);
      expect(a.submitter).to.equal(s.address);
      expect(a.seq).to.equal(seq);
      root = a.prev;
      seq -= 1n;
      steps++;
      expect(steps).to.be.lessThanOrEqual(ROOTS.length);
    }
    expect(seq, 'chain ends at seq 0').to.equal(0n);
    expect(steps).to.equal(anchoredBy.get(s.address) ?? 0);
  }

  // 2. A root is anchored at most once: one event per root; anchorOf agrees with the event.
  const events = await notary.queryFilter(notary.filters.Anchored());
  const byRoot = new Map<string, number>();
  for (const e of events) byRoot.set(e.args.root, (byRoot.get(e.args.root) ?? 0) + 1);
  for (const [root, n] of byRoot) expect(n, `Anchored events of ${root}`).to.equal(1);
  for (const r of ROOTS) {
    const a = await notary.anchorOf(r);
    expect(a.timestamp > 0n).to.equal(byRoot.has(r));
  }
  expect((await notary.anchorOf(ZERO)).timestamp).to.equal(0n);

  // 3. keysOf(claim) ↔ consumptionOf(key), and no key in two live claims.
  const holderOf = new Map<string, string>();
  for (const c of CLAIMS) {
    const ks = await claims.keysOf(c);
    for (const k of ks) {
      expect(holderOf.has(k), `key ${k} held by two claims`).to.equal(false);
      holderOf.set(k, c);
      const cons = await claims.consumptionOf(k);
      expect(cons.claim).to.equal(c);
      expect(cons.timestamp).to.be.greaterThan(0n);
    }
  }
  for (const k of KEYS) {
    const cons = await claims.consumptionOf(k);
    if (cons.claim === ZERO) {
      expect(holderOf.has(k)).to.equal(false);
      expect([cons.consumer, cons.timestamp, cons.blockNumber]).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
    } else {
      expect(holderOf.get(k), `consumptionOf(${k}) names a claim whose keysOf lacks it`).to.equal(cons.claim);
    }
  }
}
