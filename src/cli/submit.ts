import fs from 'node:fs';
import path from 'node:path';
import { digestPayload } from '../domain';
import { createHash } from 'node:crypto';
import { Wallet } from 'ethers';
import { NotaryApiError, digestSignerFromKey, type DigestSigner, type NotaryClient, type Receipt } from '../client';
import { CliError, usageError } from './errors';
import { loadInput, type InputItem } from './inputs';
import { MARK, Progress, note, out, printJson } from './output';

export interface SubmitOptions {
  type?: string;
  externalIdField?: string;
  chunkSize: number;
  wait: boolean;
  timeoutSeconds: number;
  /** With --wait: give up (exit 1, BLOCKED) once the records have been blocked this long. */
  blockedGraceMs?: number;
  json: boolean;
  /** Sign every record with this SIGNER key before sending (receipt version 2), as organisation `orgId`. */
  signer?: DigestSigner;
  orgId?: string;
}

/** Environment variable holding the password of the `--sign-with` keystore. */
export const SIGNER_PASSWORD_ENV = 'NOTARY_SIGNER_PASSWORD';

/**
 * The SIGNER key of `--sign-with <keystore.json>` (an encrypted JSON keystore, password from
 * NOTARY_SIGNER_PASSWORD) or `--signer-key-file <file>` (a raw `0x…` private key: development only).
 */
export async function loadSigner(
  o: { signWith?: string; signerKeyFile?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<DigestSigner | undefined> {
  if (o.signWith && o.signerKeyFile) throw usageError('--sign-with and --signer-key-file exclude each other');
  const read = (file: string, flag: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw usageError(`${flag} ${file}: ${(err as Error).message}`);
    }
  };
  if (o.signerKeyFile) {
    const key = read(o.signerKeyFile, '--signer-key-file').trim();
    if (!/^0x[0-9a-fA-F]{64}$/.test(key))
      throw usageError(`--signer-key-file ${o.signerKeyFile}: expected one private key, 0x + 64 hex`);
    return digestSignerFromKey(key);
  }
  if (!o.signWith) return undefined;
  const json = read(o.signWith, '--sign-with');
  const password = env[SIGNER_PASSWORD_ENV];
  if (password === undefined)
    throw usageError(`--sign-with ${o.signWith}: set ${SIGNER_PASSWORD_ENV} to the keystore's password`);
  let wallet: Wallet;
  try {
    wallet = (await Wallet.fromEncryptedJson(json, password)) as Wallet;
  } catch (err) {
    throw new CliError('SIGNER_KEY_INVALID', `--sign-with ${o.signWith}: ${(err as Error).message}`, { exitCode: 2 });
  }
  return digestSignerFromKey(wallet.privateKey);
}

interface StateEntry {
  id: string;
  digest: string;
  receipt?: string;
}

/** `<input>.notary-state.json`: what the API accepted, so that a re-run skips it. */
interface SubmitState {
  version: 1;
  apiUrl: string;
  updatedAt: string;
  items: Record<string, StateEntry>;
}

export interface Rejection {
  label: string;
  code: string;
  detail: string;
}

export interface SubmitSummary {
  input: string;
  statePath: string;
  total: number;
  skipped: number;
  accepted: number;
  created: number;
  duplicates: number;
  rejected: number;
  rejections: Rejection[];
  receiptsWritten: number;
  pending: number;
}

function writeJsonAtomic(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

function loadState(file: string, apiUrl: string): SubmitState {
  const fresh: SubmitState = { version: 1, apiUrl, updatedAt: new Date().toISOString(), items: {} };
  if (!fs.existsSync(file)) return fresh;
  let s: SubmitState;
  try {
    s = JSON.parse(fs.readFileSync(file, 'utf8')) as SubmitState;
  } catch (err) {
    throw new CliError('STATE_INVALID', `${file}: ${(err as Error).message} (delete it to start over)`, {
      exitCode: 2,
    });
  }
  if (s?.version !== 1 || typeof s.items !== 'object' || s.items === null) {
    throw new CliError('STATE_INVALID', `${file}: not a notary state file (delete it to start over)`, { exitCode: 2 });
  }
  if (s.apiUrl !== apiUrl) {
    note(`notary: ${file} was written for ${s.apiUrl}; starting over for ${apiUrl}`);
    return fresh;
  }
  return s;
}

function localDigest(payload: unknown): string | null {
  try {
    return digestPayload(payload);
  } catch {
    return null; // the API rejects it with its own reason
  }
}

/** Case and Unicode normalization folded: two paths equal here are one file on macOS/Windows file systems. */
const fold = (p: string) => p.normalize('NFC').toLowerCase();
const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

/**
 * Makes every receipt (and payload) path of the input distinct, also on case-insensitive file systems: the
 * second of two items whose paths fold to the same name gets `~<hash of its key>` (its exact externalId or
 * place in the input). Without it, the second receipt was silently never written (its file "existed").
 */
export function distinctReceiptPaths(items: InputItem[]): void {
  const taken = new Set<string>();
  for (const it of items) {
    if (taken.has(fold(it.receiptPath))) {
      const base = it.receiptPath.replace(/\.receipt\.json$/, '');
      const h = shortHash(it.key);
      let stem = `${base}~${h}`;
      for (let n = 2; taken.has(fold(`${stem}.receipt.json`)); n++) stem = `${base}~${h}-${n}`;
      it.receiptPath = `${stem}.receipt.json`;
      if (it.payloadPath) it.payloadPath = `${stem}.payload.json`;
    }
    taken.add(fold(it.receiptPath));
  }
}

/** True when this item's receipt is on disk already: the file the state names (or its own) holds ITS record. */
function receiptOnDisk(it: InputItem, entry: StateEntry, stateDir: string): boolean {
  for (const file of [entry.receipt ? path.resolve(stateDir, entry.receipt) : null, it.receiptPath]) {
    if (!file || !fs.existsSync(file)) continue;
    try {
      const r = JSON.parse(fs.readFileSync(file, 'utf8')) as { record?: { id?: string } };
      if (r?.record?.id === entry.id) {
        if (file !== it.receiptPath) it.receiptPath = file;
        return true;
      }
    } catch {
      /* unreadable: written again */
    }
  }
  return false;
}

function writeReceipt(it: InputItem, receipt: Receipt): void {
  if (fs.existsSync(it.receiptPath)) {
    let other: string | undefined;
    try {
      other = (JSON.parse(fs.readFileSync(it.receiptPath, 'utf8')) as { record?: { id?: string } })?.record?.id;
    } catch {
      other = undefined;
    }
    if (other !== receipt.record.id) note(`notary: replacing ${it.receiptPath} (it held ${other ?? 'no receipt'})`);
  }
  writeJsonAtomic(it.receiptPath, receipt);
  if (it.payloadPath) writeJsonAtomic(it.payloadPath, it.record.payload);
}

/**
 * `notary submit`: bulk submission through POST /v1/records/batch, resumable through the state file, then
 * (with --wait) receipts written next to the input once the records are anchored.
 */
export async function submit(client: NotaryClient, input: string, opts: SubmitOptions): Promise<number> {
  if (!Number.isInteger(opts.chunkSize) || opts.chunkSize < 1 || opts.chunkSize > 10_000) {
    throw usageError(`--chunk-size must be 1..10000, got ${opts.chunkSize}`);
  }
  const loaded = loadInput(input, { type: opts.type, externalIdField: opts.externalIdField });
  // Keys must be unique within one input (two rows with the same externalId: the second gets a suffix).
  const keys = new Set<string>();
  for (const it of loaded.items) {
    let k = it.key;
    for (let n = 2; keys.has(k); n++) k = `${it.key}#${n}`;
    it.key = k;
    keys.add(k);
  }
  distinctReceiptPaths(loaded.items);
  const state = loadState(loaded.statePath, client.baseUrl);
  const saveState = () => {
    state.updatedAt = new Date().toISOString();
    writeJsonAtomic(loaded.statePath, state);
  };

  const digests = new Map<string, string | null>();
  const todo: InputItem[] = [];
  for (const it of loaded.items) {
    const d = localDigest(it.record.payload);
    digests.set(it.key, d);
    const done = state.items[it.key];
    if (done && d !== null && done.digest === d) continue;
    todo.push(it);
  }

  const summary: SubmitSummary = {
    input: path.resolve(input),
    statePath: loaded.statePath,
    total: loaded.items.length,
    skipped: loaded.items.length - todo.length,
    accepted: 0,
    created: 0,
    duplicates: 0,
    rejected: 0,
    rejections: [],
    receiptsWritten: 0,
    pending: 0,
  };

  // ---- signing (--sign-with): every record in bulk, before the first chunk is sent ----------------------
  let records: InputItem['record'][] = todo.map((it) => it.record);
  if (opts.signer && todo.length) {
    if (!opts.orgId) throw usageError('signing needs the organisation the key signs for: pass --org <id>');
    const t0 = Date.now();
    try {
      records = await client.signRecords(records, opts.signer, { orgId: opts.orgId });
    } catch (err) {
      if (err instanceof NotaryApiError || err instanceof CliError) throw err;
      throw new CliError('SIGNING_FAILED', (err as Error).message);
    }
    note(
      `notary: signed ${records.length} record(s) as ${opts.signer.address} for ${opts.orgId} in ${Date.now() - t0} ms (${opts.signer.backend})`,
    );
  }

  // ---- submission, chunk by chunk (NotaryClient.submitMany); the state file is saved after each chunk ----
  const progress = new Progress('submitting', todo.length);
  try {
    if (todo.length) {
      await client.submitMany(records, {
        chunkSize: opts.chunkSize,
        onProgress: ({ chunk }) => {
          chunk.results.forEach((r, i) => {
            const it = todo[chunk.offset + i]!;
            if ('error' in r) {
              summary.rejected++;
              summary.rejections.push({
                label: it.label,
                code: r.error?.code ?? 'REJECTED',
                detail: r.error?.detail ?? r.error?.title ?? '',
              });
              return;
            }
            summary.accepted++;
            if (r.duplicate) summary.duplicates++;
            else summary.created++;
            state.items[it.key] = { id: r.id, digest: r.digest };
          });
          progress.tick(chunk.results.length);
          saveState();
        },
      });
    }
  } finally {
    progress.done();
    if (todo.length) saveState();
  }

  // ---- receipts: POST /v1/receipts, 10,000 per request (NotaryClient.waitForReceipts) -------------------
  let blockedFailure: CliError | null = null;
  let waitBlocked: { code: string; detail: string } | null = null;
  if (opts.wait) {
    const stateDir = path.dirname(loaded.statePath);
    const pending = loaded.items.filter((it) => {
      const entry = state.items[it.key];
      return entry !== undefined && !receiptOnDisk(it, entry, stateDir);
    });
    const byId = new Map<string, InputItem[]>();
    for (const it of pending) {
      const id = state.items[it.key]!.id;
      byId.set(id, [...(byId.get(id) ?? []), it]);
    }
    const bar = new Progress('waiting for receipts', pending.length);
    let res: Awaited<ReturnType<NotaryClient['waitForReceipts']>> | undefined;
    try {
      res = await client.waitForReceipts([...byId.keys()], {
        timeoutMs: opts.timeoutSeconds * 1000,
        blockedTimeoutMs: opts.blockedGraceMs,
        onReceipt: (id, receipt) => {
          for (const it of byId.get(id) ?? []) {
            writeReceipt(it, receipt);
            state.items[it.key]!.receipt = path.relative(stateDir, it.receiptPath);
            summary.receiptsWritten++;
            bar.tick();
          }
        },
        onBlocked: (b) => {
          bar.done();
          if (b) note(`notary: records are not being anchored: ${b.code}: ${b.detail} (since ${b.since})`);
          else note('notary: anchoring resumed');
        },
      });
    } finally {
      bar.done();
      saveState();
    }
    summary.pending = pending.length - summary.receiptsWritten;
    waitBlocked = res?.blocked ?? null;
    if (res?.notFound.length) {
      blockedFailure = new CliError(
        'RECORD_NOT_FOUND',
        `${res.notFound.length} record(s) of ${path.basename(loaded.statePath)} are unknown to ${client.baseUrl} (e.g. ${res.notFound[0]}); delete the state file to submit them again`,
      );
    } else if (res?.outcome === 'blocked' && res.blocked) {
      blockedFailure = new CliError(
        'BLOCKED',
        `${summary.pending} record(s) not anchored: ${res.blocked.code}: ${res.blocked.detail}; run the same command again once that is fixed`,
      );
    }
  }

  report(summary, opts);
  if (blockedFailure) throw blockedFailure;
  if (summary.pending > 0) {
    const why = waitBlocked ? ` (blocked: ${waitBlocked.code}: ${waitBlocked.detail})` : '';
    throw new CliError(
      'WAIT_TIMEOUT',
      `${summary.pending} record(s) not anchored after ${opts.timeoutSeconds} s${why}; run the same command again to resume`,
    );
  }
  return summary.rejected > 0 ? 1 : 0;
}

function report(s: SubmitSummary, opts: SubmitOptions): void {
  if (opts.json) {
    printJson(s);
    return;
  }
  const parts = [
    `accepted ${s.accepted} (new ${s.created}, duplicates ${s.duplicates})`,
    `rejected ${s.rejected}`,
    `already done ${s.skipped}`,
  ];
  if (opts.wait) parts.push(`receipts written ${s.receiptsWritten}`);
  out(`${s.total} record(s): ${parts.join(', ')}`);
  const byCode = new Map<string, number>();
  for (const r of s.rejections) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
  if (byCode.size) out(`rejected by reason: ${[...byCode].map(([c, n]) => `${c} ×${n}`).join(', ')}`);
  for (const r of s.rejections.slice(0, 20)) out(`  ${MARK.failed} ${r.label}: ${r.code}: ${r.detail}`);
  if (s.rejections.length > 20) out(`  … and ${s.rejections.length - 20} more (use --json for all)`);
}
