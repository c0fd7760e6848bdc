// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.20;

/**
 * @title IClaimRegistry
 * @notice Consortium-wide guard against double reimbursement: an expense claim consumes invoice keys
 * (DESIGN.md §2.5), all or nothing, and a key consumed by one claim cannot be consumed by another until that claim
 * is released (e.g. because it was rejected).
 */
interface IClaimRegistry {
    /// @notice Who consumed a key, for which claim, and when.
    struct Consumption {
        address consumer; // account that consumed the key
        bytes32 claim; // claim id (the expense claim's commitment) that holds the key
        uint64 timestamp; // block timestamp of the consuming transaction; 0 means the key is not consumed
        uint64 blockNumber; // block number of the consuming transaction
    }

    /**
     * @notice Emitted when `consumer` consumes `keys` for `claim`.
     * @param claim The claim id.
     * @param consumer Account that consumed the keys.
     * @param keys The invoice keys, in the order given.
     */
    event KeysConsumed(bytes32 indexed claim, address indexed consumer, bytes32[] keys);

    /**
     * @notice Emitted when the keys held by `claim` are released.
     * @param claim The claim id.
     * @param releasedBy Account that released the claim (its consumer or the default admin).
     * @param keys The keys that became free again.
     */
    event KeysReleased(bytes32 indexed claim, address indexed releasedBy, bytes32[] keys);

    /// @notice No keys were given.
    error ClaimRegistryEmptyKeys();

    /**
     * @notice More keys were given than one call may consume.
     * @param count Number of keys given.
     * @param max Largest number of keys allowed in one call.
     */
    error ClaimRegistryTooManyKeys(uint256 count, uint256 max);

    /// @notice The claim id is bytes32(0).
    error ClaimRegistryZeroClaim();

    /**
     * @notice The same key appears twice in one call.
     * @param key The repeated key.
     */
    error ClaimRegistryDuplicateKey(bytes32 key);

    /**
     * @notice A key is already held by a claim.
     * @param key The key.
     * @param consumer Account that consumed it.
     * @param claim The claim that holds it.
     * @param timestamp When it was consumed.
     */
    error ClaimRegistryKeyAlreadyConsumed(bytes32 key, address consumer, bytes32 claim, uint64 timestamp);

    /**
     * @notice The claim id has consumed keys before (a claim id consumes at most once, even after a release).
     * @param claim The claim id.
     */
    error ClaimRegistryClaimExists(bytes32 claim);

    /**
     * @notice The claim holds no keys (it never consumed any, or it was released already).
     * @param claim The claim id.
     */
    error ClaimRegistryUnknownClaim(bytes32 claim);

    /**
     * @notice The caller is neither the claim's consumer nor the default admin.
     * @param claim The claim id.
     * @param caller The caller.
     */
    error ClaimRegistryNotConsumer(bytes32 claim, address caller);

    /**
     * @notice Consumes `keys` for `claim`, all or nothing.
     * @dev Requirements:
     *
     * - the caller must have `CLAIMANT_ROLE`;
     * - the contract must not be paused;
     * - `keys` must be non-empty, without repeats, and no longer than the per-call maximum;
     * - `claim` must not be zero and must never have consumed keys before;
     * - no key may be held by another claim.
     *
     * Emits a {KeysConsumed} event.
     *
     * @param keys The invoice keys.
     * @param claim The claim id (the expense claim's commitment).
     */
    function consume(bytes32[] calldata keys, bytes32 claim) external;

    /**
     * @notice Frees all keys held by `claim`; they can be consumed again by a later claim. The claim id itself
     * cannot consume again.
     * @dev Requirements:
     *
     * - `claim` must hold keys;
     * - the caller must be the default admin, or the claim's consumer (which must still hold `CLAIMANT_ROLE`);
     * - the contract must not be paused.
     *
     * Emits a {KeysReleased} event.
     *
     * @param claim The claim id.
     */
    function release(bytes32 claim) external;

    /**
     * @notice Returns who consumed `key`, for which claim, and when.
     * @param key An invoice key.
     * @return The consumption; its `timestamp` is 0 if the key is not currently consumed.
     */
    function consumptionOf(bytes32 key) external view returns (Consumption memory);

    /**
     * @notice Returns the keys currently held by `claim`.
     * @param claim The claim id.
     * @return The keys, in the order they were consumed; empty if the claim never consumed or was released.
     */
    function keysOf(bytes32 claim) external view returns (bytes32[] memory);

    /**
     * @notice Returns the version of this contract.
     * @return The semantic version, "1.0.0".
     */
    function version() external pure returns (string memory);
}
