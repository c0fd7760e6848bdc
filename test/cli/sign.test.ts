// `notary submit --sign-with` / `--signer-key-file` end to end: a real instance (embedded anvil, the `npm start`
// code path) and the CLI binary as a child process, signing with the demo bank's SIGNER key.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Wallet, encryptKeystoreJsonSync, verifyTypedData } from 'ethers';
import { RECORD_COMMITMENT_TYPES, recordSigningDomain } from '../../src/client';
import { startInstance, type Instance } from '../helpers/instance';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'notary.js');
let inst: Instance;
let work: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function notary(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NOTARY_') && k !== 'DATA_DIR') base[k] = v;
  const full: NodeJS.ProcessEnv = {
    ...base,
    DATA_DIR: path.join(work, 'no-data'),
    NOTARY_API_URL: inst.apiUrl,
    ...env,
  };
  for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const bank = () => inst.demo.orgs.find((o) => o.id === 'bank')!;
const asBank = () => ({ NOTARY_API_KEY: bank().apiKey });

describe('notary submit --sign-with (end to end)', { timeout: 300_000 }, () => {
  let keystore: string;
  before(async () => {
    inst = await startInstance();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-sign-'));
    const key = fs.readFileSync(bank().signer!.keyFile, 'utf8').trim();
    const w = new Wallet(key);
    keystore = path.join(work, 'bank-signer.json');
    // A light scrypt (N = 2^10) keeps the test fast; a real keystore uses ethers' default (2^17).
    fs.writeFileSync(
      keystore,
      encryptKeystoreJsonSync({ address: w.address, privateKey: w.privateKey }, 'correct horse', {
        scrypt: { N: 1024 },
      }),
    );
    fs.writeFileSync(
      path.join(work, 'docs.json'),
      JSON.stringify([
        { type: 'document', externalId: 'SIGNED-1', payload: { title: 'signed one' } },
        { type: 'document', externalId: 'SIGNED-2', payload: { title: 'signed two' } },
        { type: 'document', payload: { title: 'signed three, no externalId' } },
      ]),
    );
  });
  after(async () => {
    await inst?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('refuses a keystore without its password, with a wrong one, or without the organisation', async () => {
    const noPassword = await notary(['submit', 'docs.json', '--sign-with', keystore, '--org', 'bank'], asBank());
    assert.equal(noPassword.code, 2, noPassword.stderr);
    assert.match(noPassword.stderr, /NOTARY_SIGNER_PASSWORD/);
    const wrong = await notary(['submit', 'docs.json', '--sign-with', keystore, '--org', 'bank'], {
      ...asBank(),
      NOTARY_SIGNER_PASSWORD: 'wrong',
    });
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /SIGNER_KEY_INVALID/);
    const noOrg = await notary(['submit', 'docs.json', '--sign-with', keystore], {
      ...asBank(),
      NOTARY_SIGNER_PASSWORD: 'correct horse',
    });
    assert.equal(noOrg.code, 2, noOrg.stderr);
    assert.match(noOrg.stderr, /--org/);
    const both = await notary(
      ['submit', 'docs.json', '--sign-with', keystore, '--signer-key-file', bank().signer!.keyFile],
      asBank(),
    );
    assert.equal(both.code, 2);
    assert.match(both.stderr, /exclude each other/);
    assert.equal(fs.existsSync(path.join(work, 'docs.json.notary-state.json')), false, 'nothing was sent');
  });

  it('signs every record, waits, and writes version 2 receipts signed by the bank', async () => {
    const r = await notary(['submit', 'docs.json', '--sign-with', keystore, '--org', 'bank', '--wait', '--json'], {
      ...asBank(),
      NOTARY_SIGNER_PASSWORD: 'correct horse',
    });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /signed 3 record\(s\) as 0x[0-9a-fA-F]{40} for bank/);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.created, 3);
    assert.equal(summary.receiptsWritten, 3);
    const domain = recordSigningDomain(inst.demo.chainId, inst.demo.registry);
    // An array input: receipts under docs.json.receipts/.
    const dir = path.join(work, 'docs.json.receipts');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.receipt.json'));
    const receipts = files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
    assert.equal(receipts.length, 3);
    for (const rc of receipts) {
      assert.equal(rc.version, 2);
      assert.equal(rc.signatures.length, 1);
      assert.equal(rc.signatures[0].signer, bank().signer!.address);
      assert.equal(
        verifyTypedData(domain, RECORD_COMMITMENT_TYPES, { commitment: rc.commitment }, rc.signatures[0].signature),
        bank().signer!.address,
      );
    }
    // The CLI's offline verifier accepts it (the anchor and the signer key read from the chain).
    const file = path.join(dir, files[0]!);
    const v = await notary(['verify', file, '--rpc', inst.rpcUrl, '--json']);
    assert.equal(v.code, 0, v.stderr + v.stdout);
  });

  it('--signer-key-file signs with a raw key (development); --as names the organisation', async () => {
    fs.writeFileSync(path.join(work, 'raw.json'), JSON.stringify({ type: 'document', payload: { title: 'raw key' } }));
    const r = await notary(
      ['submit', 'raw.json', '--as', 'bank', '--signer-key-file', bank().signer!.keyFile, '--wait', '--json'],
      { DATA_DIR: inst.dataDir },
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const rc = JSON.parse(fs.readFileSync(path.join(work, 'raw.receipt.json'), 'utf8'));
    assert.equal(rc.version, 2);
    assert.equal(rc.signatures[0].signer, bank().signer!.address);
    // A key that is not a SIGNER key of the bank: refused by the service, per record.
    fs.writeFileSync(path.join(work, 'stranger.key'), Wallet.createRandom().privateKey + '\n');
    fs.writeFileSync(path.join(work, 'other.json'), JSON.stringify({ type: 'document', payload: { title: 'x' } }));
    const bad = await notary(['submit', 'other.json', '--as', 'bank', '--signer-key-file', 'stranger.key', '--json'], {
      DATA_DIR: inst.dataDir,
    });
    assert.equal(bad.code, 1, bad.stderr + bad.stdout);
    assert.equal(JSON.parse(bad.stdout).rejected, 1);
  });
});
