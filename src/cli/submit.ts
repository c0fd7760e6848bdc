import fs from 'node:fs';
import path from 'node:path';
import { digestPayload } from '../domain';
import { CliError, usageError } from './errors';
import { ApiClient, ApiError, type ProblemBody } from './http';
import { loadInput, type InputItem } from './inputs';
import { MARK, Progress, note, out, printJson } from './output';

export interface SubmitOptions {
  type?: string;
  externalIdField?: string;
  chunkSize: number;
  wait: boolean;
  timeoutSeconds: number;
  json: boolean;
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

type BatchItem = { id: string; digest: string; commitment: string; status: string; duplicate: boolean };
type BatchResult = { records: (BatchItem | { error: ProblemBody })[] };

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `notary submit`: bulk submission through POST /v1/records/batch, resumable through the state file, then
 * (with --wait) receipts written next to the input once the records are anchored.
 */
export async function submit(client: ApiClient, input: string, opts: SubmitOptions): Promise<number> {
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

  // ---- submission, chunk by chunk; the state file is saved after each chunk --------------------------
  const progress = new Progress('submitting', todo.length);
  const sendChunk = async (chunk: InputItem[]): Promise<void> => {
    let res: BatchResult;
    try {
      res = await client.request<BatchResult>('POST', '/v1/records/batch', { records: chunk.map((c) => c.record) });
    } catch (err) {
      // Too large a body for this server: halve the chunk and go on.
      if (err instanceof ApiError && err.status === 413 && chunk.length > 1) {
        const half = Math.ceil(chunk.length / 2);
        await sendChunk(chunk.slice(0, half));
        await sendChunk(chunk.slice(half));
        return;
      }
      throw err;
    }
    if (!res || !Array.isArray(res.records) || res.records.length !== chunk.length) {
      throw new CliError('BAD_RESPONSE', 'POST /v1/records/batch answered with an unexpected body');
    }
    res.records.forEach((r, i) => {
      const it = chunk[i]!;
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
    progress.tick(chunk.length);
  };
  try {
    for (let i = 0; i < todo.length; i += opts.chunkSize) {
      await sendChunk(todo.slice(i, i + opts.chunkSize));
      saveState();
    }
  } finally {
    progress.done();
    if (todo.length) saveState();
  }

  // ---- receipts -----------------------------------------------------------------------------------------
  if (opts.wait) {
    const pending = loaded.items.filter((it) => state.items[it.key] && !fs.existsSync(it.receiptPath));
    const bar = new Progress('waiting for receipts', pending.length);
    const deadline = Date.now() + opts.timeoutSeconds * 1000;
    try {
      while (pending.length) {
        const slice = pending.slice(0, 8);
        const ready = await Promise.all(
          slice.map(async (it) => {
            const entry = state.items[it.key]!;
            try {
              const receipt = await client.request<unknown>('GET', `/v1/records/${entry.id}/receipt`);
              writeJsonAtomic(it.receiptPath, receipt);
              if (it.payloadPath) writeJsonAtomic(it.payloadPath, it.record.payload);
              entry.receipt = path.relative(path.dirname(loaded.statePath), it.receiptPath);
              return true;
            } catch (err) {
              if (err instanceof ApiError && err.code === 'RECEIPT_NOT_READY') return false;
              throw err;
            }
          }),
        );
        for (let i = slice.length - 1; i >= 0; i--) {
          if (ready[i]) {
            pending.splice(i, 1);
            summary.receiptsWritten++;
            bar.tick();
          }
        }
        if (!ready.some(Boolean)) {
          if (Date.now() > deadline) break;
          await sleep(300);
        }
      }
    } finally {
      bar.done();
      saveState();
    }
    summary.pending = pending.length;
  }

  report(summary, opts);
  if (summary.pending > 0) {
    throw new CliError(
      'WAIT_TIMEOUT',
      `${summary.pending} record(s) not anchored after ${opts.timeoutSeconds} s; run the same command again to resume`,
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
