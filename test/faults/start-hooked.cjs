#!/usr/bin/env node
// `node scripts/start.cjs` (the real `npm start` server) plus one fault hook for the crash tests:
// with FAULT_PAUSE_AT=<AnchorStep> the anchoring worker prints `[fault] paused at <step> <batch id>` the
// first time it reaches that step and then hangs there, so the test can `kill -9` the process group at
// exactly that point of the state machine. FAULT_LEASE_MS shortens the worker's per-organisation lease
// (30 s by default, not configurable from the environment): after a kill -9 the next process can only take
// over once the dead one's lease expired, and the test would otherwise wait 30 s per crash. Without either
// variable it is start.cjs unchanged.
'use strict';
/* global __filename, setImmediate */
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const step = process.env.FAULT_PAUSE_AT;
const leaseMs = process.env.FAULT_LEASE_MS ? Number(process.env.FAULT_LEASE_MS) : undefined;
// The anchoring worker runs in a child process by default (WORKER=process, src/cli/worker.ts): this file is
// preloaded there too (NODE_OPTIONS, set below once start.cjs has compiled the contracts), and patches the
// AnchorService of that process. There ts-node is registered by the worker's own --require, after this
// preload: the patch waits one turn (the worker builds its AnchorService only after its init message).
const inWorker = process.env.NOTARY_PROCESS === 'worker';
if (!inWorker) {
  // The hook patches the worker's own src/service/anchoring.ts module: with a hook, the worker is forked from the
  // TypeScript sources through ts-node, not from the prebuilt bundle of scripts/test-all.cjs (one module graph of
  // its own, which this patch cannot reach). For the same reason the hooked server loads its sources through
  // ts-node rather than the tests' esbuild loader (NOTARY_TS_LOADER): esbuild's CommonJS exports are getters,
  // which the assignment of the patched AnchorService below cannot replace.
  if (step || leaseMs) {
    delete process.env.NOTARY_WORKER_BUNDLE;
    delete process.env.NOTARY_TS_LOADER;
  }
  // start.cjs registers ts-node and calls main(), which loads the service stack asynchronously (dynamic
  // import): patching the AnchorService export right after is in time, and runtime.ts reads it at call time.
  require(path.join(root, 'scripts', 'start.cjs'));
  if (step || leaseMs)
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(__filename)}`.trim();
  patch();
} else setImmediate(patch);

function patch() {
  if (!step && !leaseMs) return;
  const mod = require(path.join(root, 'src', 'service', 'anchoring.ts'));
  const Base = mod.AnchorService;
  let hit = false;
  mod.AnchorService = class extends Base {
    constructor(store, chain, opts) {
      super(store, chain, {
        ...opts,
        ...(leaseMs ? { leaseMs } : {}),
        onStep: async (s, batch) => {
          if (!step || s !== step || hit) return;
          hit = true;
          // FAULT_PAUSE_ONCE=<file>: only the first process (of all worker processes) pauses; it creates the file.
          const once = process.env.FAULT_PAUSE_ONCE;
          if (once) {
            if (fs.existsSync(once)) return;
            fs.writeFileSync(once, `${process.pid}\n`);
          }
          process.stdout.write(`[fault] paused at ${s} ${batch.id}\n`);
          await new Promise(() => undefined); // hang: the test kills the process here
        },
      });
    }
  };
}
