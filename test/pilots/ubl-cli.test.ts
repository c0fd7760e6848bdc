// End to end: a UBL invoice through the HTTP API of a real instance (embedded chain), then `notary verify
// --payload invoice.xml` as a child process re-derives the payload from the XML file and checks the receipt.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, startInstance, type Instance } from '../helpers/instance';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'notary.js');
const XML = path.join(__dirname, '..', 'fixtures', 'peppol', 'Allowance-example.xml');

function notary(
  args: string[],
  cwd: string,
  extra: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NOTARY_') && k !== 'DATA_DIR') env[k] = v;
  env.DATA_DIR = path.join(cwd, 'no-data');
  env.NOTARY_API_URL = 'http://127.0.0.1:1'; // verify must not call the API
  Object.assign(env, extra);
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

describe('notary verify --payload invoice.xml (UBL 2.1)', () => {
  let inst: Instance;
  let work: string;
  let receiptFile: string;

  before(async () => {
    inst = await startInstance();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-ubl-'));
    const key = inst.demo.orgs.find((o) => o.id === 'aerospace')!.apiKey;
    const res = await fetch(`${inst.apiUrl}/v1/records?externalId=cli-allowance`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' },
      body: fs.readFileSync(XML),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { id } = (await res.json()) as { id: string };
    const receipt = await eventually(async () => {
      const r = await fetch(`${inst.apiUrl}/v1/records/${id}/receipt`, { headers: { authorization: `Bearer ${key}` } });
      return r.status === 200 ? r.text() : null;
    }, 60_000);
    receiptFile = path.join(work, 'receipt.json');
    fs.writeFileSync(receiptFile, receipt);
  });
  after(async () => {
    await inst?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('the XML file as it travels verifies against the receipt (every check ✓)', async () => {
    const r = await notary(
      ['verify', receiptFile, '--payload', XML, '--rpc', inst.rpcUrl, '--registry', inst.demo.registry],
      work,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /payload derived from UBL .*Allowance-example\.xml \(sha256 f7514b1a8711/);
    assert.match(r.stdout, /^✓ digest/m);
    assert.match(r.stdout, /^VALID: record/m);
  });

  it('an edited copy of the XML fails the digest check (exit 1)', async () => {
    const edited = path.join(work, 'edited.xml');
    // Same amounts (the rules would pass), one byte of a reference changed: the source hash differs.
    fs.writeFileSync(
      edited,
      fs.readFileSync(XML, 'utf8').replace('<cbc:BuyerReference>0150abc<', '<cbc:BuyerReference>0150abd<'),
    );
    const r = await notary(['verify', receiptFile, '--payload', edited, '--rpc', inst.rpcUrl], work);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^✗ digest/m);
  });

  it('notary org create --rules warn / notary org set --rules: the organisation setting through the admin API', async () => {
    const env = { NOTARY_API_URL: inst.apiUrl, NOTARY_API_KEY: inst.demo.admin.apiKey };
    const created = await notary(
      ['org', 'create', 'lax-co', '--name', 'Lax Co', '--kind', 'operator', '--rules', 'warn', '--json'],
      work,
      env,
    );
    assert.equal(created.code, 0, created.stdout + created.stderr);
    assert.equal(JSON.parse(created.stdout).rules, 'warn');
    const set = await notary(['org', 'set', 'lax-co', '--rules', 'refuse'], work, env);
    assert.equal(set.code, 0, set.stdout + set.stderr);
    assert.match(set.stdout, /lax-co: rules refuse/);
    const view = await fetch(`${inst.apiUrl}/v1/orgs/lax-co`, {
      headers: { authorization: `Bearer ${inst.demo.admin.apiKey}` },
    });
    assert.equal(((await view.json()) as { rules: string }).rules, 'refuse');
    const bad = await notary(['org', 'set', 'lax-co', '--rules', 'maybe'], work, env);
    assert.notEqual(bad.code, 0);
  });

  it('hostile XML given as --payload is a usage error (exit 2), not a crash', async () => {
    const bad = path.join(work, 'bad.xml');
    fs.writeFileSync(bad, '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Invoice>&a;</Invoice>');
    const r = await notary(['verify', receiptFile, '--payload', bad, '--rpc', inst.rpcUrl], work);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr + r.stdout, /DOCTYPE/);
  });
});
