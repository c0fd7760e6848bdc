// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.20;

/**
 * @title IClaimRegistryV2
 * @notice Consortium-wide guard against double reimbursement for the organisations of a {IMemberDirectory}: an
 * expense claim consumes invoice keys (DESIGN.md §2.5), all or nothing, by an active ANCHORER key; the
 * consumption records the organisation. Only that organisation may release a claim's keys (e.g. the claim was
 * rejected), and only until it settles the claim (on reimbursement): a settled claim holds its keys for ever.
 * @dev Normative for outside verifiers (DESIGN.md §3, "ClaimRegistry v2"): change it only with a new version.
 */
interface IClaimRegistryV2 {
    /// @notice Who consumed a key, for which claim, when, and whether the claim is settled.
    // solhint-disable-next-line gas-struct-packing
    struct Consumption {
        address consumer; // account that consumed the key
        bytes32 org; // organisation (keccak256 of its id) the key was consumed for
        bytes32 claim; // claim id (the expense claim's commitment) that holds the key
        uint64 timestamp; // block timestamp of the consuming transaction; 0 means the key is not consumed
        uint64 blockNumber; // block number of the consuming transaction
        bool settled; // the claim was settled (reimbursed): its keys can never be released
    }

    /**
     * @notice Emitted when `consumer` consumes `keys` for `claim` of organisation `org`.
     * @param claim The claim id.
     * @param org The consuming organisation.
     * @param consumer Account that consumed the keys.
     * @param keys The invoice keys, in the order given.
     */
    event KeysConsumed(bytes32 indexed claim, bytes32 indexed org, address indexed consumer, bytes32[] keys);

    /**
     * @notice Emitted when the keys held by `claim` are released by its organisation.
     * @param claim The claim id.
     * @param org The consuming organisation.
     * @param releasedBy The organisation's key that released the claim.
     * @param keys The keys that became free again.
     */
    event KeysReleased(bytes32 indexed claim, bytes32 indexed org, address indexed releasedBy, bytes32[] keys);

    /**
     * @notice Emitted when `claim` is settled: its keys stay consumed for ever.
     * @param claim The claim id.
     * @param org The consuming organisation.
     * @param settledBy The organisation's key that settled the claim.
     */
    event ClaimSettled(bytes32 indexed claim, bytes32 indexed org, address indexed settledBy);

    /// @notice The directory given at deployment is the zero address.
    error ClaimRegistryZeroDirectory();

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
     * @notice The caller is not an active ANCHORER key of any organisation in the directory.
     * @param account The caller.
     */
    error ClaimRegistryNotAnAnchorer(address account);

    /**
     * @notice The same key appears twice in one call.
     * @param key The repeated key.
     */
    error ClaimRegistryDuplicateKey(bytes32 key);

    /**
     * @notice A key is already held by a claim.
     * @param key The key.
     * @param org The organisation that consumed it.
     * @param claim The claim that holds it.
     * @param timestamp When it was consumed.
     */
    error ClaimRegistryKeyAlreadyConsumed(bytes32 key, bytes32 org, bytes32 claim, uint64 timestamp);

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
     * @notice The caller is not a key of the organisation that consumed the claim.
     * @param claim The claim id.
     * @param org The consuming organisation.
     * @param caller The caller.
     */
    error ClaimRegistryNotConsumingOrg(bytes32 claim, bytes32 org, address caller);

    /**
     * @notice The claim was settled: its keys can never be released, and it cannot be settled again.
     * @param claim The claim id.
     */
    error ClaimRegistryClaimSettled(bytes32 claim);

    /**
     * @notice Consumes `keys` for `claim` of the caller's organisation, all or nothing.
     * @dev Requirements:
     *
     * - the caller must be an active ANCHORER key of an organisation in {directory};
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
     * @dev Requirements: `claim` holds keys and is not settled; the caller is an active ANCHORER key of the
     * organisation that consumed it (any of its keys, so a rotation does not strand a claim); not paused.
     * Emits a {KeysReleased} event.
     * @param claim The claim id.
     */
    function release(bytes32 claim) external;

    /**
     * @notice Settles `claim` (it was reimbursed): its keys stay consumed for ever.
     * @dev Requirements: `claim` holds keys and is not settled; the caller is an active ANCHORER key of the
     * organisation that consumed it; not paused. Emits a {ClaimSettled} event.
     * @param claim The claim id.
     */
    function settle(bytes32 claim) external;

    /**
     * @notice Returns who consumed `key`, for which claim, when, and whether that claim is settled.
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

    /// @notice The {IMemberDirectory} whose ANCHORER keys may consume, release and settle.
    function directory() external view returns (address);

    /**
     * @notice Returns the version of this contract.
     * @return The semantic version, "2.x".
     */
    function version() external pure returns (string memory);
}
