// Issue 12's attack, on a real chain (the embedded anvil of `npm start`): a member holding its own ANCHORER key
// anchors a one-leaf root for a record that names `orgId: "bank"` and assembles the receipt. Registry v2 binds the
// anchor to the member's organisation, so POST /v1/verify and `notary verify` refuse it (organisation ✗).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { id } from 'ethers';
import type { ReceiptV1 } from '../../src/domain';
import { forgeReceipt } from '../helpers/forge';
import { api, eventually, startInstance, type Instance } from '../helpers/instance';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'notary.js');

function notary(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NOTARY_') && k !== 'DATA_DIR') env[k] = v;
  env.DATA_DIR = path.join(cwd, 'no-data');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('forged organisation: a member anchors a record naming another organisation (registry v2)', () => {
  let inst: Instance;
  let work: string;
  let forged: ReceiptV1;
  const payload = { title: 'Northbridge Bank board resolution', n: 42 };

  before(async () => {
    inst = await startInstance();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-forged-'));
    const forgery = await forgeReceipt(inst, { attackerOrg: 'mallory', victimOrgId: 'bank', payload });
    assert.equal(forgery.anchoredOrg, id('mallory'), 'the registry bound the anchor to the attacker’s organisation');
    forged = forgery.receipt;
    fs.writeFileSync(path.join(work, 'forged.json'), JSON.stringify(forged));
    fs.writeFileSync(path.join(work, 'payload.json'), JSON.stringify(payload));
  });
  after(async () => {
    await inst?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('POST /v1/verify: invalid, only the organisation check fails, and the organisation is not verified', async () => {
    const v = await api(inst.apiUrl, 'POST', '/v1/verify', { body: { receipt: forged, payload } });
    assert.equal(v.status, 200);
    assert.equal(v.body.valid, false);
    assert.equal(v.body.organisationVerified, false);
    assert.deepEqual(
      v.body.checks.map((c: { name: string; status: string }) => [c.name, c.status]),
      [
        ['schema', 'passed'],
        ['digest', 'passed'],
        ['commitment', 'passed'],
        ['merkle', 'passed'],
        ['anchor', 'passed'],
        ['organisation', 'failed'],
        ['submitter', 'passed'],
        ['timestamp', 'passed'],
      ],
    );
    const org = v.body.checks.find((c: { name: string }) => c.name === 'organisation');
    assert.match(org.reason, new RegExp(`anchored for organisation ${id('mallory')}, not for "bank"`));
  });

  it('notary verify: exit 1, organisation ✗', async () => {
    const r = await notary(['verify', 'forged.json', '--payload', 'payload.json', '--rpc', inst.rpcUrl], work);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /✗ organisation\s+anchored for organisation 0x[0-9a-f]{64}, not for "bank"/);
    assert.match(r.stdout, /^INVALID: failed organisation$/m);
  });

  it('a receipt the service anchored for the bank verifies with the organisation verified (API and CLI)', async () => {
    const bank = inst.demo.orgs.find((o) => o.id === 'bank')!;
    const sub = await api(inst.apiUrl, 'POST', '/v1/records', {
      key: bank.apiKey,
      body: { type: 'document', externalId: 'BOARD-1', payload },
    });
    assert.equal(sub.status, 202, JSON.stringify(sub.body));
    const receipt = await eventually(async () => {
      const r = await api(inst.apiUrl, 'GET', `/v1/records/${sub.body.id}/receipt`, { key: bank.apiKey });
      return r.status === 200 ? r.body : null;
    });
    const v = await api(inst.apiUrl, 'POST', '/v1/verify', { body: { receipt, payload } });
    assert.equal(v.body.valid, true, JSON.stringify(v.body.checks));
    assert.equal(v.body.organisationVerified, true);
    assert.deepEqual(v.body.checks[5], { name: 'organisation', status: 'passed' });
    fs.writeFileSync(path.join(work, 'bank.json'), JSON.stringify(receipt));
    const r = await notary(['verify', 'bank.json', '--payload', 'payload.json', '--rpc', inst.rpcUrl], work);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /✓ organisation\s+anchored for the organisation the record names/);
    assert.match(r.stdout, /^VALID: record \S+ \(document; organisation bank verified\)/m);
  });
});
