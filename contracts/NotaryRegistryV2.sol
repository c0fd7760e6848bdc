// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IMemberDirectory} from "./interfaces/IMemberDirectory.sol";
import {INotaryRegistryV2} from "./interfaces/INotaryRegistryV2.sol";

/**
 * @title NotaryRegistryV2
 * @notice Immutable registry of anchored Merkle roots, one hash-linked chain per organisation of a
 * {MemberDirectory}: only an active ANCHORER key of a member may anchor, and every anchor names its organisation.
 * @dev Not upgradeable on purpose: a notary that can be upgraded proves less. The default admin is transferred in
 * two steps with a delay ({AccessControlDefaultAdminRules}); holders of `PAUSER_ROLE` can stop new anchors.
 *
 * The organisation of an anchor costs no storage slot: the anchor stores its submitter, and the directory binds an
 * account to one organisation for ever (a removed key is never reassigned), so {anchorOf} reads the organisation
 * through the submitter and it can never change. Storing the 32-byte organisation would add a fourth fresh slot
 * (22,100 gas) to every anchor.
 */
contract NotaryRegistryV2 is INotaryRegistryV2, AccessControlDefaultAdminRules, Pausable {
    /// @notice Role allowed to {pause} and {unpause} the registry.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev Storage form of {INotaryRegistryV2-Anchor}, packed into three slots; `org` is read through `submitter`.
    struct StoredAnchor {
        address submitter; // slot 0
        uint64 seq; // slot 0
        uint32 leafCount; // slot 0
        uint64 timestamp; // slot 1; 0 means never anchored
        uint64 blockNumber; // slot 1
        bytes32 prev; // slot 2
    }

    IMemberDirectory private immutable _DIRECTORY;
    mapping(bytes32 root => StoredAnchor) private _anchors;
    mapping(bytes32 org => bytes32 root) private _heads;

    /**
     * @notice Deploys the registry for the members of `memberDirectory`, with `initialAdmin` as default admin.
     * @param initialDelay Delay, in seconds, of a default admin transfer (see {AccessControlDefaultAdminRules}).
     * @param initialAdmin Initial holder of `DEFAULT_ADMIN_ROLE`; it may grant `PAUSER_ROLE`.
     * @param memberDirectory The directory whose ANCHORER keys may anchor; fixed for the registry's life.
     */
    constructor(
        uint48 initialDelay,
        address initialAdmin,
        IMemberDirectory memberDirectory
    ) AccessControlDefaultAdminRules(initialDelay, initialAdmin) {
        if (address(memberDirectory) == address(0)) revert NotaryRegistryZeroDirectory();
        _DIRECTORY = memberDirectory;
    }

    /// @inheritdoc INotaryRegistryV2
    function anchor(bytes32 root, bytes32 prev, uint32 leafCount) external virtual whenNotPaused returns (uint64 seq) {
        if (root == bytes32(0)) revert NotaryRegistryZeroRoot();
        if (leafCount == 0) revert NotaryRegistryEmptyBatch();
        address submitter = _msgSender();
        // A bound key's window starts at or before this block, so "active now" is "ANCHORER and not removed".
        (bytes32 org, IMemberDirectory.KeyKind kind, , uint64 until) = _DIRECTORY.memberOf(submitter);
        if (org == bytes32(0) || kind != IMemberDirectory.KeyKind.ANCHORER || until != 0) {
            revert NotaryRegistryNotAnAnchorer(submitter);
        }
        StoredAnchor storage existing = _anchors[root];
        if (existing.timestamp != 0) {
            revert NotaryRegistryRootAlreadyAnchored(root, _orgOf(existing.submitter), existing.seq);
        }
        bytes32 head = _heads[org];
        if (prev != head) revert NotaryRegistryUnexpectedPrev(org, head, prev);

        // The head's seq is read from its anchor record; a zero head has no record and seq 0.
        // Cannot overflow: seq grows by one per transaction and a uint64 is never exhausted.
        unchecked {
            seq = _anchors[head].seq + 1;
        }
        _anchors[root] = StoredAnchor({
            submitter: submitter,
            seq: seq,
            leafCount: leafCount,
            timestamp: _time(),
            blockNumber: SafeCast.toUint64(block.number),
            prev: prev
        });
        _heads[org] = root;
        emit Anchored(root, org, seq, submitter, prev, leafCount);
    }

    /**
     * @notice Stops {anchor} until {unpause} is called.
     * @dev Requirements: the caller must have `PAUSER_ROLE`; the registry must not be paused.
     * Emits a {Pausable-Paused} event.
     */
    function pause() external virtual onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /**
     * @notice Allows {anchor} again.
     * @dev Requirements: the caller must have `PAUSER_ROLE`; the registry must be paused.
     * Emits a {Pausable-Unpaused} event.
     */
    function unpause() external virtual onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @inheritdoc INotaryRegistryV2
    function anchorOf(bytes32 root) external view virtual returns (Anchor memory) {
        StoredAnchor storage stored = _anchors[root];
        return
            Anchor({
                timestamp: stored.timestamp,
                blockNumber: stored.blockNumber,
                submitter: stored.submitter,
                seq: stored.seq,
                prev: stored.prev,
                leafCount: stored.leafCount,
                org: stored.timestamp == 0 ? bytes32(0) : _orgOf(stored.submitter)
            });
    }

    /// @inheritdoc INotaryRegistryV2
    function headOf(bytes32 org) external view virtual returns (bytes32 root, uint64 seq) {
        root = _heads[org];
        seq = _anchors[root].seq;
    }

    /// @inheritdoc INotaryRegistryV2
    function directory() external view virtual returns (address) {
        return address(_DIRECTORY);
    }

    /// @inheritdoc INotaryRegistryV2
    function verifyLeaf(
        bytes32 root,
        bytes32[] calldata path,
        bytes32 commitment
    ) external view virtual returns (bool) {
        if (_anchors[root].timestamp == 0) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(commitment))));
        return MerkleProof.verifyCalldata(path, root, leaf);
    }

    /// @inheritdoc INotaryRegistryV2
    function version() external pure virtual returns (string memory) {
        return "2.0.0";
    }

    /// @dev The organisation an account is bound to in the directory (for ever, once bound).
    function _orgOf(address account) internal view returns (bytes32 org) {
        (org, , , ) = _DIRECTORY.memberOf(account);
    }

    /// @dev Current time as stored in anchors; a hook so test contracts can control the clock.
    function _time() internal view virtual returns (uint64) {
        return SafeCast.toUint64(block.timestamp);
    }
}
