// Worker-thread side of PreparePool: parses, checks, canonicalizes and hashes batch bodies.
import { parentPort } from 'node:worker_threads';
import { initHashing } from '../domain/hashing';
import { prepareBatchBody } from './prepare';

void initHashing().then(() => {
  parentPort!.on('message', (m: { id: number; raw: string }) => {
    let result: ReturnType<typeof prepareBatchBody> | { crash: string };
    try {
      result = prepareBatchBody(m.raw);
    } catch (err) {
      result = { crash: String(err) };
    }
    parentPort!.postMessage({ id: m.id, result });
  });
  parentPort!.postMessage({ ready: true });
});
