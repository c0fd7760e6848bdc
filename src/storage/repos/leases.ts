import type { LeaseRepo } from '../../service/ports';
import { leases } from '../tables';
import { SqlSession } from './session';

// Leases: one holder of a named job at a time (the anchoring worker, the claims loop), until it expires.
export class LeaseSql extends SqlSession implements LeaseRepo {
  async tryLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const n = await this.sql.exec(
      'UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)',
      [holder, now + ttlMs, name, holder, now],
    );
    if (n > 0) return true;
    const [sql, params] = leases.insert({ name, holder, expiresAt: now + ttlMs });
    const inserted = await this.sql.exec(`${sql} ON CONFLICT (name) DO NOTHING`, params);
    return inserted > 0;
  }
  async dropLease(name: string, holder: string): Promise<void> {
    await this.sql.exec('DELETE FROM leases WHERE name = ? AND holder = ?', [name, holder]);
  }
}
