// Child-process entry of the load benchmarks (forked by lib.ts startServer, IPC channel required).
// BENCH_KIND=notary: a real instance (startInstance: the `npm start` code path) with BENCH_ENV (JSON) and
// BENCH_BLOCK_TIME; BENCH_KIND=hello: a fastify hello-world with the same process settings (logger off).
// Sends `{apiUrl, demo, dataDir}` to the parent once listening; SIGTERM stops it cleanly (so --cpu-prof is written).
import Fastify from 'fastify';
import { startInstance } from '../test/helpers/instance';

async function main(): Promise<void> {
  let stop: () => Promise<void>;
  if (process.env.BENCH_KIND === 'hello') {
    const app = Fastify({ logger: false });
    app.get('/', async () => ({ hello: 'world' }));
    app.post('/', async () => ({ hello: 'world' }));
    const apiUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    process.send!({ apiUrl, demo: null, dataDir: null });
    stop = () => app.close();
  } else {
    // The product's defaults (src/config.ts), not the test helper's faster ones: the figures that count are those
    // of the configuration a user runs (anchor every 1 s, 2 confirmations); BENCH_ENV may still set either.
    const env = {
      ANCHOR_INTERVAL_MS: '1000',
      CONFIRMATIONS: '2',
      ...(JSON.parse(process.env.BENCH_ENV ?? '{}') as Record<string, string>),
    };
    const inst = await startInstance({ env, blockTime: Number(process.env.BENCH_BLOCK_TIME ?? 1) });
    process.send!({ apiUrl: inst.apiUrl, demo: inst.demo, dataDir: inst.dataDir });
    stop = () => inst.stop();
  }
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('disconnect', onSignal);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
