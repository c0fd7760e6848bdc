// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {INotaryRegistry} from "./interfaces/INotaryRegistry.sol";

/**
 * @title NotaryRegistry
 * @notice Immutable registry of anchored Merkle roots, one hash-linked chain per submitter.
 * @dev Not upgradeable on purpose: a notary that can be upgraded proves less. The default admin is transferred in
 * two steps with a delay ({AccessControlDefaultAdminRules}); holders of `PAUSER_ROLE` can stop new anchors.
 */
contract NotaryRegistry is INotaryRegistry, AccessControlDefaultAdminRules, Pausable {
    /// @notice Role allowed to {anchor} roots.
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    /// @notice Role allowed to {pause} and {unpause} the registry.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev Storage form of {INotaryRegistry-Anchor}, packed into three slots instead of four.
    struct StoredAnchor {
        address submitter; // slot 0
        uint64 seq; // slot 0
        uint32 leafCount; // slot 0
        uint64 timestamp; // slot 1; 0 means never anchored
        uint64 blockNumber; // slot 1
        bytes32 prev; // slot 2
    }

    mapping(bytes32 root => StoredAnchor) private _anchors;
    mapping(address submitter => bytes32 root) private _heads;

    /**
     * @notice Deploys the registry with `initialAdmin` as default admin.
     * @param initialDelay Delay, in seconds, of a default admin transfer (see {AccessControlDefaultAdminRules}).
     * @param initialAdmin Initial holder of `DEFAULT_ADMIN_ROLE`; it may grant `ANCHORER_ROLE` and `PAUSER_ROLE`.
     */
    constructor(uint48 initialDelay, address initialAdmin) AccessControlDefaultAdminRules(initialDelay, initialAdmin) {}

    /// @inheritdoc INotaryRegistry
    function anchor(
        bytes32 root,
        bytes32 prev,
        uint32 leafCount
    ) external virtual onlyRole(ANCHORER_ROLE) whenNotPaused returns (uint64 seq) {
        if (root == bytes32(0)) revert NotaryRegistryZeroRoot();
        if (leafCount == 0) revert NotaryRegistryEmptyBatch();
        StoredAnchor storage existing = _anchors[root];
        if (existing.timestamp != 0) {
            revert NotaryRegistryRootAlreadyAnchored(root, existing.submitter, existing.seq);
        }
        address submitter = _msgSender();
        bytes32 head = _heads[submitter];
        if (prev != head) revert NotaryRegistryUnexpectedPrev(submitter, head, prev);

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
        _heads[submitter] = root;
        emit Anchored(root, submitter, seq, prev, leafCount);
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

    /// @inheritdoc INotaryRegistry
    function anchorOf(bytes32 root) external view virtual returns (Anchor memory) {
        StoredAnchor storage stored = _anchors[root];
        return
            Anchor({
                timestamp: stored.timestamp,
                blockNumber: stored.blockNumber,
                submitter: stored.submitter,
                seq: stored.seq,
                prev: stored.prev,
                leafCount: stored.leafCount
            });
    }

    /// @inheritdoc INotaryRegistry
    function headOf(address submitter) external view virtual returns (bytes32 root, uint64 seq) {
        root = _heads[submitter];
        seq = _anchors[root].seq;
    }

    /// @inheritdoc INotaryRegistry
    function verifyLeaf(
        bytes32 root,
        bytes32[] calldata path,
        bytes32 commitment
    ) external view virtual returns (bool) {
        if (_anchors[root].timestamp == 0) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(commitment))));
        return MerkleProof.verifyCalldata(path, root, leaf);
    }

    /// @inheritdoc INotaryRegistry
    function version() external pure virtual returns (string memory) {
        return "1.0.0";
    }

    /// @dev Current time as stored in anchors; a hook so test contracts can control the clock.
    function _time() internal view virtual returns (uint64) {
        return SafeCast.toUint64(block.timestamp);
    }
}
