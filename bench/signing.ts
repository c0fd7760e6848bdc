// Signed records (receipt version 2): client-side signing of 10,000 records per secp256k1 implementation, and bulk
// ingest of signed records through POST /v1/records/batch (signature recovery and SIGNER-key checks included) next
// to the unsigned ingest of the same instance in the same run (interleaved rounds).
// Standalone: node -r ts-node/register bench/signing.ts [runs=3] [requests=10] [--json]
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1';
import { Wallet } from 'ethers';
import {
  digestSignerFromKey,
  signRecordWith,
  signRecords,
  type DigestSigner,
  type RecordToSign,
  type SigningContext,
} from '../src/client';
import { initHashing } from '../src/domain/hashing';
import { hex32ToBytes } from '../src/domain/hex';
import { api, median, startServer, type ServerHandle } from './lib';

export const SIGN_RECORDS = 10_000;
export const PER_REQUEST = 1000;

export interface SigningFigures {
  /** Records/s of `signRecords` (id, salt, digest, commitment, EIP-712 digest, signature) per backend. */
  clientSign: { backend: string; recordsPerSecond: number[]; records: number }[];
  ingest: {
    signed: number[];
    unsigned: number[];
    /** CPU time of the server process (all its threads: API, preparation workers) per record, µs, per run. */
    signedCpuUs?: number[];
    unsignedCpuUs?: number[];
  };
}

/** utime + stime of process `pid` in ms (Linux /proc; undefined elsewhere). */
function cpuMsOf(pid: number | undefined): number | undefined {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks: USER_HZ 100
  } catch {
    return undefined;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex = (b: Uint8Array) => Array.from(b, (x) => HEX[x]).join('');

/** @noble/curves 1.9 directly (installed as a dependency of other packages; not used by the client). */
function nobleSigner(privateKey: string): DigestSigner {
  const key = hex32ToBytes(privateKey.toLowerCase());
  return {
    address: new Wallet(privateKey).address,
    backend: 'ethers', // reported under its own label below
    signDigest(d) {
      const s = secp256k1.sign(hex32ToBytes(d), key, { lowS: true });
      return '0x' + hex(s.toCompactRawBytes()) + (27 + s.recovery).toString(16);
    },
  };
}

const docs = (n: number, tag: string): RecordToSign[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'document', payload: { title: `signed ${tag} ${i}` } }));

async function clientSign(runs: number): Promise<SigningFigures['clientSign']> {
  const ctx: SigningContext = { orgId: 'bank', chainId: 31337, registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3' };
  const key = '0x' + randomBytes(32).toString('hex');
  const wallet = new Wallet(key);
  const out: SigningFigures['clientSign'] = [];
  const sync: [string, DigestSigner, number][] = [
    ['native libsecp256k1 (`secp256k1` 4.0.5)', digestSignerFromKey(key, 'native'), SIGN_RECORDS],
    ['@noble/curves 1.9.0 `sign`', nobleSigner(key), SIGN_RECORDS],
    ['ethers 6 `SigningKey.sign` (@noble/curves 1.2)', digestSignerFromKey(key, 'ethers'), SIGN_RECORDS],
  ];
  for (const [label, signer, n] of sync) {
    const rs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const recs = docs(n, `${label}-${i}`);
      const t = performance.now();
      signRecords(signer, recs, ctx);
      rs.push(n / ((performance.now() - t) / 1000));
    }
    out.push({ backend: label, recordsPerSecond: rs, records: n });
  }
  // One async signTypedData per record (any ethers Signer): on 1,000 records.
  const n = 1000;
  const rs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const recs = docs(n, `wallet-${i}`);
    const t = performance.now();
    for (const r of recs) await signRecordWith(wallet, r, ctx);
    rs.push(n / ((performance.now() - t) / 1000));
  }
  out.push({ backend: 'ethers `Wallet.signTypedData`, one call per record', recordsPerSecond: rs, records: n });
  return out;
}

/** Records/s of `bodies` posted with 2 requests in flight; `cpu` gets the server's CPU µs per record. */
async function post(server: ServerHandle, key: string, bodies: string[], cpu?: number[]): Promise<number> {
  let next = 0;
  let accepted = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const raw = bodies[next++]!;
      const res = await api(server.apiUrl, 'POST', '/v1/records/batch', { key, raw });
      if (res.status !== 200) throw new Error(`batch: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      const b = res.body as { accepted: number; records: { error?: { code: string } }[] };
      if (b.accepted !== PER_REQUEST) {
        const e = b.records.find((x) => x.error)?.error;
        throw new Error(`batch: ${b.accepted} of ${PER_REQUEST} accepted (${e?.code})`);
      }
      accepted += b.accepted;
    }
  };
  const c0 = cpuMsOf(server.child.pid);
  const t = performance.now();
  await Promise.all([worker(), worker()]);
  const rate = accepted / ((performance.now() - t) / 1000);
  const c1 = cpuMsOf(server.child.pid);
  if (cpu && c0 !== undefined && c1 !== undefined) cpu.push(((c1 - c0) * 1000) / accepted);
  return rate;
}

/**
 * Interleaved rounds of unsigned then signed ingest; `only` posts one kind alone (bench/profile.ts signed|unsigned,
 * so that a CPU profile holds one path).
 */
export async function ingest(
  runs: number,
  requests: number,
  only?: 'signed' | 'unsigned',
): Promise<SigningFigures['ingest']> {
  const server = await startServer({ env: { RATE_LIMIT_MAX: '1000000', WORKER: 'false' } });
  try {
    const bank = server.demo.orgs.find((o) => o.id === 'bank')!;
    const signer = digestSignerFromKey(fs.readFileSync(bank.signer!.keyFile, 'utf8').trim());
    const ctx: SigningContext = { orgId: 'bank', chainId: server.demo.chainId, registry: server.demo.registry };
    const bodies = (signed: boolean, tag: string) =>
      Array.from({ length: requests }, (_, r) => {
        const recs = docs(PER_REQUEST, `${tag}-${r}`);
        const records = signed
          ? signRecords(signer, recs, ctx).map((s, i) => ({
              ...recs[i]!,
              id: s.id,
              salt: s.salt,
              signatures: s.signatures,
            }))
          : recs;
        return JSON.stringify({ records });
      });
    if (only !== 'unsigned') await post(server, bank.apiKey, bodies(true, 'warm-s').slice(0, 2));
    if (only !== 'signed') await post(server, bank.apiKey, bodies(false, 'warm-u').slice(0, 2));
    const out = {
      signed: [] as number[],
      unsigned: [] as number[],
      signedCpuUs: [] as number[],
      unsignedCpuUs: [] as number[],
    };
    for (let i = 0; i < runs; i++) {
      const u = bodies(false, `u${i}`);
      const s = bodies(true, `s${i}`); // signed before the clock starts: the client's part is measured above
      if (only !== 'signed') out.unsigned.push(await post(server, bank.apiKey, u, out.unsignedCpuUs));
      if (only !== 'unsigned') out.signed.push(await post(server, bank.apiKey, s, out.signedCpuUs));
    }
    return out;
  } finally {
    await server.stop();
  }
}

export async function signing(runs: number, requests: number): Promise<SigningFigures> {
  await initHashing();
  return { clientSign: await clientSign(runs), ingest: await ingest(runs, requests) };
}

if (require.main === module) {
  void (async () => {
    const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
    const f = await signing(Number(args[0] ?? 3), Number(args[1] ?? 10));
    if (process.argv.includes('--json')) console.log(JSON.stringify(f));
    else {
      for (const c of f.clientSign)
        console.log(`${c.backend}: ${Math.round(median(c.recordsPerSecond))} records/s (${c.records} records)`);
      console.log(
        `ingest signed ${Math.round(median(f.ingest.signed))} records/s, unsigned ${Math.round(median(f.ingest.unsigned))}`,
      );
      if (f.ingest.signedCpuUs?.length && f.ingest.unsignedCpuUs?.length)
        console.log(
          `server CPU per record (all threads): signed ${Math.round(median(f.ingest.signedCpuUs))} µs, unsigned ${Math.round(median(f.ingest.unsignedCpuUs))} µs`,
        );
      console.log(JSON.stringify(f));
    }
  })();
}
