import type { OutboxStatus, OutboxTx, TxRepo } from '../../service/ports';
import { chainAccounts, txOutbox } from '../tables';
import { list, num, SqlSession, type Row, type SameKeys } from './session';

// Chain transactions (the outbox: signed before they are sent, crash safety) and the nonces of their accounts.
const toOutbox: (r: Row) => OutboxTx = txOutbox.reader();
true satisfies SameKeys<OutboxTx, typeof txOutbox.columns>;

export class TxSql extends SqlSession implements TxRepo {
  async ensureAccount(address: string, orgId: string, nextNonce: number): Promise<void> {
    // Two processes may meet an account for the first time at once (a claim and the anchoring worker):
    // the second insert is a no-op instead of a unique violation.
    const [sql, params] = chainAccounts.insert({ address, orgId, nextNonce });
    await this.sql.exec(`${sql} ON CONFLICT (address) DO NOTHING`, params);
  }
  async getAccountNonce(address: string): Promise<number | null> {
    const [r] = await this.sql.query('SELECT next_nonce FROM chain_accounts WHERE address = ?', [address]);
    return r ? chainAccounts.columns.nextNonce.read(r.next_nonce) : null;
  }
  async setAccountNonce(address: string, nextNonce: number): Promise<void> {
    await this.sql.exec(...chainAccounts.update('address', address, { nextNonce }));
  }
  async allocateNonce(address: string): Promise<number> {
    const [r] = await this.sql.query(
      'UPDATE chain_accounts SET next_nonce = next_nonce + 1 WHERE address = ? RETURNING next_nonce - 1 AS n',
      [address],
    );
    if (!r) throw new Error(`no chain account ${address}`);
    return num(r.n);
  }
  async lockAccount(address: string): Promise<void> {
    if (this.sql.dialect !== 'postgres') return;
    await this.sql.query('SELECT address FROM chain_accounts WHERE address = ? FOR UPDATE', [address]);
  }
  async insertOutbox(tx: OutboxTx): Promise<void> {
    await this.sql.exec(...txOutbox.insert(tx));
  }
  async getOutbox(id: string): Promise<OutboxTx | null> {
    const [r] = await this.sql.query('SELECT * FROM tx_outbox WHERE id = ?', [id]);
    return r ? toOutbox(r) : null;
  }
  async getOutboxByHash(txHash: string): Promise<OutboxTx | null> {
    const [r] = await this.sql.query('SELECT * FROM tx_outbox WHERE tx_hash = ?', [txHash]);
    return r ? toOutbox(r) : null;
  }
  async outboxByRef(kind: OutboxTx['kind'], refId: string): Promise<OutboxTx[]> {
    const rows = await this.sql.query(
      'SELECT * FROM tx_outbox WHERE kind = ? AND ref_id = ? ORDER BY created_at, nonce',
      [kind, refId],
    );
    return rows.map(toOutbox);
  }
  async updateOutbox(id: string, patch: Partial<OutboxTx>, expect?: OutboxStatus[]): Promise<boolean> {
    const [sql, params] = txOutbox.update('id', id, patch);
    if (!expect) return (await this.sql.exec(sql, params)) > 0;
    return (await this.sql.exec(`${sql} AND status IN (${list(expect.length)})`, [...params, ...expect])) > 0;
  }
  async openOutbox(address: string): Promise<OutboxTx[]> {
    const rows = await this.sql.query(
      "SELECT * FROM tx_outbox WHERE address = ? AND status IN ('signed', 'sent') ORDER BY nonce",
      [address],
    );
    return rows.map(toOutbox);
  }
}
