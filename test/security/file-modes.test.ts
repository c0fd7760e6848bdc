import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database } from '../../src/storage/db';

/**
 * Issue 11: the SQLite database holds payloads and commitment salts; it was created world-readable (0644 under
 * the usual umask 022) while the keystore is 0600. Now the file and its -wal/-shm are 0600 and a folder the
 * service creates for it is 0700; files an older version left world-readable are tightened on open.
 */

const mode = (f: string) => fs.statSync(f).mode & 0o777;

describe('SQLite file modes (issue 11)', () => {
  let dir: string;
  let umask: number;
  before(() => {
    umask = process.umask(0o022); // the common default, under which SQLite's own 0644 is world-readable
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-modes-'));
  });
  after(() => {
    process.umask(umask);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a new database: file, -wal and -shm 0600, the folders it created 0700', async () => {
    const file = path.join(dir, 'new', 'data', 'notary.db');
    const db = await Database.open({ sqlitePath: file });
    try {
      // Migrations ran: the WAL and its index exist now.
      await db.dataSource.query(`CREATE TABLE t (x TEXT)`);
      await db.dataSource.query(`INSERT INTO t VALUES ('salt')`);
      assert.equal(mode(file), 0o600);
      assert.equal(mode(`${file}-wal`), 0o600);
      assert.equal(mode(`${file}-shm`), 0o600);
      assert.equal(mode(path.join(dir, 'new')), 0o700);
      assert.equal(mode(path.join(dir, 'new', 'data')), 0o700);
    } finally {
      await db.close();
    }
  });

  it('an existing world-readable database (and its WAL) is tightened to 0600 on open', async () => {
    const file = path.join(dir, 'old.db');
    const first = await Database.open({ sqlitePath: file });
    await first.close();
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(`${file}-wal`, '', { mode: 0o644 });
    fs.chmodSync(`${file}-wal`, 0o644);
    const db = await Database.open({ sqlitePath: file });
    try {
      assert.equal(mode(file), 0o600);
      assert.equal(mode(`${file}-wal`), 0o600);
    } finally {
      await db.close();
    }
  });
});
