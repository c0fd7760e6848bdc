// End to end: the `notary` CLI as a child process (node bin/notary.js …) against a real running instance.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JsonRpcProvider, Wallet, getAddress } from 'ethers';
import { digestPayload } from '../../src/domain';
import { NotaryRegistryV2__factory } from '../../typechain-types';
import { startInstance, type Instance } from '../helpers/instance';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'notary.js');
/** anvil's second default account (public dev key): deploys without racing the instance's deployer nonces. */
const ANVIL_KEY_1 = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
/** anvil's first default account: the embedded chain's deployer, a PAUSER of the registry. */
const ANVIL_KEY_0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let inst: Instance;
let work: string;

/** Runs the CLI asynchronously (the instance lives in this process: a sync spawn would block it). */
function notary(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NOTARY_') && k !== 'DATA_DIR') base[k] = v;
  const full = {
    ...base,
    DATA_DIR: path.join(work, 'no-data'), // never pick up a developer's ./data/demo.json
    NOTARY_API_URL: inst.apiUrl,
    ...env,
  } as NodeJS.ProcessEnv;
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

function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NOTARY_') && k !== 'DATA_DIR') base[k] = v;
  const full = {
    ...base,
    DATA_DIR: path.join(work, 'no-data'),
    NOTARY_API_URL: inst.apiUrl,
    ...env,
  } as NodeJS.ProcessEnv;
  for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];
  return full;
}

/** Runs the CLI with stdout AND stderr on one file descriptor: what a terminal or `2>&1` shows, in order. */
function notaryMerged(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; out: string }> {
  const file = path.join(work, `merged-${process.hrtime.bigint()}.txt`);
  const fd = fs.openSync(file, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: cliEnv(env), stdio: ['ignore', fd, fd] });
    child.on('error', reject);
    child.on('close', (code) => {
      fs.closeSync(fd);
      resolve({ code, out: fs.readFileSync(file, 'utf8') });
    });
  });
}

const member = () => inst.demo.orgs.find((o) => o.id === 'aerospace')!;
const asMember = () => ({ NOTARY_API_KEY: member().apiKey });
const asAdmin = () => ({ NOTARY_API_KEY: inst.demo.admin.apiKey });

function assertOneLineError(r: Run, code: RegExp): void {
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, code);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('notary CLI (end to end)', { timeout: 300_000 }, () => {
  before(async () => {
    inst = await startInstance();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-cli-'));
  });
  after(async () => {
    await inst?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('creates an organisation and a key; the key works until it is revoked', async () => {
    const created = await notary(['org', 'create', 'cli-test', '--name', 'CLI Test Ltd', '--json'], asAdmin());
    assert.equal(created.code, 0, created.stderr);
    const org = JSON.parse(created.stdout);
    assert.equal(org.id, 'cli-test');
    assert.match(org.address, /^0x[0-9a-fA-F]{40}$/);

    const listed = await notary(['org', 'list', '--json'], asAdmin());
    assert.ok(JSON.parse(listed.stdout).some((o: { id: string }) => o.id === 'cli-test'));

    const key = await notary(['key', 'create', 'cli-test', '--name', 'ci', '--scopes', 'submit,audit'], asAdmin());
    assert.equal(key.code, 0, key.stderr);
    const secret = key.stdout.trim();
    assert.ok(secret.length > 20 && !secret.includes('\n'), 'stdout holds only the secret');

    fs.writeFileSync(path.join(work, 'one.json'), JSON.stringify({ title: 'one', body: 'first' }));
    const ok = await notary(['submit', 'one.json', '--type', 'document'], { NOTARY_API_KEY: secret });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /accepted 1 \(new 1, duplicates 0\)/);

    const keys = JSON.parse((await notary(['key', 'list', 'cli-test', '--json'], asAdmin())).stdout);
    assert.equal(keys.length, 1);
    const revoked = await notary(['key', 'revoke', 'cli-test', keys[0].id], asAdmin());
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /revoked key/);

    fs.rmSync(path.join(work, 'one.json.notary-state.json'));
    const denied = await notary(['submit', 'one.json', '--type', 'document'], { NOTARY_API_KEY: secret });
    assert.equal(denied.code, 1);
    assertOneLineError(denied, /^notary: API_KEY_REVOKED: /);
  });

  it('a bad API key is one line on stderr and a non-zero exit', async () => {
    const r = await notary(['org', 'list'], { NOTARY_API_KEY: 'lnk_not-a-key' });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assertOneLineError(r, /^notary: UNAUTHORIZED: /);

    const down = await notary(['org', 'list', '--api', 'http://127.0.0.1:1'], asAdmin());
    assert.equal(down.code, 1);
    assertOneLineError(down, /^notary: API_UNREACHABLE: /);

    const usage = await notary(['submit']);
    assert.equal(usage.code, 2);
    assertOneLineError(usage, /^notary: USAGE: /);
  });

  let dirReceipt: string;
  let dirPayload: string;

  it('submits a directory with --wait, writes receipts, and a re-run is a no-op', async () => {
    const dir = path.join(work, 'docs');
    fs.mkdirSync(dir);
    for (let i = 1; i <= 3; i++) {
      fs.writeFileSync(path.join(dir, `minutes-${i}.json`), JSON.stringify({ title: `Minutes #${i}`, body: `R${i}` }));
    }
    // a full record wrapper, with an externalId, next to the bare payloads
    fs.writeFileSync(
      path.join(dir, 'wrapped.json'),
      JSON.stringify({ type: 'document', externalId: 'DOC-W', payload: { title: 'Wrapped' } }),
    );
    const first = await notary(['submit', 'docs', '--type', 'document', '--wait'], asMember());
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stdout,
      /4 record\(s\): accepted 4 \(new 4, duplicates 0\), rejected 0, already done 0, receipts written 4/,
    );
    for (const n of ['minutes-1', 'minutes-2', 'minutes-3', 'wrapped']) {
      const receipt = JSON.parse(fs.readFileSync(path.join(dir, `${n}.receipt.json`), 'utf8'));
      assert.equal(receipt.version, 1);
      assert.equal(receipt.record.orgId, 'aerospace');
    }
    const state = JSON.parse(fs.readFileSync(path.join(work, 'docs.notary-state.json'), 'utf8'));
    assert.equal(Object.keys(state.items).length, 4);

    const again = await notary(['submit', 'docs', '--type', 'document', '--wait', '--json'], asMember());
    assert.equal(again.code, 0, again.stderr);
    const s = JSON.parse(again.stdout);
    assert.deepEqual(
      { total: s.total, skipped: s.skipped, accepted: s.accepted, receiptsWritten: s.receiptsWritten },
      { total: 4, skipped: 4, accepted: 0, receiptsWritten: 0 },
    );
    dirReceipt = path.join(dir, 'minutes-2.receipt.json');
    dirPayload = path.join(dir, 'minutes-2.json');
  });

  it('submits a CSV with --wait (amounts stay strings, receipts under <csv>.receipts/), resumable', async () => {
    const csv = path.join(work, 'invoices.csv');
    fs.writeFileSync(
      csv,
      'ref,title,amount,seller.name\r\nINV-1,"Cabin refit, stage 1",1250.00,Aerostar\r\nINV-2,"Seat ""A"" covers",99.90,Aerostar\r\n',
    );
    const args = ['submit', 'invoices.csv', '--type', 'document', '--external-id-field', 'ref', '--wait'];
    const first = await notary(args, asMember());
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /accepted 2 \(new 2, duplicates 0\).*receipts written 2/);
    const payload = JSON.parse(fs.readFileSync(path.join(work, 'invoices.csv.receipts', 'INV-1.payload.json'), 'utf8'));
    assert.deepEqual(payload, {
      ref: 'INV-1',
      title: 'Cabin refit, stage 1',
      amount: '1250.00',
      seller: { name: 'Aerostar' },
    });
    assert.ok(fs.existsSync(path.join(work, 'invoices.csv.receipts', 'INV-2.receipt.json')));

    const again = await notary(args, asMember());
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /accepted 0 .*already done 2, receipts written 0/);

    // without the state file, the API's idempotency makes the replay safe: duplicates, same receipts
    fs.rmSync(path.join(work, 'invoices.csv.notary-state.json'));
    const replay = await notary([...args, '--json'], asMember());
    const s = JSON.parse(replay.stdout);
    assert.equal(s.duplicates, 2);
    assert.equal(s.created, 0);
  });

  it('verify is offline (chain RPC only): valid receipt → exit 0, every check ✓', async () => {
    const r = await notary(
      ['verify', dirReceipt, '--payload', dirPayload, '--rpc', inst.rpcUrl, '--registry', inst.demo.registry],
      { NOTARY_API_URL: 'http://127.0.0.1:1' }, // nothing listens there: an API call would fail
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const checks = r.stdout.split('\n').filter((l) => /^[✓✗–] /.test(l));
    assert.ok(
      checks.some((l) => /^✓ organisation /.test(l)),
      r.stdout,
    ); // registry v2: org bound to the anchor
    assert.equal(checks.length, 8, r.stdout);
    assert.ok(
      checks.every((l) => l.startsWith('✓ ')),
      r.stdout,
    );
    assert.match(r.stdout, /^VALID: record [0-9a-f-]{36} \(document; organisation aerospace verified\)/m);

    const json = await notary(['verify', dirReceipt, '--rpc', inst.rpcUrl, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const verdict = JSON.parse(json.stdout);
    assert.equal(verdict.valid, true);
    assert.equal(verdict.checks.find((c: { name: string }) => c.name === 'digest').status, 'skipped');
  });

  it('verify: tampered payload → exit 1 with digest ✗', async () => {
    const tampered = path.join(work, 'tampered.json');
    fs.writeFileSync(
      tampered,
      JSON.stringify({ ...JSON.parse(fs.readFileSync(dirPayload, 'utf8')), body: 'R2 (edited)' }),
    );
    const r = await notary(['verify', dirReceipt, '--payload', tampered, '--rpc', inst.rpcUrl]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^✗ digest\s+payload digest differs/m);
    assert.match(r.stdout, /^✓ merkle/m);
    assert.match(r.stdout, /^INVALID: failed digest$/m);
  });

  it('verify: malformed receipt → exit 1 with schema ✗, not a crash; usage errors → exit 2', async () => {
    const bad = path.join(work, 'bad.receipt.json');
    fs.writeFileSync(bad, JSON.stringify({ version: 1, record: { id: 'x' } }));
    const r = await notary(['verify', bad, '--rpc', inst.rpcUrl]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^✗ schema/m);
    assert.equal(r.stderr, '');

    fs.writeFileSync(bad, '{"version": 1, "record": ');
    const notJson = await notary(['verify', bad]);
    assert.equal(notJson.code, 1);
    assert.match(notJson.stdout, /^✗ schema\s+.*not JSON/m);

    const missing = await notary(['verify', path.join(work, 'nope.json')]);
    assert.equal(missing.code, 2);
    assertOneLineError(missing, /^notary: USAGE: receipt .*nope\.json: ENOENT/);

    const noRpc = await notary(['verify', dirReceipt]);
    assert.equal(noRpc.code, 2);
    assertOneLineError(noRpc, /^notary: USAGE: no chain RPC/);
  });

  it('receipt fetches the receipt; trace answers with a tree or says it is not available', async () => {
    const state = JSON.parse(fs.readFileSync(path.join(work, 'docs.notary-state.json'), 'utf8'));
    const id = state.items['minutes-1.json'].id as string;
    const out = path.join(work, 'fetched.receipt.json');
    const r = await notary(['receipt', id, '--out', out], asMember());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(fs.readFileSync(out, 'utf8')).record.id, id);

    const t = await notary(['trace', id], asMember());
    if (t.code === 0) assert.match(t.stdout, new RegExp(`^● [✓–] document\\s+${id}`, 'm'));
    else assertOneLineError(t, /^notary: NOT_AVAILABLE: trace not available on this server$/);
  });

  it('key create: the message, then the secret alone on its own line (stdout: only the secret)', async () => {
    const merged = await notaryMerged(
      ['key', 'create', 'aerospace', '--name', 'order', '--scopes', 'audit'],
      asAdmin(),
    );
    assert.equal(merged.code, 0, merged.out);
    const lines = merged.out.trimEnd().split('\n');
    assert.equal(lines.length, 2, merged.out);
    assert.match(lines[0]!, /^created key [0-9a-f-]{36} for aerospace \(scopes audit\); its secret is shown once/);
    assert.match(lines[1]!, /^\S{20,}$/, 'the secret alone on the second line');
    const separate = await notary(['key', 'create', 'aerospace', '--name', 'order-2', '--scopes', 'audit'], asAdmin());
    assert.match(separate.stdout, /^\S{20,}\n$/);
    assert.match(separate.stderr, /^created key .*shown once, on stdout\n$/);
    // On a terminal (a pseudo-terminal through script(1)): both on stdout, message first, secret on its own line.
    if (fs.existsSync('/usr/bin/script')) {
      const cmd = [process.execPath, BIN, 'key', 'create', 'aerospace', '--name', 'tty', '--scopes', 'audit']
        .map((a) => `'${a}'`)
        .join(' ');
      const tty = await new Promise<string>((resolve, reject) => {
        const child = spawn('/usr/bin/script', ['-qec', cmd, '/dev/null'], {
          cwd: work,
          env: cliEnv(asAdmin()),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let o = '';
        child.stdout.on('data', (d: Buffer) => (o += d.toString()));
        child.on('error', reject);
        child.on('close', () => resolve(o));
      });
      const ttyLines = tty.replace(/\r/g, '').trimEnd().split('\n');
      assert.equal(ttyLines.length, 2, tty);
      assert.match(ttyLines[0]!, /^created key .* its secret is shown once:$/);
      assert.match(ttyLines[1]!, /^\S{20,}$/);
    }
  });

  it('submit --wait: externalIds that collide as file names each get their receipt; a stale file is replaced', async () => {
    const file = path.join(work, 'collide.json');
    const ids = ['INV/1', 'INV_1', 'inv_1', 'INV:1', 'Mixed', 'MIXED'];
    fs.writeFileSync(
      file,
      JSON.stringify(ids.map((externalId) => ({ type: 'document', externalId, payload: { externalId } }))),
    );
    const r = await notary(['submit', 'collide.json', '--wait', '--json'], asMember());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).receiptsWritten, ids.length);
    const files = fs.readdirSync(`${file}.receipts`).filter((f) => f.endsWith('.receipt.json'));
    assert.equal(files.length, ids.length, files.join(' '));
    assert.equal(new Set(files.map((f) => f.toLowerCase())).size, ids.length, 'distinct on a case-insensitive FS');
    const state = JSON.parse(fs.readFileSync(`${file}.notary-state.json`, 'utf8'));
    const byId = new Map(
      files.map((f) => {
        const rc = JSON.parse(fs.readFileSync(path.join(`${file}.receipts`, f), 'utf8'));
        return [rc.record.id as string, f];
      }),
    );
    for (const x of ids) assert.ok(byId.has(state.items[`externalId:${x}`].id), `receipt of ${x}`);

    // A receipt file left from elsewhere (another record's) is not taken for this record's receipt.
    const dir = path.join(work, 'stale');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'note.json'), JSON.stringify({ title: 'stale test' }));
    fs.copyFileSync(path.join(`${file}.receipts`, files[0]!), path.join(dir, 'note.receipt.json'));
    const s = await notary(['submit', 'stale', '--type', 'document', '--wait', '--json'], asMember());
    assert.equal(s.code, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).receiptsWritten, 1);
    assert.match(s.stderr, /replacing .*note\.receipt\.json/);
    const id = JSON.parse(fs.readFileSync(path.join(work, 'stale.notary-state.json'), 'utf8')).items['note.json'].id;
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'note.receipt.json'), 'utf8')).record.id, id);
  });

  it('submit --wait while anchoring is blocked: prints the reason at once, exits 1 after --blocked-grace', async () => {
    const registry = NotaryRegistryV2__factory.connect(
      inst.demo.registry,
      new Wallet(ANVIL_KEY_0, new JsonRpcProvider(inst.rpcUrl)),
    );
    await (await registry.pause()).wait();
    try {
      fs.writeFileSync(path.join(work, 'blocked.json'), JSON.stringify({ title: 'blocked', at: Date.now() }));
      const r = await notary(
        ['submit', 'blocked.json', '--type', 'document', '--wait', '--blocked-grace', '2s'],
        asMember(),
      );
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.match(lines[0]!, /^notary: records are not being anchored: REGISTRY_PAUSED: /);
      assert.match(lines.at(-1)!, /^notary: BLOCKED: 1 record\(s\) not anchored: REGISTRY_PAUSED: /);
      assert.match(r.stdout, /accepted 1 .*receipts written 0/);
      const id = JSON.parse(fs.readFileSync(path.join(work, 'blocked.json.notary-state.json'), 'utf8')).items[
        'blocked.json'
      ].id;
      const one = await notary(['receipt', id, '--wait', '--timeout', '3'], asMember());
      assert.equal(one.code, 1);
      const oneLines = one.stderr.trimEnd().split('\n');
      assert.match(oneLines[0]!, new RegExp(`^notary: record ${id} cannot be anchored yet: REGISTRY_PAUSED: `));
      assert.match(oneLines.at(-1)!, /^notary: WAIT_TIMEOUT: .*\(blocked: REGISTRY_PAUSED: /);
    } finally {
      await (await registry.unpause()).wait();
    }
    // Once unblocked, the same command finishes the job.
    const again = await notary(['submit', 'blocked.json', '--type', 'document', '--wait'], asMember());
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already done 1, receipts written 1/);
  });

  it('submit --wait: records the state file names but the service does not know are an error, not a wait', async () => {
    const payload = { title: 'ghost' };
    fs.writeFileSync(path.join(work, 'ghost.json'), JSON.stringify(payload));
    const ghost = randomUUID();
    fs.writeFileSync(
      path.join(work, 'ghost.json.notary-state.json'),
      JSON.stringify({
        version: 1,
        apiUrl: inst.apiUrl,
        updatedAt: new Date().toISOString(),
        items: { 'ghost.json': { id: ghost, digest: digestPayload(payload) } },
      }),
    );
    const r = await notary(['submit', 'ghost.json', '--type', 'document', '--wait', '--timeout', '60'], asMember());
    assert.equal(r.code, 1);
    assert.match(
      r.stderr.trimEnd().split('\n').at(-1)!,
      new RegExp(`^notary: RECORD_NOT_FOUND: 1 record\\(s\\) .* \\(e\\.g\\. ${ghost}\\)`),
    );
  });

  it('deploy: the directory and both v2 registries with a plain wallet, members bound, deployment JSON written', async () => {
    const outFile = path.join(work, 'deployment.json');
    const member = '0x' + 'ab'.repeat(20);
    const r = await notary(
      ['deploy', '--rpc', inst.rpcUrl, '--out', outFile, '--json', '--members', `acme=${member}`],
      {
        DEPLOYER_KEY: ANVIL_KEY_1,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(fs.readFileSync(outFile, 'utf8'));
    assert.equal(d.chainId, 31337);
    assert.equal(d.adminDelay, 0);
    assert.match(d.memberDirectory.address, /^0x[0-9a-fA-F]{40}$/);
    assert.deepEqual(d.members, [{ orgId: 'acme', address: getAddress(member) }]);
    assert.deepEqual(d.roles.memberDirectory.REGISTRAR_ROLE, [new Wallet(ANVIL_KEY_1).address]);
    const bad = await notary(['deploy', '--rpc', inst.rpcUrl, '--members', member], { DEPLOYER_KEY: ANVIL_KEY_1 });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--members: ".*" is not orgId=address/);
    assert.equal(JSON.parse(r.stdout).notaryRegistry.address, d.notaryRegistry.address);
    const code = await fetch(inst.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_getCode',
        params: [d.notaryRegistry.address, 'latest'],
      }),
    }).then((x) => x.json() as Promise<{ result: string }>);
    assert.ok(code.result.length > 2, 'NotaryRegistry has code');
  });
});
