// Bench-only preload (`NODE_OPTIONS=--require <this>` with MEMHOOK_DIR set): every 250 ms each Node thread of each
// process appends one JSON line {t, pid, tid, rss, heapUsed, heapTotal, external, arrayBuffers} (bytes) to
// MEMHOOK_DIR/<pid>-<tid>.jsonl. `rss` is the process's (shared by its threads); heap* are this thread's isolate.
// E.g. `MEMHOOK_DIR=/tmp/m NODE_OPTIONS="--require $PWD/bench/memhook.cjs" node -r ts-node/register
// bench/sustained.ts 1000000`: NODE_OPTIONS reaches the bench server, its worker process and every worker thread.
'use strict';
const dir = process.env.MEMHOOK_DIR;
if (dir) {
  const fs = require('node:fs');
  const { threadId } = require('node:worker_threads');
  const file = `${dir}/${process.pid}-${threadId}.jsonl`;
  const t = require('node:timers').setInterval(() => {
    const m = process.memoryUsage();
    const line = { t: Date.now(), pid: process.pid, tid: threadId, argv: process.argv[1], ...m };
    try {
      fs.appendFileSync(file, JSON.stringify(line) + '\n');
    } catch {
      /* ignore */
    }
  }, 250);
  t.unref();
}
