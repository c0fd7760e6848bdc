import type { Sql } from '../db';

export type Row = Record<string, unknown>;

export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

/** `(?, ?, ?)` */
export const marks = (n: number) => `(${Array(n).fill('?').join(', ')})`;
/** `?, ?, ?` for IN lists */
export const list = (n: number) => Array(n).fill('?').join(', ');
/** Splits long IN lists / multi-row inserts to stay under parameter limits. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Compile-time check that a table's fields are exactly a domain type's (no field stored or read twice, none lost). */
export type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;

/**
 * What every repository of src/storage/repos holds: the SQL session of the unit of work (one transaction, or the
 * pool for reads). The repositories of one unit of work share it (src/storage/sql-repo.ts).
 */
export abstract class SqlSession {
  constructor(protected readonly sql: Sql) {}
}
