import { Command, CommanderError, Option } from 'commander';
import { NotaryApiError } from '../client';
import { apiClient, cliErrorOf, resolveApi, list, type GlobalOptions, type KeyRole } from './context';
import { CliError, errorLine, usageError } from './errors';
import { note, out, printJson, table } from './output';

/**
 * The `notary` command (everything but `start`'s fast path in main.ts). Every command prints its result on
 * stdout (`--json`: machine-readable), diagnostics on stderr, and any failure as ONE line
 * `notary: <code>: <message>` (stack traces only with NOTARY_DEBUG=1). Exit codes: 0 ok, 1 failed or
 * invalid, 2 usage.
 */
export async function runCli(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      return 2; // commander printed the message through outputError
    }
    if (process.env.NOTARY_DEBUG === '1') console.error(err);
    const e = err instanceof NotaryApiError ? cliErrorOf(err) : err;
    console.error(errorLine(e));
    return e instanceof CliError ? e.exitCode : 1;
  }
}

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('notary')
    .description('Ledger Notary: notarize business records on a permissioned EVM chain and verify their receipts')
    .version(readVersion(), '-V, --version')
    .option('--json', 'machine-readable JSON on stdout')
    .option(
      '--data-dir <dir>',
      'read defaults (API URL, demo keys, RPC URL) from <dir>/demo.json (default: $DATA_DIR or ./data)',
    )
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(`notary: USAGE: ${str.replace(/^error: /, '').trim()}\n`),
    })
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
Environment: NOTARY_API_URL, NOTARY_API_KEY (API commands), NOTARY_RPC_URL (verify, deploy), DEPLOYER_KEY (deploy),
NOTARY_DEBUG=1 (stack traces). Exit codes: 0 ok, 1 failed / invalid, 2 usage error.
Formats (digest, commitment, Merkle proof, receipt, invoice key, registry): docs/formats.md in the repository.`,
    );

  /** Runs an action with the merged options (program-level ones included) and records its exit code. */
  const act =
    <A extends unknown[]>(fn: (opts: GlobalOptions & Record<string, unknown>, ...args: A) => Promise<number>) =>
    async (...raw: unknown[]) => {
      const cmd = raw[raw.length - 1] as Command;
      const args = raw.slice(0, -2) as A; // commander passes (...args, options, command)
      setExit(await fn(cmd.optsWithGlobals(), ...args));
    };

  /** --api/--key/--as on an API command. */
  const apiCommand = (cmd: Command) =>
    cmd
      .option('--api <url>', 'API base URL (env NOTARY_API_URL, demo.json, http://127.0.0.1:3000)')
      .option('--key <key>', 'API key (env NOTARY_API_KEY)')
      .option('--as <org>', "use this demo organisation's key from demo.json (or admin / auditor)");
  const client = (opts: GlobalOptions, role: KeyRole) => apiClient(resolveApi(opts, role));

  program
    .command('start')
    .description('run the service: local chain, registries, API and anchoring worker (what `npm start` runs)')
    .action(async () => {
      const { startCommand } = await import('./start');
      await startCommand();
    });

  program
    .command('deploy')
    .description(
      'deploy MemberDirectory, NotaryRegistry v2 and ClaimRegistry v2 with a plain ethers wallet; writes the deployment JSON',
    )
    .option('--rpc <url>', 'chain JSON-RPC URL (env NOTARY_RPC_URL / RPC_URL, http://127.0.0.1:8545)')
    .option('--key <privkey>', 'deployer private key (env DEPLOYER_KEY); becomes the registries’ admin')
    .option('--members <orgId=address,…>', 'members’ anchoring accounts bound in the directory as ANCHORER keys')
    .option('--registrars <addresses>', 'comma-separated accounts granted REGISTRAR_ROLE (besides the deployer)')
    .option('--pausers <addresses>', 'comma-separated accounts granted PAUSER_ROLE')
    .option('--admin-delay <seconds>', 'delay of an admin transfer (default 0 on dev chains, 86400 otherwise)')
    .option('--out <file>', 'deployment file (default deployments/<chainId>.json)')
    .action(
      act(async (o) => {
        const { deploy } = await import('./deploy');
        return deploy(o as Parameters<typeof deploy>[0]);
      }),
    );

  // ---- administration ------------------------------------------------------------------------------
  const org = program.command('org').description('organisations (admin key)');
  apiCommand(
    org
      .command('create <id>')
      .description('create an organisation (members get a chain account with the registry roles)')
      .requiredOption('--name <name>', 'display name')
      .addOption(new Option('--kind <kind>', 'kind').choices(['member', 'auditor', 'operator']).default('member'))
      .addOption(
        new Option('--rules <mode>', 'arithmetic business rules: refuse a record that breaks one, or warn').choices([
          'refuse',
          'warn',
        ]),
      ),
  ).action(
    act(async (o, id: string) => {
      const res = await client(o, 'admin').createOrg({
        id,
        name: String(o.name),
        kind: o.kind as 'member' | 'auditor' | 'operator',
        ...(o.rules ? { rules: o.rules as 'refuse' | 'warn' } : {}),
      });
      if (o.json) printJson(res);
      else out(`created ${res.kind} ${res.id} (${res.name})${res.address ? `, chain account ${res.address}` : ''}`);
      return 0;
    }),
  );
  apiCommand(
    org
      .command('set <id>')
      .description("change an organisation's settings")
      .addOption(
        new Option('--rules <mode>', 'arithmetic business rules: refuse (default) or warn').choices(['refuse', 'warn']),
      )
      .addOption(
        new Option(
          '--require-signatures <on|off>',
          'on: refuse records not signed by one of its SIGNER keys (receipt version 2)',
        ).choices(['on', 'off']),
      ),
  ).action(
    act(async (o, id: string) => {
      if (o.rules === undefined && o.requireSignatures === undefined)
        throw usageError('org set: give --rules and/or --require-signatures');
      const res = await client(o, 'admin').request<{ id: string; rules?: string; requireSignatures?: boolean }>(
        'PATCH',
        `/v1/orgs/${encodeURIComponent(id)}`,
        {
          body: {
            ...(o.rules !== undefined ? { rules: o.rules } : {}),
            ...(o.requireSignatures !== undefined ? { requireSignatures: o.requireSignatures === 'on' } : {}),
          },
          idempotent: true,
        },
      );
      if (o.json) printJson(res);
      else
        out(
          `organisation ${res.id}: rules ${res.rules ?? 'refuse'}, signatures ${res.requireSignatures ? 'required' : 'optional'}`,
        );
      return 0;
    }),
  );

  // SIGNER keys in the member directory (the organisation keeps the private key; the service's registrar binds it).
  const signer = org.command('signer').description("an organisation's SIGNER keys in the member directory");
  type SignerChange = { orgId: string; address: string; since: number; until: number | null; txHash: string };
  apiCommand(
    signer
      .command('add <orgId> <address>')
      .description('bind an address as SIGNER key of the organisation (its signed records get version 2 receipts)'),
  ).action(
    act(async (o, orgId: string, address: string) => {
      const res = await client(o, 'admin').request<SignerChange>(
        'POST',
        `/v1/orgs/${encodeURIComponent(orgId)}/signers`,
        { body: { address } },
      );
      if (o.json) printJson(res);
      else out(`${res.address} is a SIGNER key of ${res.orgId} since block ${res.since} (tx ${res.txHash})`);
      return 0;
    }),
  );
  apiCommand(
    signer
      .command('remove <orgId> <address>')
      .description('remove a SIGNER key: receipts signed before stay valid, new signatures by it are refused'),
  ).action(
    act(async (o, orgId: string, address: string) => {
      const res = await client(o, 'admin').request<SignerChange>(
        'DELETE',
        `/v1/orgs/${encodeURIComponent(orgId)}/signers/${encodeURIComponent(address)}`,
      );
      if (o.json) printJson(res);
      else out(`${res.address}, SIGNER key of ${res.orgId}, removed at block ${res.until} (tx ${res.txHash})`);
      return 0;
    }),
  );
  apiCommand(signer.command('list <orgId>').description("the organisation's SIGNER keys, active and removed")).action(
    act(async (o, orgId: string) => {
      const res = await client(o, 'admin').request<{
        orgId: string;
        signers: { address: string; since: number; until: number | null }[];
      }>('GET', `/v1/orgs/${encodeURIComponent(orgId)}/signers`);
      if (o.json) printJson(res);
      else
        for (const l of table(
          ['ADDRESS', 'SINCE BLOCK', 'REMOVED AT BLOCK'],
          res.signers.map((k) => [k.address, String(k.since), k.until === null ? '–' : String(k.until)]),
        ))
          out(l);
      return 0;
    }),
  );
  apiCommand(
    org
      .command('rotate-key <id>')
      .description("rotate an organisation's chain key: a new account bound in the directory, the old one removed"),
  ).action(
    act(async (o, id: string) => {
      const res = await client(o, 'admin').rotateKey(id);
      if (o.json) printJson(res);
      else out(`organisation ${res.orgId}: chain account ${res.address} (was ${res.previous}, removed)`);
      return 0;
    }),
  );
  apiCommand(org.command('list').description('list organisations')).action(
    act(async (o) => {
      const res = await client(o, 'admin').listOrgs();
      if (o.json) printJson(res);
      else
        for (const l of table(
          ['ID', 'KIND', 'CHAIN ACCOUNT', 'NAME'],
          res.map((r) => [r.id ?? '', r.kind ?? '', r.address ?? '–', r.name ?? '']),
        ))
          out(l);
      return 0;
    }),
  );

  const key = program.command('key').description('API keys (admin key)');
  apiCommand(
    key
      .command('create <orgId>')
      .description('create an API key; prints the secret (shown once) on stdout, details on stderr')
      .requiredOption('--name <name>', 'what the key is for')
      .option('--scopes <scopes>', 'comma-separated: submit, audit, admin', 'submit,audit'),
  ).action(
    act(async (o, orgId: string) => {
      const scopes = list(String(o.scopes));
      const bad = scopes.filter((s) => !['submit', 'audit', 'admin'].includes(s));
      if (!scopes.length || bad.length)
        throw usageError(`--scopes: expected submit, audit and/or admin, got "${o.scopes}"`);
      const res = await client(o, 'admin').createKey(orgId, {
        name: String(o.name),
        scopes: scopes as ('submit' | 'audit' | 'admin')[],
      });
      if (o.json) printJson(res);
      else printNewKey(orgId, res.info, res.key);
      return 0;
    }),
  );
  apiCommand(
    key.command('list <orgId>').description('list the API keys of an organisation (never the secrets)'),
  ).action(
    act(async (o, orgId: string) => {
      const res = await client(o, 'admin').listKeys(orgId);
      if (o.json) printJson(res);
      else
        for (const l of table(
          ['ID', 'PREFIX', 'SCOPES', 'CREATED', 'REVOKED', 'NAME'],
          res.map((k) => [k.id, k.prefix, k.scopes.join(','), k.createdAt, k.revokedAt ?? '–', k.name]),
        ))
          out(l);
      return 0;
    }),
  );
  apiCommand(key.command('revoke <orgId> <keyId>').description('revoke an API key (effective immediately)')).action(
    act(async (o, orgId: string, keyId: string) => {
      await client(o, 'admin').revokeKey(orgId, keyId);
      if (o.json) printJson({ revoked: keyId, orgId });
      else out(`revoked key ${keyId} of ${orgId}`);
      return 0;
    }),
  );

  apiCommand(
    program
      .command('grant <orgId> <auditorOrgId>')
      .description("let an auditor organisation read an organisation's records"),
  ).action(
    act(async (o, orgId: string, auditorOrgId: string) => {
      await client(o, 'admin').grant(orgId, auditorOrgId);
      if (o.json) printJson({ orgId, auditorOrgId, granted: true });
      else out(`granted ${auditorOrgId} read access to the records of ${orgId}`);
      return 0;
    }),
  );

  // ---- records -------------------------------------------------------------------------------------
  apiCommand(
    program
      .command('submit <input>')
      .description(
        'submit records in bulk from a JSON file ({type, externalId?, payload, parents?}, an array of them, or a bare payload with --type), a directory of *.json files, or a CSV (one record per row); resumable',
      )
      .option('--type <type>', 'record type of bare payloads and CSV rows (e.g. invoice.issued, document)')
      .option('--external-id-field <field>', 'CSV column (or payload field) holding the externalId')
      .option('--chunk-size <n>', 'records per POST /v1/records/batch (≤10000)', '1000')
      .option('--wait', 'wait until anchored, then write <name>.receipt.json next to the inputs')
      .option('--timeout <seconds>', 'give up waiting after this long (re-run to resume)', '300')
      .option(
        '--blocked-grace <duration>',
        'with --wait: exit non-zero once the records have been blocked (e.g. INSUFFICIENT_FUNDS) this long (30s, 2m, 0)',
        '30s',
      )
      .option(
        '--sign-with <keystore.json>',
        'sign every record with this SIGNER key (encrypted JSON keystore; password in NOTARY_SIGNER_PASSWORD): receipt version 2',
      )
      .option('--signer-key-file <file>', 'like --sign-with, from a file holding a raw 0x… private key (development)')
      .option('--org <id>', 'with signing: the organisation the key signs for (default: --as)'),
  ).action(
    act(async (o, input: string) => {
      const { submit, loadSigner } = await import('./submit');
      const signer = await loadSigner({
        signWith: o.signWith as string | undefined,
        signerKeyFile: o.signerKeyFile as string | undefined,
      });
      return submit(client(o, 'submitter'), input, {
        signer,
        orgId: (o.org as string | undefined) ?? (o.as as string | undefined),
        type: o.type as string | undefined,
        externalIdField: o.externalIdField as string | undefined,
        chunkSize: Number(o.chunkSize),
        wait: Boolean(o.wait),
        timeoutSeconds: Number(o.timeout),
        blockedGraceMs: parseDuration(String(o.blockedGrace), '--blocked-grace'),
        json: Boolean(o.json),
      });
    }),
  );

  apiCommand(
    program
      .command('receipt <id>')
      .description('fetch the receipt of a record (docs/formats.md §4)')
      .option('--out <file>', 'write it to a file instead of stdout')
      .option('--wait', 'wait until the record is anchored')
      .option('--timeout <seconds>', 'with --wait: give up after this long', '120'),
  ).action(
    act(async (o, id: string) => {
      const { fetchReceipt } = await import('./receipt');
      return fetchReceipt(client(o, 'auditor'), id, {
        out: o.out as string | undefined,
        wait: Boolean(o.wait),
        timeoutSeconds: Number(o.timeout),
        json: Boolean(o.json),
      });
    }),
  );

  program
    .command('verify <receipt>')
    .description(
      'verify a receipt OFFLINE from the service: domain checks plus the anchor read from the chain (exit 0 valid, 1 invalid)',
    )
    .option('--payload <file>', 'the original payload (JSON); its digest must match the receipt')
    .option('--rpc <url>', 'chain JSON-RPC URL (env NOTARY_RPC_URL, demo.json rpcUrl)')
    .option(
      '--registry <addresses>',
      'trusted NotaryRegistry address(es) (env NOTARY_REGISTRY; default: the receipt’s)',
    )
    .option('--timeout <seconds>', 'chain request timeout', '10')
    .action(
      act(async (o, file: string) => {
        const { verify } = await import('./verify');
        return verify(file, o);
      }),
    );

  apiCommand(
    program.command('trace <id>').description('lineage of a record: ancestors and descendants, each verified'),
  ).action(
    act(async (o, id: string) => {
      const { trace } = await import('./lineage');
      return trace(client(o, 'auditor'), id, Boolean(o.json));
    }),
  );

  apiCommand(
    program.command('audit <org>').description("completeness walk of an organisation's hash-linked chain of batches"),
  ).action(
    act(async (o, orgId: string) => {
      const { audit } = await import('./lineage');
      return audit(client(o, 'auditor'), orgId, Boolean(o.json));
    }),
  );

  return program;
}

/**
 * A new key: on a terminal, the message and then the secret on its own line, both on stdout (one stream, so
 * they cannot interleave or swap); otherwise (captured, `KEY=$(notary key create …)`) the secret alone on
 * stdout and the message on stderr, written first.
 */
function printNewKey(orgId: string, info: { id: string; scopes: string[] }, secret: string): void {
  const message = `created key ${info.id} for ${orgId} (scopes ${info.scopes.join(', ')}); its secret is shown once`;
  if (process.stdout.isTTY) {
    out(`${message}:`);
    out(secret);
  } else {
    note(`${message}, on stdout`);
    out(secret);
  }
}

/** `30s`, `2m`, `500ms`, `1h` or plain seconds → milliseconds. */
export function parseDuration(v: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw usageError(`${what} ${v}: expected a duration such as 30s, 2m or 500ms`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

function readVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
