import { EntitySchema, type EntitySchemaColumnOptions, type EntitySchemaRelationOptions } from 'typeorm';

/**
 * The one description of a table (src/storage/tables.ts): each column's SQL name, type and how its value is read
 * from and written to the database. Derived from it:
 * - the typeorm EntitySchema the drift test compares with the migrated database (`Database.schemaDrift`), so a
 *   migration that does not produce this table, or a mapping edited without a migration, fails that test;
 * - the column lists of the repositories' SQL (`cols`), their row mappers (`reader`) and the generic
 *   INSERT/UPDATE statements (`insert`, `update`).
 * Migrations stay the history of how a database gets there (never edited once released).
 */

export type Dialect = 'sqlite' | 'postgres';
/** Column types common to both databases; `bytes` is `blob` on SQLite and `bytea` on PostgreSQL. */
type SqlType = 'varchar' | 'text' | 'integer' | 'bigint' | 'smallint' | 'bytes';

export interface Column<T> {
  readonly name: string;
  readonly type: SqlType;
  readonly length?: number;
  readonly nullable?: boolean;
  readonly primary?: boolean;
  readonly default?: string | number;
  /** A foreign key: the entity (`Table.entityName`) and column this one references. */
  readonly references?: { readonly entity: string; readonly column: string };
  /**
   * The SQL expression a SELECT list reads the column with (`Table.cols` given a dialect), when not the column
   * itself: `bin32` columns are read as their 0x-hex text, converted by the database.
   */
  readSql?(ref: string, dialect: Dialect): string;
  /** Database value → domain value. */
  read(v: unknown): T;
  /** Domain value → database value (never called with null). */
  write(v: T): unknown;
}

type Columns = Record<string, Column<unknown>>;
/** The domain object of a whole row. */
export type RowOf<C extends Columns> = { [K in keyof C]: C[K] extends Column<infer T> ? T : never };

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const same = <T>(v: T): unknown => v;
const orNull =
  <T>(f: (v: unknown) => T) =>
  (v: unknown): T | null =>
    v === null || v === undefined ? null : f(v);

type Extra = { nullable?: boolean; primary?: boolean };

const HEX32 = /^0x[0-9a-f]{64}$/;
/**
 * A hash as stored in a `bin32` column: the 32 bytes of its 0x-hex. Only the canonical form (0x + 64 lowercase
 * hex digits, what the domain produces) is accepted, so that every stored value reads back as the same string.
 */
export function hex32ToBytes(v: string): Buffer {
  if (typeof v !== 'string' || !HEX32.test(v)) {
    throw new TypeError(`not a 0x-prefixed 32-byte lowercase hex string: ${String(v).slice(0, 80)}`);
  }
  return Buffer.from(v.slice(2), 'hex');
}
/**
 * Lookup parameters for a `bin32` column: each canonical value's bytes. Others are left out: no stored value
 * equals them (as when the column held the hex text), and a lenient decoding could match one (uppercase hex,
 * or 64 digits followed by junk).
 */
export function hex32Keys(vs: readonly string[]): Buffer[] {
  const out: Buffer[] = [];
  for (const v of vs) if (typeof v === 'string' && HEX32.test(v)) out.push(Buffer.from(v.slice(2), 'hex'));
  return out;
}
/** A `bin32` value read: the hex text of `readSql`, or the bytes of the column itself. */
const bin32Read = (v: unknown): string => {
  if (typeof v === 'string') return v;
  const b = v as Buffer;
  if (!Buffer.isBuffer(b) || b.length !== 32) throw new TypeError('a bin32 column holds 32 bytes');
  return '0x' + b.toString('hex');
};
/**
 * The 0x-hex of a `bin32` column, computed by the database: a blob read by better-sqlite3 is a new Buffer per
 * value (~3× the cost of a text value), and a bytea by `pg` a parsed Buffer; converting those in JS took
 * submit + receipt reads from ~19 to ~27-33 µs CPU per record.
 */
const bin32Sql = (ref: string, dialect: Dialect): string =>
  dialect === 'postgres' ? `'0x' || encode(${ref}, 'hex')` : `'0x' || lower(hex(${ref}))`;

/**
 * Column constructors: SQL type + codec. Times are epoch ms in `bigint`; hashes 0x-hex in varchar(66) (`hex32`),
 * or their 32 bytes in blob / bytea (`bin32`: the large tables, half the bytes in the row and in every index).
 */
export const col = {
  str: <T extends string = string>(name: string, length: number, x: { primary?: boolean } = {}): Column<T> => ({
    name,
    type: 'varchar',
    length,
    ...x,
    read: (v) => String(v) as T,
    write: same,
  }),
  strNull: (name: string, length: number): Column<string | null> => ({
    name,
    type: 'varchar',
    length,
    nullable: true,
    read: orNull(String),
    write: same,
  }),
  hex32: (name: string): Column<string> => col.str(name, 66),
  hex32Null: (name: string): Column<string | null> => col.strNull(name, 66),
  /**
   * A hash stored as its 32 bytes (blob / bytea), read and written as the domain's 0x-hex. Parameters compared
   * with the column in hand-written SQL go through `hex32ToBytes` / `hex32Keys` too.
   */
  bin32: (name: string): Column<string> => ({
    name,
    type: 'bytes',
    readSql: bin32Sql,
    read: bin32Read,
    write: hex32ToBytes,
  }),
  text: (name: string): Column<string> => ({ name, type: 'text', read: String, write: same }),
  textNull: (name: string): Column<string | null> => ({
    name,
    type: 'text',
    nullable: true,
    read: orNull(String),
    write: same,
  }),
  int: (name: string): Column<number> => ({ name, type: 'integer', read: num, write: same }),
  intNull: (name: string): Column<number | null> => ({
    name,
    type: 'integer',
    nullable: true,
    read: orNull(num),
    write: same,
  }),
  /** Epoch milliseconds (PostgreSQL returns bigint as a string). */
  millis: (name: string): Column<number> => ({ name, type: 'bigint', read: num, write: same }),
  millisNull: (name: string): Column<number | null> => ({
    name,
    type: 'bigint',
    nullable: true,
    read: orNull(num),
    write: same,
  }),
  /** A JSON document in a text column. */
  json: <T>(name: string): Column<T> => ({
    name,
    type: 'text',
    read: (v) => JSON.parse(String(v)) as T,
    write: (v) => JSON.stringify(v),
  }),
  /** A nullable JSON document; '' reads as null like NULL. */
  jsonNull: <T>(name: string): Column<T | null> => ({
    name,
    type: 'text',
    nullable: true,
    read: (v) => (v === null || v === undefined || v === '' ? null : (JSON.parse(String(v)) as T)),
    write: (v) => (v === null || v === undefined ? null : JSON.stringify(v)),
  }),
  /** A comma-separated list of names. */
  csv: <T extends string>(name: string, length: number): Column<T[]> => ({
    name,
    type: 'varchar',
    length,
    read: (v) => String(v).split(',').filter(Boolean) as T[],
    write: (v) => v.join(','),
  }),
  /** A boolean as smallint 0/1 (default 0): only 1 is true. */
  flag: (name: string): Column<boolean> => ({
    name,
    type: 'smallint',
    default: 0,
    read: (v) => Number(v) === 1,
    write: (v) => (v ? 1 : 0),
  }),
  /** Raw bytes (blob / bytea). */
  bytes: (name: string): Column<Uint8Array> => ({
    name,
    type: 'bytes',
    read: (v) => {
      const b = v as Buffer;
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    },
    write: (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength),
  }),
  /** The column as a foreign key to `entity`.`column` (default `id`): NO ACTION on delete and update. */
  ref: <T>(c: Column<T>, entity: string, column = 'id'): Column<T> => ({ ...c, references: { entity, column } }),
  /** Overrides of a column's SQL attributes (same codec). */
  with: <T>(c: Column<T>, x: Extra & { default?: string | number; read?: (v: unknown) => T }): Column<T> => ({
    ...c,
    ...x,
  }),
};

export interface Index<K> {
  name: string;
  columns: K[];
  unique?: boolean;
  /** Partial index condition (raw SQL over column names). */
  where?: string;
}

export interface Table<C extends Columns> {
  readonly name: string;
  readonly entityName: string;
  readonly columns: C;
  readonly indices: readonly Index<keyof C & string>[];
  /**
   * `a, b, c`: the SQL names of these fields (all by default), for SELECT lists; with `alias`,
   * `alias.a AS alias_a, …` (a joined table, read back with the same alias). With `dialect`, a column with
   * `readSql` is read through it (`<expr> AS a`): the SELECT lists of the repositories' hot paths.
   */
  cols(fields?: readonly (keyof C & string)[], alias?: string, dialect?: Dialect): string;
  /** A row mapper for these fields (all by default): database row → domain object; `alias` as in `cols`. */
  reader<K extends keyof C & string>(
    fields?: readonly K[],
    alias?: string,
  ): (row: Record<string, unknown>) => Pick<RowOf<C>, K>;
  /** `INSERT INTO t (every column) VALUES (?, …)` with the encoded values of `row` (missing → the column's default, else NULL). */
  insert(row: Partial<RowOf<C>>): [string, unknown[]];
  /** `UPDATE t SET <the set fields of patch, not the key> = ? … WHERE <key> = ?`. */
  update(key: keyof C & string, id: unknown, patch: Partial<RowOf<C>>): [string, unknown[]];
  /** The typeorm mapping (drift checks only: the repositories run their own SQL). */
  entity(dialect: Dialect): EntitySchema;
}

export function table<C extends Columns>(
  name: string,
  entityName: string,
  columns: C,
  indices: readonly Index<keyof C & string>[] = [],
): Table<C> {
  const all = Object.keys(columns) as (keyof C & string)[];
  const marks = (n: number) => `(${Array(n).fill('?').join(', ')})`;
  const insertText = `INSERT INTO ${name} (${all.map((k) => columns[k]!.name).join(', ')}) VALUES ${marks(all.length)}`;
  return {
    name,
    entityName,
    columns,
    indices,
    cols: (fields = all, alias, dialect) =>
      fields
        .map((k) => {
          const c = columns[k]!;
          const ref = alias ? `${alias}.${c.name}` : c.name;
          const as = alias ? `${alias}_${c.name}` : c.name;
          if (dialect && c.readSql) return `${c.readSql(ref, dialect)} AS ${as}`;
          return alias ? `${ref} AS ${as}` : ref;
        })
        .join(', '),
    reader<K extends keyof C & string>(fields: readonly K[] = all as K[], alias?: string) {
      const at = alias ? `${alias}_` : '';
      // Compiled to one object literal per field list (the row mappers of bulk reads: 10,000 receipt rows a
      // request): a loop assigning computed keys is ~5× slower. The keys are this file's static mappings.
      const body = fields
        .map((k, i) => `${JSON.stringify(k)}: read[${i}](row[${JSON.stringify(at + columns[k]!.name)}])`)
        .join(',\n');
      const make = new Function('read', `return function fromRow(row) {\nreturn {\n${body}\n};\n};`);
      return make(fields.map((k) => columns[k]!.read.bind(columns[k]))) as (
        row: Record<string, unknown>,
      ) => Pick<RowOf<C>, K>;
    },
    insert: (row) => {
      const r = row as Record<string, unknown>;
      return [
        insertText,
        all.map((k) => (r[k] === undefined || r[k] === null ? (columns[k]!.default ?? null) : columns[k]!.write(r[k]))),
      ];
    },
    update: (key, id, patch) => {
      const p = patch as Record<string, unknown>;
      const keys = all.filter((k) => k !== key && p[k] !== undefined);
      return [
        `UPDATE ${name} SET ${keys.map((k) => `${columns[k]!.name} = ?`).join(', ')} WHERE ${columns[key]!.name} = ?`,
        [...keys.map((k) => (p[k] === null ? null : columns[k]!.write(p[k]))), id],
      ];
    },
    entity: (dialect) =>
      new EntitySchema({
        name: entityName,
        tableName: name,
        columns: Object.fromEntries(
          all.map((k) => {
            const c = columns[k]!;
            const o: EntitySchemaColumnOptions = {
              name: c.name,
              type: c.type === 'bytes' ? (dialect === 'postgres' ? 'bytea' : 'blob') : c.type,
              ...(c.length !== undefined && { length: c.length }),
              ...(c.nullable && { nullable: true }),
              ...(c.primary && { primary: true }),
              ...(c.default !== undefined && { default: c.default }),
            };
            return [k, o];
          }),
        ),
        // typeorm names a foreign key from its table and columns (the same name the migrations' TableForeignKey
        // gets), and SQLite stores no names: the default naming keeps the drift check exact on both databases.
        relations: Object.fromEntries(
          all
            .filter((k) => columns[k]!.references)
            .map((k) => {
              const c = columns[k]!;
              const rel: EntitySchemaRelationOptions = {
                type: 'many-to-one',
                target: c.references!.entity,
                joinColumn: { name: c.name, referencedColumnName: c.references!.column },
              };
              return [`${k}$ref`, rel];
            }),
        ),
        indices: indices.map((i) => ({
          name: i.name,
          columns: i.columns,
          ...(i.unique && { unique: true }),
          ...(i.where && { where: i.where }),
        })),
      }),
  };
}
