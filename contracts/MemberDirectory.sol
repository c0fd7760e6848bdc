// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IMemberDirectory} from "./interfaces/IMemberDirectory.sol";

/**
 * @title MemberDirectory
 * @notice The consortium's members and their keys (DESIGN.md §3). Registries ask it whether an account may act
 * for an organisation at a given block; verifiers ask it whom an anchor or a signature speaks for.
 * @dev Immutable on purpose (no proxy). `REGISTRAR_ROLE` manages keys and co-signing policies; the default admin
 * grants it and is itself transferred in two delayed steps ({AccessControlDefaultAdminRules}).
 */
contract MemberDirectory is IMemberDirectory, AccessControlDefaultAdminRules {
    /// @notice Role allowed to add and remove keys and to set co-signing policies.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @notice Longest organisation id accepted, in bytes.
    uint256 public constant MAX_ORG_ID_LENGTH = 64;

    /// @notice Most organisations one co-signing policy may name.
    uint256 public constant MAX_POLICY_ORGS = 16;

    /// @dev One account's binding, in two slots. `since` 0 means never bound (a key is added by a transaction,
    /// so its first block is at least 1).
    struct Member {
        bytes32 org; // slot 0
        KeyKind kind; // slot 1
        uint64 since; // slot 1
        uint64 until; // slot 1; 0 while active
    }

    mapping(address account => Member) private _members;
    mapping(bytes32 org => string) private _orgIds;
    mapping(bytes32 recordTypeHash => bytes32[]) private _policies;

    /**
     * @notice Deploys the directory with `initialAdmin` as default admin.
     * @param initialDelay Delay, in seconds, of a default admin transfer (see {AccessControlDefaultAdminRules}).
     * @param initialAdmin Initial holder of `DEFAULT_ADMIN_ROLE`; it may grant `REGISTRAR_ROLE`.
     */
    constructor(uint48 initialDelay, address initialAdmin) AccessControlDefaultAdminRules(initialDelay, initialAdmin) {}

    /// @inheritdoc IMemberDirectory
    function addKey(string calldata orgId, address account, KeyKind kind) external virtual onlyRole(REGISTRAR_ROLE) {
        uint256 length = bytes(orgId).length;
        if (length == 0 || length > MAX_ORG_ID_LENGTH) revert MemberDirectoryInvalidOrgId(length, MAX_ORG_ID_LENGTH);
        if (account == address(0)) revert MemberDirectoryZeroAccount();
        Member storage existing = _members[account];
        if (existing.since != 0) revert MemberDirectoryAccountAlreadyBound(account, existing.org);

        bytes32 org = keccak256(bytes(orgId));
        uint64 since = SafeCast.toUint64(block.number);
        _members[account] = Member({org: org, kind: kind, since: since, until: 0});
        if (bytes(_orgIds[org]).length == 0) _orgIds[org] = orgId;
        emit MemberKeyAdded(org, account, kind, since, orgId);
    }

    /// @inheritdoc IMemberDirectory
    function removeKey(address account) external virtual onlyRole(REGISTRAR_ROLE) {
        Member storage member = _members[account];
        if (member.since == 0) revert MemberDirectoryUnknownAccount(account);
        if (member.until != 0) revert MemberDirectoryKeyAlreadyRemoved(account, member.until);
        uint64 until = SafeCast.toUint64(block.number);
        member.until = until;
        emit MemberKeyRemoved(member.org, account, until);
    }

    /// @inheritdoc IMemberDirectory
    function setCosignPolicy(
        string calldata recordType,
        bytes32[] calldata orgs
    ) external virtual onlyRole(REGISTRAR_ROLE) {
        if (orgs.length > MAX_POLICY_ORGS) revert MemberDirectoryPolicyTooLarge(orgs.length, MAX_POLICY_ORGS);
        for (uint256 i = 0; i < orgs.length; ++i) {
            if (orgs[i] == bytes32(0)) revert MemberDirectoryInvalidPolicyOrg(orgs[i]);
            for (uint256 j = 0; j < i; ++j) {
                if (orgs[j] == orgs[i]) revert MemberDirectoryInvalidPolicyOrg(orgs[i]);
            }
        }
        bytes32 recordTypeHash = keccak256(bytes(recordType));
        _policies[recordTypeHash] = orgs;
        emit CosignPolicySet(recordTypeHash, recordType, orgs);
    }

    /// @inheritdoc IMemberDirectory
    function memberOf(
        address account
    ) external view virtual returns (bytes32 org, KeyKind kind, uint64 since, uint64 until) {
        Member storage member = _members[account];
        return (member.org, member.kind, member.since, member.until);
    }

    /// @inheritdoc IMemberDirectory
    function isActive(
        address account,
        bytes32 org,
        KeyKind kind,
        uint64 blockNumber
    ) external view virtual returns (bool) {
        Member storage member = _members[account];
        return
            member.since != 0 &&
            member.org == org &&
            member.kind == kind &&
            blockNumber > member.since - 1 && // since >= 1 for a bound key: blockNumber >= since
            (member.until == 0 || blockNumber < member.until);
    }

    /// @inheritdoc IMemberDirectory
    function orgIdOf(bytes32 org) external view virtual returns (string memory) {
        return _orgIds[org];
    }

    /// @inheritdoc IMemberDirectory
    function cosignPolicyOf(string calldata recordType) external view virtual returns (bytes32[] memory) {
        return _policies[keccak256(bytes(recordType))];
    }

    /// @inheritdoc IMemberDirectory
    function version() external pure virtual returns (string memory) {
        return "1.0.0";
    }
}
