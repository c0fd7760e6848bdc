import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Contract, id, type JsonRpcProvider } from 'ethers';
import { ChainRootSource, verifyReceipt } from '../../src/verifier';
import type { Store } from '../../src/service/ports';
import { makeProvider } from '../../src/chain/provider';
import { Database } from '../../src/storage/db';
import { SqlStore } from '../../src/storage/sql-repo';
import { api } from '../helpers/instance';
import { documentPayload, invoicePayload } from '../helpers/payloads';

export const ROOT = path.resolve(__dirname, '..', '..');
export const START_SCRIPT = path.join(ROOT, 'scripts', 'start.cjs');
export const HOOKED_START_SCRIPT = path.join(__dirname, 'start-hooked.cjs');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Is any process of this process group still alive? */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The real server (`node scripts/start.cjs`) as a child process in its own process group, so that
 * `kill9()` takes the embedded anvil (a grandchild) down with it, like a machine crash.
 */
export class ServerProc {
  child?: ChildProcess;
  private lines: string[] = [];
  private waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  /** Every line the processes ever wrote (all starts), for failure messages and log checks. */
  readonly output: string[] = [];

  constructor(
    readonly name: string,
    readonly port: number,
    readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  start(opts: { script?: string; env?: Record<string, string> } = {}): void {
    assert.ok(!this.child, `${this.name} already running`);
    this.lines = [];
    const child = spawn(process.execPath, [opts.script ?? START_SCRIPT], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(this.port), ...this.env, ...opts.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let buf = '';
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        this.output.push(`[${this.name}] ${line}`);
        if (process.env.FAULTS_ECHO) process.stderr.write(`[${this.name}] ${line}\n`);
        for (const w of [...this.waiters]) {
          if (w.re.test(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
  }

  tail(n = 40): string {
    return this.output.slice(-n).join('\n');
  }

  /** Resolves with the first line (of this start) matching `re`. */
  waitLine(re: RegExp, timeoutMs: number): Promise<string | null> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const w = { re, resolve: (l: string) => (clearTimeout(t), resolve(l)) };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        resolve(null);
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Waits for `/health` (the API listens after chain, deploy, migrations and demo orgs are done). */
  async waitReady(timeoutMs = 90_000): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      if (!this.child) throw new Error(`${this.name} exited during start-up:\n${this.tail()}`);
      try {
        const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return Date.now() - t0;
      } catch {
        /* not yet */
      }
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(100);
    }
  }

  /** kill -9 of the whole process group (node + embedded anvil); resolves once every process is gone. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    const pgid = child.pid;
    const exited = new Promise<void>((r) =>
      child.exitCode !== null || child.signalCode ? r() : child.once('exit', () => r()),
    );
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await exited;
    this.child = undefined;
    for (let i = 0; i < 100 && groupAlive(pgid); i++) await sleep(50);
  }

  /** SIGTERM (graceful drain); SIGKILL of the group after `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    const pgid = child.pid;
    const exited = new Promise<void>((r) =>
      child.exitCode !== null || child.signalCode ? r() : child.once('exit', () => r()),
    );
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
    for (let i = 0; i < 100 && groupAlive(pgid); i++) await sleep(50);
    if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
  }
}

export interface Submitted {
  org: string;
  type: string;
  externalId: string;
  payload: Record<string, unknown>;
}
export interface Acked extends Submitted {
  id: string;
  commitment: string;
}

interface Request {
  org: string;
  key: string;
  items: Submitted[];
  base: string;
}

/**
 * The ingest of the fault tests: `perOrg` records for each organisation in requests of `perRequest`, interleaved
 * org by org; aerospace sends invoices (`<prefix>INV-n`), the others documents (`<prefix>DOC-n`). `baseOf(i)` is
 * the API of the i-th request.
 */
export function enqueueDemoRecords(
  client: IngestClient,
  orgs: { id: string; apiKey: string }[],
  opts: { perOrg: number; perRequest: number; prefix?: string; baseOf: (i: number) => string },
): void {
  const prefix = opts.prefix ?? '';
  let req = 0;
  for (let i = 0; i < opts.perOrg; i += opts.perRequest) {
    for (const o of orgs) {
      const items: Submitted[] = [];
      for (let n = i; n < i + opts.perRequest; n++) {
        items.push(
          o.id === 'aerospace'
            ? { org: o.id, type: 'invoice.issued', externalId: `${prefix}INV-${n}`, payload: invoicePayload(n) }
            : { org: o.id, type: 'document', externalId: `${prefix}DOC-${n}`, payload: documentPayload(n) },
        );
      }
      client.enqueue(opts.baseOf(req++), o.id, o.apiKey, items);
    }
  }
}

/**
 * A finance-system client: posts batches with externalIds and keeps only what the server ACKNOWLEDGED;
 * a request without an answer (server killed, refused, 5xx) is sent again, unchanged, until answered.
 */
export class IngestClient {
  readonly acked = new Map<string, Acked>();
  readonly stats = { requests: 0, failedAttempts: 0, retriedRequests: 0, duplicatesOnRetry: 0 };
  private queue: Request[] = [];
  private stopped = false;

  enqueue(base: string, org: string, key: string, items: Submitted[]): void {
    this.queue.push({ base, org, key, items });
  }

  get remaining(): number {
    return this.queue.length;
  }

  /** Runs until the queue is empty (or `stop`), `concurrency` requests at a time, `pauseMs` between requests. */
  async run(
    opts: { concurrency?: number; pauseMs?: number; baseOf?: (r: { base: string; org: string }) => string } = {},
  ) {
    const worker = async () => {
      while (!this.stopped) {
        const req = this.queue.shift();
        if (!req) return;
        await this.send(req, opts.baseOf ?? ((r) => r.base));
        await sleep(opts.pauseMs ?? 0);
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency ?? 1 }, worker));
  }

  stop(): void {
    this.stopped = true;
  }

  private async send(req: Request, baseOf: (r: { base: string; org: string }) => string): Promise<void> {
    let attempt = 0;
    for (;;) {
      if (this.stopped) return;
      attempt++;
      this.stats.requests++;
      try {
        const body = { records: req.items.map(({ type, externalId, payload }) => ({ type, externalId, payload })) };
        const res = await fetch(`${baseOf(req)}/v1/records/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${req.key}` },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(60_000),
        });
        if (res.status >= 500 || res.status === 429) throw new Error(`HTTP ${res.status}`);
        const out = (await res.json()) as {
          records: ({ id: string; commitment: string; duplicate?: boolean } | { error: unknown })[];
        };
        assert.equal(res.status, 200, JSON.stringify(out).slice(0, 500));
        out.records.forEach((r, i) => {
          assert.ok(!('error' in r), `record rejected: ${JSON.stringify(r)}`);
          const it = req.items[i]!;
          if (attempt > 1 && r.duplicate) this.stats.duplicatesOnRetry++;
          this.acked.set(`${it.org}/${it.externalId}`, { ...it, id: r.id, commitment: r.commitment });
        });
        if (attempt > 1) this.stats.retriedRequests++;
        return;
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        this.stats.failedAttempts++;
        await sleep(150);
      }
    }
  }
}

/** Polls until every acknowledged record is confirmed (status via the API); returns the time it took. */
export async function waitConfirmed(
  acked: Iterable<Acked>,
  baseOf: (org: string) => string,
  keyOf: (org: string) => string,
  timeoutMs: number,
) {
  const t0 = Date.now();
  const todo = new Map([...acked].map((a) => [a.id, a]));
  while (todo.size) {
    if (Date.now() - t0 > timeoutMs) {
      const sample = [...todo.values()].slice(0, 3).map((a) => a.id);
      throw new Error(
        `${todo.size} acknowledged records not confirmed within ${timeoutMs} ms (e.g. ${sample.join(', ')})`,
      );
    }
    const batch = [...todo.values()].slice(0, 50);
    await Promise.all(
      batch.map(async (a) => {
        try {
          const r = await api(baseOf(a.org), 'GET', `/v1/records/${a.id}`, { key: keyOf(a.org) });
          if (r.status === 200 && r.body.status === 'confirmed') todo.delete(a.id);
        } catch {
          /* server restarting */
        }
      }),
    );
    if (todo.size && batch.every((a) => todo.has(a.id))) await sleep(300);
  }
  return Date.now() - t0;
}

// NotaryRegistry v2 (DESIGN §3): one chain per organisation, `org` = keccak256(bytes(orgId)).
const REGISTRY_ABI = [
  'event Anchored(bytes32 indexed root, bytes32 indexed org, uint64 indexed seq, address submitter, bytes32 prev, uint32 leafCount)',
  'function headOf(bytes32 org) view returns (bytes32 root, uint64 seq)',
  'function anchorOf(bytes32 root) view returns (tuple(uint64 timestamp, uint64 blockNumber, address submitter, uint64 seq, bytes32 prev, uint32 leafCount, bytes32 org))',
];
const ZERO32 = '0x' + '00'.repeat(32);

export interface AuditResult {
  batches: number;
  receiptsVerified: number;
  anchoredEvents: number;
}

/**
 * The end-to-end audit of the crash and scale-out tests, from the chain and the database:
 *  - every acknowledged record exists once (same id), is confirmed, and sits in exactly one live batch;
 *  - every live batch is confirmed, its root has exactly ONE Anchored event, and the batch's records count
 *    equals its leafCount; no Anchored event of our submitters is left without a batch;
 *  - per org, the registry's hash chain (headOf → anchorOf(prev) …) equals the database's batches in seq order;
 *  - no open outbox row, and each account's chain nonce is settled (pending == latest);
 *  - every receipt (from the API) verifies with verifyReceipt + ChainRootSource against the chain, with its payload.
 */
export async function auditAnchoring(opts: {
  store: Store;
  provider: JsonRpcProvider;
  registry: string;
  orgs: { id: string; address: string; key: string; base: string }[];
  acked: Acked[];
}): Promise<AuditResult> {
  const { store, provider, registry } = opts;
  const reg = new Contract(registry, REGISTRY_ABI, provider);
  const events = await reg.queryFilter(reg.filters.Anchored!(), 0, 'latest');
  const eventsByRoot = new Map<string, number>();
  for (const e of events) {
    const root = (e as unknown as { args: { root: string } }).args.root.toLowerCase();
    eventsByRoot.set(root, (eventsByRoot.get(root) ?? 0) + 1);
  }
  for (const [root, n] of eventsByRoot) assert.equal(n, 1, `root ${root} has ${n} Anchored events`);

  let batchCount = 0;
  const liveRoots = new Set<string>();
  const historyLost = new Set<string>();
  for (const org of opts.orgs) {
    const batches = (await store.read((r) => r.batchesOf(org.id))).filter((b) => b.status !== 'failed');
    batchCount += batches.length;
    for (const b of batches) {
      assert.equal(b.status, 'confirmed', `batch ${b.id} of ${org.id} is ${b.status}`);
      if (!eventsByRoot.has(b.root)) {
        // anvil restored from its state dump after kill -9 keeps the registry's state but may lose old logs
        // and receipts: then the registry's own record (a root is anchored at most once) is the evidence.
        const a = (await reg.anchorOf!(b.root)) as { timestamp: bigint; submitter: string; seq: bigint; org: string };
        assert.ok(a.timestamp > 0n, `batch ${b.id} root ${b.root}: neither an Anchored event nor an anchor record`);
        assert.equal(a.submitter.toLowerCase(), org.address.toLowerCase());
        assert.equal(a.org, id(org.id));
        assert.equal(Number(a.seq), b.chainSeq);
        historyLost.add(b.root);
      } else {
        assert.equal(
          eventsByRoot.get(b.root),
          1,
          `batch ${b.id} root ${b.root}: ${eventsByRoot.get(b.root)} Anchored events`,
        );
      }
      liveRoots.add(b.root);
      const ids = await store.read((r) => r.recordsOfBatch(b.id, 1_000_000, 0));
      assert.equal(ids.length, b.leafCount, `batch ${b.id}: ${ids.length} records for ${b.leafCount} leaves`);
    }
    for (let i = 0; i < batches.length; i++) {
      assert.equal(batches[i]!.seq, i + 1, `${org.id}: batch seqs are 1..n without gaps`);
      assert.equal(
        batches[i]!.prev,
        i ? batches[i - 1]!.root : ZERO32,
        `${org.id}: batch ${i + 1} links to batch ${i}`,
      );
    }
    // The registry's hash chain of this organisation, walked back from its head.
    const [head, headSeq] = (await reg.headOf!(id(org.id))) as [string, bigint];
    const chainRoots: string[] = [];
    let root = head.toLowerCase();
    let seq = Number(headSeq);
    while (root !== ZERO32) {
      const a = await reg.anchorOf!(root);
      assert.equal(Number(a.seq), seq, `${org.id}: seq along the registry chain`);
      assert.equal(a.submitter.toLowerCase(), org.address.toLowerCase());
      assert.equal(a.org, id(org.id));
      chainRoots.unshift(root);
      root = a.prev.toLowerCase();
      seq--;
    }
    assert.equal(seq, 0);
    assert.deepEqual(
      chainRoots,
      batches.map((b) => b.root),
      `${org.id}: registry hash chain == database batches`,
    );
    for (const b of batches) {
      assert.equal(b.chainSeq, chainRoots.indexOf(b.root) + 1, `${org.id}: batch ${b.id} chainSeq`);
    }

    const open = await store.read((r) => r.openOutbox(org.address));
    assert.deepEqual(
      open.map((t) => `${t.status} nonce ${t.nonce}`),
      [],
      `${org.id}: no outbox row left open`,
    );
    const [latest, pending] = await Promise.all([
      provider.getTransactionCount(org.address, 'latest'),
      provider.getTransactionCount(org.address, 'pending'),
    ]);
    assert.equal(pending, latest, `${org.id}: transactions stuck in the pool (nonce gap?)`);
  }
  for (const e of events) {
    const root = (e as unknown as { args: { root: string } }).args.root.toLowerCase();
    assert.ok(liveRoots.has(root), `Anchored root ${root} has no live batch in the database`);
  }

  // Records: each acknowledged one exists with the acknowledged id, confirmed, in a live batch.
  const ids = opts.acked.map((a) => a.id);
  assert.equal(new Set(ids).size, ids.length, 'one id per acknowledged record');
  const metas = new Map<string, { status: string; batchId: string | null; commitment: string }>();
  for (let i = 0; i < ids.length; i += 500) {
    for (const m of await store.read((r) => r.getRecordsMeta(ids.slice(i, i + 500)))) metas.set(m.id, m);
  }
  const batchRoot = new Map<string, string>();
  for (const org of opts.orgs)
    for (const b of await store.read((r) => r.batchesOf(org.id))) batchRoot.set(b.id, b.root);
  for (const a of opts.acked) {
    const m = metas.get(a.id);
    assert.ok(m, `acknowledged record ${a.org}/${a.externalId} (${a.id}) is missing`);
    assert.equal(m.status, 'confirmed', `record ${a.id} is ${m.status}`);
    assert.equal(m.commitment, a.commitment);
    assert.ok(m.batchId && liveRoots.has(batchRoot.get(m.batchId)!), `record ${a.id} is not in a live batch`);
  }

  // Receipts, verified against the chain with their payloads.
  const rootSource = new ChainRootSource({ provider }, { trustedRegistries: [registry] });
  const stateOnly = { getAnchor: rootSource.getAnchor.bind(rootSource) };
  const orgOf = new Map(opts.orgs.map((o) => [o.id, o]));
  let verified = 0;
  for (let i = 0; i < opts.acked.length; i += 25) {
    await Promise.all(
      opts.acked.slice(i, i + 25).map(async (a) => {
        const o = orgOf.get(a.org)!;
        const r = await api(o.base, 'GET', `/v1/records/${a.id}/receipt`, { key: o.key });
        assert.equal(r.status, 200, `receipt of ${a.id}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.commitment, a.commitment);
        // For roots whose transaction history the node lost, nobody can check the tx: verify against state only.
        const source = historyLost.has(String(r.body?.proof?.root)) ? stateOnly : rootSource;
        const verdict = await verifyReceipt(r.body, {
          rootSource: source,
          payload: a.payload,
          trustedRegistries: [registry],
        });
        assert.ok(verdict.valid, `receipt of ${a.id} does not verify: ${JSON.stringify(verdict.checks)}`);
        verified++;
      }),
    );
  }
  return { batches: batchCount, receiptsVerified: verified, anchoredEvents: events.length };
}

/**
 * {@link auditAnchoring} of a stopped or running service from what it stored (its SQLite file or PostgreSQL
 * database, opened here) and the chain of its demo file; `more(db)` runs first on the same database (extra checks
 * and statistics). Closes what it opened.
 */
export async function auditStored<T = undefined>(opts: {
  database: Parameters<typeof Database.open>[0];
  demo: { rpcUrl: string; chainId: number; registry: string };
  orgs: { id: string; address: string; apiKey: string }[];
  /** The API the receipts are fetched from. */
  base: string;
  acked: Iterable<Acked>;
  more?: (db: Database) => Promise<T>;
}): Promise<{ audit: AuditResult; more: T | undefined }> {
  const db = await Database.open(opts.database);
  const provider = makeProvider(opts.demo.rpcUrl, { chainId: opts.demo.chainId });
  try {
    const more = await opts.more?.(db);
    const audit = await auditAnchoring({
      store: new SqlStore(db),
      provider,
      registry: opts.demo.registry,
      orgs: opts.orgs.map((o) => ({ id: o.id, address: o.address, key: o.apiKey, base: opts.base })),
      acked: [...opts.acked],
    });
    return { audit, more };
  } finally {
    provider.destroy();
    await db.close();
  }
}
