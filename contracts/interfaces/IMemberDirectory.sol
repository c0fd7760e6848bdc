// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.20;

/**
 * @title IMemberDirectory
 * @notice The consortium's members and their keys: the one place that says which organisation an account speaks
 * for. An organisation is named by `org = keccak256(bytes(orgId))`. An account belongs to one organisation for
 * ever, in one window of blocks `[since, until)` (`until` 0: still active); a removed key is never reassigned.
 * @dev The key functions, events and views are normative for outside verifiers (DESIGN.md §3): change them only
 * with a new version.
 */
interface IMemberDirectory {
    /// @notice What a key may do: `ANCHORER` sends anchor and claim transactions, `SIGNER` signs records.
    enum KeyKind {
        ANCHORER,
        SIGNER
    }

    /**
     * @notice Emitted when `account` is bound to organisation `org` (`orgId`) as a key of `kind` from block `since`.
     * @param org keccak256 of `orgId`.
     * @param account The bound account.
     * @param kind What the key may do.
     * @param since First block in which the key is active.
     * @param orgId The organisation's id, as the service and receipts spell it.
     */
    event MemberKeyAdded(bytes32 indexed org, address indexed account, KeyKind kind, uint64 since, string orgId);

    /**
     * @notice Emitted when `account`, a key of `org`, stops being active at block `until` (exclusive).
     * @param org The organisation the key stays bound to.
     * @param account The removed account.
     * @param until First block in which the key is no longer active.
     */
    // solhint-disable-next-line gas-indexed-events
    event MemberKeyRemoved(bytes32 indexed org, address indexed account, uint64 until);

    /**
     * @notice Emitted when the co-signing policy of a record type is set (an empty list clears it).
     * @param recordTypeHash keccak256 of `recordType`.
     * @param recordType The record type, e.g. "security.issuance".
     * @param orgs The organisations (keccak256 of their ids) whose `cosignature` a record of that type needs.
     */
    event CosignPolicySet(bytes32 indexed recordTypeHash, string recordType, bytes32[] orgs);

    /// @notice The organisation id is empty or longer than the directory accepts.
    error MemberDirectoryInvalidOrgId(uint256 length, uint256 maxLength);

    /// @notice The account to bind is the zero address.
    error MemberDirectoryZeroAccount();

    /**
     * @notice The account was bound before (keys are never reassigned, not even to the same organisation).
     * @param account The account.
     * @param org The organisation it is bound to.
     */
    error MemberDirectoryAccountAlreadyBound(address account, bytes32 org);

    /// @notice The account is not bound to any organisation.
    error MemberDirectoryUnknownAccount(address account);

    /**
     * @notice The key was removed before.
     * @param account The account.
     * @param until The block from which it is no longer active.
     */
    error MemberDirectoryKeyAlreadyRemoved(address account, uint64 until);

    /// @notice A co-signing policy names more organisations than the directory accepts.
    error MemberDirectoryPolicyTooLarge(uint256 count, uint256 max);

    /// @notice A co-signing policy names an organisation twice, or the zero organisation.
    error MemberDirectoryInvalidPolicyOrg(bytes32 org);

    /**
     * @notice Binds `account` to organisation `orgId` as a key of `kind`, active from the current block.
     * @dev Requirements: the caller has `REGISTRAR_ROLE`; `orgId` is 1 to 64 bytes; `account` is not the zero
     * address and was never bound before. Emits {MemberKeyAdded}.
     */
    function addKey(string calldata orgId, address account, KeyKind kind) external;

    /**
     * @notice Ends `account`'s window at the current block; the account stays bound to its organisation for ever.
     * @dev Requirements: the caller has `REGISTRAR_ROLE`; the account is bound and still active.
     * Emits {MemberKeyRemoved}.
     */
    function removeKey(address account) external;

    /**
     * @notice Sets which organisations' `cosignature` a record of `recordType` needs (empty: none).
     * @dev Requirements: the caller has `REGISTRAR_ROLE`; at most 16 organisations, none twice, none zero.
     * Emits {CosignPolicySet}.
     */
    function setCosignPolicy(string calldata recordType, bytes32[] calldata orgs) external;

    /**
     * @notice The organisation `account` is bound to, its kind and its window `[since, until)`.
     * @return org keccak256 of the organisation's id, bytes32(0) if the account was never bound.
     * @return kind The key's kind (ANCHORER for an unbound account: check `org`).
     * @return since First block in which the key is active (0: never bound).
     * @return until First block in which it is no longer active (0: still active).
     */
    function memberOf(address account) external view returns (bytes32 org, KeyKind kind, uint64 since, uint64 until);

    /// @notice Whether `account` is a key of `kind` of `org` that is active at `blockNumber`.
    function isActive(address account, bytes32 org, KeyKind kind, uint64 blockNumber) external view returns (bool);

    /// @notice The id of organisation `org`, as given when its first key was added ("" if it has none).
    function orgIdOf(bytes32 org) external view returns (string memory);

    /// @notice The organisations whose `cosignature` a record of `recordType` needs.
    function cosignPolicyOf(string calldata recordType) external view returns (bytes32[] memory);

    /// @notice The directory's version, "1.x".
    function version() external pure returns (string memory);
}
