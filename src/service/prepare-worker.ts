// Worker-thread side of PreparePool: parses, checks, canonicalizes and hashes batch bodies.
import { parentPort } from 'node:worker_threads';
import { initHashing } from '../domain/hashing';
import { prepareBatchBody, type SigningContext } from './prepare';

void initHashing().then(() => {
  parentPort!.on('message', (m: { id: number; raw: string; signing?: SigningContext; orgId?: string }) => {
    let result: ReturnType<typeof prepareBatchBody> | { crash: string };
    try {
      result = prepareBatchBody(m.raw, m.signing, m.orgId);
    } catch (err) {
      // A bug (bad input is answered, not thrown): reported to the pool, which answers the request with a problem.
      result = { crash: String(err) };
    }
    try {
      parentPort!.postMessage({ id: m.id, result });
    } catch (err) {
      parentPort!.postMessage({ id: m.id, result: { crash: `cannot send the result: ${String(err)}` } });
    }
  });
  parentPort!.postMessage({ ready: true });
});
