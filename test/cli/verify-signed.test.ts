import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JsonRpcServer } from 'hardhat/internal/hardhat-network/jsonrpc/server';
import { verify } from '../../src/cli/verify';
import { buildSignedSet, type SignedCase } from '../../scripts/make-golden-receipts-signed';
import { loadHardhat } from '../helpers/notary-chain';

// `notary verify` on receipts version 2: the signed golden set built on the in-process Hardhat network, served
// over HTTP JSON-RPC (the CLI reads the chain only, never the service). It says who signed when the signatures
// check passed, and names the failing check otherwise.

/** Runs `verify` and returns its exit code and stdout. */
async function run(file: string, opts: Parameters<typeof verify>[1]): Promise<{ code: number; stdout: string }> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  // the CLI writes strings; the test runner's own reporter messages (binary) pass through
  process.stdout.write = ((s: string | Uint8Array, ...rest: never[]) => {
    if (typeof s !== 'string') return write(s, ...rest);
    chunks.push(s);
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await verify(file, opts);
    return { code, stdout: chunks.join('') };
  } finally {
    process.stdout.write = write;
  }
}

describe('notary verify, receipt v2', () => {
  let server: JsonRpcServer;
  let rpc: string;
  let registry: string;
  let cases: SignedCase[];
  const dir = mkdtempSync(path.join(tmpdir(), 'notary-verify-signed-'));
  const files = (c: SignedCase) => {
    const receipt = path.join(dir, `${c.name}.json`);
    const payload = path.join(dir, `${c.name}.payload.json`);
    writeFileSync(receipt, JSON.stringify(c.receipt));
    writeFileSync(payload, JSON.stringify(c.payload));
    return { receipt, payload };
  };

  before(async () => {
    const hre = await loadHardhat();
    ({ cases, registry } = await buildSignedSet(hre));
    server = new JsonRpcServer({ hostname: '127.0.0.1', port: 0, provider: hre.network.provider });
    const { port } = await server.listen();
    rpc = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two signers: exit 0, nine ✓ rows, the signatures row and the VALID line name both signers', async () => {
    const c = cases.find((x) => x.name === 'valid-two-signers')!;
    const f = files(c);
    const r = await run(f.receipt, { payload: f.payload, rpc, registry });
    assert.equal(r.code, 0, r.stdout);
    const rows = r.stdout.split('\n').filter((l) => /^[✓✗–] /.test(l));
    assert.equal(rows.length, 9, r.stdout);
    assert.ok(
      rows.every((l) => l.startsWith('✓ ')),
      r.stdout,
    );
    assert.match(rows[0]!, /receipt v2 is well-formed/);
    const sig = rows.find((l) => /^✓ signatures /.test(l))!;
    for (const s of c.receipt.signatures) {
      assert.ok(sig.includes(s.signer), sig);
    }
    assert.match(sig, /SIGNER key of aero-parts since block \d+/);
    assert.match(
      r.stdout,
      new RegExp(`^VALID: .*; signed by ${c.receipt.signatures.map((s) => s.signer).join(', ')}$`, 'm'),
    );
  });

  it('--json: the verdict carries the signers', async () => {
    const c = cases.find((x) => x.name === 'valid-signer-removed-after-anchor')!;
    const f = files(c);
    const r = await run(f.receipt, { rpc, registry, json: true });
    assert.equal(r.code, 0, r.stdout);
    const v = JSON.parse(r.stdout);
    assert.equal(v.signers[0].signer, c.receipt.signatures[0]!.signer);
    assert.ok(v.signers[0].until > c.receipt.anchor.blockNumber);
  });

  for (const name of ['tampered-signer-removed-before-anchor', 'tampered-signature-swapped']) {
    it(`${name}: exit 1, the failing check named, the signers only where that check passed`, async () => {
      const c = cases.find((x) => x.name === name)!;
      const f = files(c);
      const r = await run(f.receipt, { payload: f.payload, rpc, registry });
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, new RegExp(`^INVALID: failed ${c.failed.join(', ')}$`, 'm'));
      for (const n of c.failed) assert.match(r.stdout, new RegExp(`^✗ ${n} `, 'm'));
      assert.doesNotMatch(r.stdout, /^VALID/m);
      // who signed is said only where the signatures check passed (a swapped signature passes it; merkle fails)
      assert.equal(/^✓ signatures\s+signed by /m.test(r.stdout), !c.failed.includes('signatures'), r.stdout);
    });
  }
});
