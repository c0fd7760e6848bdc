// CPU profile of a server under one of the benchmark loads: the same code as the figure, with the server child
// started with --cpu-prof; prints the top self-time functions of the load phase (the .cpuprofile stays in
// bench/profiles, openable in Chrome DevTools or speedscope).
// Run: node -r ts-node/register bench/profile.ts [batch|pg|single|verify|signed|unsigned|receipt] [top=25]
// receipt: bench/storage.ts (50,000 records in batches of 1,000, then GET /v1/records/:id/receipt at 50
// connections); only the samples of the receipt load are counted.
// signed / unsigned: bench/signing.ts's bulk ingest (1,000 document records per request) of one kind only.
import fs from 'node:fs';
import path from 'node:path';
import { singleSubmit, verify } from './http';
import { ingestPg, ingestSqlite } from './ingest';
import { ROOT, startup } from './lib';
import { ingest as ingestSigning } from './signing';
import { storage } from './storage';
import { initHashing } from '../src/domain/hashing';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/**
 * Self time per function (name + file:line), in % of the busy (non-idle) samples, counting only samples taken
 * after `skipMs` from the start of the profile (start-up: module loading, chain deployment, keystore scrypt).
 */
export function summarize(
  file: string,
  top: number,
  skipMs = 0,
  /** The profile's clock (µs) that `skipMs` counts from: the process's main-thread profile start, for a worker's. */
  originUs?: number,
): { busyPct: number; fns: { fn: string; pct: number }[] } {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    nodes: Node[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
  };
  const hitsOf = new Map<number, number>();
  let t = prof.startTime - (originUs ?? prof.startTime);
  prof.samples.forEach((id, i) => {
    t += prof.timeDeltas[i]!;
    if (t >= skipMs * 1000) hitsOf.set(id, (hitsOf.get(id) ?? 0) + 1);
  });
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const n of prof.nodes) {
    const hits = hitsOf.get(n.id) ?? 0;
    if (n.callFrame.functionName === '(idle)') {
      idle += hits;
      continue;
    }
    total += hits;
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(ROOT + '/', '');
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  const fns = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, hits]) => ({ fn, pct: (100 * hits) / total }));
  return { busyPct: (100 * total) / (total + idle), fns };
}

/** Monotonic µs at which the measured load started, when a mode counts only that phase. */
let loadFromUs: number | undefined;

async function main(): Promise<void> {
  const mode = process.argv[2] ?? 'batch';
  const top = Number(process.argv[3] ?? 25);
  const dir = path.join(ROOT, 'bench', 'profiles', `${mode}-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  process.env.BENCH_CPU_PROF_DIR = dir; // every server started below is profiled
  if (mode === 'batch') console.log(JSON.stringify(await ingestSqlite(1, 30)));
  else if (mode === 'pg') console.log(JSON.stringify(await ingestPg(1, 30)));
  else if (mode === 'signed' || mode === 'unsigned') {
    await initHashing();
    console.log(JSON.stringify(await ingestSigning(3, 10, mode)));
  } else if (mode === 'single') console.log(JSON.stringify(await singleSubmit(1, 8)));
  else if (mode === 'verify') console.log(JSON.stringify(await verify(1, 8)));
  else if (mode === 'receipt') {
    const f = await storage(Number(process.env.BENCH_PROFILE_RECORDS ?? 50_000), 1000, 8, 2, () => {
      // V8's profile clock and hrtime are both the monotonic clock (µs): samples before this are the ingest.
      loadFromUs = Number(process.hrtime.bigint() / 1000n);
    });
    console.log(JSON.stringify({ ...f, objects: undefined }));
  } else throw new Error(`unknown mode ${mode}`);
  // One profile per thread (the API's main thread, the preparation worker thread), sorted by name.
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  if (!files.length) throw new Error('no profile written');
  // Worker threads start later than the main thread: their samples are skipped on the main thread's clock.
  const origin = Math.min(
    ...files.map((f) => (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { startTime: number }).startTime),
  );
  for (const file of files) {
    // Skip start-up (module loading, chain deployment, keystore scrypt) and the warm-up second.
    const { busyPct, fns } =
      loadFromUs === undefined
        ? summarize(path.join(dir, file), top, startup.lastMs + 1000, origin)
        : summarize(path.join(dir, file), top, loadFromUs / 1000, 0);
    console.log(
      `profile: ${path.join(dir, file)}\nbusy ${busyPct.toFixed(0)}% of the time; self time (% of busy), top ${top}:`,
    );
    for (const { fn, pct } of fns) console.log(`${pct.toFixed(1).padStart(6)}%  ${fn}`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
