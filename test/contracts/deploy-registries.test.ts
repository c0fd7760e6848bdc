import { expect } from 'chai';
import { ethers } from 'hardhat';
import {
  KeyKind,
  PAUSER_ROLE,
  REGISTRAR_ROLE,
  deployRegistries,
  isV2Deployment,
  parseAddressList,
  parseMemberList,
} from '../../scripts/lib/deploy-registries';

const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

describe('scripts/lib/deploy-registries', function () {
  describe('deployRegistries', function () {
    describe('when run with a plain signer against the in-process network', function () {
      it('deploys the directory and both v2 registries, makes the signer admin and registrar, binds the members', async function () {
        const [deployer, anchorer, claimant, pauser, other] = await ethers.getSigners();
        const messages: string[] = [];
        const d = await deployRegistries(deployer, {
          adminDelay: 3600,
          members: [
            { orgId: 'org-a', address: anchorer.address },
            { orgId: 'org-b', address: claimant.address.toLowerCase() },
          ],
          // the deployer appears twice and is granted once
          registrars: [deployer.address],
          pausers: [pauser.address],
          log: (m) => messages.push(m),
        });

        expect(d.chainId).to.equal(31337);
        expect(d.admin).to.equal(deployer.address);
        expect(d.adminDelay).to.equal(3600);
        expect(isV2Deployment(d)).to.equal(true);
        const addresses = [d.memberDirectory!.address, d.notaryRegistry.address, d.claimRegistry.address];
        expect(new Set(addresses).size).to.equal(3);
        for (const c of [d.memberDirectory!, d.notaryRegistry, d.claimRegistry]) {
          expect(await ethers.provider.getCode(c.address)).to.not.equal('0x');
          const receipt = await ethers.provider.getTransactionReceipt(c.txHash);
          expect(receipt!.contractAddress).to.equal(c.address);
          expect(receipt!.blockNumber).to.equal(c.block);
        }
        expect(d.members).to.deep.equal([
          { orgId: 'org-a', address: anchorer.address },
          { orgId: 'org-b', address: claimant.address },
        ]);
        expect(d.roles).to.deep.equal({
          memberDirectory: { REGISTRAR_ROLE: [deployer.address] },
          notaryRegistry: { PAUSER_ROLE: [pauser.address] },
          claimRegistry: { PAUSER_ROLE: [pauser.address] },
        });
        expect(Number.isNaN(Date.parse(d.deployedAt))).to.equal(false);

        const directory = await ethers.getContractAt('MemberDirectory', d.memberDirectory!.address);
        const notary = await ethers.getContractAt('NotaryRegistryV2', d.notaryRegistry.address);
        const claims = await ethers.getContractAt('ClaimRegistryV2', d.claimRegistry.address);
        expect(await notary.version()).to.match(/^2\./);
        expect(await claims.version()).to.match(/^2\./);
        expect(await notary.directory()).to.equal(d.memberDirectory!.address);
        expect(await claims.directory()).to.equal(d.memberDirectory!.address);
        expect(await directory.hasRole(REGISTRAR_ROLE, deployer.address)).to.equal(true);
        for (const r of [directory, notary, claims]) {
          expect(await r.defaultAdmin()).to.equal(deployer.address);
          expect(await r.defaultAdminDelay()).to.equal(3600n);
          expect(await r.hasRole(DEFAULT_ADMIN_ROLE, other.address)).to.equal(false);
        }
        for (const r of [notary, claims]) expect(await r.hasRole(PAUSER_ROLE, pauser.address)).to.equal(true);
        const [org, kind, since, until] = await directory.memberOf(anchorer.address);
        expect([org, Number(kind), since > 0n, until]).to.deep.equal([ethers.id('org-a'), KeyKind.ANCHORER, true, 0n]);
        expect((await directory.memberOf(other.address))[2]).to.equal(0n);
        expect(messages.filter((m) => m.includes('added as ANCHORER key'))).to.have.length(2);

        // The bound keys work end to end: each anchors in its organisation's chain and claims.
        await expect(notary.connect(anchorer).anchor(ethers.id('root'), ethers.ZeroHash, 1))
          .to.emit(notary, 'Anchored')
          .withArgs(ethers.id('root'), ethers.id('org-a'), 1n, anchorer.address, ethers.ZeroHash, 1n);
        await expect(claims.connect(claimant).consume([ethers.id('k')], ethers.id('c'))).to.emit(
          claims,
          'KeysConsumed',
        );
        await expect(notary.connect(other).anchor(ethers.id('root2'), ethers.ZeroHash, 1))
          .to.be.revertedWithCustomError(notary, 'NotaryRegistryNotAnAnchorer')
          .withArgs(other.address);
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

  describe('parseMemberList', function () {
    it('parses orgId=address pairs into checksummed addresses, ignoring blanks', function () {
      const a = '0x' + 'ab'.repeat(20);
      expect(parseMemberList(` bank=${a}, ,`)).to.deep.equal([{ orgId: 'bank', address: ethers.getAddress(a) }]);
      expect(parseMemberList(undefined)).to.deep.equal([]);
    });

    it('throws naming the variable for a malformed entry or an account named twice', function () {
      const a = '0x' + 'ab'.repeat(20);
      expect(() => parseMemberList(a, 'MEMBERS')).to.throw(/MEMBERS: ".*" is not orgId=address/);
      expect(() => parseMemberList('bank=0x12', 'MEMBERS')).to.throw(/MEMBERS: "0x12" is not an address/);
      expect(() => parseMemberList(`bank=${a},aero=${a}`, 'MEMBERS')).to.throw(/named twice/);
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
