import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CliError, usageError } from './errors';
import { UblError, ublToPayload } from '../domain/ubl';
import { MAX_JSON_DEPTH, findPrototypeKey, jsonPointer } from '../domain/json-walk';
import type { RecordInput } from '../service/records';

/** What POST /v1/records(/batch) takes for one record (the service's own input type). */
export type { RecordInput } from '../service/records';

/** One record read from the input, with where its receipt goes. */
export interface InputItem {
  /** Stable key in the state file: the externalId when there is one, else the record's place in the input. */
  key: string;
  /** Where it came from, for messages (`invoices/a.json`, `rows.csv row 7`). */
  label: string;
  record: RecordInput;
  receiptPath: string;
  /** For CSV rows: the payload is written next to the receipt so that an auditor can verify it. */
  payloadPath?: string;
}

export interface LoadedInput {
  kind: 'file' | 'dir' | 'csv';
  items: InputItem[];
  /** `<input>.notary-state.json`, next to the input. */
  statePath: string;
}

export interface LoadOptions {
  /** Record type for bare payloads and CSV rows. */
  type?: string;
  /** CSV column (or payload field of bare JSON payloads) holding the externalId. */
  externalIdField?: string;
}

const WRAPPER_KEYS = new Set(['type', 'externalId', 'payload', 'parents', 'supersedes']);
const GENERATED = /\.(receipt|payload|notary-state)\.json$/;

/** `{type, payload, …}` with nothing else: a record, not a bare payload. */
function isWrapper(x: unknown): x is RecordInput {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return false;
  const o = x as Record<string, unknown>;
  return typeof o.type === 'string' && 'payload' in o && Object.keys(o).every((k) => WRAPPER_KEYS.has(k));
}

/**
 * A file name made from an externalId or row label. When sanitizing changed it, `~` + 8 hex of the SHA-256 of
 * the exact input is appended, so that `A/1` and `A_1` (or `A:1`) never share a receipt file.
 */
export function safeName(s: string): string {
  const name =
    s
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^\.+/, '_')
      .slice(0, 150) || '_';
  return name === s ? name : `${name}~${createHash('sha256').update(s).digest('hex').slice(0, 8)}`;
}

function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(
      'INPUT_UNREADABLE',
      `${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        exitCode: 2,
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new CliError('INPUT_INVALID', `${file}: not JSON (${(err as Error).message})`, { exitCode: 2 });
  }
  // The service's check (src/service/prepare.ts), here so that a bad file is named before anything is sent and
  // nothing recursive (JSON.stringify, canonicalization) meets an arbitrarily deep value. A file may hold an
  // array of {type, payload} records: two levels above the payloads, which get the shared cap.
  const bad = findPrototypeKey(value, { maxDepth: MAX_JSON_DEPTH + 2 });
  if (bad) {
    const at = jsonPointer(bad.path).slice(0, 200) || '/';
    throw new CliError(
      'INPUT_INVALID',
      bad.reason === 'depth'
        ? `${file}: nested deeper than ${MAX_JSON_DEPTH} levels (at ${at})`
        : `${file}: forbidden prototype property at ${at} (a "__proto__" key, or "constructor" holding "prototype")`,
      { exitCode: 2 },
    );
  }
  return value;
}

function toRecord(x: unknown, where: string, opts: LoadOptions): RecordInput {
  if (isWrapper(x)) return x;
  if (!opts.type) {
    throw usageError(`${where}: a bare payload (not {type, payload}): pass --type T`);
  }
  const rec: RecordInput = { type: opts.type, payload: x };
  if (opts.externalIdField && x && typeof x === 'object') {
    const v = (x as Record<string, unknown>)[opts.externalIdField];
    if (typeof v === 'string' && v !== '') rec.externalId = v;
    else if (typeof v === 'number') rec.externalId = String(v);
  }
  return rec;
}

/** Records of one JSON file: one record (receipt `<stem>.receipt.json`) or an array (`<file>.receipts/…`). */
function itemsOfJsonFile(file: string, keyPrefix: string, opts: LoadOptions): InputItem[] {
  const value = readJsonFile(file);
  const dir = path.dirname(file);
  const stem = path.basename(file).replace(/\.json$/i, '');
  if (!Array.isArray(value)) {
    const record = toRecord(value, file, opts);
    return [{ key: keyPrefix, label: keyPrefix, record, receiptPath: path.join(dir, `${stem}.receipt.json`) }];
  }
  const receiptsDir = `${file}.receipts`;
  const seen = new Set<string>();
  return value.map((x, i) => {
    const record = toRecord(x, `${file}[${i}]`, opts);
    let name = safeName(record.externalId ?? String(i + 1));
    if (seen.has(name)) name = `${name}-${i + 1}`;
    seen.add(name);
    return {
      key: record.externalId !== undefined ? `externalId:${record.externalId}` : `${keyPrefix}#${i}`,
      label: `${keyPrefix}[${i}]`,
      record,
      receiptPath: path.join(receiptsDir, `${name}.receipt.json`),
    };
  });
}

/**
 * RFC 4180 CSV: comma separated, `"` quoting with `""` escapes, fields may span lines, CRLF or LF.
 * Returns rows of raw strings (no type conversion: amounts stay strings).
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const s = text.replace(/^\uFEFF/, '');
  while (i < s.length) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
    i++;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

/**
 * Sets `a.b.c` in `obj` (dotted column names become nested objects). Only own properties are read, and
 * {@link checkColumn} has refused `__proto__` and `constructor.prototype` segments, so no header can reach
 * `Object.prototype` (a `__proto__.x` column used to set `x` on every object of the process).
 */
function setPath(obj: Record<string, unknown>, dotted: string, value: string): void {
  const parts = dotted.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = Object.prototype.hasOwnProperty.call(cur, p) ? cur[p] : undefined;
    if (next === undefined || next === null || typeof next !== 'object') cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/**
 * Refuses column names that would write through a prototype (`__proto__` anywhere: `o.__proto__ = …` replaces
 * the prototype), that the service refuses (`constructor.prototype`), or that nest past the shared depth cap.
 * A plain `constructor` or `prototype` column (an aircraft's constructor) is an ordinary field.
 */
function checkColumn(file: string, column: string): void {
  const parts = column.split('.');
  const at = parts.findIndex((p, i) => p === '__proto__' || (p === 'constructor' && parts[i + 1] === 'prototype'));
  if (at >= 0) {
    throw new CliError(
      'INPUT_INVALID',
      `${file}: column "${column.slice(0, 100)}": "${parts.slice(0, at + 1 + Number(parts[at] === 'constructor')).join('.')}" cannot be a field name (prototype pollution)`,
      { exitCode: 2 },
    );
  }
  if (parts.length > MAX_JSON_DEPTH - 1) {
    throw new CliError(
      'INPUT_INVALID',
      `${file}: column "${column.slice(0, 100)}…" nests ${parts.length} levels (at most ${MAX_JSON_DEPTH - 1})`,
      { exitCode: 2 },
    );
  }
}

function itemsOfCsv(file: string, opts: LoadOptions): InputItem[] {
  if (!opts.type) throw usageError(`${file}: CSV rows need --type T`);
  let rows: string[][];
  try {
    rows = parseCsv(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError('INPUT_INVALID', `${file}: ${(err as Error).message}`, { exitCode: 2 });
  }
  const [header, ...data] = rows;
  if (!header || header.some((h) => h.trim() === '')) {
    throw new CliError('INPUT_INVALID', `${file}: the first row must name every column`, { exitCode: 2 });
  }
  const cols = header.map((h) => h.trim());
  for (const c of cols) checkColumn(file, c);
  const idCol = opts.externalIdField === undefined ? -1 : cols.indexOf(opts.externalIdField);
  if (opts.externalIdField !== undefined && idCol < 0) {
    throw usageError(`${file}: no column "${opts.externalIdField}" (columns: ${cols.join(', ')})`);
  }
  const receiptsDir = `${file}.receipts`;
  const seen = new Set<string>();
  return data.map((cells, i) => {
    const rowNo = i + 2; // 1-based, after the header
    if (cells.length !== cols.length) {
      throw new CliError(
        'INPUT_INVALID',
        `${file} row ${rowNo}: ${cells.length} fields, the header has ${cols.length}`,
        { exitCode: 2 },
      );
    }
    const payload: Record<string, unknown> = {};
    cols.forEach((c, j) => setPath(payload, c, cells[j]!));
    const externalId = idCol >= 0 && cells[idCol] !== '' ? cells[idCol] : undefined;
    let name = safeName(externalId ?? `row-${rowNo}`);
    if (seen.has(name)) name = `${name}-row-${rowNo}`;
    seen.add(name);
    const record: RecordInput = { type: opts.type!, payload, ...(externalId !== undefined ? { externalId } : {}) };
    return {
      key: externalId !== undefined ? `externalId:${externalId}` : `row:${rowNo}`,
      label: `${path.basename(file)} row ${rowNo}${externalId !== undefined ? ` (${externalId})` : ''}`,
      record,
      receiptPath: path.join(receiptsDir, `${name}.receipt.json`),
      payloadPath: path.join(receiptsDir, `${name}.payload.json`),
    };
  });
}

/** Reads a JSON file, a directory of *.json files, or a CSV file (DESIGN §5 record inputs). */
export function loadInput(input: string, opts: LoadOptions): LoadedInput {
  const abs = path.resolve(input);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    throw usageError(`${input}: no such file or directory`);
  }
  const statePath = `${abs.replace(/[\\/]+$/, '')}.notary-state.json`;
  if (stat.isDirectory()) {
    const files = fs
      .readdirSync(abs)
      .filter((f) => (/\.json$/i.test(f) && !GENERATED.test(f)) || /\.xml$/i.test(f))
      .sort();
    if (!files.length) throw usageError(`${input}: no *.json or *.xml files`);
    const items = files.flatMap((f) =>
      /\.xml$/i.test(f) ? itemsOfXmlFile(path.join(abs, f), f) : itemsOfJsonFile(path.join(abs, f), f, opts),
    );
    return { kind: 'dir', items, statePath };
  }
  if (/\.csv$/i.test(abs)) return { kind: 'csv', items: itemsOfCsv(abs, opts), statePath };
  if (/\.xml$/i.test(abs)) return { kind: 'file', items: itemsOfXmlFile(abs, path.basename(abs)), statePath };
  return { kind: 'file', items: itemsOfJsonFile(abs, path.basename(abs), opts), statePath };
}

/**
 * A UBL 2.1 Invoice or CreditNote (issue 17): mapped here by the service's own mapping (src/domain/ubl.ts) to the
 * `invoice.issued` record the API would make of it (externalId `ubl:invoice:<BT-1>` / `ubl:credit-note:<BT-1>`,
 * `source.sha256` of the file's bytes), so that XML files go through the same batch endpoint as JSON. Not done
 * here: linking a credit note to its invoice (POST /v1/records with the XML body does that).
 */
function itemsOfXmlFile(file: string, keyPrefix: string): InputItem[] {
  let payload: Record<string, unknown>;
  try {
    payload = ublToPayload(fs.readFileSync(file)).payload;
  } catch (err) {
    if (err instanceof UblError) throw new CliError('INPUT_INVALID', `${file}: ${err.message}`, { exitCode: 2 });
    throw usageError(`${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const kind = payload.invoiceType === 'credit-note' ? 'credit-note' : 'invoice';
  const externalId = `ubl:${kind}:${String(payload.invoiceNumber)}`;
  const stem = path.basename(file).replace(/\.xml$/i, '');
  return [
    {
      key: `externalId:${externalId}`,
      label: keyPrefix,
      record: { type: 'invoice.issued', externalId, payload },
      receiptPath: path.join(path.dirname(file), `${stem}.receipt.json`),
    },
  ];
}
