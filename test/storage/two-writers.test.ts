import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import 'reflect-metadata';
import { Database } from '../../src/storage/db';

/**
 * WORKER=process: the API process and the anchoring worker process are two SQLite writers on one file (WAL).
 * Each opens it through `Database.open` (busy_timeout, BEGIN IMMEDIATE); here both write at once, in large
 * transactions (1,000 rows of 512 bytes each, like a bulk request or a batch), and neither may fail with
 * SQLITE_BUSY: every transaction commits and every row is there in the end. (The wait is the busy_timeout pragma of
 * `Database.open`, 5 s; better-sqlite3's own constructor default is the same 5 s.)
 */

const TXS = 60;
const ROWS = 1000;

/** One writer: `TXS` transactions of `ROWS` rows, tagged `who`; resolves with the errors it saw. */
export async function writer(file: string, who: string): Promise<string[]> {
  const db = await Database.open({ sqlitePath: file, migrate: false });
  const errors: string[] = [];
  const blob = 'x'.repeat(512);
  try {
    const jobs: Promise<unknown>[] = [];
    for (let t = 0; t < TXS; t++) {
      jobs.push(
        db
          .tx((sql) =>
            sql.execMany(
              'INSERT INTO scratch (who, n, body) VALUES (?, ?, ?)',
              Array.from({ length: ROWS }, (_, i) => [who, t * ROWS + i, blob]),
            ),
          )
          .catch((err: Error) => errors.push(err.message)),
      );
      if (t % 4 === 3) await new Promise((r) => setImmediate(r)); // interleave with the other process
    }
    await Promise.all(jobs);
  } finally {
    await db.close();
  }
  return errors;
}

if (process.env.TWO_WRITERS_CHILD) {
  void writer(process.env.TWO_WRITERS_CHILD, 'child').then((errors) => {
    process.send!({ errors });
    process.disconnect();
  });
} else {
  describe('SQLite: two writer processes on one file (API + worker process)', () => {
    it('large concurrent transactions from both all commit: no SQLITE_BUSY', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-2w-'));
      const file = path.join(dir, 'notary.db');
      try {
        const db = await Database.open({ sqlitePath: file }); // migrated, WAL, like the API process
        await db.tx((sql) => sql.exec('CREATE TABLE scratch (who TEXT NOT NULL, n INTEGER NOT NULL, body TEXT)'));
        await db.close();

        const child = fork(__filename, [], {
          env: { ...process.env, TWO_WRITERS_CHILD: file },
          execArgv: process.execArgv,
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        const childErrors = new Promise<string[]>((resolve, reject) => {
          child.once('message', (m: { errors: string[] }) => resolve(m.errors));
          child.once('exit', (code) => reject(new Error(`writer process exited with ${code}`)));
        });
        const [mine, theirs] = await Promise.all([writer(file, 'parent'), childErrors]);
        assert.deepEqual(mine, [], 'the parent process saw no error');
        assert.deepEqual(theirs, [], 'the child process saw no error');

        const check = await Database.open({ sqlitePath: file, migrate: false });
        try {
          const rows = await check.dataSource.query('SELECT who, COUNT(*) AS n FROM scratch GROUP BY who ORDER BY who');
          assert.deepEqual(
            rows.map((r: { who: string; n: number }) => [r.who, Number(r.n)]),
            [
              ['child', TXS * ROWS],
              ['parent', TXS * ROWS],
            ],
          );
        } finally {
          await check.close();
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
