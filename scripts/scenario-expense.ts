/**
 * Expense pilot (employee reimbursement, consortium-wide double-reimbursement guard) through the HTTP API of a
 * running `npm start`: the employer claims an aerospace invoice, approves and reimburses it; a second claim of
 * the same invoice is refused (also when another member typed it differently, and when it names an invoice it may
 * not read); the reimbursed claim is settled on chain and a release of it is refused (by the service and, asked
 * with an eth_call, by the ClaimRegistry: CLAIM_SETTLED); a corrected invoice cannot be claimed; a rejected claim
 * releases its invoice, which is claimed again.
 * Usage: node -r ts-node/register scripts/scenario-expense.ts [dataDir=./data]
 */
import * as P from './lib/pilot-payloads';
import { RUN, call, loadDemo, printCompleteness, printTrace, releaseOnChain, step, waitAnchored } from './lib/scenario';

async function main() {
  const demo = loadDemo();
  const [aero, emp, bank] = [demo.key('aerospace'), demo.key('employer'), demo.key('bank')];
  console.log(`expense scenario (run ${RUN}) against ${demo.apiUrl}`);

  const x = await step(
    demo,
    `aerospace issues invoice ${RUN}-X`,
    aero,
    'POST',
    '/v1/records',
    { type: 'invoice.issued', externalId: `INV-${RUN}-X`, payload: P.invoice(`${RUN}X`) },
    202,
  );
  const y = await step(
    demo,
    `aerospace issues invoice ${RUN}-Y`,
    aero,
    'POST',
    '/v1/records',
    { type: 'invoice.issued', externalId: `INV-${RUN}-Y`, payload: P.invoice(`${RUN}Y`, '900.00') },
    202,
  );
  const claim = (label: string, key: string, ext: string, invoices: string[], expected: number, amount = '1500.00') =>
    step(
      demo,
      label,
      key,
      'POST',
      '/v1/claims',
      { externalId: ext, payload: P.claim(`E-${ext}`, amount), invoices },
      expected,
    );

  const c1 = await claim('employer claims invoice X (consume on chain)', emp, `CLM-${RUN}-1`, [x.id], 201);
  console.log(
    `      invoice key ${c1.invoiceKeys[0].slice(0, 18)}…  consumed in tx ${c1.chain.txHash.slice(0, 18)}… block ${c1.chain.blockNumber}`,
  );
  const appr = await step(
    demo,
    'employer approves the claim',
    emp,
    'POST',
    '/v1/records',
    { type: 'expense.approved', externalId: `APR-${RUN}-1`, payload: P.approved(), parents: [c1.id] },
    202,
  );
  const reimb = await step(
    demo,
    'employer reimburses the approval',
    emp,
    'POST',
    '/v1/records',
    { type: 'expense.reimbursed', externalId: `PAY-${RUN}-1`, payload: P.reimbursed(), parents: [appr.id] },
    202,
  );
  await step(
    demo,
    'employer reimburses the approval again',
    emp,
    'POST',
    '/v1/records',
    { type: 'expense.reimbursed', payload: P.reimbursed('AGAIN'), parents: [appr.id] },
    409,
  );
  // The reimbursement settles the claim on chain: its invoice key stays consumed for ever. A release is refused by
  // the service (the claim is decided: a rejection cannot follow the approval) and by the chain itself.
  process.stdout.write('  … waiting for the settle of the reimbursed claim on chain');
  for (let i = 0; ; i++) {
    const s = (await call(demo, emp, 'GET', `/v1/claims/${c1.id}`)).body;
    if (s.status === 'settled') {
      console.log(` done (tx ${s.settleTx.txHash.slice(0, 18)}…)`);
      break;
    }
    if (i > 200) throw new Error('settle not mined');
    await new Promise((r) => setTimeout(r, 300));
  }
  await step(
    demo,
    'employer rejects the reimbursed claim (a release of its key)',
    emp,
    'POST',
    '/v1/records',
    { type: 'expense.rejected', externalId: `REJ-${RUN}-1`, payload: P.rejected(), parents: [c1.id] },
    409,
  );
  const refused = await releaseOnChain(demo, 'employer', c1.commitment);
  console.log(
    `  ${refused.ok ? '✗' : '✓'} ${'the chain itself refuses release(claim) from the employer'.padEnd(58)} → ${refused.ok ? 'would release!' : `${refused.error.code}: ${refused.error.message.replace(/\(.*$/s, '')}`}`,
  );
  if (refused.ok) throw new Error('the chain would release a settled claim');
  await claim(
    "bank names aerospace's invoice X (not its to read: like an unknown id)",
    bank,
    `BANK-CLM-${RUN}-0`,
    [x.id],
    422,
  );
  // The bank's own record of the same paper invoice, typed differently: code with separators, number in lower
  // case with separators and leading zeros, the seller's tax id in lower case. Invoice key v2 sees one invoice.
  const retyped = P.invoice(`00-${RUN.toLowerCase()}-x`, '1500.00', {
    invoiceCode: '0440-3190-0111',
    seller: { name: 'Aerostar Group', taxId: 'fr12345678901' },
  });
  const xCopy = await step(
    demo,
    'bank notarizes its own copy of invoice X, typed differently',
    bank,
    'POST',
    '/v1/records',
    { type: 'invoice.issued', externalId: `COPY-${RUN}-X`, payload: retyped },
    202,
  );
  const dup = await claim('bank claims its retyped copy of invoice X', bank, `BANK-CLM-${RUN}`, [xCopy.id], 409);
  console.log(
    `      same invoice key; earlier claim ${dup.earlierClaim.commitment.slice(0, 18)}… by ${dup.earlierClaim.orgId ?? dup.earlierClaim.org} at ${dup.earlierClaim.claimedAt}`,
  );
  await claim('employer claims invoice X again (new externalId)', emp, `CLM-${RUN}-1b`, [x.id], 409);

  const z = await step(
    demo,
    `aerospace issues invoice ${RUN}-Z`,
    aero,
    'POST',
    '/v1/records',
    { type: 'invoice.issued', externalId: `INV-${RUN}-Z`, payload: P.invoice(`${RUN}Z`) },
    202,
  );
  const z2 = await step(
    demo,
    `aerospace corrects invoice ${RUN}-Z (supersedes it)`,
    aero,
    'POST',
    '/v1/records',
    { type: 'invoice.issued', externalId: `INV-${RUN}-Z2`, payload: P.invoice(`${RUN}Z2`), supersedes: z.id },
    202,
  );
  await claim('employer claims the superseded invoice Z', emp, `CLM-${RUN}-Z`, [z.id], 409);
  const cz = await claim('employer claims its correction (consumes both versions)', emp, `CLM-${RUN}-Z2`, [z2.id], 201);
  console.log(`      keys consumed: ${cz.invoiceKeys.map((k: string) => k.slice(0, 12) + '…').join(', ')}`);

  await claim(
    'employer claims 900.01 on invoice Y of 900.00 (over-claim: refused before any chain transaction)',
    emp,
    `CLM-${RUN}-2x`,
    [y.id],
    422,
    '900.01',
  );
  const c2 = await claim('employer claims invoice Y', emp, `CLM-${RUN}-2`, [y.id], 201, '900.00');
  await step(
    demo,
    'employer rejects that claim',
    emp,
    'POST',
    '/v1/records',
    { type: 'expense.rejected', externalId: `REJ-${RUN}-2`, payload: P.rejected(), parents: [c2.id] },
    202,
  );
  process.stdout.write('  … waiting for the release of its invoice key on chain');
  for (let i = 0; ; i++) {
    const s = (await call(demo, emp, 'GET', `/v1/claims/${c2.id}`)).body;
    if (s.status === 'released') {
      console.log(` done (tx ${s.releaseTx.txHash.slice(0, 18)}…)`);
      break;
    }
    if (i > 200) throw new Error('release not mined');
    await new Promise((r) => setTimeout(r, 300));
  }
  const yCopy = await step(
    demo,
    'bank notarizes its own copy of invoice Y',
    bank,
    'POST',
    '/v1/records',
    { type: 'invoice.issued', externalId: `COPY-${RUN}-Y`, payload: P.invoice(`${RUN}Y`, '900.00') },
    202,
  );
  const c3 = await claim(
    'bank claims invoice Y after the release',
    bank,
    `BANK-CLM-${RUN}-Y`,
    [yCopy.id],
    201,
    '900.00',
  );

  process.stdout.write('  … waiting for anchoring');
  await waitAnchored(demo, emp, [c1.id, appr.id, reimb.id, c2.id]);
  await waitAnchored(demo, bank, [c3.id]);
  await waitAnchored(demo, aero, [x.id, y.id]);
  console.log(' done');
  printTrace(
    `trace of the reimbursement ${reimb.id} (employer view)`,
    (await call(demo, emp, 'GET', `/v1/records/${reimb.id}/trace`)).body,
  );
  printTrace(
    `trace of invoice Y ${y.id} (auditor view)`,
    (await call(demo, demo.key('auditor'), 'GET', `/v1/records/${y.id}/trace`)).body,
  );
  await printCompleteness(demo, emp, 'employer');
}

main().catch((err) => {
  console.error(String(err));
  process.exit(1);
});
