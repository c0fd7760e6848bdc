/**
 * Helpers of the pilot scenario scripts (scripts/scenario-*.ts): they drive a running `npm start` through its
 * HTTP API, reading `$DATA_DIR/demo.json` for the URL and the demo keys; {@link releaseOnChain} asks the chain
 * directly (an eth_call, nothing sent).
 */
import fs from 'node:fs';
import path from 'node:path';
import { makeProvider } from '../../src/chain/provider';
import { encodeRelease, simulate, type SimulationResult } from '../../src/chain/registries';

/** API answers are read loosely by the scenarios (the tests check their shapes). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Demo {
  apiUrl: string;
  rpcUrl: string;
  chainId: number;
  claimRegistry: string;
  admin: { apiKey: string };
  auditor: { apiKey: string };
  orgs: { id: string; name: string; apiKey: string; address: string }[];
}

export function loadDemo(): Demo & { key: (org: string) => string } {
  const dataDir = path.resolve(process.argv[2] ?? process.env.DATA_DIR ?? './data');
  const file = path.join(dataDir, 'demo.json');
  if (!fs.existsSync(file))
    throw new Error(`${file} not found: start the service first (npm start, DATA_DIR=${dataDir})`);
  const demo = JSON.parse(fs.readFileSync(file, 'utf8')) as Demo;
  return {
    ...demo,
    key: (org: string) => (org === 'auditor' ? demo.auditor.apiKey : demo.orgs.find((o) => o.id === org)!.apiKey),
  };
}

/**
 * What the ClaimRegistry would answer to `release(commitment)` sent from `org`'s account, as an eth_call on the
 * demo chain: `{ ok: false, error: { code: 'CLAIM_SETTLED', … } }` for a settled claim.
 */
export async function releaseOnChain(demo: Demo, org: string, commitment: string): Promise<SimulationResult> {
  const provider = makeProvider(demo.rpcUrl, { chainId: demo.chainId });
  try {
    return await simulate(provider, {
      from: demo.orgs.find((o) => o.id === org)!.address,
      to: demo.claimRegistry,
      data: encodeRelease(commitment),
    });
  } finally {
    provider.destroy();
  }
}

/** A suffix that keeps externalIds and invoice numbers unique per run (the scripts can run again). */
export const RUN = Date.now().toString(36).toUpperCase();

export async function call(
  demo: Demo,
  key: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(demo.apiUrl + url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Calls and requires `expected` status; prints one line. */
export async function step(
  demo: Demo,
  label: string,
  key: string,
  method: string,
  url: string,
  body: unknown,
  expected: number,
): Promise<Json> {
  const r = await call(demo, key, method, url, body);
  const ok = r.status === expected;
  const what = r.status >= 400 ? `${r.body.code}: ${r.body.detail}` : (r.body.id ?? '');
  console.log(`${ok ? '  ✓' : '  ✗'} ${label.padEnd(58)} → ${r.status} ${what}`);
  if (!ok) throw new Error(`${label}: expected ${expected}, got ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function waitAnchored(demo: Demo, key: string, ids: string[], timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (const id of ids) {
    for (;;) {
      const r = await call(demo, key, 'GET', `/v1/records/${id}`);
      if (r.body?.status && r.body.status !== 'pending') break;
      if (Date.now() > end) throw new Error(`record ${id} not anchored within ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 300));
    }
  }
}

interface Node {
  id: string;
  type: string;
  orgId: string;
  status: string;
  visible: boolean;
  anchor: { blockNumber: number } | null;
  verification: { valid: boolean; checks: { name: string; status: string }[] } | null;
  supersededBy: string | null;
}

/** Prints a trace as an indented tree, ✓ verified against the chain, ✗ failed, · not verifiable here. */
export function printTrace(
  title: string,
  trace: { root: string; nodes: Node[]; edges: { parent: string; child: string }[] },
): void {
  const nodes = new Map(trace.nodes.map((n) => [n.id, n]));
  const children = new Map<string, string[]>();
  const hasParent = new Set<string>();
  for (const e of trace.edges) {
    children.set(e.parent, [...(children.get(e.parent) ?? []), e.child]);
    hasParent.add(e.child);
  }
  console.log(`\n${title}`);
  const printed = new Set<string>();
  const line = (id: string, depth: number) => {
    const n = nodes.get(id)!;
    const mark = n.verification ? (n.verification.valid ? '✓' : '✗') : '·';
    const where = n.anchor ? `block ${n.anchor.blockNumber}` : n.status;
    const extra = [
      id === trace.root ? '◀ traced' : '',
      n.visible ? '' : '(other org: metadata only)',
      n.supersededBy ? `superseded by ${n.supersededBy.slice(-8)}` : '',
      printed.has(id) ? '(see above)' : '',
    ].filter(Boolean);
    console.log(
      `  ${'   '.repeat(depth)}${mark} ${n.type.padEnd(20)} ${id.slice(-8)}  ${n.orgId.padEnd(10)} ${where.padEnd(10)} ${extra.join('  ')}`,
    );
    if (printed.has(id)) return;
    printed.add(id);
    for (const c of children.get(id) ?? []) line(c, depth + 1);
  };
  for (const n of trace.nodes) if (!hasParent.has(n.id) && !printed.has(n.id)) line(n.id, 0);
  const checked = trace.nodes.filter((n) => n.verification);
  console.log(
    `  ${checked.filter((n) => n.verification!.valid).length}/${checked.length} verified against the chain, ${trace.nodes.length} nodes`,
  );
}

export async function printCompleteness(demo: Demo, key: string, org: string): Promise<void> {
  const c = (await call(demo, key, 'GET', `/v1/orgs/${org}/chain`)).body;
  console.log(
    `\ncompleteness of ${org}: chain length ${c.chain.length}, database batches ${c.database.batches}, consistent: ${c.consistent}` +
      (c.consistent
        ? ''
        : ` (missing in database ${c.missingInDatabase.length}, missing on chain ${c.missingOnChain.length})`),
  );
}
