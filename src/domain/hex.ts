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

// Byte <-> hex without Node's Buffer, so the domain runs unchanged in a browser (the auditor page's bundle).
// Encoding writes ASCII codes into one reused buffer and decodes it natively: as fast as Buffer#toString('hex').
const DIGITS = '0123456789abcdef';
const HIGH = new Uint8Array(256);
const LOW = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  HIGH[i] = DIGITS.charCodeAt(i >> 4);
  LOW[i] = DIGITS.charCodeAt(i & 15);
}
const HEX32_OUT = new Uint8Array(66);
HEX32_OUT[0] = 48; // '0'
HEX32_OUT[1] = 120; // 'x'
const ascii = new TextDecoder('latin1');

// Decoding copies the ASCII codes out natively (encodeInto), then maps each digit (any case) by table.
const NIBBLE = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  NIBBLE[DIGITS.charCodeAt(i)] = i;
  NIBBLE[DIGITS.toUpperCase().charCodeAt(i)] = i;
}
const HEX32_IN = new Uint8Array(66);
const utf8 = new TextEncoder();

/** 32 bytes → {@link Hex32}. */
export function bytesToHex32(bytes: Uint8Array, offset = 0): Hex32 {
  const out = HEX32_OUT;
  for (let i = 0; i < 32; i++) {
    const b = bytes[offset + i]!;
    out[2 + 2 * i] = HIGH[b]!;
    out[3 + 2 * i] = LOW[b]!;
  }
  return ascii.decode(out);
}

/** Writes a (validated) {@link Hex32} into `target` at `offset`. */
export function writeHex32(hex: Hex32, target: Uint8Array, offset: number): void {
  const codes = HEX32_IN;
  utf8.encodeInto(hex, codes);
  for (let i = 0; i < 32; i++) target[offset + i] = (NIBBLE[codes[2 + 2 * i]!]! << 4) | NIBBLE[codes[3 + 2 * i]!]!;
}

/** {@link Hex32} → new 32-byte Uint8Array (no validation: callers validate first). */
export function hex32ToBytes(hex: Hex32): Uint8Array {
  const out = new Uint8Array(32);
  writeHex32(hex, out, 0);
  return out;
}

/** Number of bytes of the UTF-8 encoding of a well-formed string (like `Buffer.byteLength(s, 'utf8')`). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4; // a surrogate pair: one 4-byte code point
      i++;
    } else n += 3;
  }
  return n;
}

/** `String.prototype.isWellFormed` (ES2024, Node 20+): false if `s` holds a lone UTF-16 surrogate. */
export function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}
