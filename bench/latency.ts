// Submit → receipt latency on the embedded chain, configured like `npm start` (block time 1 s, anchor interval
// 1 s, 1 confirmation): records submitted at random times over a window, each polled every 25 ms from its
// submission until GET /v1/records/:id/receipt answers 200.
import { invoicePayload } from '../test/helpers/payloads';
import { api, sleep, startServer } from './lib';

export const INTERVAL_MS = 1000;

export async function latency(records: number, windowMs: number): Promise<number[]> {
  const server = await startServer({
    env: { RATE_LIMIT_MAX: '1000000', ANCHOR_INTERVAL_MS: String(INTERVAL_MS), CONFIRMATIONS: '1' },
    blockTime: 1,
  });
  try {
    const key = server.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
    const one = async (i: number): Promise<number> => {
      await sleep(Math.random() * windowMs);
      const t0 = performance.now();
      const res = await api(server.apiUrl, 'POST', '/v1/records', {
        key,
        body: { type: 'invoice.issued', payload: invoicePayload(i) },
      });
      if (res.status !== 202) throw new Error(`submit: HTTP ${res.status}`);
      for (;;) {
        const r = await api(server.apiUrl, 'GET', `/v1/records/${res.body.id}/receipt`, { key });
        if (r.status === 200) return performance.now() - t0;
        if (r.status !== 409) throw new Error(`receipt: HTTP ${r.status}`);
        if (performance.now() - t0 > 60_000) throw new Error('no receipt within 60 s');
        await sleep(25);
      }
    };
    return await Promise.all(Array.from({ length: records }, (_, i) => one(i + 1)));
  } finally {
    await server.stop();
  }
}

if (require.main === module) {
  void latency(20, 10_000).then((r) => console.log(JSON.stringify(r.map((x) => Math.round(x)))));
}
