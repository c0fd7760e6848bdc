import type { NotaryClient } from '../client';
import { isMissingRoute } from './context';
import { CliError } from './errors';
import { out, printJson } from './output';
import type { Completeness } from '../service/trace';

/** A node of GET /v1/records/:id/trace. */
export interface TraceNode {
  id: string;
  type?: string;
  orgId?: string;
  status?: string;
  externalId?: string | null;
  visible?: boolean;
  supersededBy?: string | null;
  verification?: { valid: boolean; [k: string]: unknown } | null;
  [k: string]: unknown;
}

export interface Trace {
  truncated?: boolean;
  root: string;
  nodes: TraceNode[];
  edges: { parent: string; child: string }[];
}

function mark(n: TraceNode | undefined): string {
  if (!n || n.visible === false) return '·';
  if (!n.verification) return '–';
  return n.verification.valid ? '✓' : '✗';
}

function describe(n: TraceNode | undefined, id: string): string {
  if (!n) return `· ${id} (not in the trace)`;
  const ext = n.externalId ? `  "${n.externalId}"` : '';
  const hidden = n.visible === false ? '  (another organisation: metadata only)' : '';
  const sup = typeof n.supersededBy === 'string' ? `  superseded by ${n.supersededBy}` : '';
  return `${mark(n)} ${n.type ?? '?'}  ${n.id}  org ${n.orgId ?? '?'}  ${n.status ?? '?'}${ext}${sup}${hidden}`;
}

/** Lines of a tree below `id` following `next` (parents or children); a node met twice is not expanded again. */
function subtree(id: string, next: Map<string, string[]>, nodes: Map<string, TraceNode>, prefix: string): string[] {
  const lines: string[] = [];
  const seen = new Set<string>([id]);
  const walk = (cur: string, pre: string) => {
    const kids = next.get(cur) ?? [];
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      const again = seen.has(k);
      lines.push(`${pre}${last ? '└─ ' : '├─ '}${describe(nodes.get(k), k)}${again ? '  (see above)' : ''}`);
      if (!again) {
        seen.add(k);
        walk(k, pre + (last ? '   ' : '│  '));
      }
    });
  };
  walk(id, prefix);
  return lines;
}

/** The trace as text: ancestors (parents upward), the record, descendants (children downward). */
export function renderTrace(t: Trace): string[] {
  const nodes = new Map(t.nodes.map((n) => [n.id, n]));
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  for (const e of t.edges) {
    parents.set(e.child, [...(parents.get(e.child) ?? []), e.parent]);
    children.set(e.parent, [...(children.get(e.parent) ?? []), e.child]);
  }
  const up = subtree(t.root, parents, nodes, '   ');
  const down = subtree(t.root, children, nodes, '   ');
  const lines = [`● ${describe(nodes.get(t.root), t.root)}`];
  lines.push(up.length ? 'ancestors (parents first):' : 'ancestors: none', ...up);
  lines.push(down.length ? 'descendants:' : 'descendants: none', ...down);
  const verified = t.nodes.filter((n) => n.verification);
  const bad = verified.filter((n) => !n.verification!.valid).length;
  const hidden = t.nodes.filter((n) => n.visible === false).length;
  lines.push(
    `${t.nodes.length} record(s): ${verified.length - bad} verified ✓, ${bad} failed ✗, ` +
      `${t.nodes.length - verified.length - hidden} not anchored yet –` +
      (hidden ? `, ${hidden} of other organisations ·` : ''),
  );
  if (t.truncated) lines.push('(truncated: the graph is larger than the server returns; use --json for what it sent)');
  return lines;
}

export async function trace(client: NotaryClient, id: string, json: boolean): Promise<number> {
  let t: Trace;
  try {
    t = (await client.trace(id)) as unknown as Trace;
  } catch (err) {
    if (isMissingRoute(err)) throw new CliError('NOT_AVAILABLE', 'trace not available on this server');
    throw err;
  }
  if (json) printJson(t);
  else for (const l of renderTrace(t)) out(l);
  return t.nodes.some((n) => n.verification && !n.verification.valid) ? 1 : 0;
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const VERDICT_KEYS = ['consistent', 'complete', 'valid', 'ok'];

/** A verdict flag of the completeness report, when it has one. */
function verdictOf(body: Record<string, unknown>): boolean | undefined {
  for (const k of VERDICT_KEYS) if (typeof body[k] === 'boolean') return body[k] as boolean;
  return undefined;
}

/** GET /v1/orgs/:id/chain: the service's `Completeness` report. */

function isCompleteness(b: Record<string, unknown>): b is Record<string, unknown> & Completeness {
  return typeof b.consistent === 'boolean' && typeof b.chain === 'object' && typeof b.database === 'object';
}

/** The completeness walk as text: verdict, the two sides, then each discrepancy (first 50 of each list). */
export function renderAudit(orgId: string, body: Record<string, unknown>): string[] {
  const verdict = verdictOf(body);
  const lines = [
    verdict === undefined
      ? `org ${orgId}: anchoring chain`
      : `${verdict ? '✓' : '✗'} org ${orgId}: chain of batches ${verdict ? 'complete and consistent' : 'INCOMPLETE or inconsistent'}`,
  ];
  const listLines = (title: string, items: unknown[], fmt: (x: unknown) => string) => {
    lines.push(`  ${title}: ${items.length ? items.length : 'none'}`);
    for (const x of items.slice(0, 50)) lines.push(`    ✗ ${fmt(x)}`);
    if (items.length > 50) lines.push(`    … and ${items.length - 50} more (use --json)`);
  };
  if (isCompleteness(body)) {
    lines.push(`  chain account: ${body.address ?? '– (none)'}`);
    lines.push(`  on chain: ${body.chain.length} batch(es), head ${body.chain.head}`);
    lines.push(`  in the database: ${body.database.batches} anchored batch(es), ${body.database.inFlight} in flight`);
    listLines('on chain, missing in the database', body.missingInDatabase ?? [], scalar);
    listLines('in the database, missing on chain', body.missingOnChain ?? [], scalar);
    listLines('leaf count mismatches', body.leafCountMismatch ?? [], (x) => {
      const m = x as Completeness['leafCountMismatch'][number];
      return `${m.root}: chain ${m.chain}, database ${m.database}`;
    });
    listLines('errors', body.errors ?? [], scalar);
    return lines;
  }
  // Any other shape: scalar fields, then lists.
  for (const [k, v] of Object.entries(body)) {
    if (VERDICT_KEYS.includes(k) || Array.isArray(v)) continue;
    lines.push(`  ${k}: ${scalar(v)}`);
  }
  for (const [k, v] of Object.entries(body)) {
    if (Array.isArray(v)) listLines(k, v, scalar);
  }
  return lines;
}
export async function audit(client: NotaryClient, orgId: string, json: boolean): Promise<number> {
  let body: Record<string, unknown>;
  try {
    body = (await client.orgChain(orgId)) as unknown as Record<string, unknown>;
  } catch (err) {
    if (isMissingRoute(err))
      throw new CliError('NOT_AVAILABLE', 'audit (completeness walk) not available on this server');
    throw err;
  }
  if (json) printJson(body);
  else for (const l of renderAudit(orgId, body ?? {})) out(l);
  return verdictOf(body ?? {}) === false ? 1 : 0;
}
