import fs from 'node:fs';
import { getAddress } from 'ethers';
import { isReceipt } from '../domain';
import { connectProvider } from '../chain/provider';
import { ChainRootSource, isOrganisationVerified, verifyReceipt, type RootSource, type Verdict } from '../verifier';
import { sha256Hex, UblError, ublToPayload } from '../domain/ubl';
import { CliError, usageError } from './errors';
import { readDemo, list, type GlobalOptions } from './context';
import { MARK, out, printJson } from './output';

export interface VerifyOptions extends GlobalOptions {
  payload?: string;
  rpc?: string;
  registry?: string;
  timeout?: string;
}

/** What a passed check established, in a few words. */
const PASSED: Record<string, string> = {
  schema: 'receipt is well-formed',
  digest: 'SHA-256(JCS(payload)) equals record.digest',
  commitment: 'recomputed from the record fields',
  signatures: 'signed by active SIGNER keys of the organisation at the anchor block',
  merkle: 'proof path leads to the root',
  anchor: 'root anchored on the registry, in that block and transaction',
  organisation: 'anchored for the organisation the record names (MemberDirectory key)',
  submitter: 'anchored by the receipt’s submitter',
  timestamp: 'block time matches',
};

const ORDER = ['schema', 'digest', 'commitment', 'merkle', 'anchor', 'organisation', 'submitter', 'timestamp'] as const;

function readFileText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A verdict for a receipt file that is not even JSON: schema ✗, everything else skipped. */
function notJsonVerdict(reason: string): Verdict {
  return {
    valid: false,
    checks: ORDER.map((name) =>
      name === 'schema' ? { name, status: 'failed', reason } : { name, status: 'skipped' },
    ) as Verdict['checks'],
  };
}

/** A root source that fails every read with the same reason (the chain could not be reached). */
function failingSource(reason: string): RootSource {
  return {
    async getAnchor() {
      throw new CliError('CHAIN_UNREACHABLE', reason);
    },
  };
}

/**
 * `notary verify`: OFFLINE from the service. The receipt is checked by the domain verifier and the anchor read
 * from the chain through {@link ChainRootSource}; no API call is made. Exit 0 valid, 1 invalid, 2 usage.
 */
export async function verify(receiptFile: string, opts: VerifyOptions): Promise<number> {
  const text = readFileText(receiptFile, 'receipt');
  let payload: unknown;
  if (opts.payload !== undefined) {
    const p = readFileText(opts.payload, 'payload');
    if (/^\uFEFF?\s*</.test(p)) {
      // A UBL 2.1 invoice or credit note as it travels: the payload is re-derived from the exact bytes, the same
      // way the service did (its source.sha256 is the SHA-256 of this file).
      const bytes = fs.readFileSync(opts.payload);
      try {
        payload = ublToPayload(bytes).payload;
      } catch (err) {
        if (err instanceof UblError) throw usageError(`payload ${opts.payload}: ${err.message}`);
        throw err;
      }
      if (!opts.json) out(`payload derived from UBL ${opts.payload} (sha256 ${sha256Hex(bytes)})`);
    } else {
      try {
        payload = JSON.parse(p.replace(/^\uFEFF/, ''));
      } catch (err) {
        throw usageError(`payload ${opts.payload}: not JSON (${(err as Error).message})`);
      }
    }
  }

  let receipt: unknown;
  let verdict: Verdict | undefined;
  try {
    receipt = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    verdict = notJsonVerdict(`${receiptFile} is not JSON (${(err as Error).message})`);
  }

  const notes: string[] = [];
  if (!verdict) {
    let rootSource: RootSource = failingSource('no chain');
    let trusted: string[] | undefined;
    if (isReceipt(receipt)) {
      // Trust inputs: the chain RPC and the registry address. Never the service's API.
      let demo: ReturnType<typeof readDemo> | undefined;
      const getDemo = () => (demo === undefined ? (demo = readDemo(opts)) : demo);
      let rpcUrl = opts.rpc ?? (process.env.NOTARY_RPC_URL || undefined);
      let fromDemo = false;
      if (!rpcUrl && getDemo()?.rpcUrl) {
        rpcUrl = getDemo()!.rpcUrl;
        fromDemo = true;
      }
      if (!rpcUrl) throw usageError('no chain RPC: pass --rpc URL or set NOTARY_RPC_URL');
      const registries = opts.registry ?? (process.env.NOTARY_REGISTRY || undefined);
      if (registries) {
        try {
          trusted = list(registries).map((a) => getAddress(a.toLowerCase()));
        } catch {
          throw usageError(`--registry ${registries}: not an address (or comma-separated addresses)`);
        }
      } else if (fromDemo && getDemo()?.registry && getDemo()?.chainId === receipt.anchor.chainId) {
        trusted = [getDemo()!.registry!];
        notes.push(`trusting registry ${trusted[0]} from demo.json`);
      } else {
        notes.push(`registry ${receipt.anchor.registry} taken from the receipt; pin it with --registry ADDR`);
      }
      const timeoutMs = Math.max(1, Number(opts.timeout ?? 10)) * 1000;
      try {
        const provider = await connectProvider(rpcUrl, { timeoutMs });
        rootSource = new ChainRootSource({ provider }, { trustedRegistries: trusted });
        notes.push(`chain ${rpcUrl}`);
      } catch (err) {
        rootSource = failingSource(`cannot reach the chain at ${rpcUrl}: ${(err as Error).message}`);
      }
    }
    verdict = await verifyReceipt(receipt, { payload, rootSource, trustedRegistries: trusted });
  }

  if (opts.json) {
    printJson({ file: receiptFile, ...verdict, notes });
  } else {
    const pad = Math.max(...verdict.checks.map((c) => c.name.length));
    const schemaOk = verdict.checks[0]?.status === 'passed';
    for (const c of verdict.checks) {
      let reason = c.reason ?? '';
      if (!reason && c.status === 'passed') {
        const version = (receipt as { version?: unknown } | undefined)?.version;
        if (c.name === 'schema') reason = `receipt v${version === 2 ? 2 : 1} is well-formed`;
        else if (c.name === 'signatures' && verdict.signers?.length) {
          // Who signed: shown only because the check passed (each key dated in the directory at the anchor block).
          reason = `signed by ${verdict.signers
            .map(
              (s) =>
                `${s.signer} (SIGNER key of ${s.orgId} since block ${s.since}${s.until ? `, removed at ${s.until}` : ''})`,
            )
            .join(', ')}`;
        } else reason = PASSED[c.name] ?? '';
      }
      if (!reason && c.status === 'skipped') {
        reason = c.name === 'digest' && schemaOk ? 'no payload given (--payload FILE)' : 'skipped';
      }
      out(`${MARK[c.status]} ${c.name.padEnd(pad)}  ${reason}`.trimEnd());
    }
    for (const n of notes) out(`  (${n})`);
    if (verdict.valid) {
      const r = verdict.receipt!;
      const a = (receipt as { anchor: { blockTimestamp: number; blockNumber: number; submitter: string } }).anchor;
      // The organisation is named as verified only when the registry bound the anchor to it (2.x).
      const org = isOrganisationVerified(verdict)
        ? `organisation ${r.orgId} verified`
        : `organisation "${r.orgId}" as the record says: ${verdict.checks.find((c) => c.name === 'organisation')?.reason ?? 'not verified'}`;
      out(
        `VALID: record ${r.recordId} (${r.type}; ${org}) anchored ${new Date(a.blockTimestamp * 1000).toISOString()} ` +
          `in block ${a.blockNumber} of chain ${r.chainId} by ${a.submitter}` +
          (verdict.signers?.length ? `; signed by ${verdict.signers.map((s) => s.signer).join(', ')}` : '') +
          (payload === undefined ? ' (payload not checked)' : ''),
      );
    } else {
      const failed = verdict.checks.filter((c) => c.status === 'failed').map((c) => c.name);
      out(`INVALID: ${failed.length ? `failed ${failed.join(', ')}` : 'incomplete'}`);
    }
  }
  return verdict.valid ? 0 : 1;
}
