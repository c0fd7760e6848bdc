import { CliError } from './errors';
import { ApiClient, isMissingRoute } from './http';
import { out, printJson } from './output';

/** A node of GET /v1/records/:id/trace. */
export interface TraceNode {
  id: string;
  type?: string;
  orgId?: string;
  status?: string;
  externalId?: string | null;
  verification?: { valid: boolean; [k: string]: unknown } | null;
  [k: string]: unknown;
}

export interface Trace {
  root: string;
  nodes: TraceNode[];
  edges: { parent: string; child: string }[];
}

function mark(n: TraceNode | undefined): string {
  if (!n?.verification) return '–';
  return n.verification.valid ? '✓' : '✗';
}

function describe(n: TraceNode | undefined, id: string): string {
  if (!n) return `– ${id} (not visible)`;
  const ext = n.externalId ? `  "${n.externalId}"` : '';
  return `${mark(n)} ${n.type ?? '?'}  ${n.id}  org ${n.orgId ?? '?'}  ${n.status ?? '?'}${ext}`;
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
  lines.push(
    `${t.nodes.length} record(s); ${verified.length - bad} verified ✓, ${bad} failed ✗, ${t.nodes.length - verified.length} not anchored yet –`,
  );
  return lines;
}

export async function trace(client: ApiClient, id: string, json: boolean): Promise<number> {
  let t: Trace;
  try {
    t = await client.request<Trace>('GET', `/v1/records/${encodeURIComponent(id)}/trace`);
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

/** A verdict flag of the completeness report, when it has one. */
function verdictOf(body: Record<string, unknown>): boolean | undefined {
  for (const k of ['complete', 'valid', 'ok']) if (typeof body[k] === 'boolean') return body[k] as boolean;
  return undefined;
}

/** The completeness walk as text: its scalar fields, then each list (first 50 items) one line per item. */
export function renderAudit(orgId: string, body: Record<string, unknown>): string[] {
  const verdict = verdictOf(body);
  const lines = [
    verdict === undefined
      ? `org ${orgId}: anchoring chain`
      : `${verdict ? '✓' : '✗'} org ${orgId}: chain of batches ${verdict ? 'complete' : 'INCOMPLETE'}`,
  ];
  for (const [k, v] of Object.entries(body)) {
    if (['complete', 'valid', 'ok'].includes(k) || Array.isArray(v)) continue;
    lines.push(`  ${k}: ${scalar(v)}`);
  }
  for (const [k, v] of Object.entries(body)) {
    if (!Array.isArray(v)) continue;
    lines.push(`  ${k} (${v.length}):`);
    for (const item of v.slice(0, 50)) {
      if (item && typeof item === 'object') {
        const o = item as Record<string, unknown>;
        const flag = verdictOf(o);
        const fields = Object.entries(o)
          .filter(([kk]) => !['complete', 'valid', 'ok'].includes(kk))
          .map(([kk, vv]) => `${kk}=${scalar(vv)}`)
          .join(' ');
        lines.push(`    ${flag === undefined ? '-' : flag ? '✓' : '✗'} ${fields}`);
      } else lines.push(`    - ${scalar(item)}`);
    }
    if (v.length > 50) lines.push(`    … and ${v.length - 50} more (use --json)`);
  }
  return lines;
}

export async function audit(client: ApiClient, orgId: string, json: boolean): Promise<number> {
  let body: Record<string, unknown>;
  try {
    body = await client.request<Record<string, unknown>>('GET', `/v1/orgs/${encodeURIComponent(orgId)}/chain`);
  } catch (err) {
    if (isMissingRoute(err))
      throw new CliError('NOT_AVAILABLE', 'audit (completeness walk) not available on this server');
    throw err;
  }
  if (json) printJson(body);
  else for (const l of renderAudit(orgId, body ?? {})) out(l);
  return verdictOf(body ?? {}) === false ? 1 : 0;
}
