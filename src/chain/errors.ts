import { AbiCoder, ErrorDescription, Interface, dataSlice, getAddress, isError, isHexString } from 'ethers';
import {
  ClaimRegistryV2__factory,
  ClaimRegistry__factory,
  MemberDirectory__factory,
  NotaryRegistryV2__factory,
  NotaryRegistry__factory,
} from '../../typechain-types';
import { ChainFailureError, type ChainFailureCode } from '../service/chain-port';

/**
 * Closed set of chain-layer error codes (STYLE rule 2), declared by the port (src/service/chain-port.ts
 * ChainFailureCode). Callers switch on `code`, never on messages.
 *
 * - Connectivity: CHAIN_UNREACHABLE (refused, DNS, timeout, node down), CHAIN_ID_MISMATCH, BAD_RESPONSE (malformed answer).
 * - Node refused the transaction: TX_REJECTED (generic), NONCE_TOO_LOW, INSUFFICIENT_FUNDS, TX_UNDERPRICED.
 * - The EVM reverted: one code per registry custom error (v1 and v2 alike: NOT_AUTHORIZED also for a caller that is
 *   no active ANCHORER key of the directory, NOT_CONSUMER for one of another organisation than the consuming one),
 *   NOT_AUTHORIZED / PAUSED for the OpenZeppelin ones,
 *   TX_REVERTED for anything else (Error(string), Panic, unknown selector, no data).
 * - INVALID_ARGUMENT: a caller mistake detected before any RPC (bad hex, wrong length).
 */
export type ChainErrorCode = ChainFailureCode;

/** JSON-safe value: what `details` holds, so it can go straight into a DB column or a problem+json body. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export class ChainError extends ChainFailureError {
  declare readonly code: ChainErrorCode;
  /**
   * Decoded custom-error arguments by name, as plain JSON: uint → number when it is a safe integer, else a decimal
   * string; addresses EIP-55 checksummed; bytes32 lowercase 0x-hex. Empty object when there is nothing to decode.
   */
  declare readonly details: Record<string, JsonValue>;
  /** Solidity error name when the EVM reverted with decodable data (e.g. `NotaryRegistryRootAlreadyAnchored`). */
  readonly errorName?: string;

  constructor(opts: {
    code: ChainErrorCode;
    message: string;
    details?: Record<string, JsonValue>;
    errorName?: string;
    cause?: unknown;
  }) {
    super(opts);
    if (opts.errorName !== undefined) this.errorName = opts.errorName;
  }
}

export function isChainError(err: unknown, code?: ChainErrorCode): err is ChainError {
  return err instanceof ChainError && (code === undefined || err.code === code);
}

/** Wraps any foreign error and throws it as a ChainError (for `catch (e) { rethrowAsChainError(e) }`). */
export function rethrowAsChainError(err: unknown): never {
  throw toChainError(err);
}

const REVERT_CODES: Record<string, ChainErrorCode> = {
  NotaryRegistryZeroRoot: 'ZERO_ROOT',
  NotaryRegistryEmptyBatch: 'EMPTY_BATCH',
  NotaryRegistryRootAlreadyAnchored: 'ROOT_ALREADY_ANCHORED',
  NotaryRegistryUnexpectedPrev: 'UNEXPECTED_PREV',
  ClaimRegistryEmptyKeys: 'EMPTY_KEYS',
  ClaimRegistryTooManyKeys: 'TOO_MANY_KEYS',
  ClaimRegistryZeroClaim: 'ZERO_CLAIM',
  ClaimRegistryDuplicateKey: 'DUPLICATE_KEY',
  ClaimRegistryKeyAlreadyConsumed: 'KEY_ALREADY_CONSUMED',
  ClaimRegistryClaimExists: 'CLAIM_EXISTS',
  ClaimRegistryUnknownClaim: 'UNKNOWN_CLAIM',
  ClaimRegistryNotConsumer: 'NOT_CONSUMER',
  ClaimRegistryNotConsumingOrg: 'NOT_CONSUMER',
  ClaimRegistryClaimSettled: 'CLAIM_SETTLED',
  NotaryRegistryNotAnAnchorer: 'NOT_AUTHORIZED',
  ClaimRegistryNotAnAnchorer: 'NOT_AUTHORIZED',
  AccessControlUnauthorizedAccount: 'NOT_AUTHORIZED',
  EnforcedPause: 'PAUSED',
};

let errorsInterface: Interface | undefined;
/**
 * One Interface holding the errors of the registries 1.x and 2.x and the directory (incl. the inherited OpenZeppelin
 * ones), deduplicated by signature: a v1 and a v2 error of the same name differ in their argument types, hence in
 * their selectors (e.g. KeyAlreadyConsumed names a consumer address in v1, an organisation in v2).
 */
function registryErrors(): Interface {
  if (!errorsInterface) {
    const seen = new Set<string>();
    const fragments = [
      ...NotaryRegistryV2__factory.abi,
      ...ClaimRegistryV2__factory.abi,
      ...MemberDirectory__factory.abi,
      ...NotaryRegistry__factory.abi,
      ...ClaimRegistry__factory.abi,
    ].filter((f) => {
      if (f.type !== 'error') return false;
      const sig = `${f.name}(${f.inputs.map((i) => i.type).join(',')})`;
      if (seen.has(sig)) return false;
      seen.add(sig);
      return true;
    });
    errorsInterface = new Interface(fragments);
  }
  return errorsInterface;
}

function toJson(value: unknown, type: string): JsonValue {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (type === 'address' && typeof value === 'string') return getAddress(value);
  if (typeof value === 'string') return type.startsWith('bytes') ? value.toLowerCase() : value;
  if (typeof value === 'boolean' || typeof value === 'number') return value;
  if (Array.isArray(value)) return value.map((v) => toJson(v, type.replace(/\[\d*\]$/, '')));
  return String(value);
}

function detailsOf(desc: ErrorDescription): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  desc.fragment.inputs.forEach((input, i) => {
    out[input.name || `arg${i}`] = toJson(desc.args[i], input.type);
  });
  return out;
}

const ERROR_STRING = '0x08c379a0';
const PANIC = '0x4e487b71';

/** Maps revert data returned by the EVM to a ChainError; unknown or empty data gives TX_REVERTED. */
export function decodeRevert(data: string | undefined, cause?: unknown): ChainError {
  if (!data || !isHexString(data) || data.length < 10) {
    return new ChainError({ code: 'TX_REVERTED', message: 'transaction reverted without a reason', cause });
  }
  const selector = data.slice(0, 10).toLowerCase();
  if (selector === ERROR_STRING || selector === PANIC) {
    try {
      const isPanic = selector === PANIC;
      const [value] = AbiCoder.defaultAbiCoder().decode([isPanic ? 'uint256' : 'string'], dataSlice(data, 4));
      const details: Record<string, JsonValue> = isPanic
        ? { code: toJson(value, 'uint256') }
        : { reason: String(value) };
      const errorName = isPanic ? 'Panic' : 'Error';
      return new ChainError({
        code: 'TX_REVERTED',
        message: `transaction reverted: ${errorName}(${JSON.stringify(Object.values(details)[0])})`,
        details,
        errorName,
        cause,
      });
    } catch {
      /* fall through: malformed payload */
    }
  }
  let desc: ErrorDescription | null = null;
  try {
    desc = registryErrors().parseError(data);
  } catch {
    desc = null; // selector known but arguments malformed: treat as unknown (attacker-controlled data)
  }
  if (!desc) {
    return new ChainError({
      code: 'TX_REVERTED',
      message: `transaction reverted with unknown error ${selector}`,
      details: { data: data.toLowerCase() },
      cause,
    });
  }
  const details = detailsOf(desc);
  return new ChainError({
    code: REVERT_CODES[desc.name] ?? 'TX_REVERTED',
    message: `transaction reverted: ${desc.name}(${Object.entries(details)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(', ')})`,
    details,
    errorName: desc.name,
    cause,
  });
}

type Loose = Record<string, unknown>;
const asObj = (v: unknown): Loose | undefined => (v !== null && typeof v === 'object' ? (v as Loose) : undefined);

/** Walks the usual nesting of ethers / EIP-1193 / Hardhat errors (error, info.error, cause, data.data, …). */
function nested(err: unknown, depth = 0): Loose[] {
  const o = asObj(err);
  if (!o || depth > 5) return [];
  const out: Loose[] = [o];
  for (const key of ['error', 'info', 'cause', 'data', 'originalError', 'parent']) {
    const child = o[key];
    if (asObj(child)) out.push(...nested(child, depth + 1));
  }
  return out;
}

function findRevertData(errs: Loose[]): string | undefined {
  for (const o of errs) {
    for (const key of ['data', 'returnData', 'result']) {
      const v = o[key];
      if (typeof v === 'string' && isHexString(v) && v.length >= 10) return v;
    }
  }
  // some nodes only put it in the message: "execution reverted: custom error 0x1234…"
  for (const o of errs) {
    const m = typeof o.message === 'string' ? /custom error (0x[0-9a-fA-F]{8,})/.exec(o.message) : null;
    if (m?.[1]) return m[1];
  }
  return undefined;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
]);

/**
 * Maps any error thrown by ethers, an EIP-1193 provider (Hardhat in-process) or Node's network stack to a ChainError.
 * A ChainError passes through unchanged. Revert data is decoded with both registries' interfaces.
 */
export function toChainError(err: unknown): ChainError {
  if (err instanceof ChainError) return err;
  const errs = nested(err);
  const messages = errs.map((o) => (typeof o.message === 'string' ? o.message : '')).join(' | ');
  const codes = new Set(errs.map((o) => o.code).filter((c): c is string => typeof c === 'string'));
  const first = (code: ChainErrorCode, message: string) => new ChainError({ code, message, cause: err });

  if (
    [...codes].some((c) => NETWORK_CODES.has(c)) ||
    isError(err, 'TIMEOUT') ||
    /ECONNREFUSED|ECONNRESET|socket hang up|fetch failed|request timeout|connect ETIMEDOUT/i.test(messages)
  ) {
    return first('CHAIN_UNREACHABLE', `chain unreachable: ${shortMessage(err, messages)}`);
  }
  if (isError(err, 'NONCE_EXPIRED') || /nonce too low|nonce has already been used|Nonce too low/i.test(messages)) {
    return first('NONCE_TOO_LOW', `nonce too low: ${shortMessage(err, messages)}`);
  }
  if (isError(err, 'INSUFFICIENT_FUNDS') || /insufficient funds|sender doesn't have enough funds/i.test(messages)) {
    return first('INSUFFICIENT_FUNDS', `insufficient funds: ${shortMessage(err, messages)}`);
  }
  if (
    isError(err, 'REPLACEMENT_UNDERPRICED') ||
    /underpriced|max fee per gas less than block base fee/i.test(messages)
  ) {
    return first('TX_UNDERPRICED', `transaction underpriced: ${shortMessage(err, messages)}`);
  }
  if (/invalid chain ?id|chain ?id mismatch|incompatible EIP155-based V|Invalid chainId/i.test(messages)) {
    return first('CHAIN_ID_MISMATCH', `chain id mismatch: ${shortMessage(err, messages)}`);
  }
  const data = findRevertData(errs);
  if (isError(err, 'CALL_EXCEPTION') || data !== undefined || /revert/i.test(messages)) {
    return decodeRevert(data, err);
  }
  if (isError(err, 'NETWORK_ERROR') || isError(err, 'SERVER_ERROR')) {
    return first('CHAIN_UNREACHABLE', `chain unreachable: ${shortMessage(err, messages)}`);
  }
  if (isError(err, 'BAD_DATA'))
    return first('BAD_RESPONSE', `malformed chain response: ${shortMessage(err, messages)}`);
  if (isError(err, 'INVALID_ARGUMENT')) return first('INVALID_ARGUMENT', shortMessage(err, messages));
  return first('TX_REJECTED', `chain request failed: ${shortMessage(err, messages)}`);
}

function shortMessage(err: unknown, messages: string): string {
  const o = asObj(err);
  const s = typeof o?.shortMessage === 'string' ? o.shortMessage : messages.split(' | ')[0];
  return (s || String(err)).slice(0, 300);
}

/** Asserts a 0x-prefixed 32-byte hex value (caller mistake → INVALID_ARGUMENT). */
export function assertBytes32(value: string, name: string): void {
  if (!isHexString(value, 32)) {
    throw new ChainError({
      code: 'INVALID_ARGUMENT',
      message: `${name} must be 0x-prefixed 32-byte hex`,
      details: { name },
    });
  }
}
