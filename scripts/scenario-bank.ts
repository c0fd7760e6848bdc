/**
 * Bank pilot (blockchain issuance of securities) through the HTTP API of a running `npm start`:
 * issuance → allocations → transfer chain → redemption, with the lifecycle refusals, then the trace.
 * Usage: node -r ts-node/register scripts/scenario-bank.ts [dataDir=./data]
 */
import * as P from './lib/pilot-payloads';
import { RUN, call, loadDemo, printCompleteness, printTrace, step, waitAnchored } from './lib/scenario';

async function main() {
  const demo = loadDemo();
  const bank = demo.key('bank');
  const post = (label: string, body: unknown, expected = 202) =>
    step(demo, label, bank, 'POST', '/v1/records', body, expected);
  console.log(`bank scenario (run ${RUN}) against ${demo.apiUrl}`);

  const iss = await post('issue the bond (security.issuance)', {
    type: 'security.issuance',
    externalId: `ISS-${RUN}`,
    payload: P.issuance(1),
  });
  const alloc = await post('allocate 3,000 to investor INV-A', {
    type: 'security.allocation',
    externalId: `ALLOC-A-${RUN}`,
    payload: P.allocation('INV-A', '3000'),
    parents: [iss.id],
  });
  await post('allocate 2,000 to investor INV-B', {
    type: 'security.allocation',
    externalId: `ALLOC-B-${RUN}`,
    payload: P.allocation('INV-B', '2000'),
    parents: [iss.id],
  });
  const t1 = await post('transfer 1,000 INV-A → INV-C (follows the issuance)', {
    type: 'security.transfer',
    externalId: `TR1-${RUN}`,
    payload: P.transfer('INV-A', 'INV-C', '1000', 2),
    parents: [iss.id],
  });
  const t2 = await post('transfer 500 INV-C → INV-D (follows transfer 1)', {
    type: 'security.transfer',
    externalId: `TR2-${RUN}`,
    payload: P.transfer('INV-C', 'INV-D', '500', 3),
    parents: [t1.id],
  });
  await post(
    'transfer naming transfer 1 again (a fork)',
    { type: 'security.transfer', payload: P.transfer('INV-C', 'INV-E', '1', 4), parents: [t1.id] },
    409,
  );
  const t3 = await post('transfer 200 INV-D → INV-B (follows transfer 2)', {
    type: 'security.transfer',
    externalId: `TR3-${RUN}`,
    payload: P.transfer('INV-D', 'INV-B', '200', 5),
    parents: [t2.id],
  });
  await post(
    'transfer 301 INV-D → INV-E (INV-D holds 300: over-transfer)',
    { type: 'security.transfer', payload: P.transfer('INV-D', 'INV-E', '301', 6), parents: [t3.id] },
    422,
  );
  await post(
    'allocate 1 more to investor INV-F (all 5,000 units of the nominal are allocated: over-allocation)',
    { type: 'security.allocation', payload: P.allocation('INV-F', '1'), parents: [iss.id] },
    422,
  );
  const red = await post('redeem at maturity (security.redemption)', {
    type: 'security.redemption',
    externalId: `RED-${RUN}`,
    payload: P.redemption(),
    parents: [iss.id],
  });
  await post(
    'transfer after the redemption',
    { type: 'security.transfer', payload: P.transfer('INV-B', 'INV-F', '1', 6), parents: [t3.id] },
    409,
  );
  await post('second redemption', { type: 'security.redemption', payload: P.redemption('1'), parents: [iss.id] }, 409);

  process.stdout.write('  … waiting for anchoring');
  await waitAnchored(demo, bank, [iss.id, alloc.id, t1.id, t2.id, t3.id, red.id]);
  console.log(' done');
  const trace = await call(demo, demo.key('auditor'), 'GET', `/v1/records/${iss.id}/trace`);
  printTrace(`trace of the issuance ${iss.id} (auditor view)`, trace.body);
  await printCompleteness(demo, bank, 'bank');
}

main().catch((err) => {
  console.error(String(err));
  process.exit(1);
});
