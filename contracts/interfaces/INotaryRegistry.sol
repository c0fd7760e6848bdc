// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.20;

/**
 * @title INotaryRegistry
 * @notice Anchors Merkle roots of notarized record batches. Each submitter's batches form a hash-linked chain
 * (`prev` must equal the submitter's current head), so a dropped batch is detectable from the chain alone.
 * @dev This interface is normative for outside verifiers (DESIGN.md §3): change it only with a new version.
 */
interface INotaryRegistry {
    /// @notice What the registry knows about an anchored root.
    /// @dev Field order is normative (ABI); the implementation stores a packed copy, so this layout costs no gas.
    // solhint-disable-next-line gas-struct-packing
    struct Anchor {
        uint64 timestamp; // block timestamp of the anchoring transaction; 0 means the root was never anchored
        uint64 blockNumber; // block number of the anchoring transaction
        address submitter; // account that anchored the root
        uint64 seq; // position of the root in the submitter's chain, starting at 1
        bytes32 prev; // the submitter's head before this root (bytes32(0) for the first root)
        uint32 leafCount; // number of leaves in the batch, as declared by the submitter (not checked on chain)
    }

    /**
     * @notice Emitted when `submitter` anchors `root` as number `seq` of its chain.
     * @param root Merkle root of the batch.
     * @param submitter Account that anchored the root.
     * @param seq Position of the root in the submitter's chain, starting at 1.
     * @param prev The submitter's previous head (bytes32(0) for the first root).
     * @param leafCount Number of leaves in the batch, as declared by the submitter.
     */
    event Anchored(bytes32 indexed root, address indexed submitter, uint64 indexed seq, bytes32 prev, uint32 leafCount);

    /// @notice The root to anchor is bytes32(0).
    error NotaryRegistryZeroRoot();

    /// @notice The declared batch has no leaves (`leafCount` is 0).
    error NotaryRegistryEmptyBatch();

    /**
     * @notice The root was anchored before.
     * @param root The root that was given.
     * @param submitter Account that anchored it first.
     * @param seq Its position in that account's chain.
     */
    error NotaryRegistryRootAlreadyAnchored(bytes32 root, address submitter, uint64 seq);

    /**
     * @notice `prev` is not the submitter's current head.
     * @param submitter The caller.
     * @param expected The caller's current head (bytes32(0) before its first anchor).
     * @param given The `prev` that was given.
     */
    error NotaryRegistryUnexpectedPrev(address submitter, bytes32 expected, bytes32 given);

    /**
     * @notice Anchors `root` as the caller's new head.
     * @dev Gas does not depend on `leafCount`: it is only stored.
     *
     * Requirements:
     *
     * - the caller must have `ANCHORER_ROLE`;
     * - the contract must not be paused;
     * - `root` must not be zero and must never have been anchored, by anyone;
     * - `leafCount` must not be zero;
     * - `prev` must equal the caller's current head (bytes32(0) for its first anchor).
     *
     * Emits an {Anchored} event.
     *
     * @param root Merkle root of the batch.
     * @param prev The caller's current head, as returned by {headOf}.
     * @param leafCount Number of leaves in the batch.
     * @return seq Position of `root` in the caller's chain, starting at 1.
     */
    function anchor(bytes32 root, bytes32 prev, uint32 leafCount) external returns (uint64 seq);

    /**
     * @notice Returns the anchor record of `root`.
     * @param root A Merkle root.
     * @return The anchor; its `timestamp` is 0 if `root` was never anchored.
     */
    function anchorOf(bytes32 root) external view returns (Anchor memory);

    /**
     * @notice Returns the current head of `submitter`'s chain.
     * @param submitter An account.
     * @return root The last root anchored by `submitter` (bytes32(0) if none).
     * @return seq Its sequence number (0 if none).
     */
    function headOf(address submitter) external view returns (bytes32 root, uint64 seq);

    /**
     * @notice Checks that `commitment` is a leaf of the anchored tree with root `root`.
     * @dev The leaf is `keccak256(bytes.concat(keccak256(abi.encode(commitment))))`, the OpenZeppelin standard
     * Merkle tree leaf for a single `bytes32` value; pairs are hashed sorted.
     * @param root An anchored Merkle root.
     * @param path The Merkle proof (sibling hashes from the leaf up).
     * @param commitment The leaf value (a record commitment).
     * @return True if `root` is anchored and `path` proves `commitment` against it; false otherwise.
     */
    function verifyLeaf(bytes32 root, bytes32[] calldata path, bytes32 commitment) external view returns (bool);

    /**
     * @notice Returns the version of this contract.
     * @return The semantic version, "1.0.0".
     */
    function version() external pure returns (string memory);
}
