/**
 * Aerospace pilot (blockchain e-invoices) through the HTTP API of a running `npm start`:
 * invoices issued, one voided (and then refused payment), one paid (once), a corrected invoice superseding another,
 * an invoice whose amounts do not add up refused (EN 16931), one paid in two parts with an over-payment refused.
 * Usage: node -r ts-node/register scripts/scenario-aerospace.ts [dataDir=./data]
 */
import * as P from './lib/pilot-payloads';
import { RUN, call, loadDemo, printCompleteness, printTrace, step, waitAnchored } from './lib/scenario';

async function main() {
  const demo = loadDemo();
  const aero = demo.key('aerospace');
  const post = (label: string, body: unknown, expected = 202) =>
    step(demo, label, aero, 'POST', '/v1/records', body, expected);
  console.log(`aerospace scenario (run ${RUN}) against ${demo.apiUrl}`);

  const a = await post(`issue invoice ${RUN}-A`, {
    type: 'invoice.issued',
    externalId: `INV-${RUN}-A`,
    payload: P.invoice(`${RUN}A`),
  });
  const b = await post(`issue invoice ${RUN}-B`, {
    type: 'invoice.issued',
    externalId: `INV-${RUN}-B`,
    payload: P.invoice(`${RUN}B`),
  });
  const c = await post(`issue invoice ${RUN}-C (wrong amount)`, {
    type: 'invoice.issued',
    externalId: `INV-${RUN}-C`,
    payload: P.invoice(`${RUN}C`, '1600.00'),
  });
  const v = await post('void invoice B (red-letter credit note)', {
    type: 'invoice.voided',
    externalId: `CN-${RUN}-B`,
    payload: P.voided(`CN${RUN}`),
    parents: [b.id],
  });
  await post(
    'pay the voided invoice B',
    { type: 'invoice.paid', payload: P.paid(`SEPA-${RUN}-B`), parents: [b.id] },
    409,
  );
  await post('void invoice B again', { type: 'invoice.voided', payload: P.voided(`CN${RUN}X`), parents: [b.id] }, 409);
  const p = await post('pay invoice A', {
    type: 'invoice.paid',
    externalId: `PAY-${RUN}-A`,
    payload: P.paid(`SEPA-${RUN}-A`),
    parents: [a.id],
  });
  await post(
    'pay invoice A a second time',
    { type: 'invoice.paid', externalId: `PAY-${RUN}-A2`, payload: P.paid(`SEPA-${RUN}-A2`), parents: [a.id] },
    409,
  );
  // Business rules (EN 16931 calculation rules; payments never above the amount due).
  await post(
    'issue an invoice whose amounts do not add up (2 × 1250.00 with a line amount of 1.00, gross 7.00)',
    {
      type: 'invoice.issued',
      externalId: `INV-${RUN}-BAD`,
      payload: P.invoice(`${RUN}BAD`, '7.00', {
        lines: [{ description: 'Cabin refit', quantity: '2', unitPrice: '1250.00', amount: '1.00', taxRate: '0.20' }],
        totalNet: '1250.00',
        totalTax: '999.00',
        totalGross: '7.00',
      }),
    },
    422,
  );
  const d = await post(`issue invoice ${RUN}-D`, {
    type: 'invoice.issued',
    externalId: `INV-${RUN}-D`,
    payload: P.invoice(`${RUN}D`),
  });
  const d1 = await post('pay 1000.00 of invoice D (partial)', {
    type: 'invoice.paid',
    externalId: `PAY-${RUN}-D1`,
    payload: P.paid(`SEPA-${RUN}-D1`, '1000.00'),
    parents: [d.id],
  });
  await post(
    'pay 600.00 more (over-payment: only 500.00 is due)',
    { type: 'invoice.paid', externalId: `PAY-${RUN}-D2`, payload: P.paid(`SEPA-${RUN}-D2`, '600.00'), parents: [d.id] },
    422,
  );
  const d3 = await post('pay the last 500.00 of invoice D', {
    type: 'invoice.paid',
    externalId: `PAY-${RUN}-D3`,
    payload: P.paid(`SEPA-${RUN}-D3`, '500.00'),
    parents: [d.id],
  });
  const c2 = await post('corrected invoice C′ supersedes C', {
    type: 'invoice.issued',
    externalId: `INV-${RUN}-C2`,
    payload: P.invoice(`${RUN}C`, '1500.00', { notes: 'corrects the gross amount' }),
    supersedes: c.id,
  });
  await post(
    'a second correction of C',
    { type: 'invoice.issued', externalId: `INV-${RUN}-C3`, payload: P.invoice(`${RUN}C`, '1400.00'), supersedes: c.id },
    409,
  );

  process.stdout.write('  … waiting for anchoring');
  await waitAnchored(demo, aero, [a.id, b.id, c.id, v.id, p.id, c2.id, d.id, d1.id, d3.id]);
  console.log(' done');
  for (const [label, id] of [
    ['paid invoice A', a.id],
    ['voided invoice B', b.id],
    ['superseded invoice C', c.id],
  ] as const) {
    const t = await call(demo, aero, 'GET', `/v1/records/${id}/trace`);
    printTrace(`trace of the ${label} ${id}`, t.body);
  }
  const receipt = (await call(demo, aero, 'GET', `/v1/records/${c.id}/receipt`)).body;
  const verdict = (await call(demo, aero, 'POST', '/v1/verify', { receipt, payload: P.invoice(`${RUN}C`, '1600.00') }))
    .body;
  console.log(
    `\nPOST /v1/verify of C's receipt: valid=${verdict.valid}, superseded by ${verdict.superseded?.by ?? '-'}`,
  );
  await printCompleteness(demo, aero, 'aerospace');
}

main().catch((err) => {
  console.error(String(err));
  process.exit(1);
});
