import type { Repo, Store } from '../service/ports';
import { StoreConflictError } from '../service/ports';
import { Database, isUniqueViolation, type Sql } from './db';
import { SqlSession } from './repos/session';
import { OrgSql } from './repos/orgs';
import { RecordSql } from './repos/records';
import { BatchSql } from './repos/batches';
import { TxSql } from './repos/txs';
import { ClaimSql } from './repos/claims';
import { LeaseSql } from './repos/leases';

/** The repository of each aggregate (src/storage/repos): organisations and keys, records, batches, chain
 * transactions, claims, leases. */
const REPOS = [OrgSql, RecordSql, BatchSql, TxSql, ClaimSql, LeaseSql] as const;
type Repos = OrgSql & RecordSql & BatchSql & TxSql & ClaimSql & LeaseSql;

/**
 * The unit of work: every aggregate's repository over ONE SQL session (a transaction of `Store.tx`, or the pool
 * for `Store.read`), as the one `Repo` the use cases see (`store.tx(r => r.insertRecords(…))`). The repositories'
 * methods are composed onto one prototype, so a unit of work is one object holding the session (no per-repository
 * objects per transaction); a method name defined by two repositories is refused at load time.
 */
function compose(): new (sql: Sql) => Repos {
  class UnitOfWork extends SqlSession {}
  for (const repo of REPOS) {
    for (const name of Object.getOwnPropertyNames(repo.prototype)) {
      if (name === 'constructor') continue;
      if (Object.prototype.hasOwnProperty.call(UnitOfWork.prototype, name)) {
        throw new Error(`repository method ${name} defined twice (src/storage/repos)`);
      }
      Object.defineProperty(UnitOfWork.prototype, name, Object.getOwnPropertyDescriptor(repo.prototype, name)!);
    }
  }
  return UnitOfWork as unknown as new (sql: Sql) => Repos;
}

export const SqlRepo = compose();
export type SqlRepo = Repos;
// Every method of the Repo port has its repository (compile-time check).
true satisfies Repos extends Repo ? true : false;

/** The Store port over a Database. */
export class SqlStore implements Store {
  constructor(readonly db: Database) {}
  get dialect() {
    return this.db.dialect;
  }
  async tx<T>(fn: (r: Repo) => Promise<T>): Promise<T> {
    try {
      return await this.db.tx((sql) => fn(new SqlRepo(sql)));
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError('unique constraint violated', { cause: err });
      throw err;
    }
  }
  read<T>(fn: (r: Repo) => Promise<T>): Promise<T> {
    return this.db.read((sql) => fn(new SqlRepo(sql)));
  }
  ping(): Promise<boolean> {
    return this.db.ping();
  }
  close(): Promise<void> {
    return this.db.close();
  }
}
