import { DomainError } from './errors';

/**
 * Exact decimal arithmetic for amounts (DESIGN §2.1: amounts are decimal strings, never binary floats).
 * A value is a BigInt `units` scaled by 10^`scale`; no operation ever goes through a JavaScript number.
 */
export interface Dec {
  readonly units: bigint;
  readonly scale: number;
}

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;
/** Longest decimal accepted (digits): far above any amount, far below anything costly. */
const MAX_DIGITS = 60;

export function dec(s: string): Dec {
  const m = typeof s === 'string' && s.length <= MAX_DIGITS + 2 ? DECIMAL.exec(s) : null;
  if (!m) throw new DomainError({ code: 'INVALID_ARGUMENT', message: `not a decimal number: ${String(s)}` });
  const frac = m[3] ?? '';
  const units = BigInt(m[2]! + frac);
  return { units: m[1] === '-' ? -units : units, scale: frac.length };
}

export const ZERO: Dec = { units: 0n, scale: 0 };

const pow10 = (n: number): bigint => 10n ** BigInt(n);

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  const s = Math.max(a.scale, b.scale);
  return [a.units * pow10(s - a.scale), b.units * pow10(s - b.scale), s];
}

export function add(a: Dec, b: Dec): Dec {
  const [x, y, scale] = align(a, b);
  return { units: x + y, scale };
}

export function sub(a: Dec, b: Dec): Dec {
  const [x, y, scale] = align(a, b);
  return { units: x - y, scale };
}

export function mul(a: Dec, b: Dec): Dec {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

export function neg(a: Dec): Dec {
  return { units: -a.units, scale: a.scale };
}

export function sum(xs: Iterable<Dec>): Dec {
  let t = ZERO;
  for (const x of xs) t = add(t, x);
  return t;
}

export function cmp(a: Dec, b: Dec): -1 | 0 | 1 {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export const eq = (a: Dec, b: Dec): boolean => cmp(a, b) === 0;

export function abs(a: Dec): Dec {
  return a.units < 0n ? neg(a) : a;
}

/** Rounds to `digits` decimals, half away from zero (the commercial rounding EN 16931 assumes). */
export function round(a: Dec, digits: number): Dec {
  if (a.scale <= digits) return { units: a.units * pow10(digits - a.scale), scale: digits };
  const d = pow10(a.scale - digits);
  const q = a.units / d; // truncates towards zero
  const r = a.units % d;
  const twice = (r < 0n ? -r : r) * 2n;
  const units = twice >= d ? q + (a.units < 0n ? -1n : 1n) : q;
  return { units, scale: digits };
}

/** `a / b` rounded to `digits` decimals, half away from zero (b ≠ 0). */
export function div(a: Dec, b: Dec, digits: number): Dec {
  if (b.units === 0n) throw new DomainError({ code: 'INVALID_ARGUMENT', message: 'division by zero' });
  // a/b = (a.units / b.units) × 10^(b.scale − a.scale); compute with 1 guard digit, then round.
  const shift = digits + 1 + b.scale - a.scale;
  const num = shift >= 0 ? a.units * pow10(shift) : a.units / pow10(-shift);
  return round({ units: num / b.units, scale: digits + 1 }, digits);
}

/** Plain decimal text, trailing zeros kept to `minScale` decimals ("1250.00"). */
export function str(a: Dec, minScale = 0): string {
  let v = a;
  if (v.scale < minScale) v = { units: v.units * pow10(minScale - v.scale), scale: minScale };
  const negative = v.units < 0n;
  let digits = (negative ? -v.units : v.units).toString();
  if (v.scale > 0) {
    digits = digits.padStart(v.scale + 1, '0');
    digits = digits.slice(0, -v.scale) + '.' + digits.slice(-v.scale);
    // Drop trailing zeros beyond minScale.
    while (digits.endsWith('0') && digits.length - digits.indexOf('.') - 1 > minScale) digits = digits.slice(0, -1);
    if (digits.endsWith('.')) digits = digits.slice(0, -1);
  }
  return (negative && /[1-9]/.test(digits) ? '-' : '') + digits;
}

/**
 * ISO 4217 minor-unit exponents of the currencies that differ from 2 (every other code: 2).
 * Source: ISO 4217 list one (SIX), currencies in circulation.
 */
const EXPONENT: Record<string, number> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  CLF: 4,
  UYW: 4,
};

/** Decimals of the currency's minor unit (ISO 4217), 2 when the code is not listed as different. */
export function minorUnit(currency: string): number {
  return EXPONENT[currency] ?? 2;
}
