import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { id as keccakId } from 'ethers';
import { loadConfig } from '../../src/config';
import { startRuntime, type Runtime } from '../../src/cli/runtime';
import { invoiceKey } from '../../src/domain/invoice-key';
import { invoiceIdentity } from '../../src/domain/record-types';
import { startInstance, api, type Instance, type Json } from '../helpers/instance';
import { createPgDatabase, PG_AVAILABLE } from '../helpers/db';
import * as P from '../../scripts/lib/pilot-payloads';

/**
 * Issue 13, the consortium-wide guard between two SERVICE INSTANCES: instance A (embedded chain, SQLite, the demo
 * organisations) and instance B (its own database — PostgreSQL when reachable, else its own SQLite —, its own
 * keystore and organisation) share only the chain and the deployment. B's organisation gets its own account, bound
 * as an ANCHORER key of that organisation in the MemberDirectory by the registrar (the deployer). Neither database
 * knows the other's claims: the chain alone decides. The same paper invoice — notarized in both, retyped in B
 * (invoice key v2 gives the same key) — is claimed in both at the same moment, round after round: exactly one 201,
 * the other 409 INVOICE_ALREADY_CLAIMED naming the winner's commitment and organisation, and the loser holds
 * nothing (its claim `failed`, no expense.claim record, the key consumed by the winner only).
 */

const SECRET = 'ledger-notary-embedded-consortium-secret'; // the embedded default (config.ts), shared by both
const ROUNDS = 6;
// anvil's first account: the embedded deployer, registrar of the MemberDirectory
const DEPLOYER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const ORG_B = 'travelco';

type Answer = { status: number; body: Json };

describe('concurrent claims of one invoice from two service instances with separate databases, one chain', () => {
  let a: Instance;
  let b: Runtime | undefined;
  let dropB: (() => Promise<void>) | undefined;
  let keyB = '';
  let dbB = '';
  const dirB = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-instB-'));
  const keyA = (who: string) => a.demo.orgs.find((o) => o.id === who)!.apiKey;

  before(async () => {
    // One-second blocks: both consumes are usually signed and sent before either is mined, so the chain (a mined
    // revert, not the eth_call pre-check) decides.
    a = await startInstance({ blockTime: 1 });
    let databaseUrl: string | undefined;
    if (PG_AVAILABLE) {
      const pg = await createPgDatabase();
      dropB = pg.drop;
      databaseUrl = pg.url;
    }
    dbB = databaseUrl ? 'PostgreSQL' : 'SQLite';
    b = await startRuntime(
      loadConfig({
        DATA_DIR: dirB,
        PORT: '0',
        RPC_URL: a.rpcUrl,
        DEPLOYMENT_FILE: path.join(a.dataDir, 'deployment.json'),
        DEPLOYER_KEY,
        KEYSTORE_PASSWORD: 'instance-b-keystore-password',
        KEYSTORE_SCRYPT_N: '1024',
        CONSORTIUM_SECRET: SECRET,
        ANCHOR_INTERVAL_MS: '200',
        CONFIRMATIONS: '1',
        ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      }),
    );
    // B's own organisation, created through its admin API: its account is bound in the directory by the deployer.
    const admin = fs.readFileSync(path.join(dirB, 'bootstrap-admin-key'), 'utf8').trim();
    const org = await api(b.apiUrl, 'POST', '/v1/orgs', {
      key: admin,
      body: { id: ORG_B, name: 'Travel Co', kind: 'member' },
    });
    assert.equal(org.status, 201, JSON.stringify(org.body));
    const k = await api(b.apiUrl, 'POST', `/v1/orgs/${ORG_B}/keys`, {
      key: admin,
      body: { name: 'submitter', scopes: ['submit', 'audit'] },
    });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    keyB = k.body.key as string;
  });

  after(async () => {
    await b?.stop();
    await a?.stop();
    await dropB?.();
    fs.rmSync(dirB, { recursive: true, force: true });
  });

  it(`${ROUNDS} rounds: exactly one 201 per invoice, the other instance 409 and holds nothing`, async (t) => {
    t.diagnostic(`instance A: SQLite ${a.apiUrl}; instance B: ${dbB} ${b!.apiUrl}; chain ${a.rpcUrl}`);
    const orgA = (await a.runtime.store.read((r) => r.getOrg('employer')))!;
    const orgB = (await b!.store.read((r) => r.getOrg(ORG_B)))!;
    assert.notEqual(orgA.address, orgB.address, 'two accounts');
    const wins = { A: 0, B: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      const number = `INST-${i}-42`;
      const paper = P.invoice(number);
      const inA = await api(a.apiUrl, 'POST', '/v1/records', {
        key: keyA('aerospace'),
        body: { type: 'invoice.issued', externalId: `INST-INV-${i}`, payload: paper },
      });
      assert.equal(inA.status, 202, JSON.stringify(inA.body));
      // B's record of the same paper invoice, typed differently: separators in the code, lower case, fewer zeros.
      const retyped = P.invoice(`00inst/${i}/42`, '1500.00', {
        invoiceCode: '0440-3190-0111',
        seller: { name: 'Aerostar Group', taxId: 'fr12345678901' },
      });
      const key = invoiceKey(SECRET, invoiceIdentity(paper));
      assert.equal(invoiceKey(SECRET, invoiceIdentity(retyped)), key, 'invoice key v2: one invoice');
      const inB = await api(b!.apiUrl, 'POST', '/v1/records', {
        key: keyB,
        body: { type: 'invoice.issued', externalId: `INST-INV-${i}`, payload: retyped },
      });
      assert.equal(inB.status, 202, JSON.stringify(inB.body));

      const body = (ext: string, inv: string) => ({ externalId: ext, payload: P.claim(`E-${ext}`), invoices: [inv] });
      // Even rounds: both requests leave together; both consumes are signed and sent within one block, and the
      // order the chain mines them in decides (the loser's consume is mined and reverts). Odd rounds: A leaves about
      // a block later, so B's consume gets in first and A is refused by its eth_call pre-check (nothing signed) or,
      // when both still land in one block, by the mined revert. Either way the loser ends `prepared` or `failed`.
      const lag = i % 2 === 1 ? 1_100 : 0;
      const claimA = async () => {
        await new Promise((r) => setTimeout(r, lag));
        return api(a.apiUrl, 'POST', '/v1/claims', { key: keyA('employer'), body: body(`INST-A-${i}`, inA.body.id) });
      };
      const claimB = () => api(b!.apiUrl, 'POST', '/v1/claims', { key: keyB, body: body(`INST-B-${i}`, inB.body.id) });
      const [ra, rb]: Answer[] = await Promise.all([claimA(), claimB()]);

      t.diagnostic(
        `round ${i} (A ${lag} ms later): A ${ra.status} ${ra.body.code ?? ra.body.claimStatus}, B ${rb.status} ${rb.body.code ?? rb.body.claimStatus}`,
      );
      assert.deepEqual([ra.status, rb.status].sort(), [201, 409], JSON.stringify([ra.body, rb.body]));
      const [winner, loser, winSide] = ra.status === 201 ? [ra, rb, 'A' as const] : [rb, ra, 'B' as const];
      wins[winSide]++;
      const [winOrg, loseRt, loseOrg, loseExt] =
        winSide === 'A' ? [orgA.id, b!, ORG_B, `INST-B-${i}`] : [orgB.id, a.runtime, orgA.id, `INST-A-${i}`];
      assert.equal(winner.body.claimStatus, 'recorded');
      assert.deepEqual(winner.body.invoiceKeys, [key]);
      assert.equal(loser.body.code, 'INVOICE_ALREADY_CLAIMED', JSON.stringify(loser.body));
      assert.equal(loser.body.invoiceKey, key);
      assert.equal(loser.body.earlierClaim.commitment, winner.body.commitment);
      // the winner's organisation, as the chain names it (keccak256 of its id); its record id is not the loser's
      assert.equal(loser.body.earlierClaim.org, keccakId(winOrg));
      assert.equal(loser.body.earlierClaim.id, null);

      // The chain: the key consumed once, by the winner's claim and organisation, not settled.
      const c = await a.runtime.gateway.consumptionOf(key);
      assert.deepEqual([c.claim, c.org, c.settled], [winner.body.commitment, keccakId(winOrg), false]);
      // The loser holds nothing: no expense.claim record, its claim not live, no consume of it mined.
      const held = await loseRt.store.read(async (r) => {
        const recs = await r.findByExternalIds(loseOrg, [{ type: 'expense.claim', externalId: loseExt }]);
        const claim = await r.getClaimByExternalId(loseOrg, loseExt);
        const txs = claim ? await r.outboxByRef('consume', claim.commitment) : [];
        return { recs, claim, txs };
      });
      assert.equal(held.recs.length, 0, 'no expense.claim record on the losing instance');
      if (held.claim) {
        assert.ok(['prepared', 'failed'].includes(held.claim.status), held.claim.status);
        for (const tx of held.txs) assert.notEqual(tx.status, 'mined', 'a consume of the loser was mined');
        // `prepared`: refused by the eth_call pre-check; `failed`: its consume was mined and reverted
        t.diagnostic(
          `round ${i}: loser's claim ${held.claim.status}${held.claim.error ? ` (${held.claim.error.split(':')[0]})` : ''}, its consume txs ${JSON.stringify(held.txs.map((x) => x.status))}`,
        );
      }
      // Asked again, the loser gets the same answer (nothing was left half done).
      const again = await api(loseRt.apiUrl, 'POST', '/v1/claims', {
        key: winSide === 'A' ? keyB : keyA('employer'),
        body: body(loseExt, winSide === 'A' ? inB.body.id : inA.body.id),
      });
      assert.equal(again.status, 409, JSON.stringify(again.body));
      assert.equal(again.body.code, 'INVOICE_ALREADY_CLAIMED');
    }
    t.diagnostic(`wins: A ${wins.A}, B ${wins.B} of ${ROUNDS}`);
  });
});
