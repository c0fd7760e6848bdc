/**
 * Bank pilot (blockchain issuance of securities) through the HTTP API of a running `npm start`:
 * issuance signed by the bank's own SIGNER key and co-signed by the registrar (the demo co-signing policy
 * `security.issuance` → [registrar]) → allocations → transfer chain → redemption, with the lifecycle refusals, then
 * the trace (both signatures, the policy met) and the lineage bundle verified against the chain.
 * Usage: node -r ts-node/register scripts/scenario-bank.ts [dataDir=./data]
 */
import fs from 'node:fs';
import { JsonRpcProvider } from 'ethers';
import { NotaryClient, digestSignerFromKey } from '../src/client';
import { ChainRootSource, verifyBundle } from '../src/verifier';
import { ChainPolicySource, withCosignPolicies } from '../src/verifier/cosign-policy';
import * as P from './lib/pilot-payloads';
import { RUN, call, loadDemo, printCompleteness, printTrace, step, waitAnchored, type Json } from './lib/scenario';

/** The demo SIGNER key of `org` (dev only: a raw key file next to demo.json, written by npm start). */
function demoSigner(demo: ReturnType<typeof loadDemo>, org: string) {
  const s = (demo.orgs as { id: string; signer?: { keyFile: string } }[]).find((o) => o.id === org)?.signer;
  if (!s) throw new Error(`demo.json has no SIGNER key for ${org}: restart npm start with this version`);
  return digestSignerFromKey(fs.readFileSync(s.keyFile, 'utf8').trim());
}

async function main() {
  const demo = loadDemo();
  const bank = demo.key('bank');
  const post = (label: string, body: unknown, expected = 202) =>
    step(demo, label, bank, 'POST', '/v1/records', body, expected);
  console.log(`bank scenario (run ${RUN}) against ${demo.apiUrl}`);

  // The issuance, signed by the bank itself (receipt version 2): id, salt and signature chosen on this side.
  const bankClient = new NotaryClient({ baseUrl: demo.apiUrl, apiKey: bank });
  const [issSigned] = await bankClient.signRecords(
    [{ type: 'security.issuance', externalId: `ISS-${RUN}`, payload: P.issuance(1) }],
    demoSigner(demo, 'bank'),
    { orgId: 'bank' },
  );
  const iss = await post('issue the bond (security.issuance), signed by the bank', issSigned);
  // The registrar co-signs it: a signed `cosignature` record of its own, naming the issuance as its only parent.
  // It cannot read the bank's records; the policy names it, and the bank hands it the id and commitment.
  const registrar = demo.key('registrar');
  const [cosSigned] = await new NotaryClient({ baseUrl: demo.apiUrl, apiKey: registrar }).signRecords(
    [
      {
        type: 'cosignature',
        externalId: `COSIGN-ISS-${RUN}`,
        payload: { role: 'registrar', statement: `Entered in the register of ${P.issuance(1).isin}` },
        parents: [iss.id],
      },
    ],
    demoSigner(demo, 'registrar'),
    { orgId: 'registrar', parentCommitments: { [iss.id]: iss.commitment } },
  );
  const cos = await step(
    demo,
    'co-sign the issuance (cosignature), signed by the registrar',
    registrar,
    'POST',
    '/v1/records',
    cosSigned,
    202,
  );
  await step(
    demo,
    'employer tries to co-sign it (no policy names it, no grant)',
    demo.key('employer'),
    'POST',
    '/v1/records',
    { type: 'cosignature', payload: { role: 'trustee' }, parents: [iss.id] },
    422,
  );
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
  await waitAnchored(demo, registrar, [cos.id]);
  console.log(' done');
  const trace = await call(demo, demo.key('auditor'), 'GET', `/v1/records/${iss.id}/trace`);
  printTrace(`trace of the issuance ${iss.id} (auditor view)`, trace.body);
  const receipt = (await call(demo, bank, 'GET', `/v1/records/${iss.id}/receipt`)).body;
  console.log(
    `\nissuance receipt: version ${receipt.version}, signed by ${receipt.signatures?.map((x: Json) => x.signer).join(', ')}`,
  );
  for (const c of trace.body.cosigning as Json[]) {
    const who = c.cosigned.map((x: Json) => `${x.orgId} (cosignature ${x.cosignature.slice(-8)})`).join(', ');
    console.log(
      `co-signing policy of ${c.type} ${c.record.slice(-8)}: ${c.met ? 'met' : 'NOT met'}; co-signed by ${who || 'nobody'}`,
    );
  }
  // The lineage bundle, verified here against the chain (anchors, signer keys and the policy from the directory).
  const bundle = (await call(demo, demo.key('auditor'), 'GET', `/v1/records/${iss.id}/trace?format=bundle`)).body;
  const provider = new JsonRpcProvider(demo.rpcUrl);
  try {
    const v = await verifyBundle(bundle, {
      rootSource: withCosignPolicies(new ChainRootSource({ provider }), new ChainPolicySource({ provider })),
    });
    const check = v.checks.find((c) => c.name === 'cosigning');
    console.log(
      `lineage bundle: ${v.receipts.length} receipts, ${v.valid ? 'valid' : 'INVALID'}; cosigning check ${check?.status}${v.errors.length ? `; ${v.errors.join('; ')}` : ''}`,
    );
    if (!v.valid) process.exitCode = 1;
  } finally {
    provider.destroy();
  }
  await printCompleteness(demo, bank, 'bank');
}

main().catch((err) => {
  console.error(String(err));
  process.exit(1);
});
