import type { BatchInfo, BatchRepo } from '../../service/ports';
import { batches, batchTrees } from '../tables';
import { chunks, list, SqlSession, type Row, type SameKeys } from './session';

// Batches and their stored trees: one row per batch, SQL from the table mappings.
const toBatch: (r: Row) => BatchInfo = batches.reader();
true satisfies SameKeys<BatchInfo, typeof batches.columns>;

export class BatchSql extends SqlSession implements BatchRepo {
  async insertBatch(b: BatchInfo): Promise<void> {
    await this.sql.exec(...batches.insert(b));
  }
  async getBatch(id: string): Promise<BatchInfo | null> {
    const [r] = await this.sql.query('SELECT * FROM batches WHERE id = ?', [id]);
    return r ? toBatch(r) : null;
  }
  async getBatchByRoot(root: string): Promise<BatchInfo | null> {
    const [r] = await this.sql.query('SELECT * FROM batches WHERE root = ?', [root]);
    return r ? toBatch(r) : null;
  }
  async lastBatch(orgId: string, live = false): Promise<BatchInfo | null> {
    const where = live ? "org_id = ? AND status <> 'failed'" : 'org_id = ?';
    const [r] = await this.sql.query(`SELECT * FROM batches WHERE ${where} ORDER BY seq DESC LIMIT 1`, [orgId]);
    return r ? toBatch(r) : null;
  }
  async unfinishedBatches(orgId?: string): Promise<BatchInfo[]> {
    const where = "status IN ('signed', 'sent', 'anchored')";
    const rows = orgId
      ? await this.sql.query(`SELECT * FROM batches WHERE ${where} AND org_id = ? ORDER BY seq`, [orgId])
      : await this.sql.query(`SELECT * FROM batches WHERE ${where} ORDER BY org_id, seq`);
    return rows.map(toBatch);
  }
  async batchesOf(orgId: string): Promise<BatchInfo[]> {
    return (await this.sql.query('SELECT * FROM batches WHERE org_id = ? ORDER BY seq', [orgId])).map(toBatch);
  }
  async updateBatch(id: string, patch: Partial<BatchInfo>): Promise<void> {
    await this.sql.exec(...batches.update('id', id, patch));
  }
  async deleteBatch(id: string): Promise<void> {
    await this.sql.exec('DELETE FROM batch_trees WHERE batch_id = ?', [id]);
    await this.sql.exec('DELETE FROM batches WHERE id = ?', [id]);
  }
  async insertBatchTree(batchId: string, nodes: Uint8Array): Promise<void> {
    await this.sql.exec(...batchTrees.insert({ batchId, nodes }));
  }
  async getBatchTree(batchId: string): Promise<Uint8Array | null> {
    const [r] = await this.sql.query('SELECT nodes FROM batch_trees WHERE batch_id = ?', [batchId]);
    return r ? batchTrees.columns.nodes.read(r.nodes) : null;
  }
  async getBatches(ids: string[]): Promise<BatchInfo[]> {
    const out: BatchInfo[] = [];
    for (const part of chunks([...new Set(ids)], 1000)) {
      out.push(
        ...(await this.sql.query(`SELECT * FROM batches WHERE id IN (${list(part.length)})`, part)).map(toBatch),
      );
    }
    return out;
  }
}
