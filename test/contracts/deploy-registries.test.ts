import { expect } from 'chai';
import { ethers } from 'hardhat';
import {
  ANCHORER_ROLE,
  CLAIMANT_ROLE,
  PAUSER_ROLE,
  deployRegistries,
  parseAddressList,
} from '../../scripts/lib/deploy-registries';

const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

describe('scripts/lib/deploy-registries', function () {
  describe('deployRegistries', function () {
    describe('when run with a plain signer against the in-process network', function () {
      it('deploys both registries, makes the signer admin with the delay, and grants the roles', async function () {
        const [deployer, anchorer, claimant, pauser, other] = await ethers.getSigners();
        const messages: string[] = [];
        const d = await deployRegistries(deployer, {
          adminDelay: 3600,
          // the deployer appears twice in the list and is granted once
          anchorers: [anchorer.address, deployer.address, deployer.address],
          claimants: [claimant.address.toLowerCase()],
          pausers: [pauser.address],
          log: (m) => messages.push(m),
        });

        expect(d.chainId).to.equal(31337);
        expect(d.admin).to.equal(deployer.address);
        expect(d.adminDelay).to.equal(3600);
        expect(d.notaryRegistry.address).to.not.equal(d.claimRegistry.address);
        for (const c of [d.notaryRegistry, d.claimRegistry]) {
          expect(await ethers.provider.getCode(c.address)).to.not.equal('0x');
          const receipt = await ethers.provider.getTransactionReceipt(c.txHash);
          expect(receipt!.contractAddress).to.equal(c.address);
          expect(receipt!.blockNumber).to.equal(c.block);
        }
        expect(d.roles).to.deep.equal({
          notaryRegistry: { ANCHORER_ROLE: [anchorer.address, deployer.address], PAUSER_ROLE: [pauser.address] },
          claimRegistry: { CLAIMANT_ROLE: [claimant.address], PAUSER_ROLE: [pauser.address] },
        });
        expect(Number.isNaN(Date.parse(d.deployedAt))).to.equal(false);

        const notary = await ethers.getContractAt('NotaryRegistry', d.notaryRegistry.address);
        const claims = await ethers.getContractAt('ClaimRegistry', d.claimRegistry.address);
        expect(await notary.version()).to.equal('1.0.0');
        expect(await claims.version()).to.equal('1.0.0');
        for (const r of [notary, claims]) {
          expect(await r.defaultAdmin()).to.equal(deployer.address);
          expect(await r.defaultAdminDelay()).to.equal(3600n);
          expect(await r.hasRole(PAUSER_ROLE, pauser.address)).to.equal(true);
          expect(await r.hasRole(DEFAULT_ADMIN_ROLE, other.address)).to.equal(false);
        }
        expect(await notary.hasRole(ANCHORER_ROLE, anchorer.address)).to.equal(true);
        expect(await notary.hasRole(ANCHORER_ROLE, deployer.address)).to.equal(true);
        expect(await notary.hasRole(ANCHORER_ROLE, claimant.address)).to.equal(false);
        expect(await claims.hasRole(CLAIMANT_ROLE, claimant.address)).to.equal(true);
        expect(await claims.hasRole(CLAIMANT_ROLE, anchorer.address)).to.equal(false);
        expect(messages.filter((m) => m.includes('granted'))).to.have.length(5);

        // The granted roles work end to end.
        await expect(notary.connect(anchorer).anchor(ethers.id('root'), ethers.ZeroHash, 1)).to.emit(
          notary,
          'Anchored',
        );
        await expect(claims.connect(claimant).consume([ethers.id('k')], ethers.id('c'))).to.emit(
          claims,
          'KeysConsumed',
        );
      });

      it('rejects an admin delay that does not fit uint48', async function () {
        const [deployer] = await ethers.getSigners();
        let error: unknown;
        try {
          await deployRegistries(deployer, { adminDelay: 2n ** 48n });
        } catch (err) {
          error = err;
        }
        expect(String(error)).to.match(/adminDelay out of range/);
      });
    });
  });

  describe('parseAddressList', function () {
    it('parses a comma-separated list into checksummed addresses, ignoring blanks', function () {
      const a = '0x' + 'ab'.repeat(20);
      const b = '0x' + '12'.repeat(20);
      expect(parseAddressList(` ${a}, ,${b},`)).to.deep.equal([ethers.getAddress(a), ethers.getAddress(b)]);
      expect(parseAddressList(undefined)).to.deep.equal([]);
      expect(parseAddressList('')).to.deep.equal([]);
    });

    it('throws naming the variable for something that is not an address', function () {
      expect(() => parseAddressList('0x1234', 'ANCHORERS')).to.throw(/ANCHORERS: "0x1234" is not an address/);
    });
  });
});
