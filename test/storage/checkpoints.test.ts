import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import 'reflect-metadata';
import Sqlite from 'better-sqlite3';
import { Database } from '../../src/storage/db';

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
