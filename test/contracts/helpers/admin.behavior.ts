// Shared behaviour of both registries: role administration, pausing and the delayed two-step admin transfer
// (pattern: OpenZeppelin's shouldBehaveLikeAccessControl, test/access/AccessControl.behavior.js).
import { expect } from 'chai';
import { ethers } from 'hardhat';
import { loadFixture, time } from '@nomicfoundation/hardhat-network-helpers';
import type { HardhatEthersSigner } from '@nomicfoundation/hardhat-ethers/signers';
import type { NotaryRegistry, ClaimRegistry } from '../../../typechain-types';

export const ADMIN_DELAY = 3n * 24n * 3600n; // 3 days, as a production-like delay

export interface AdminFixture {
  registry: NotaryRegistry | ClaimRegistry;
  admin: HardhatEthersSigner;
  pauser: HardhatEthersSigner;
  /** Holder of the registry's operating role (ANCHORER_ROLE or CLAIMANT_ROLE). */
  operator: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  /** Sends one operation that is gated by the operating role and by pausing. */
  operate(as: HardhatEthersSigner): Promise<unknown>;
}

export function shouldBehaveLikeAdministeredRegistry(
  fixture: () => Promise<AdminFixture>,
  operatingRoleName: 'ANCHORER_ROLE' | 'CLAIMANT_ROLE',
): void {
  const OPERATING_ROLE = ethers.id(operatingRoleName);
  const PAUSER_ROLE = ethers.id('PAUSER_ROLE');
  const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

  describe('role administration', function () {
    it(`exposes ${operatingRoleName} and PAUSER_ROLE as keccak256 of their names`, async function () {
      const { registry } = await loadFixture(fixture);
      expect(await registry.PAUSER_ROLE()).to.equal(PAUSER_ROLE);
      expect(await registry.getFunction(operatingRoleName)()).to.equal(OPERATING_ROLE);
    });

    it('starts with the initial admin as the only default admin, with the given delay', async function () {
      const { registry, admin, operator } = await loadFixture(fixture);
      expect(await registry.defaultAdmin()).to.equal(admin.address);
      expect(await registry.owner()).to.equal(admin.address);
      expect(await registry.defaultAdminDelay()).to.equal(ADMIN_DELAY);
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, operator.address)).to.equal(false);
    });

    describe('when the admin grants and revokes the operating role', function () {
      it('emits RoleGranted, lets the account operate, then RoleRevoked stops it', async function () {
        const { registry, admin, stranger, operate } = await loadFixture(fixture);
        await expect(registry.connect(admin).grantRole(OPERATING_ROLE, stranger.address))
          .to.emit(registry, 'RoleGranted')
          .withArgs(OPERATING_ROLE, stranger.address, admin.address);
        await expect(operate(stranger)).not.to.be.reverted;

        await expect(registry.connect(admin).revokeRole(OPERATING_ROLE, stranger.address))
          .to.emit(registry, 'RoleRevoked')
          .withArgs(OPERATING_ROLE, stranger.address, admin.address);
        await expect(operate(stranger))
          .to.be.revertedWithCustomError(registry, 'AccessControlUnauthorizedAccount')
          .withArgs(stranger.address, OPERATING_ROLE);
      });
    });

    describe('when someone other than the admin grants or revokes a role', function () {
      it('reverts with AccessControlUnauthorizedAccount for DEFAULT_ADMIN_ROLE', async function () {
        const { registry, operator, stranger } = await loadFixture(fixture);
        await expect(registry.connect(operator).grantRole(OPERATING_ROLE, stranger.address))
          .to.be.revertedWithCustomError(registry, 'AccessControlUnauthorizedAccount')
          .withArgs(operator.address, DEFAULT_ADMIN_ROLE);
        await expect(registry.connect(stranger).revokeRole(OPERATING_ROLE, operator.address))
          .to.be.revertedWithCustomError(registry, 'AccessControlUnauthorizedAccount')
          .withArgs(stranger.address, DEFAULT_ADMIN_ROLE);
        expect(await registry.hasRole(OPERATING_ROLE, operator.address)).to.equal(true);
      });
    });

    describe('when the admin grants DEFAULT_ADMIN_ROLE directly', function () {
      it('reverts with AccessControlEnforcedDefaultAdminRules', async function () {
        const { registry, admin, stranger } = await loadFixture(fixture);
        await expect(
          registry.connect(admin).grantRole(DEFAULT_ADMIN_ROLE, stranger.address),
        ).to.be.revertedWithCustomError(registry, 'AccessControlEnforcedDefaultAdminRules');
      });
    });

    describe('when an account without the operating role operates', function () {
      it('reverts with AccessControlUnauthorizedAccount for the operating role', async function () {
        const { registry, admin, stranger, pauser, operate } = await loadFixture(fixture);
        for (const who of [stranger, pauser, admin]) {
          await expect(operate(who))
            .to.be.revertedWithCustomError(registry, 'AccessControlUnauthorizedAccount')
            .withArgs(who.address, OPERATING_ROLE);
        }
      });
    });
  });

  describe('pausing', function () {
    describe('when the pauser pauses', function () {
      it('emits Paused, blocks the operation with EnforcedPause, and unpause restores it', async function () {
        const { registry, pauser, operator, operate } = await loadFixture(fixture);
        await expect(registry.connect(pauser).pause()).to.emit(registry, 'Paused').withArgs(pauser.address);
        expect(await registry.paused()).to.equal(true);
        await expect(operate(operator)).to.be.revertedWithCustomError(registry, 'EnforcedPause');

        await expect(registry.connect(pauser).unpause()).to.emit(registry, 'Unpaused').withArgs(pauser.address);
        expect(await registry.paused()).to.equal(false);
        await expect(operate(operator)).not.to.be.reverted;
      });

      it('reverts with EnforcedPause when pausing twice', async function () {
        const { registry, pauser } = await loadFixture(fixture);
        await registry.connect(pauser).pause();
        await expect(registry.connect(pauser).pause()).to.be.revertedWithCustomError(registry, 'EnforcedPause');
      });
    });

    describe('when the registry is not paused', function () {
      it('reverts unpause with ExpectedPause', async function () {
        const { registry, pauser } = await loadFixture(fixture);
        await expect(registry.connect(pauser).unpause()).to.be.revertedWithCustomError(registry, 'ExpectedPause');
      });
    });

    describe('when an account without PAUSER_ROLE pauses or unpauses', function () {
      it('reverts with AccessControlUnauthorizedAccount for PAUSER_ROLE (the admin included)', async function () {
        const { registry, admin, operator, pauser } = await loadFixture(fixture);
        for (const who of [admin, operator]) {
          await expect(registry.connect(who).pause())
            .to.be.revertedWithCustomError(registry, 'AccessControlUnauthorizedAccount')
            .withArgs(who.address, PAUSER_ROLE);
        }
        await registry.connect(pauser).pause();
        await expect(registry.connect(operator).unpause())
          .to.be.revertedWithCustomError(registry, 'AccessControlUnauthorizedAccount')
          .withArgs(operator.address, PAUSER_ROLE);
      });
    });
  });

  describe('default admin transfer', function () {
    describe('when the admin begins a transfer', function () {
      it('schedules it after the delay; accepting earlier reverts, accepting after moves the role', async function () {
        const { registry, admin, stranger: newAdmin, operator } = await loadFixture(fixture);
        const tx = await registry.connect(admin).beginDefaultAdminTransfer(newAdmin.address);
        const schedule = BigInt(await time.latest()) + ADMIN_DELAY;
        await expect(tx).to.emit(registry, 'DefaultAdminTransferScheduled').withArgs(newAdmin.address, schedule);
        expect(await registry.pendingDefaultAdmin()).to.deep.equal([newAdmin.address, schedule]);

        await expect(registry.connect(newAdmin).acceptDefaultAdminTransfer())
          .to.be.revertedWithCustomError(registry, 'AccessControlEnforcedDefaultAdminDelay')
          .withArgs(schedule);

        await time.increase(ADMIN_DELAY);
        await expect(registry.connect(newAdmin).acceptDefaultAdminTransfer())
          .to.emit(registry, 'RoleRevoked')
          .withArgs(DEFAULT_ADMIN_ROLE, admin.address, newAdmin.address)
          .and.to.emit(registry, 'RoleGranted')
          .withArgs(DEFAULT_ADMIN_ROLE, newAdmin.address, newAdmin.address);
        expect(await registry.defaultAdmin()).to.equal(newAdmin.address);

        // The old admin lost its powers, the new one has them.
        await expect(registry.connect(admin).revokeRole(OPERATING_ROLE, operator.address))
          .to.be.revertedWithCustomError(registry, 'AccessControlUnauthorizedAccount')
          .withArgs(admin.address, DEFAULT_ADMIN_ROLE);
        await expect(registry.connect(newAdmin).revokeRole(OPERATING_ROLE, operator.address))
          .to.emit(registry, 'RoleRevoked')
          .withArgs(OPERATING_ROLE, operator.address, newAdmin.address);
      });

      it('reverts with AccessControlInvalidDefaultAdmin when another account accepts', async function () {
        const { registry, admin, stranger, operator } = await loadFixture(fixture);
        await registry.connect(admin).beginDefaultAdminTransfer(stranger.address);
        await time.increase(ADMIN_DELAY);
        await expect(registry.connect(operator).acceptDefaultAdminTransfer())
          .to.be.revertedWithCustomError(registry, 'AccessControlInvalidDefaultAdmin')
          .withArgs(operator.address);
      });
    });

    describe('when a non-admin begins a transfer', function () {
      it('reverts with AccessControlUnauthorizedAccount', async function () {
        const { registry, stranger } = await loadFixture(fixture);
        await expect(registry.connect(stranger).beginDefaultAdminTransfer(stranger.address))
          .to.be.revertedWithCustomError(registry, 'AccessControlUnauthorizedAccount')
          .withArgs(stranger.address, DEFAULT_ADMIN_ROLE);
      });
    });
  });
}
