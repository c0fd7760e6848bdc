import type { ClaimInfo, ClaimRepo, ClaimStatus } from '../../service/ports';
import { claimInvoices, claims } from '../tables';
import { list, SqlSession, type Row, type SameKeys } from './session';

// Expense claims (stored before their consume transaction is signed) and their invoices' fingerprints.
const toClaim: (r: Row) => ClaimInfo = claims.reader();
true satisfies SameKeys<ClaimInfo, typeof claims.columns>;
const CLAIMED = ['claimId', 'invoiceId', 'orgId', 'invoiceKey', 'fingerprint'] as const;
const toClaimed = claimInvoices.reader(CLAIMED, 'ci');

export class ClaimSql extends SqlSession implements ClaimRepo {
  async insertClaim(c: ClaimInfo): Promise<void> {
    await this.sql.exec(...claims.insert(c));
  }
  async setClaimInvoices(
    claimId: string,
    orgId: string,
    rows: { invoiceId: string; invoiceKey: string; fingerprint: string }[],
    at: number,
  ): Promise<void> {
    await this.sql.exec('DELETE FROM claim_invoices WHERE claim_id = ?', [claimId]);
    for (const r of rows) {
      await this.sql.exec(
        ...claimInvoices.insert({
          claimId,
          invoiceId: r.invoiceId,
          orgId,
          invoiceKey: r.invoiceKey,
          fingerprint: r.fingerprint,
          createdAt: at,
        }),
      );
    }
  }
  async claimedByFingerprints(
    fingerprints: string[],
  ): Promise<{ claimId: string; invoiceId: string; orgId: string; invoiceKey: string; fingerprint: string }[]> {
    if (fingerprints.length === 0) return [];
    const rows = await this.sql.query(
      `SELECT ${claimInvoices.cols(CLAIMED, 'ci')} FROM claim_invoices ci
         JOIN claims c ON c.id = ci.claim_id
        WHERE ci.fingerprint IN (${list(fingerprints.length)}) AND c.status NOT IN ('failed', 'released')
        ORDER BY ci.created_at LIMIT 100`,
      fingerprints,
    );
    return rows.map(toClaimed);
  }
  async getClaim(id: string): Promise<ClaimInfo | null> {
    const [r] = await this.sql.query('SELECT * FROM claims WHERE id = ?', [id]);
    return r ? toClaim(r) : null;
  }
  async getClaimByExternalId(orgId: string, externalId: string): Promise<ClaimInfo | null> {
    const [r] = await this.sql.query('SELECT * FROM claims WHERE org_id = ? AND external_id = ?', [orgId, externalId]);
    return r ? toClaim(r) : null;
  }
  async getClaimByCommitment(commitment: string): Promise<ClaimInfo | null> {
    const [r] = await this.sql.query('SELECT * FROM claims WHERE commitment = ?', [commitment]);
    return r ? toClaim(r) : null;
  }
  async updateClaim(id: string, patch: Partial<ClaimInfo>, expect?: ClaimStatus[]): Promise<boolean> {
    const [sql, params] = claims.update('id', id, patch);
    if (!expect) return (await this.sql.exec(sql, params)) > 0;
    // compare-and-set: only from one of the states the caller last saw
    return (await this.sql.exec(`${sql} AND status IN (${list(expect.length)})`, [...params, ...expect])) > 0;
  }
  async deleteClaim(id: string, expect: ClaimStatus[]): Promise<boolean> {
    await this.sql.exec(
      `DELETE FROM claim_invoices WHERE claim_id = ? AND EXISTS (SELECT 1 FROM claims WHERE id = ? AND status IN (${list(expect.length)}))`,
      [id, id, ...expect],
    );
    return (
      (await this.sql.exec(`DELETE FROM claims WHERE id = ? AND status IN (${list(expect.length)})`, [id, ...expect])) >
      0
    );
  }
  async claimsByStatus(statuses: ClaimStatus[], limit: number): Promise<ClaimInfo[]> {
    const rows = await this.sql.query(
      `SELECT * FROM claims WHERE status IN (${list(statuses.length)}) ORDER BY updated_at LIMIT ?`,
      [...statuses, limit],
    );
    return rows.map(toClaim);
  }
  async rejectedClaimsToRelease(limit: number): Promise<ClaimInfo[]> {
    const rows = await this.sql.query(
      `SELECT c.* FROM claims c
         JOIN record_links l ON l.parent_id = c.id
         JOIN records r ON r.id = l.child_id
        WHERE c.status = 'recorded' AND r.type = 'expense.rejected'
        ORDER BY c.updated_at LIMIT ?`,
      [limit],
    );
    return rows.map(toClaim);
  }
  async reimbursedClaimsToSettle(limit: number): Promise<ClaimInfo[]> {
    const rows = await this.sql.query(
      `SELECT DISTINCT c.* FROM claims c
         JOIN record_links la ON la.parent_id = c.id
         JOIN records a ON a.id = la.child_id AND a.type = 'expense.approved'
         JOIN record_links lr ON lr.parent_id = a.id
         JOIN records re ON re.id = lr.child_id AND re.type = 'expense.reimbursed'
        WHERE c.status = 'recorded'
        ORDER BY c.updated_at LIMIT ?`,
      [limit],
    );
    return rows.map(toClaim);
  }
}
