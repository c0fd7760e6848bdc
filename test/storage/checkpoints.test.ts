import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import Sqlite from 'better-sqlite3';
import { Database } from '../../src/storage/db';

const ROOT = path.join(__dirname, '..', '..');

/**
 * SQLite file: the write path never waits synchronously on the event loop. (1) While another connection holds
 * the write lock (the worker process), `Database.tx` waits on timers, not in SQLite's busy handler: the event
 * loop keeps running and the transaction commits once the lock is free. (2) WAL checkpoints run on the
 * checkpoint thread, not in COMMIT (wal_autocheckpoint 0), and still keep the WAL from growing.
 */

function tmpFile(): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-ckpt-'));
  return { dir, file: path.join(dir, 'notary.db') };
}

describe('SQLite write path off the event loop', () => {
  it('a transaction waits for another connection’s write lock without blocking the event loop', async () => {
    const { dir, file } = tmpFile();
    const db = await Database.open({ sqlitePath: file });
    const other = new Sqlite(file);
    try {
      // Another writer on the same file (in another process in production) takes the write lock for 300 ms.
      other.exec('BEGIN IMMEDIATE');
      other.prepare('INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)').run('other', 'o', 1);
      const released = new Promise<void>((r) =>
        setTimeout(() => {
          other.exec('COMMIT');
          r();
        }, 300),
      );
      let last = performance.now();
      let longestGap = 0;
      const ticker = setInterval(() => {
        const now = performance.now();
        longestGap = Math.max(longestGap, now - last);
        last = now;
      }, 5);
      const t0 = performance.now();
      const mine = db.tx((sql) =>
        sql.exec('INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)', ['mine', 'm', 2]),
      );
      // A synchronous busy wait would hold this thread until busy_timeout (5 s), so the COMMIT above never runs
      // in time and the transaction fails with SQLITE_BUSY.
      assert.equal(await mine, 1);
      await released;
      clearInterval(ticker);
      assert.ok(performance.now() - t0 >= 250, 'it waited for the other writer');
      assert.ok(longestGap < 150, `the event loop kept running (longest gap ${longestGap.toFixed(0)} ms)`);
      const rows = await db.read((sql) => sql.query<{ name: string }>('SELECT name FROM leases ORDER BY name'));
      assert.deepEqual(
        rows.map((r) => r.name),
        ['mine', 'other'],
      );
    } finally {
      other.close();
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checkpoints on the thread: COMMIT does not checkpoint, and the WAL is reused, not grown', async () => {
    const { dir, file } = tmpFile();
    const db = await Database.open({ sqlitePath: file });
    try {
      assert.equal(db.sqliteHandle!.pragma('wal_autocheckpoint', { simple: true }), 0);
      await db.tx((sql) => sql.exec('CREATE TABLE scratch (n INTEGER PRIMARY KEY, body BLOB)'));
      const blob = Buffer.alloc(3000, 7); // about one page per row
      const burst = async (round: number) => {
        for (let t = 0; t < 20; t++)
          await db.tx((sql) =>
            sql.execMany(
              'INSERT INTO scratch (n, body) VALUES (?, ?)',
              Array.from({ length: 100 }, (_, i) => [round * 10_000 + t * 100 + i, blob]),
            ),
          );
      };
      await burst(0); // ~2,000 frames: past SQLite's own 1,000-frame threshold
      const walSize = () => fs.statSync(`${file}-wal`).size;
      const first = walSize();
      for (let round = 1; round <= 4; round++) {
        await new Promise((r) => setTimeout(r, 300)); // the thread catches up while nothing is written
        await burst(round);
      }
      // Without checkpoints the WAL would now hold five bursts; checkpointed between them, it restarts from its
      // beginning at each burst's first write and stays the size of about one.
      assert.ok(walSize() < first * 2, `WAL ${walSize()} bytes after five bursts, ${first} after one`);
      const [count] = await db.read((sql) => sql.query<{ n: number }>('SELECT COUNT(*) AS n FROM scratch'));
      assert.equal(Number(count!.n), 5 * 2000);
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the checkpoint thread runs without the process’s preloads (no ts-node or loader in it)', () => {
    // A process started with `--require` preloads (`npm start`: ts-node, ~40 MiB of heap in each thread that
    // runs it) opens a database: the preload runs in its main thread only, not in the checkpoint thread.
    const { dir, file } = tmpFile();
    const log = path.join(dir, 'preloads.log');
    try {
      const script = `
        const { Database } = require(${JSON.stringify(path.join(ROOT, 'src/storage/db.ts'))});
        (async () => {
          const db = await Database.open({ sqlitePath: ${JSON.stringify(file)} });
          await db.tx((sql) => sql.exec("INSERT INTO leases (name, holder, expires_at) VALUES ('a', 'b', 1)"));
          await new Promise((r) => setTimeout(r, 200));
          await db.close();
        })().catch((err) => { console.error(err); process.exit(1); });`;
      execFileSync(
        process.execPath,
        [
          '--require',
          path.join(ROOT, 'scripts/lib/ts-register.cjs'),
          '--require',
          path.join(ROOT, 'test/fixtures/preload/record-threads.cjs'),
          '-e',
          script,
        ],
        { env: { ...process.env, PRELOAD_LOG: log }, stdio: ['ignore', 'inherit', 'inherit'], timeout: 30_000 },
      );
      assert.deepEqual(fs.readFileSync(log, 'utf8').trim().split('\n'), ['0'], 'preloaded in the main thread only');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a secondary connection (the worker process) leaves checkpoints to the primary and keeps less in memory', async () => {
    const { dir, file } = tmpFile();
    const primary = await Database.open({ sqlitePath: file });
    const secondary = await Database.open({ sqlitePath: file, migrate: false, role: 'secondary' });
    try {
      const pragma = (db: Database, p: string) => db.sqliteHandle!.pragma(p, { simple: true });
      assert.equal(pragma(primary, 'cache_size'), -65536);
      assert.equal(pragma(primary, 'mmap_size'), 268435456);
      assert.equal(pragma(secondary, 'cache_size'), -16384);
      assert.equal(pragma(secondary, 'mmap_size'), 0);
      assert.equal(pragma(secondary, 'wal_autocheckpoint'), 0, 'no checkpoints in its COMMITs');
      // Only the secondary writes; the primary's checkpoint thread keeps the WAL from growing.
      await secondary.tx((sql) => sql.exec('CREATE TABLE scratch (n INTEGER PRIMARY KEY, body BLOB)'));
      const blob = Buffer.alloc(3000, 7);
      const burst = async (round: number) => {
        for (let t = 0; t < 20; t++)
          await secondary.tx((sql) =>
            sql.execMany(
              'INSERT INTO scratch (n, body) VALUES (?, ?)',
              Array.from({ length: 100 }, (_, i) => [round * 10_000 + t * 100 + i, blob]),
            ),
          );
      };
      await burst(0);
      const walSize = () => fs.statSync(`${file}-wal`).size;
      const first = walSize();
      for (let round = 1; round <= 4; round++) {
        await new Promise((r) => setTimeout(r, 300));
        await burst(round);
      }
      assert.ok(walSize() < first * 2, `WAL ${walSize()} bytes after five bursts, ${first} after one`);
      const [count] = await primary.read((sql) => sql.query<{ n: number }>('SELECT COUNT(*) AS n FROM scratch'));
      assert.equal(Number(count!.n), 5 * 2000);
    } finally {
      await secondary.close();
      await primary.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without the thread (backgroundCheckpoints: false) COMMIT checkpoints as SQLite does by default', async () => {
    const { dir, file } = tmpFile();
    const db = await Database.open({ sqlitePath: file, backgroundCheckpoints: false });
    try {
      assert.equal(db.sqliteHandle!.pragma('wal_autocheckpoint', { simple: true }), 1000);
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
