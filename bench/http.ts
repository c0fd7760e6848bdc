// HTTP load figures, each server in its own process and autocannon (CLI) in another:
// - single submit: POST /v1/records, 50 connections, every request a new record (autocannon -I: [<id>] replaced
//   by a random id), next to a fastify hello-world (same node, same settings, logger off) as the limit;
// - verify: POST /v1/verify with a real receipt + payload (digest, commitment, Merkle path, anchor read on chain).
import { invoicePayload } from '../test/helpers/payloads';
import { api, autocannon, eventually, startServer, type LoadResult } from './lib';

const CONNECTIONS = 50;
// WORKER (inline | process | false) passes through, for before/after figures of the worker's placement.
const ENV = { RATE_LIMIT_MAX: '100000000', ...(process.env.WORKER ? { WORKER: process.env.WORKER } : {}) };

export async function helloWorld(runs: number, seconds: number): Promise<LoadResult[]> {
  const server = await startServer({ kind: 'hello' });
  try {
    await autocannon(server.apiUrl, { connections: CONNECTIONS, seconds: 1 }); // warm-up
    const out: LoadResult[] = [];
    for (let i = 0; i < runs; i++) out.push(await autocannon(server.apiUrl, { connections: CONNECTIONS, seconds }));
    return out;
  } finally {
    await server.stop();
  }
}

export async function singleSubmit(runs: number, seconds: number): Promise<LoadResult[]> {
  const server = await startServer({ env: ENV });
  try {
    const key = server.demo.orgs.find((o) => o.id === 'bank')!.apiKey;
    const load = (s: number) =>
      autocannon(`${server.apiUrl}/v1/records`, {
        connections: CONNECTIONS,
        seconds: s,
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          type: 'document',
          payload: { title: 'Board minutes [<id>]', body: 'Resolution approved.' },
        }),
        unique: true,
      });
    await load(1); // warm-up
    const out: LoadResult[] = [];
    for (let i = 0; i < runs; i++) out.push(await load(seconds));
    for (const r of out)
      if (r.non2xx || r.errors) throw new Error(`single submit: ${r.non2xx} non-2xx, ${r.errors} errors`);
    return out;
  } finally {
    await server.stop();
  }
}

export async function verify(runs: number, seconds: number): Promise<LoadResult[]> {
  const server = await startServer({ env: { ...ENV, ANCHOR_INTERVAL_MS: '100' }, blockTime: 0 });
  try {
    const key = server.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
    const payload = invoicePayload(1);
    const sub = await api(server.apiUrl, 'POST', '/v1/records', { key, body: { type: 'invoice.issued', payload } });
    if (sub.status !== 202) throw new Error(`submit: HTTP ${sub.status}`);
    const receipt = await eventually(async () => {
      const r = await api(server.apiUrl, 'GET', `/v1/records/${sub.body.id}/receipt`, { key });
      return r.status === 200 ? r.body : null;
    });
    const body = JSON.stringify({ receipt, payload });
    const check = await api(server.apiUrl, 'POST', '/v1/verify', { raw: body });
    if (!check.body?.valid) throw new Error(`verify: not valid: ${JSON.stringify(check.body)}`);
    const load = (s: number) =>
      autocannon(`${server.apiUrl}/v1/verify`, {
        connections: CONNECTIONS,
        seconds: s,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    await load(1);
    const out: LoadResult[] = [];
    for (let i = 0; i < runs; i++) out.push(await load(seconds));
    for (const r of out) if (r.non2xx || r.errors) throw new Error(`verify: ${r.non2xx} non-2xx, ${r.errors} errors`);
    return out;
  } finally {
    await server.stop();
  }
}

if (require.main === module) {
  void (async () => {
    const what = process.argv[2] ?? 'submit';
    const f = what === 'hello' ? helloWorld : what === 'verify' ? verify : singleSubmit;
    console.log(JSON.stringify(await f(3, 5)));
  })();
}
