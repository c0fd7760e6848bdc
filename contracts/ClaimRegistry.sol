// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IClaimRegistry} from "./interfaces/IClaimRegistry.sol";

/**
 * @title ClaimRegistry
 * @notice Immutable registry of consumed invoice keys: an invoice is reimbursed at most once across the consortium.
 * @dev Not upgradeable on purpose. The default admin is transferred in two steps with a delay
 * ({AccessControlDefaultAdminRules}) and may release any claim; holders of `PAUSER_ROLE` can stop consume and release.
 */
contract ClaimRegistry is IClaimRegistry, AccessControlDefaultAdminRules, Pausable {
    /// @notice Role allowed to {consume} keys.
    bytes32 public constant CLAIMANT_ROLE = keccak256("CLAIMANT_ROLE");

    /// @notice Role allowed to {pause} and {unpause} the registry.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice Largest number of keys one {consume} call accepts.
    uint256 public constant MAX_KEYS_PER_CALL = 64;

    /// @dev A claim that consumed keys. Kept after release (with no keys) so the claim id cannot consume again.
    struct ClaimRecord {
        address consumer; // slot 0; nonzero once the claim consumed
        uint64 timestamp; // slot 0
        uint64 blockNumber; // slot 1
        bytes32[] keys; // keys currently held; emptied on release
    }

    mapping(bytes32 key => bytes32 claim) private _claimOfKey;
    mapping(bytes32 claim => ClaimRecord) private _claims;

    /**
     * @notice Deploys the registry with `initialAdmin` as default admin.
     * @param initialDelay Delay, in seconds, of a default admin transfer (see {AccessControlDefaultAdminRules}).
     * @param initialAdmin Initial holder of `DEFAULT_ADMIN_ROLE`; it may grant `CLAIMANT_ROLE` and `PAUSER_ROLE`.
     */
    constructor(uint48 initialDelay, address initialAdmin) AccessControlDefaultAdminRules(initialDelay, initialAdmin) {}

    /// @inheritdoc IClaimRegistry
    function consume(bytes32[] calldata keys, bytes32 claim) external virtual onlyRole(CLAIMANT_ROLE) whenNotPaused {
        uint256 count = keys.length;
        if (count == 0) revert ClaimRegistryEmptyKeys();
        if (count > MAX_KEYS_PER_CALL) revert ClaimRegistryTooManyKeys(count, MAX_KEYS_PER_CALL);
        if (claim == bytes32(0)) revert ClaimRegistryZeroClaim();
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
                revert ClaimRegistryKeyAlreadyConsumed(key, other.consumer, holder, other.timestamp);
            }
            _claimOfKey[key] = claim;
        }
        address consumer = _msgSender();
        record.consumer = consumer;
        record.timestamp = _time();
        record.blockNumber = SafeCast.toUint64(block.number);
        record.keys = keys;
        emit KeysConsumed(claim, consumer, keys);
    }

    /// @inheritdoc IClaimRegistry
    function release(bytes32 claim) external virtual whenNotPaused {
        ClaimRecord storage record = _claims[claim];
        bytes32[] memory keys = record.keys;
        if (keys.length == 0) revert ClaimRegistryUnknownClaim(claim);
        address caller = _msgSender();
        if (!hasRole(DEFAULT_ADMIN_ROLE, caller)) {
            if (caller != record.consumer) revert ClaimRegistryNotConsumer(claim, caller);
            // A consumer whose role was revoked (e.g. a compromised key) cannot free keys any more.
            _checkRole(CLAIMANT_ROLE, caller);
        }

        for (uint256 i = 0; i < keys.length; ++i) {
            delete _claimOfKey[keys[i]];
        }
        delete record.keys;
        emit KeysReleased(claim, caller, keys);
    }

    /**
     * @notice Stops {consume} and {release} until {unpause} is called.
     * @dev Requirements: the caller must have `PAUSER_ROLE`; the registry must not be paused.
     * Emits a {Pausable-Paused} event.
     */
    function pause() external virtual onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /**
     * @notice Allows {consume} and {release} again.
     * @dev Requirements: the caller must have `PAUSER_ROLE`; the registry must be paused.
     * Emits a {Pausable-Unpaused} event.
     */
    function unpause() external virtual onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @inheritdoc IClaimRegistry
    function consumptionOf(bytes32 key) external view virtual returns (Consumption memory) {
        bytes32 claim = _claimOfKey[key];
        if (claim == bytes32(0)) return Consumption({consumer: address(0), claim: 0, timestamp: 0, blockNumber: 0});
        ClaimRecord storage record = _claims[claim];
        return
            Consumption({
                consumer: record.consumer,
                claim: claim,
                timestamp: record.timestamp,
                blockNumber: record.blockNumber
            });
    }

    /// @inheritdoc IClaimRegistry
    function keysOf(bytes32 claim) external view virtual returns (bytes32[] memory) {
        return _claims[claim].keys;
    }

    /// @inheritdoc IClaimRegistry
    function version() external pure virtual returns (string memory) {
        return "1.0.0";
    }

    /// @dev Current time as stored in consumptions; a hook so test contracts can control the clock.
    function _time() internal view virtual returns (uint64) {
        return SafeCast.toUint64(block.timestamp);
    }
}
