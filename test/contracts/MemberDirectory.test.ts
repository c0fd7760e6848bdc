import { expect } from 'chai';
import { ethers } from 'hardhat';
import { loadFixture, mine, time } from '@nomicfoundation/hardhat-network-helpers';
import fc from 'fast-check';
import { ADMIN_DELAY } from './helpers/admin.behavior';

const REGISTRAR_ROLE = ethers.id('REGISTRAR_ROLE');
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;
const ANCHORER = 0n;
const SIGNER = 1n;
const org = (orgId: string): string => ethers.keccak256(ethers.toUtf8Bytes(orgId));

async function deployFixture() {
  const [admin, registrar, stranger, a1, a2, a3] = await ethers.getSigners();
  const directory = await ethers.deployContract('MemberDirectory', [ADMIN_DELAY, admin.address]);
  await directory.grantRole(REGISTRAR_ROLE, registrar.address);
  return { directory, admin, registrar, stranger, a1, a2, a3 };
}

describe('MemberDirectory', function () {
  describe('deployment', function () {
    it('reports version 1.0.0 and its limits', async function () {
      const { directory } = await loadFixture(deployFixture);
      expect(await directory.version()).to.equal('1.0.0');
      expect(await directory.MAX_ORG_ID_LENGTH()).to.equal(64n);
      expect(await directory.MAX_POLICY_ORGS()).to.equal(16n);
      expect(await directory.REGISTRAR_ROLE()).to.equal(REGISTRAR_ROLE);
    });

    it('starts with the initial admin as default admin, the given delay, and no registrar but the granted one', async function () {
      const { directory, admin, registrar, stranger } = await loadFixture(deployFixture);
      expect(await directory.defaultAdmin()).to.equal(admin.address);
      expect(await directory.defaultAdminDelay()).to.equal(ADMIN_DELAY);
      expect(await directory.hasRole(REGISTRAR_ROLE, registrar.address)).to.equal(true);
      expect(await directory.hasRole(REGISTRAR_ROLE, admin.address)).to.equal(false);
      expect(await directory.hasRole(REGISTRAR_ROLE, stranger.address)).to.equal(false);
    });

    it('reverts with AccessControlInvalidDefaultAdmin when the initial admin is the zero address', async function () {
      const factory = await ethers.getContractFactory('MemberDirectory');
      await expect(factory.deploy(0, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(factory, 'AccessControlInvalidDefaultAdmin')
        .withArgs(ethers.ZeroAddress);
    });

    it('knows no account, no organisation and no policy', async function () {
      const { directory, a1 } = await loadFixture(deployFixture);
      expect(await directory.memberOf(a1.address)).to.deep.equal([ethers.ZeroHash, ANCHORER, 0n, 0n]);
      expect(await directory.isActive(a1.address, ethers.ZeroHash, ANCHORER, 1)).to.equal(false);
      expect(await directory.orgIdOf(org('bank'))).to.equal('');
      expect(await directory.cosignPolicyOf('security.issuance')).to.deep.equal([]);
    });
  });

  describe('addKey', function () {
    describe('when the registrar binds an account', function () {
      it('emits MemberKeyAdded and makes the key active from its block on, for its org and kind only', async function () {
        const { directory, registrar, a1 } = await loadFixture(deployFixture);
        const tx = await directory.connect(registrar).addKey('bank', a1.address, ANCHORER);
        const since = BigInt((await tx.wait())!.blockNumber);
        await expect(tx)
          .to.emit(directory, 'MemberKeyAdded')
          .withArgs(org('bank'), a1.address, ANCHORER, since, 'bank');

        expect(await directory.memberOf(a1.address)).to.deep.equal([org('bank'), ANCHORER, since, 0n]);
        expect(await directory.orgIdOf(org('bank'))).to.equal('bank');
        expect(await directory.isActive(a1.address, org('bank'), ANCHORER, since)).to.equal(true);
        expect(await directory.isActive(a1.address, org('bank'), ANCHORER, since + 1_000_000n)).to.equal(true);
        expect(await directory.isActive(a1.address, org('bank'), ANCHORER, since - 1n)).to.equal(false);
        expect(await directory.isActive(a1.address, org('bank'), SIGNER, since)).to.equal(false);
        expect(await directory.isActive(a1.address, org('aerospace'), ANCHORER, since)).to.equal(false);
      });

      it('binds a SIGNER key with its kind', async function () {
        const { directory, registrar, a2 } = await loadFixture(deployFixture);
        const tx = await directory.connect(registrar).addKey('registrar', a2.address, SIGNER);
        const since = BigInt((await tx.wait())!.blockNumber);
        await expect(tx)
          .to.emit(directory, 'MemberKeyAdded')
          .withArgs(org('registrar'), a2.address, SIGNER, since, 'registrar');
        expect(await directory.isActive(a2.address, org('registrar'), SIGNER, since)).to.equal(true);
        expect(await directory.isActive(a2.address, org('registrar'), ANCHORER, since)).to.equal(false);
      });

      it('keeps the first spelling of an organisation id for orgIdOf', async function () {
        const { directory, registrar, a1, a2 } = await loadFixture(deployFixture);
        await directory.connect(registrar).addKey('bank', a1.address, ANCHORER);
        await directory.connect(registrar).addKey('bank', a2.address, SIGNER);
        expect(await directory.orgIdOf(org('bank'))).to.equal('bank');
      });

      it('accepts an organisation id of exactly 64 bytes', async function () {
        const { directory, registrar, a1 } = await loadFixture(deployFixture);
        const id = 'o'.repeat(64);
        await expect(directory.connect(registrar).addKey(id, a1.address, ANCHORER)).to.emit(
          directory,
          'MemberKeyAdded',
        );
        expect(await directory.orgIdOf(org(id))).to.equal(id);
      });
    });

    describe('when the input is invalid', function () {
      it('reverts with MemberDirectoryInvalidOrgId for an empty or over-long id', async function () {
        const { directory, registrar, a1 } = await loadFixture(deployFixture);
        await expect(directory.connect(registrar).addKey('', a1.address, ANCHORER))
          .to.be.revertedWithCustomError(directory, 'MemberDirectoryInvalidOrgId')
          .withArgs(0, 64);
        await expect(directory.connect(registrar).addKey('x'.repeat(65), a1.address, ANCHORER))
          .to.be.revertedWithCustomError(directory, 'MemberDirectoryInvalidOrgId')
          .withArgs(65, 64);
      });

      it('reverts with MemberDirectoryZeroAccount for the zero address', async function () {
        const { directory, registrar } = await loadFixture(deployFixture);
        await expect(
          directory.connect(registrar).addKey('bank', ethers.ZeroAddress, ANCHORER),
        ).to.be.revertedWithCustomError(directory, 'MemberDirectoryZeroAccount');
      });

      it('reverts with MemberDirectoryAccountAlreadyBound for an account bound before, active or removed, any org', async function () {
        const { directory, registrar, a1 } = await loadFixture(deployFixture);
        await directory.connect(registrar).addKey('bank', a1.address, ANCHORER);
        await expect(directory.connect(registrar).addKey('bank', a1.address, SIGNER))
          .to.be.revertedWithCustomError(directory, 'MemberDirectoryAccountAlreadyBound')
          .withArgs(a1.address, org('bank'));
        await directory.connect(registrar).removeKey(a1.address);
        await expect(directory.connect(registrar).addKey('aerospace', a1.address, ANCHORER))
          .to.be.revertedWithCustomError(directory, 'MemberDirectoryAccountAlreadyBound')
          .withArgs(a1.address, org('bank'));
      });
    });

    it('reverts with AccessControlUnauthorizedAccount for a caller without REGISTRAR_ROLE, the admin included', async function () {
      const { directory, admin, stranger, a1 } = await loadFixture(deployFixture);
      for (const caller of [stranger, admin]) {
        await expect(directory.connect(caller).addKey('bank', a1.address, ANCHORER))
          .to.be.revertedWithCustomError(directory, 'AccessControlUnauthorizedAccount')
          .withArgs(caller.address, REGISTRAR_ROLE);
      }
    });
  });

  describe('removeKey', function () {
    describe('when the registrar removes an active key', function () {
      it('emits MemberKeyRemoved and ends the window at that block; earlier blocks stay active', async function () {
        const { directory, registrar, a1 } = await loadFixture(deployFixture);
        const added = await directory.connect(registrar).addKey('bank', a1.address, ANCHORER);
        const since = BigInt((await added.wait())!.blockNumber);
        await mine(5);
        const tx = await directory.connect(registrar).removeKey(a1.address);
        const until = BigInt((await tx.wait())!.blockNumber);
        await expect(tx).to.emit(directory, 'MemberKeyRemoved').withArgs(org('bank'), a1.address, until);

        expect(await directory.memberOf(a1.address)).to.deep.equal([org('bank'), ANCHORER, since, until]);
        expect(await directory.isActive(a1.address, org('bank'), ANCHORER, since)).to.equal(true);
        expect(await directory.isActive(a1.address, org('bank'), ANCHORER, until - 1n)).to.equal(true);
        expect(await directory.isActive(a1.address, org('bank'), ANCHORER, until)).to.equal(false);
        expect(await directory.isActive(a1.address, org('bank'), ANCHORER, until + 100n)).to.equal(false);
      });
    });

    it('reverts with MemberDirectoryUnknownAccount for an account never bound', async function () {
      const { directory, registrar, a3 } = await loadFixture(deployFixture);
      await expect(directory.connect(registrar).removeKey(a3.address))
        .to.be.revertedWithCustomError(directory, 'MemberDirectoryUnknownAccount')
        .withArgs(a3.address);
    });

    it('reverts with MemberDirectoryKeyAlreadyRemoved for a key removed before', async function () {
      const { directory, registrar, a1 } = await loadFixture(deployFixture);
      await directory.connect(registrar).addKey('bank', a1.address, ANCHORER);
      const until = BigInt((await (await directory.connect(registrar).removeKey(a1.address)).wait())!.blockNumber);
      await expect(directory.connect(registrar).removeKey(a1.address))
        .to.be.revertedWithCustomError(directory, 'MemberDirectoryKeyAlreadyRemoved')
        .withArgs(a1.address, until);
    });

    it('reverts with AccessControlUnauthorizedAccount for a caller without REGISTRAR_ROLE', async function () {
      const { directory, registrar, stranger, a1 } = await loadFixture(deployFixture);
      await directory.connect(registrar).addKey('bank', a1.address, ANCHORER);
      await expect(directory.connect(stranger).removeKey(a1.address))
        .to.be.revertedWithCustomError(directory, 'AccessControlUnauthorizedAccount')
        .withArgs(stranger.address, REGISTRAR_ROLE);
    });
  });

  describe('co-signing policy', function () {
    it('stores, emits, replaces and clears the organisations a record type needs', async function () {
      const { directory, registrar } = await loadFixture(deployFixture);
      const orgs = [org('registrar'), org('custodian')];
      await expect(directory.connect(registrar).setCosignPolicy('security.issuance', orgs))
        .to.emit(directory, 'CosignPolicySet')
        .withArgs(ethers.id('security.issuance'), 'security.issuance', orgs);
      expect(await directory.cosignPolicyOf('security.issuance')).to.deep.equal(orgs);
      expect(await directory.cosignPolicyOf('security.transfer')).to.deep.equal([]);

      await directory.connect(registrar).setCosignPolicy('security.issuance', [org('custodian')]);
      expect(await directory.cosignPolicyOf('security.issuance')).to.deep.equal([org('custodian')]);
      await expect(directory.connect(registrar).setCosignPolicy('security.issuance', []))
        .to.emit(directory, 'CosignPolicySet')
        .withArgs(ethers.id('security.issuance'), 'security.issuance', []);
      expect(await directory.cosignPolicyOf('security.issuance')).to.deep.equal([]);
    });

    it('accepts 16 organisations and reverts with MemberDirectoryPolicyTooLarge for 17', async function () {
      const { directory, registrar } = await loadFixture(deployFixture);
      const orgs = Array.from({ length: 17 }, (_, i) => org(`org-${i}`));
      await directory.connect(registrar).setCosignPolicy('document', orgs.slice(0, 16));
      expect(await directory.cosignPolicyOf('document')).to.have.length(16);
      await expect(directory.connect(registrar).setCosignPolicy('document', orgs))
        .to.be.revertedWithCustomError(directory, 'MemberDirectoryPolicyTooLarge')
        .withArgs(17, 16);
    });

    it('reverts with MemberDirectoryInvalidPolicyOrg for a repeated or zero organisation', async function () {
      const { directory, registrar } = await loadFixture(deployFixture);
      await expect(directory.connect(registrar).setCosignPolicy('document', [org('a'), org('b'), org('a')]))
        .to.be.revertedWithCustomError(directory, 'MemberDirectoryInvalidPolicyOrg')
        .withArgs(org('a'));
      await expect(directory.connect(registrar).setCosignPolicy('document', [org('a'), ethers.ZeroHash]))
        .to.be.revertedWithCustomError(directory, 'MemberDirectoryInvalidPolicyOrg')
        .withArgs(ethers.ZeroHash);
    });

    it('reverts with AccessControlUnauthorizedAccount for a caller without REGISTRAR_ROLE', async function () {
      const { directory, stranger } = await loadFixture(deployFixture);
      await expect(directory.connect(stranger).setCosignPolicy('document', []))
        .to.be.revertedWithCustomError(directory, 'AccessControlUnauthorizedAccount')
        .withArgs(stranger.address, REGISTRAR_ROLE);
    });
  });

  describe('registrar administration', function () {
    it('lets only the default admin grant REGISTRAR_ROLE, and a revoked registrar can no longer add keys', async function () {
      const { directory, admin, registrar, stranger, a1 } = await loadFixture(deployFixture);
      await expect(directory.connect(registrar).grantRole(REGISTRAR_ROLE, stranger.address))
        .to.be.revertedWithCustomError(directory, 'AccessControlUnauthorizedAccount')
        .withArgs(registrar.address, DEFAULT_ADMIN_ROLE);
      await directory.connect(admin).revokeRole(REGISTRAR_ROLE, registrar.address);
      await expect(directory.connect(registrar).addKey('bank', a1.address, ANCHORER))
        .to.be.revertedWithCustomError(directory, 'AccessControlUnauthorizedAccount')
        .withArgs(registrar.address, REGISTRAR_ROLE);
    });

    it('transfers the default admin in two steps, only after the delay', async function () {
      const { directory, admin, stranger } = await loadFixture(deployFixture);
      await directory.connect(admin).beginDefaultAdminTransfer(stranger.address);
      const [, schedule] = await directory.pendingDefaultAdmin();
      await expect(directory.connect(stranger).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(directory, 'AccessControlEnforcedDefaultAdminDelay')
        .withArgs(schedule);
      await time.increaseTo(schedule + 1n);
      await directory.connect(stranger).acceptDefaultAdminTransfer();
      expect(await directory.defaultAdmin()).to.equal(stranger.address);
    });
  });

  describe('invariants (fast-check)', function () {
    type Op =
      { kind: 'add'; who: number; org: number; key: 0 | 1 } | { kind: 'remove'; who: number } | { kind: 'mine' };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('add' as const),
        who: fc.nat(3),
        org: fc.nat(2),
        key: fc.constantFrom(0 as const, 1 as const),
      }),
      fc.record({ kind: fc.constant('remove' as const), who: fc.nat(3) }),
      fc.record({ kind: fc.constant('mine' as const) }),
    );

    it('an account is bound once for ever; isActive agrees with a model of windows at every block seen', async function () {
      const { directory, registrar } = await loadFixture(deployFixture);
      const orgIds = ['bank', 'aerospace', 'employer'];
      let round = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
          // fresh accounts for each run: a bound account can never be reused
          const accounts = Array.from({ length: 4 }, () => ethers.Wallet.createRandom().address);
          round++;
          const model = new Map<string, { org: string; kind: bigint; since: bigint; until: bigint }>();
          const blocks: bigint[] = [];
          for (const op of ops) {
            if (op.kind === 'mine') {
              await mine(1);
              continue;
            }
            const account = accounts[op.who]!;
            const m = model.get(account);
            if (op.kind === 'add') {
              const tx = directory.connect(registrar).addKey(orgIds[op.org]!, account, BigInt(op.key));
              if (m) {
                await expect(tx).to.be.revertedWithCustomError(directory, 'MemberDirectoryAccountAlreadyBound');
              } else {
                const since = BigInt((await (await tx).wait())!.blockNumber);
                model.set(account, { org: org(orgIds[op.org]!), kind: BigInt(op.key), since, until: 0n });
                blocks.push(since);
              }
            } else {
              const tx = directory.connect(registrar).removeKey(account);
              if (!m) await expect(tx).to.be.revertedWithCustomError(directory, 'MemberDirectoryUnknownAccount');
              else if (m.until !== 0n)
                await expect(tx).to.be.revertedWithCustomError(directory, 'MemberDirectoryKeyAlreadyRemoved');
              else {
                m.until = BigInt((await (await tx).wait())!.blockNumber);
                blocks.push(m.until);
              }
            }
          }
          const probe = [...new Set(blocks.flatMap((b) => [b - 1n, b, b + 1n]))];
          for (const account of accounts) {
            const m = model.get(account);
            const [o, kind, since, until] = await directory.memberOf(account);
            expect([o, since, until]).to.deep.equal(m ? [m.org, m.since, m.until] : [ethers.ZeroHash, 0n, 0n]);
            if (m) expect(kind).to.equal(m.kind);
            for (const b of probe) {
              for (const oi of orgIds) {
                for (const k of [ANCHORER, SIGNER]) {
                  const expected =
                    !!m && m.org === org(oi) && m.kind === k && b >= m.since && (m.until === 0n || b < m.until);
                  expect(await directory.isActive(account, org(oi), k, b)).to.equal(
                    expected,
                    `round ${round}: ${account} ${oi} ${k} @${b}`,
                  );
                }
              }
            }
          }
        }),
        { numRuns: 15 },
      );
    });
  });
});
