// CPU profile of a server under one of the benchmark loads: the same code as the figure, with the server child
// started with --cpu-prof; prints the top self-time functions of the load phase (the .cpuprofile stays in
// bench/profiles, openable in Chrome DevTools or speedscope).
// Run: node -r ts-node/register bench/profile.ts [batch|pg|single|verify] [top=25]
import fs from 'node:fs';
import path from 'node:path';
import { singleSubmit, verify } from './http';
import { ingestPg, ingestSqlite } from './ingest';
import { ROOT, startup } from './lib';

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
): { busyPct: number; fns: { fn: string; pct: number }[] } {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const hitsOf = new Map<number, number>();
  let t = 0;
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

async function main(): Promise<void> {
  const mode = process.argv[2] ?? 'batch';
  const top = Number(process.argv[3] ?? 25);
  const dir = path.join(ROOT, 'bench', 'profiles', `${mode}-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  process.env.BENCH_CPU_PROF_DIR = dir; // every server started below is profiled
  if (mode === 'batch') console.log(JSON.stringify(await ingestSqlite(1, 30)));
  else if (mode === 'pg') console.log(JSON.stringify(await ingestPg(1, 30)));
  else if (mode === 'single') console.log(JSON.stringify(await singleSubmit(1, 8)));
  else if (mode === 'verify') console.log(JSON.stringify(await verify(1, 8)));
  else throw new Error(`unknown mode ${mode}`);
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no profile written');
  // Skip start-up (module loading, chain deployment, keystore scrypt) and the warm-up second.
  const { busyPct, fns } = summarize(path.join(dir, file), top, startup.lastMs + 1000);
  console.log(
    `profile: ${path.join(dir, file)}\nbusy ${busyPct.toFixed(0)}% of the time; self time (% of busy), top ${top}:`,
  );
  for (const { fn, pct } of fns) console.log(`${pct.toFixed(1).padStart(6)}%  ${fn}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
