import { NotaryApiError } from './errors';
import type {
  ApiKeyView,
  BatchItem,
  BatchSubmitResult,
  BatchView,
  Blocked,
  ClaimInput,
  ClaimResult,
  ClaimView,
  Completeness,
  CreateOrgInput,
  CreatedKey,
  Health,
  Info,
  OfflineVerdict,
  OrgView,
  Problem,
  Readiness,
  Receipt,
  ReceiptsResult,
  RecordInput,
  RecordView,
  Scope,
  SubmitResult,
  Trace,
  TraceBundle,
  Verdict,
} from './types';
import type { RootSource } from '../verifier/root-source';
import type { DigestSigner, SigningContext } from './signing';
import type { RecordSignature } from '../domain/signatures';

/** A record with the fields a signed record carries (receipt version 2). */
export type SignedRecordInput = RecordInput & { id: string; salt: string; signatures: RecordSignature[] };

/** Most records one POST /v1/records/batch takes, and most ids one POST /v1/receipts takes. */
export const MAX_BATCH = 10_000;
export const MAX_RECEIPT_IDS = 10_000;

export interface NotaryClientOptions {
  /** e.g. `http://127.0.0.1:3000` (a trailing slash is ignored). */
  baseUrl: string;
  /** Bearer API key; not needed for health, info and verifyRemote. */
  apiKey?: string;
  /** Per request (default 120 s). */
  timeoutMs?: number;
  /** Retries of a retryable failure (default 5): see {@link NotaryClient.request}. */
  retries?: number;
  /** Longest wait between two attempts (default 30 s; a longer Retry-After is capped to it). */
  maxBackoffMs?: number;
  /** The fetch implementation (default: the global fetch of Node ≥ 20). */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  /** JSON body. */
  body?: unknown;
  /** A body sent as is, with its content type (UBL XML). */
  raw?: { body: string | Uint8Array; contentType: string };
  /**
   * `true` (default for GET/DELETE and the idempotent POSTs): retried on network errors, 5xx and 429.
   * `false`: retried only on 429 (the server refused it before doing anything).
   */
  idempotent?: boolean;
  query?: Record<string, string | undefined>;
  /** Status codes answered with their body instead of an error (GET /ready's 503). */
  accept?: number[];
}

export interface SubmitManyProgress {
  /** Records answered so far (accepted + rejected). */
  done: number;
  total: number;
  accepted: number;
  rejected: number;
  /** Accepted records that existed already (a replay, or a retried chunk the server had stored). */
  duplicates: number;
  /** Attempts repeated so far (network errors, 5xx, 429). */
  retries: number;
  /** The chunk just answered: its offset in the input and its items. */
  chunk: { offset: number; results: BatchItem[] };
}

export interface SubmitManyOptions {
  /** Records per POST /v1/records/batch (1..10,000, default 1,000). A 413 halves the chunk. */
  chunkSize?: number;
  /** Chunks in flight at once (default 1; 2 keeps the server busy while the next body uploads). */
  concurrency?: number;
  onProgress?: (p: SubmitManyProgress) => void;
}

export interface SubmitManyResult {
  /** One item per input record, in input order. */
  records: BatchItem[];
  accepted: number;
  rejected: number;
  created: number;
  duplicates: number;
  retries: number;
}

export interface WaitProgress {
  ready: number;
  total: number;
  pending: number;
  notFound: number;
  /** Requests made so far (POST /v1/receipts and blocked probes). */
  requests: number;
  /** Why the pending records are not anchored, once the service says so. */
  blocked: Blocked | null;
}

export interface WaitOptions {
  /** Give up after this long (default 300 s): the result then lists what is still pending. */
  timeoutMs?: number;
  /** First poll interval (default 250 ms); doubles up to `maxIntervalMs` (default 2 s) while nothing changes. */
  intervalMs?: number;
  maxIntervalMs?: number;
  onProgress?: (p: WaitProgress) => void;
  /** Called for each receipt as soon as it arrives (e.g. to write it to disk while the rest is pending). */
  onReceipt?: (id: string, receipt: Receipt) => void;
  /** Called when the `blocked` reason is first known and whenever it changes (null: no longer blocked). */
  onBlocked?: (b: Blocked | null) => void;
  /** Stop waiting once the records have been blocked this long without progress (default: wait until timeoutMs). */
  blockedTimeoutMs?: number;
}

export interface WaitResult {
  /** Receipts by record id. */
  receipts: Map<string, Receipt>;
  /** Ids still pending when the wait ended. */
  pending: string[];
  /** Ids answered RECORD_NOT_FOUND (unknown, or not readable with this key). */
  notFound: string[];
  /** The last known blocked reason (null when none). */
  blocked: Blocked | null;
  /** Why the wait ended. */
  outcome: 'complete' | 'timeout' | 'blocked';
  requests: number;
}

export interface VerifyOptions {
  /** The original payload: its digest must equal the receipt's. */
  payload?: unknown;
  /** Chain JSON-RPC URL the anchor is read from (an auditor's own node). */
  rpcUrl?: string;
  /** Or any root source of src/verifier. */
  rootSource?: RootSource;
  /** Registry addresses to accept (default: the one the receipt names). */
  trustedRegistries?: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

/**
 * Typed client of the Ledger Notary API (every route), built on the global `fetch`. Failures throw
 * {@link NotaryApiError} with the problem's `code`. Bulk helpers: {@link submitMany} (chunked, retried) and
 * {@link waitForReceipts} (POST /v1/receipts, 10,000 ids per request).
 */
export class NotaryClient {
  readonly baseUrl: string;
  private readonly apiKey?: string;
  private readonly opts: NotaryClientOptions;
  private readonly fetchImpl: typeof fetch;
  /** Attempts repeated by this client so far. */
  retries = 0;
  /** Requests sent by this client so far (attempts included). */
  requests = 0;

  constructor(opts: NotaryClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.apiKey = opts.apiKey;
    this.opts = opts;
    this.fetchImpl = opts.fetch ?? ((...a) => fetch(...a));
  }

  // ---- transport -------------------------------------------------------------------------------------

  /**
   * One API call with retries. Retried (up to `retries` times, exponential backoff with jitter, Retry-After
   * honoured): 429 always; network errors, timeouts and 5xx only when the call is idempotent — GET, DELETE,
   * and the POSTs that are safe to resend (records, batch, receipts, verify, claims: the service deduplicates
   * them by externalId, or by payload digest for records without one). Creating an organisation or a key is not
   * retried after a transport failure (a second key would be created).
   */
  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const idempotent = o.idempotent ?? (method === 'GET' || method === 'DELETE');
    const retries = this.opts.retries ?? 5;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(method, path, o);
      } catch (err) {
        if (!(err instanceof NotaryApiError) || attempt >= retries) throw err;
        const retryable = err.status === 429 || (idempotent && (err.status === 0 || err.status >= 500));
        if (!retryable) throw err;
        this.retries++;
        const max = this.opts.maxBackoffMs ?? 30_000;
        const backoff = err.retryAfter !== undefined ? err.retryAfter * 1000 : 250 * 2 ** attempt;
        await sleep(Math.min(max, backoff) * (err.retryAfter !== undefined ? 1 : 0.5 + Math.random() / 2));
      }
    }
  }

  private url(path: string, query?: Record<string, string | undefined>): string {
    const q = query
      ? Object.entries(query)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${enc(k)}=${enc(v!)}`)
          .join('&')
      : '';
    return this.baseUrl + path + (q ? `?${q}` : '');
  }

  private async send(method: string, path: string, o: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    if (o.raw) headers['content-type'] = o.raw.contentType;
    this.requests++;
    const timeoutMs = this.opts.timeoutMs ?? 120_000;
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, o.query), {
        method,
        headers,
        // A Uint8Array is a valid fetch body (lib.dom types only accept one over a plain ArrayBuffer).
        body: o.raw ? (o.raw.body as BodyInit) : o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
      const timeout = e.name === 'TimeoutError';
      throw new NotaryApiError({
        status: 0,
        code: timeout ? 'API_TIMEOUT' : 'API_UNREACHABLE',
        detail: timeout
          ? `${method} ${path}: no answer from ${this.baseUrl} within ${timeoutMs} ms`
          : `cannot reach ${this.baseUrl} (${e.cause?.code ?? e.cause?.message ?? e.message ?? String(err)})`,
        method,
        path,
        cause: err,
      });
    }
    if (!res.ok && !o.accept?.includes(res.status)) {
      const text = await res.text().catch(() => '');
      throw errorOf(res, text, method, path);
    }
    return res;
  }

  private async once<T>(method: string, path: string, o: RequestOptions): Promise<T> {
    const res = await this.send(method, path, o);
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new NotaryApiError({
        status: res.status,
        code: 'BAD_RESPONSE',
        detail: `${method} ${path}: the answer is not JSON`,
        method,
        path,
        cause: err,
      });
    }
  }

  // ---- ops ---------------------------------------------------------------------------------------------

  /** GET /health (liveness). */
  health(): Promise<Health> {
    return this.request('GET', '/health');
  }

  /** GET /ready: database, chain and anchoring checks (answered, not thrown, when unavailable). */
  ready(): Promise<Readiness> {
    return this.request('GET', '/ready', { accept: [503] });
  }

  /** GET /v1/info: the chain and registries this service anchors to. */
  info(): Promise<Info> {
    return this.request('GET', '/v1/info');
  }

  // ---- records -----------------------------------------------------------------------------------------

  /** POST /v1/records: one record (duplicate: true when it existed already). */
  submit(record: RecordInput): Promise<SubmitResult> {
    return this.request('POST', '/v1/records', { body: record, idempotent: true });
  }

  /**
   * POST /v1/records with a UBL 2.1 Invoice or CreditNote (XML, as bytes or text): stored as invoice.issued with
   * the SHA-256 of the exact bytes; `externalId` makes a resend a duplicate (retried like the JSON submit).
   */
  submitUbl(xml: string | Uint8Array, o: { externalId?: string } = {}): Promise<SubmitResult> {
    return this.request('POST', '/v1/records', {
      raw: { body: xml, contentType: 'application/xml' },
      query: { externalId: o.externalId },
      idempotent: true,
    });
  }

  /** POST /v1/records/batch: up to 10,000 records in one transaction; items accepted or rejected on their own. */
  submitBatch(records: RecordInput[]): Promise<BatchSubmitResult> {
    return this.request('POST', '/v1/records/batch', { body: { records }, idempotent: true });
  }

  /**
   * Any number of records, `chunkSize` per POST /v1/records/batch, results in input order. A chunk that fails
   * with a network error, a 5xx or a 429 is sent again as it was: safe, because the service answers a record it
   * already stored as a duplicate (same id) instead of storing it twice — by `(type, externalId)`, and for
   * records WITHOUT externalId by `(type, payload digest, parents)`. So a retried chunk never duplicates records;
   * the flip side for records without externalId is that two identical ones are one record (give each its own
   * externalId when they are distinct business facts). A 413 halves the chunk. Any other failure throws (the
   * chunks reported through `onProgress` before it are stored).
   */
  async submitMany(records: RecordInput[], o: SubmitManyOptions = {}): Promise<SubmitManyResult> {
    const chunkSize = o.chunkSize ?? 1000;
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_BATCH) {
      throw new RangeError(`chunkSize must be 1..${MAX_BATCH}, got ${chunkSize}`);
    }
    const out: BatchItem[] = new Array<BatchItem>(records.length);
    const sum = { done: 0, accepted: 0, rejected: 0, created: 0, duplicates: 0 };
    const retries0 = this.retries;
    const sendChunk = async (offset: number, chunk: RecordInput[]): Promise<void> => {
      let res: BatchSubmitResult;
      try {
        res = await this.submitBatch(chunk);
      } catch (err) {
        if (err instanceof NotaryApiError && err.status === 413 && chunk.length > 1) {
          const half = Math.ceil(chunk.length / 2);
          await sendChunk(offset, chunk.slice(0, half));
          await sendChunk(offset + half, chunk.slice(half));
          return;
        }
        throw err;
      }
      if (!res || !Array.isArray(res.records) || res.records.length !== chunk.length) {
        throw new NotaryApiError({
          status: 200,
          code: 'BAD_RESPONSE',
          detail: `POST /v1/records/batch answered ${res?.records?.length ?? 'no'} items for ${chunk.length} records`,
          method: 'POST',
          path: '/v1/records/batch',
        });
      }
      res.records.forEach((r, i) => {
        out[offset + i] = r;
        if ('error' in r) sum.rejected++;
        else {
          sum.accepted++;
          if (r.duplicate) sum.duplicates++;
          else sum.created++;
        }
      });
      sum.done += chunk.length;
      o.onProgress?.({
        done: sum.done,
        total: records.length,
        accepted: sum.accepted,
        rejected: sum.rejected,
        duplicates: sum.duplicates,
        retries: this.retries - retries0,
        chunk: { offset, results: res.records },
      });
    };
    let next = 0;
    const worker = async () => {
      while (next < records.length) {
        const offset = next;
        next += chunkSize;
        await sendChunk(offset, records.slice(offset, offset + chunkSize));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 1) }, worker));
    return { records: out, ...sum, retries: this.retries - retries0 };
  }

  /**
   * Signs records with the organisation's SIGNER key before they are sent (receipt version 2): each gets a client
   * chosen UUIDv7 id, a random salt and the signature of its commitment; send the answer with {@link submitMany}
   * or {@link submitBatch}. Chain id and registry come from GET /v1/info. Parents are named by id as usual; their
   * commitments (part of what is signed) are taken from records of this call that carry an `id`, from
   * `o.parentCommitments`, else fetched with GET /v1/records/:id (records this key may read).
   */
  async signRecords(
    records: RecordInput[],
    signer: DigestSigner,
    o: { orgId: string; parentCommitments?: Record<string, string>; concurrency?: number },
  ): Promise<SignedRecordInput[]> {
    // Loaded here: importing the client does not load ethers or the domain code.
    const { initSigning, signRecords: signRecordsSync } = await import('./signing');
    await initSigning(); // the fast keccak for digests and commitments
    const info = await this.info();
    if (info.chainId === null || info.registry === null)
      throw new Error('the service has no registry (GET /v1/info): records cannot be signed for it');
    const ctx: SigningContext = { orgId: o.orgId, chainId: info.chainId, registry: info.registry };
    const known = new Map(Object.entries(o.parentCommitments ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const own = records.map((r) => (r as { id?: unknown }).id);
    const ownIds = new Set(own.filter((x): x is string => typeof x === 'string').map((x) => x.toLowerCase()));
    const missing = [...new Set(records.flatMap((r) => r.parents ?? []).map((p) => p.toLowerCase()))].filter(
      (p) => !known.has(p) && !ownIds.has(p),
    );
    let next = 0;
    const fetchOne = async () => {
      while (next < missing.length) {
        const id = missing[next++]!;
        known.set(id, (await this.getRecord(id)).commitment);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 8) }, fetchOne));
    // Records of this call in order: a record may name an earlier one (with its own `id`) as parent.
    const out: SignedRecordInput[] = [];
    for (const r of records) {
      const parents = (r.parents ?? []).map((p) => {
        const c = known.get(p.toLowerCase());
        if (c === undefined) throw new Error(`parent ${p} is named before it is signed (order the records)`);
        return c;
      });
      const given = r as { id?: string; salt?: string };
      const [s] = signRecordsSync(
        signer,
        [{ type: r.type, payload: r.payload, parentCommitments: parents, id: given.id, salt: given.salt }],
        ctx,
      );
      known.set(s!.id, s!.commitment);
      out.push({ ...r, id: s!.id, salt: s!.salt, signatures: s!.signatures });
    }
    return out;
  }

  /** GET /v1/records/:id: metadata, status (with `blocked` while it cannot be anchored) and payload. */
  getRecord(id: string): Promise<RecordView> {
    return this.request('GET', `/v1/records/${enc(id)}`);
  }

  /** GET /v1/records/:id/receipt (409 RECEIPT_NOT_READY while pending). */
  receipt(id: string): Promise<Receipt> {
    return this.request('GET', `/v1/records/${enc(id)}/receipt`);
  }

  /**
   * POST /v1/receipts: each id's receipt or problem, in order. More than 10,000 ids are sent as several
   * requests (answers concatenated in order).
   */
  async receipts(ids: string[]): Promise<ReceiptsResult> {
    const all: ReceiptsResult = { receipts: [], ready: 0, notReady: 0, notFound: 0 };
    for (let i = 0; i < ids.length; i += MAX_RECEIPT_IDS) {
      const r = await this.request<ReceiptsResult>('POST', '/v1/receipts', {
        body: { ids: ids.slice(i, i + MAX_RECEIPT_IDS) },
        idempotent: true,
      });
      for (const x of r.receipts) all.receipts.push(x);
      all.ready += r.ready;
      all.notReady += r.notReady;
      all.notFound += r.notFound;
    }
    return all;
  }

  /** GET /v1/batches/:root/receipts: every receipt of an anchored batch, streamed (NDJSON, leaf order). */
  async *batchReceipts(root: string): AsyncGenerator<Receipt> {
    const path = `/v1/batches/${enc(root)}/receipts`;
    let res: Response | undefined;
    for (let attempt = 0; !res; attempt++) {
      try {
        res = await this.send('GET', path, {});
      } catch (err) {
        const retry = err instanceof NotaryApiError && (err.status === 0 || err.status >= 500 || err.status === 429);
        if (!retry || attempt >= (this.opts.retries ?? 5)) throw err;
        this.retries++;
        await sleep(err.retryAfter !== undefined ? err.retryAfter * 1000 : 250 * 2 ** attempt);
      }
    }
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buf = '';
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(part, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) yield JSON.parse(line) as Receipt;
      }
    }
    buf += decoder.decode();
    if (buf.trim()) yield JSON.parse(buf) as Receipt;
  }

  /**
   * Polls POST /v1/receipts (10,000 ids per request) until every record has its receipt, the timeout passes,
   * or (with `blockedTimeoutMs`) the records stay blocked that long. While records are pending it reads the
   * service's `blocked` reason (from the receipt problems, else from GET /v1/records/:id of one pending record)
   * and reports it through `onBlocked` as soon as it is known. Never throws for pending or unknown ids: the
   * result says what is missing.
   */
  async waitForReceipts(ids: string[], o: WaitOptions = {}): Promise<WaitResult> {
    const started = Date.now();
    const deadline = started + (o.timeoutMs ?? 300_000);
    const total = new Set(ids).size;
    let pending = [...new Set(ids)];
    const receipts = new Map<string, Receipt>();
    const notFound: string[] = [];
    let requests = 0;
    let blocked: Blocked | null = null;
    let blockedSince: number | null = null;
    let lastProbe = 0;
    let interval = o.intervalMs ?? 250;
    const setBlocked = (b: Blocked | null) => {
      if ((b?.code ?? null) !== (blocked?.code ?? null) || (b?.detail ?? null) !== (blocked?.detail ?? null)) {
        blocked = b;
        blockedSince = b ? Date.now() : null;
        o.onBlocked?.(b);
      }
    };
    for (;;) {
      let progressed = false;
      let fromItems: Blocked | null | undefined;
      const still: string[] = [];
      for (let i = 0; i < pending.length; i += MAX_RECEIPT_IDS) {
        requests++;
        const r = await this.request<ReceiptsResult>('POST', '/v1/receipts', {
          body: { ids: pending.slice(i, i + MAX_RECEIPT_IDS) },
          idempotent: true,
        });
        for (const it of r.receipts) {
          if ('receipt' in it) {
            receipts.set(it.id, it.receipt);
            o.onReceipt?.(it.id, it.receipt);
            progressed = true;
          } else if (it.error.code === 'RECEIPT_NOT_READY') {
            still.push(it.id);
            const b = blockedOfProblem(it.error);
            if (b !== undefined && fromItems === undefined) fromItems = b;
          } else {
            notFound.push(it.id);
            progressed = true;
          }
        }
      }
      pending = still;
      // The blocked reason: from the items when the service puts it there, else probed on one pending record
      // (at most once a second: one extra small request).
      if (!pending.length) setBlocked(null);
      else if (fromItems !== undefined) setBlocked(fromItems);
      else if (Date.now() - lastProbe >= 1000) {
        lastProbe = Date.now();
        requests++;
        try {
          setBlocked((await this.getRecord(pending[0]!)).blocked ?? null);
        } catch {
          /* a probe failure does not end the wait */
        }
      }
      if (progressed) blockedSince = blocked ? Date.now() : null;
      o.onProgress?.({
        ready: receipts.size,
        total,
        pending: pending.length,
        notFound: notFound.length,
        requests,
        blocked,
      });
      const result = (outcome: WaitResult['outcome']): WaitResult => ({
        receipts,
        pending,
        notFound,
        blocked,
        outcome,
        requests,
      });
      if (!pending.length) return result('complete');
      if (blocked && blockedSince !== null && o.blockedTimeoutMs !== undefined) {
        if (Date.now() - blockedSince >= o.blockedTimeoutMs) return result('blocked');
      }
      if (Date.now() >= deadline) return result('timeout');
      interval = progressed ? (o.intervalMs ?? 250) : Math.min(interval * 2, o.maxIntervalMs ?? 2000);
      await sleep(Math.min(interval, Math.max(0, deadline - Date.now())));
    }
  }

  /** GET /v1/records/:id/trace: lineage graph with each node verified against the chain. */
  trace(id: string): Promise<Trace> {
    return this.request('GET', `/v1/records/${enc(id)}/trace`);
  }

  /** GET /v1/records/:id/trace?format=bundle: a lineage bundle for the verifier's verifyBundle. */
  traceBundle(id: string): Promise<TraceBundle> {
    return this.request('GET', `/v1/records/${enc(id)}/trace`, { query: { format: 'bundle' } });
  }

  // ---- verification ------------------------------------------------------------------------------------

  /**
   * Verifies a receipt OFFLINE from this service (src/verifier): the anchor is read from the chain through
   * `rpcUrl` (or `rootSource`) — nothing is asked of the notary API.
   */
  async verify(receipt: unknown, o: VerifyOptions): Promise<OfflineVerdict> {
    // Loaded on first use: ethers is only needed for offline verification.
    const v = await import('../verifier');
    const rootSource: RootSource | undefined =
      o.rootSource ??
      (o.rpcUrl ? new v.ChainRootSource({ rpcUrl: o.rpcUrl }, { trustedRegistries: o.trustedRegistries }) : undefined);
    if (!rootSource) throw new TypeError('verify needs { rpcUrl } or { rootSource } (the chain to read anchors from)');
    return v.verifyReceipt(receipt, { payload: o.payload, rootSource, trustedRegistries: o.trustedRegistries });
  }

  /** POST /v1/verify: the service verifies against its chain (no key needed). */
  verifyRemote(receipt: unknown, payload?: unknown): Promise<Verdict> {
    return this.request('POST', '/v1/verify', {
      body: payload === undefined ? { receipt } : { receipt, payload },
      idempotent: true,
    });
  }

  // ---- batches -------------------------------------------------------------------------------------

  /** GET /v1/batches/:root */
  batch(root: string): Promise<BatchView> {
    return this.request('GET', `/v1/batches/${enc(root)}`);
  }

  /** GET /v1/orgs/:id/chain: completeness walk of the organisation's batch chain on the registry. */
  orgChain(orgId: string): Promise<Completeness> {
    return this.request('GET', `/v1/orgs/${enc(orgId)}/chain`);
  }

  // ---- claims --------------------------------------------------------------------------------------

  /** POST /v1/claims (idempotent by externalId: retried like the record routes). */
  claim(input: ClaimInput): Promise<ClaimResult> {
    return this.request('POST', '/v1/claims', { body: input, idempotent: true });
  }

  /** GET /v1/claims/:id */
  getClaim(id: string): Promise<ClaimView> {
    return this.request('GET', `/v1/claims/${enc(id)}`);
  }

  // ---- administration (admin key) ----------------------------------------------------------------------

  createOrg(input: CreateOrgInput): Promise<OrgView> {
    return this.request('POST', '/v1/orgs', { body: input, idempotent: false });
  }
  listOrgs(): Promise<OrgView[]> {
    return this.request('GET', '/v1/orgs');
  }
  getOrg(id: string): Promise<OrgView> {
    return this.request('GET', `/v1/orgs/${enc(id)}`);
  }
  /** POST /v1/orgs/:id/rotate-key: a new chain account for the organisation, the old one removed. Not retried. */
  rotateKey(orgId: string): Promise<{ orgId: string; previous: string; address: string }> {
    return this.request('POST', `/v1/orgs/${enc(orgId)}/rotate-key`, { idempotent: false });
  }
  /** POST /v1/orgs/:id/keys: the secret is in `key`, shown once. Not retried after a transport failure. */
  createKey(orgId: string, input: { name: string; scopes: Scope[] }): Promise<CreatedKey> {
    return this.request('POST', `/v1/orgs/${enc(orgId)}/keys`, { body: input, idempotent: false });
  }
  listKeys(orgId: string): Promise<ApiKeyView[]> {
    return this.request('GET', `/v1/orgs/${enc(orgId)}/keys`);
  }
  async revokeKey(orgId: string, keyId: string): Promise<void> {
    await this.request('DELETE', `/v1/orgs/${enc(orgId)}/keys/${enc(keyId)}`);
  }
  /** POST /v1/orgs/:id/grants: `auditorOrgId` may read the organisation's records (idempotent). */
  async grant(orgId: string, auditorOrgId: string): Promise<void> {
    await this.request('POST', `/v1/orgs/${enc(orgId)}/grants`, { body: { auditorOrgId }, idempotent: true });
  }
}

/** `blocked` carried by a RECEIPT_NOT_READY problem: undefined when the service does not say. */
function blockedOfProblem(p: Problem): Blocked | null | undefined {
  if (!('blocked' in p)) return undefined;
  const b = p.blocked as Blocked | null;
  return b && typeof b === 'object' && typeof b.code === 'string' ? b : null;
}

function errorOf(res: Response, text: string, method: string, path: string): NotaryApiError {
  let problem: Problem | null = null;
  try {
    const parsed = text ? (JSON.parse(text) as unknown) : null;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) problem = parsed as Problem;
  } catch {
    problem = null;
  }
  const ra = res.headers.get('retry-after');
  const seconds = ra === null ? NaN : Number(ra);
  const date = ra !== null && !Number.isFinite(seconds) ? Date.parse(ra) : NaN;
  const retryAfter = Number.isFinite(seconds)
    ? Math.max(0, seconds)
    : Number.isFinite(date)
      ? Math.max(0, (date - Date.now()) / 1000)
      : undefined;
  return new NotaryApiError({
    status: res.status,
    code: typeof problem?.code === 'string' ? problem.code : `HTTP_${res.status}`,
    detail:
      (typeof problem?.detail === 'string' && problem.detail) ||
      (typeof problem?.title === 'string' && problem.title) ||
      text.trim().slice(0, 200) ||
      `HTTP ${res.status}`,
    problem,
    retryAfter,
    method,
    path,
  });
}
