// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IMemberDirectory} from "./interfaces/IMemberDirectory.sol";
import {IClaimRegistryV2} from "./interfaces/IClaimRegistryV2.sol";

/**
 * @title ClaimRegistryV2
 * @notice Immutable registry of consumed invoice keys for the organisations of a {MemberDirectory}: an invoice is
 * reimbursed at most once across the consortium. A claim is consumed, then either released (rejected) or settled
 * (reimbursed) by the organisation that consumed it; a settled claim can never be released.
 * @dev Not upgradeable on purpose. Unlike version 1 the default admin cannot release claims: only the consuming
 * organisation decides about its claims. Holders of `PAUSER_ROLE` can stop consume, release and settle.
 */
contract ClaimRegistryV2 is IClaimRegistryV2, AccessControlDefaultAdminRules, Pausable {
    /// @notice Role allowed to {pause} and {unpause} the registry.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice Largest number of keys one {consume} call accepts.
    uint256 public constant MAX_KEYS_PER_CALL = 64;

    /// @dev A claim that consumed keys. Kept after release (with no keys) so the claim id cannot consume again.
    struct ClaimRecord {
        address consumer; // slot 0; nonzero once the claim consumed
        uint64 timestamp; // slot 0
        bool settled; // slot 0
        uint64 blockNumber; // slot 1
        bytes32 org; // slot 2
        bytes32[] keys; // keys currently held; emptied on release
    }

    IMemberDirectory private immutable _DIRECTORY;
    mapping(bytes32 key => bytes32 claim) private _claimOfKey;
    mapping(bytes32 claim => ClaimRecord) private _claims;

    /**
     * @notice Deploys the registry for the members of `memberDirectory`, with `initialAdmin` as default admin.
     * @param initialDelay Delay, in seconds, of a default admin transfer (see {AccessControlDefaultAdminRules}).
     * @param initialAdmin Initial holder of `DEFAULT_ADMIN_ROLE`; it may grant `PAUSER_ROLE`.
     * @param memberDirectory The directory whose ANCHORER keys may consume; fixed for the registry's life.
     */
    constructor(
        uint48 initialDelay,
        address initialAdmin,
        IMemberDirectory memberDirectory
    ) AccessControlDefaultAdminRules(initialDelay, initialAdmin) {
        if (address(memberDirectory) == address(0)) revert ClaimRegistryZeroDirectory();
        _DIRECTORY = memberDirectory;
    }

    /// @inheritdoc IClaimRegistryV2
    function consume(bytes32[] calldata keys, bytes32 claim) external virtual whenNotPaused {
        uint256 count = keys.length;
        if (count == 0) revert ClaimRegistryEmptyKeys();
        if (count > MAX_KEYS_PER_CALL) revert ClaimRegistryTooManyKeys(count, MAX_KEYS_PER_CALL);
        if (claim == bytes32(0)) revert ClaimRegistryZeroClaim();
        address consumer = _msgSender();
        bytes32 org = _activeOrgOf(consumer);
        ClaimRecord storage record = _claims[claim];
        if (record.consumer != address(0)) revert ClaimRegistryClaimExists(claim);

        for (uint256 i = 0; i < count; ++i) {
            bytes32 key = keys[i];
            bytes32 holder = _claimOfKey[key];
            // `claim` never held keys before this call (checked above), so a key already mapped to it was written
            // earlier in this loop: it is repeated in `keys`. The whole call reverts, so nothing stays consumed.
            if (holder == claim) revert ClaimRegistryDuplicateKey(key);
            if (holder != bytes32(0)) {
                ClaimRecord storage other = _claims[holder];
                revert ClaimRegistryKeyAlreadyConsumed(key, other.org, holder, other.timestamp);
            }
            _claimOfKey[key] = claim;
        }
        record.consumer = consumer;
        record.timestamp = _time();
        record.blockNumber = SafeCast.toUint64(block.number);
        record.org = org;
        record.keys = keys;
        emit KeysConsumed(claim, org, consumer, keys);
    }

    /// @inheritdoc IClaimRegistryV2
    function release(bytes32 claim) external virtual whenNotPaused {
        ClaimRecord storage record = _decidable(claim);
        bytes32[] memory keys = record.keys;
        for (uint256 i = 0; i < keys.length; ++i) {
            delete _claimOfKey[keys[i]];
        }
        delete record.keys;
        emit KeysReleased(claim, record.org, _msgSender(), keys);
    }

    /// @inheritdoc IClaimRegistryV2
    function settle(bytes32 claim) external virtual whenNotPaused {
        ClaimRecord storage record = _decidable(claim);
        record.settled = true;
        emit ClaimSettled(claim, record.org, _msgSender());
    }

    /**
     * @notice Stops {consume}, {release} and {settle} until {unpause} is called.
     * @dev Requirements: the caller must have `PAUSER_ROLE`; the registry must not be paused.
     * Emits a {Pausable-Paused} event.
     */
    function pause() external virtual onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /**
     * @notice Allows {consume}, {release} and {settle} again.
     * @dev Requirements: the caller must have `PAUSER_ROLE`; the registry must be paused.
     * Emits a {Pausable-Unpaused} event.
     */
    function unpause() external virtual onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @inheritdoc IClaimRegistryV2
    function consumptionOf(bytes32 key) external view virtual returns (Consumption memory) {
        bytes32 claim = _claimOfKey[key];
        if (claim == bytes32(0)) {
            return Consumption({consumer: address(0), org: 0, claim: 0, timestamp: 0, blockNumber: 0, settled: false});
        }
        ClaimRecord storage record = _claims[claim];
        return
            Consumption({
                consumer: record.consumer,
                org: record.org,
                claim: claim,
                timestamp: record.timestamp,
                blockNumber: record.blockNumber,
                settled: record.settled
            });
    }

    /// @inheritdoc IClaimRegistryV2
    function keysOf(bytes32 claim) external view virtual returns (bytes32[] memory) {
        return _claims[claim].keys;
    }

    /// @inheritdoc IClaimRegistryV2
    function directory() external view virtual returns (address) {
        return address(_DIRECTORY);
    }

    /// @inheritdoc IClaimRegistryV2
    function version() external pure virtual returns (string memory) {
        return "2.0.0";
    }

    /// @dev The claim, if the caller may still release or settle it: it holds keys, it is not settled, and the
    /// caller is an active ANCHORER key of the organisation that consumed it.
    function _decidable(bytes32 claim) internal view returns (ClaimRecord storage record) {
        record = _claims[claim];
        if (record.keys.length == 0) revert ClaimRegistryUnknownClaim(claim);
        if (record.settled) revert ClaimRegistryClaimSettled(claim);
        address caller = _msgSender();
        (bytes32 org, IMemberDirectory.KeyKind kind, , uint64 until) = _DIRECTORY.memberOf(caller);
        if (org != record.org || kind != IMemberDirectory.KeyKind.ANCHORER || until != 0) {
            revert ClaimRegistryNotConsumingOrg(claim, record.org, caller);
        }
    }

    /// @dev The organisation of `account` if it is an active ANCHORER key; reverts otherwise.
    function _activeOrgOf(address account) internal view returns (bytes32 org) {
        IMemberDirectory.KeyKind kind;
        uint64 until;
        (org, kind, , until) = _DIRECTORY.memberOf(account);
        if (org == bytes32(0) || kind != IMemberDirectory.KeyKind.ANCHORER || until != 0) {
            revert ClaimRegistryNotAnAnchorer(account);
        }
    }

    /// @dev Current time as stored in consumptions; a hook so test contracts can control the clock.
    function _time() internal view virtual returns (uint64) {
        return SafeCast.toUint64(block.timestamp);
    }
}
