import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DB_KINDS, PG_AVAILABLE } from '../helpers/db';
import type { Database, Sql } from '../../src/storage/db';
import { RecordSql } from '../../src/storage/repos/records';
import { batches } from '../../src/storage/tables';
import type { NewRecord } from '../../src/service/ports';

// The plans of the records lookups that run per request or per worker pass, taken by the database on the very
// statements the repository sends (captured, then EXPLAINed with the same parameters). On PostgreSQL first
// without statistics: this machine's server runs with autovacuum off, and any table is unanalysed until its first
// ANALYZE — `IN (…)` lists were then planned as index scans on org_id alone with the key as a filter (c6d8a09).
// Then again after ANALYZE.

const ORG = 'plan-org';
const N = 20_000;
/** Records 0 … BATCHED-1 are in a batch; the rest wait. Even ones have an externalId. */
const BATCHED = 19_000;
const hex = (n: number) => '0x' + n.toString(16).padStart(64, '0');

/** `sql`, recording every statement it is asked to run. */
function capturing(sql: Sql) {
  const seen: { text: string; params: readonly unknown[] }[] = [];
  const spy: Sql = {
    dialect: sql.dialect,
    query: (text, params = []) => (seen.push({ text, params }), sql.query(text, params)),
    exec: (text, params = []) => (seen.push({ text, params }), sql.exec(text, params)),
    execMany: (text, rows) => sql.execMany(text, rows),
  };
  return { spy, seen };
}

interface PgNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Filter?: string;
  Plans?: PgNode[];
}
const flat = (n: PgNode): PgNode[] => [n, ...(n.Plans ?? []).flatMap(flat)];
/** One line per plan node (PostgreSQL) or per EXPLAIN QUERY PLAN row (SQLite). */
async function planOf(sql: Sql, s: { text: string; params: readonly unknown[] }): Promise<string[]> {
  if (sql.dialect === 'sqlite') {
    const rows = await sql.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${s.text}`, s.params);
    return rows.map((r) => r.detail);
  }
  const [row] = await sql.query<{ 'QUERY PLAN': [{ Plan: PgNode }] }>(`EXPLAIN (FORMAT JSON) ${s.text}`, s.params);
  return flat(row!['QUERY PLAN'][0].Plan).map(
    (n) =>
      `${n['Node Type']}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}` +
      `${n['Index Name'] ? ` using ${n['Index Name']}` : ''}${n['Index Cond'] ? ` cond ${n['Index Cond']}` : ''}` +
      `${n.Filter ? ` filter ${n.Filter}` : ''}`,
  );
}

for (const kind of DB_KINDS) {
  describe(`Plans of the records lookups on ${kind.name}`, () => {
    const skip = kind.name === 'postgres' && !PG_AVAILABLE;
    let db: Database;
    let close: () => Promise<void>;
    before(async () => {
      if (skip) return;
      ({ db, close } = await kind.open());
      const rows: NewRecord[] = Array.from({ length: N }, (_, i) => ({
        id: `rec-${String(i).padStart(6, '0')}`,
        orgId: ORG,
        type: 'document',
        externalId: i % 2 === 0 ? `ext-${i}` : null,
        digest: hex(i),
        salt: hex(N + i),
        commitment: hex(2 * N + i),
        parents: [],
        payload: '{}',
        supersedes: null,
        acceptedAt: 1_000_000 + i,
        signatures: null,
      }));
      await db.tx(async (sql) => {
        await sql.exec(
          "INSERT INTO organisations (id, name, kind, address, created_at) VALUES (?, 'n', 'member', NULL, 0)",
          [ORG],
        );
        const [text, params] = batches.insert({
          id: 'plan-batch',
          orgId: ORG,
          seq: 1,
          root: hex(1),
          prev: hex(0),
          leafCount: BATCHED,
          status: 'confirmed',
          chainId: 31337,
          registry: '0x' + '1'.repeat(40),
          submitter: '0x' + '2'.repeat(40),
          createdAt: 0,
          updatedAt: 0,
        });
        await sql.exec(text, params);
        const repo = new RecordSql(sql);
        await repo.insertRecords(rows);
        await repo.assignBatch(
          'plan-batch',
          rows.slice(0, BATCHED).map((r, i) => ({ id: r.id, leafIndex: i })),
        );
      });
    });
    after(async () => close?.());

    /** Runs `fn` on a capturing session, then the plan of each statement it sent. */
    const plans = async <T>(fn: (r: RecordSql) => Promise<T>) =>
      db.read(async (sql) => {
        const { spy, seen } = capturing(sql);
        const result = await fn(new RecordSql(spy));
        const out: string[][] = [];
        for (const s of seen) out.push(await planOf(sql, s));
        return { result, plans: out };
      });

    for (const stats of ['without statistics', 'after ANALYZE'] as const) {
      it(`searches on the whole key, and reads the next batch in index order (${stats})`, { skip }, async () => {
        // PostgreSQL: VACUUM ANALYZE, what autovacuum does (outside a transaction: the pool's session).
        if (stats === 'after ANALYZE')
          await db.read((sql) => sql.exec(kind.name === 'postgres' ? 'VACUUM ANALYZE' : 'ANALYZE'));
        const pg = kind.name === 'postgres';

        // Id-less records by digest (even numbers have an externalId).
        const digests = [1, 3, 5, 19_001, 19_999].map(hex);
        const byDigest = await plans((r) => r.findByDigests(ORG, digests));
        assert.deepEqual(
          byDigest.result.map((m) => [m.digest, m.status]).sort(),
          digests.map((d, i) => [d, i < 3 ? 'confirmed' : 'pending']),
        );
        for (const p of byDigest.plans) {
          const scans = p.filter((l) => /records/.test(l) && !/batches/.test(l));
          assert.ok(scans.length, p.join('\n'));
          for (const l of scans) {
            assert.match(l, /IDX_records_org_digest_noext/, p.join('\n'));
            assert.match(l, pg ? /cond .*org_id.*digest/ : /\(org_id=\? AND digest=\?\)/, p.join('\n'));
            assert.doesNotMatch(l, /filter .*digest/, p.join('\n'));
          }
        }

        const keys = [0, 2, 19_002].map((i) => ({ type: 'document', externalId: `ext-${i}` }));
        const byExt = await plans((r) => r.findByExternalIds(ORG, keys));
        assert.equal(byExt.result.length, 3);
        for (const p of byExt.plans) {
          const scans = p.filter((l) => /records/.test(l) && !/batches/.test(l));
          assert.ok(scans.length, p.join('\n'));
          for (const l of scans) {
            assert.match(l, /UQ_records_external/, p.join('\n'));
            assert.match(l, pg ? /cond .*org_id.*type.*external_id/ : /org_id=\? AND type=\? AND external_id=\?/);
          }
        }

        // The worker's next batch: the partial pending index, in its order (no sort of the org's pending rows).
        const next = await plans((r) => r.pendingCommitments(ORG, 500));
        assert.equal(next.result.length, 500);
        assert.equal(next.result[0]!.id, `rec-0${BATCHED}`);
        const [nextPlan] = next.plans;
        assert.ok(
          nextPlan!.some((l) => /IDX_records_pending/.test(l)),
          nextPlan!.join('\n'),
        );
        assert.ok(!nextPlan!.some((l) => /^Sort|TEMP B-TREE/.test(l)), nextPlan!.join('\n'));

        const waiting = await plans((r) => r.orgsWithPending());
        assert.deepEqual(
          waiting.result.map((w) => [w.orgId, w.count, w.oldest]),
          [[ORG, N - BATCHED, 1_000_000 + BATCHED]],
        );
        const [waitingPlan] = waiting.plans;
        assert.ok(
          waitingPlan!.some((l) => /IDX_records_pending/.test(l)),
          waitingPlan!.join('\n'),
        );
      });
    }
  });
}
