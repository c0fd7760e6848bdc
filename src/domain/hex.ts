import { DomainError } from './errors';

/** `0x` + 64 lowercase hex digits (32 bytes). */
export type Hex32 = string;

export const HEX32_PATTERN = '^0x[0-9a-f]{64}$';
export const ADDRESS_PATTERN = '^0x[0-9a-fA-F]{40}$';
export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

const HEX32_RE = new RegExp(HEX32_PATTERN);
const UUID_RE = new RegExp(UUID_PATTERN);
const ANY_CASE_HEX32_RE = /^0x[0-9a-fA-F]{64}$/;

export const ZERO_HEX32: Hex32 = `0x${'0'.repeat(64)}`;

/** True if `x` is a {@link Hex32} (lowercase only). */
export function isHex32(x: unknown): x is Hex32 {
  return typeof x === 'string' && x.length === 66 && HEX32_RE.test(x);
}

/** True if `x` is a lowercase, hyphenated UUID (any version). */
export function isRecordId(x: unknown): x is string {
  return typeof x === 'string' && x.length === 36 && UUID_RE.test(x);
}

/** Normalises any-case `0x` + 64 hex to a {@link Hex32}; throws INVALID_HEX32 otherwise. */
export function toHex32(x: unknown, field = 'value'): Hex32 {
  if (typeof x !== 'string' || !ANY_CASE_HEX32_RE.test(x)) {
    throw new DomainError({ code: 'INVALID_HEX32', message: `${field} must be 0x + 64 hex digits`, fields: [field] });
  }
  return x.toLowerCase();
}

/** Throws INVALID_HEX32 naming `field` unless `x` is a lowercase {@link Hex32}. */
export function assertHex32(x: unknown, field: string): asserts x is Hex32 {
  if (!isHex32(x)) {
    throw new DomainError({
      code: 'INVALID_HEX32',
      message: `${field} must be 0x + 64 lowercase hex digits`,
      fields: [field],
    });
  }
}

/** 32 bytes → {@link Hex32}. */
export function bytesToHex32(bytes: Uint8Array, offset = 0): Hex32 {
  return '0x' + Buffer.from(bytes.buffer, bytes.byteOffset + offset, 32).toString('hex');
}

/** Writes a (validated) {@link Hex32} into `target` at `offset`. */
export function writeHex32(hex: Hex32, target: Buffer, offset: number): void {
  target.write(hex.slice(2), offset, 32, 'hex');
}

/** {@link Hex32} → new 32-byte Uint8Array (no validation: callers validate first). */
export function hex32ToBytes(hex: Hex32): Uint8Array {
  return new Uint8Array(Buffer.from(hex.slice(2), 'hex'));
}

/** `String.prototype.isWellFormed` (ES2024, Node 20+): false if `s` holds a lone UTF-16 surrogate. */
export function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}
