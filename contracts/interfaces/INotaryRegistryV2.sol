// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.20;

/**
 * @title INotaryRegistryV2
 * @notice Anchors Merkle roots of notarized record batches for the organisations of a {IMemberDirectory}. Each
 * organisation's batches form one hash-linked chain across its key rotations (`prev` must equal the
 * organisation's current head), so a dropped batch is detectable from the chain alone, and every anchor names the
 * organisation it was anchored for.
 * @dev Normative for outside verifiers (DESIGN.md §3, "NotaryRegistry v2"): change it only with a new version.
 */
interface INotaryRegistryV2 {
    /// @notice What the registry knows about an anchored root.
    /// @dev Field order is normative (ABI); the implementation stores a packed copy, so this layout costs no gas.
    // solhint-disable-next-line gas-struct-packing
    struct Anchor {
        uint64 timestamp; // block timestamp of the anchoring transaction; 0 means the root was never anchored
        uint64 blockNumber; // block number of the anchoring transaction
        address submitter; // account that anchored the root (an ANCHORER key of `org` at that block)
        uint64 seq; // position of the root in the organisation's chain, starting at 1
        bytes32 prev; // the organisation's head before this root (bytes32(0) for its first root)
        uint32 leafCount; // number of leaves in the batch, as declared by the submitter (not checked on chain)
        bytes32 org; // keccak256(bytes(orgId)) of the organisation the root was anchored for
    }

    /**
     * @notice Emitted when `submitter` anchors `root` as number `seq` of organisation `org`'s chain.
     * @param root Merkle root of the batch.
     * @param org The organisation (keccak256 of its id).
     * @param seq Position of the root in the organisation's chain, starting at 1.
     * @param submitter Account that anchored the root.
     * @param prev The organisation's previous head (bytes32(0) for its first root).
     * @param leafCount Number of leaves in the batch, as declared by the submitter.
     */
    event Anchored(
        bytes32 indexed root,
        bytes32 indexed org,
        uint64 indexed seq,
        address submitter,
        bytes32 prev,
        uint32 leafCount
    );

    /// @notice The directory given at deployment is the zero address.
    error NotaryRegistryZeroDirectory();

    /// @notice The root to anchor is bytes32(0).
    error NotaryRegistryZeroRoot();

    /// @notice The declared batch has no leaves (`leafCount` is 0).
    error NotaryRegistryEmptyBatch();

    /**
     * @notice The caller is not an active ANCHORER key of any organisation in the directory.
     * @param account The caller.
     */
    error NotaryRegistryNotAnAnchorer(address account);

    /**
     * @notice The root was anchored before.
     * @param root The root that was given.
     * @param org The organisation it was anchored for first.
     * @param seq Its position in that organisation's chain.
     */
    error NotaryRegistryRootAlreadyAnchored(bytes32 root, bytes32 org, uint64 seq);

    /**
     * @notice `prev` is not the organisation's current head.
     * @param org The caller's organisation.
     * @param expected The organisation's current head (bytes32(0) before its first anchor).
     * @param given The `prev` that was given.
     */
    error NotaryRegistryUnexpectedPrev(bytes32 org, bytes32 expected, bytes32 given);

    /**
     * @notice Anchors `root` as the new head of the caller's organisation.
     * @dev Gas does not depend on `leafCount`: it is only stored.
     *
     * Requirements:
     *
     * - the caller must be an active ANCHORER key of an organisation in {directory};
     * - the contract must not be paused;
     * - `root` must not be zero and must never have been anchored, by anyone;
     * - `leafCount` must not be zero;
     * - `prev` must equal the organisation's current head (bytes32(0) for its first anchor).
     *
     * Emits an {Anchored} event.
     *
     * @param root Merkle root of the batch.
     * @param prev The organisation's current head, as returned by {headOf}.
     * @param leafCount Number of leaves in the batch.
     * @return seq Position of `root` in the organisation's chain, starting at 1.
     */
    function anchor(bytes32 root, bytes32 prev, uint32 leafCount) external returns (uint64 seq);

    /**
     * @notice Returns the anchor record of `root`.
     * @param root A Merkle root.
     * @return The anchor; its `timestamp` is 0 (and every other field zero) if `root` was never anchored.
     */
    function anchorOf(bytes32 root) external view returns (Anchor memory);

    /**
     * @notice Returns the current head of organisation `org`'s chain.
     * @param org keccak256 of an organisation's id.
     * @return root The last root anchored for `org` (bytes32(0) if none).
     * @return seq Its sequence number (0 if none).
     */
    function headOf(bytes32 org) external view returns (bytes32 root, uint64 seq);

    /// @notice The {IMemberDirectory} that says which organisation an account anchors for.
    function directory() external view returns (address);

    /**
     * @notice Checks that `commitment` is a leaf of the anchored tree with root `root`.
     * @dev The leaf is `keccak256(bytes.concat(keccak256(abi.encode(commitment))))`, the OpenZeppelin standard
     * Merkle tree leaf for a single `bytes32` value; pairs are hashed sorted.
     * @param root An anchored Merkle root.
     * @param path The Merkle proof (sibling hashes from the leaf up).
     * @param commitment The leaf value (a record commitment, or a sealed commitment of a signed record).
     * @return True if `root` is anchored and `path` proves `commitment` against it; false otherwise.
     */
    function verifyLeaf(bytes32 root, bytes32[] calldata path, bytes32 commitment) external view returns (bool);

    /**
     * @notice Returns the version of this contract.
     * @return The semantic version, "2.x".
     */
    function version() external pure returns (string memory);
}
