import { assertProductionSecrets, loadConfig } from '../config';
import { installProcessGuards } from '../service/process-guards';
import { startRuntime, type Runtime } from './runtime';

/** `npm start` / `notary start`: the embedded default of DESIGN §6 (or an external chain with RPC_URL). */
export async function startCommand(): Promise<void> {
  const config = loadConfig();
  assertProductionSecrets(config); // issue 11: no development secrets outside the embedded default
  const running: { rt?: Runtime } = {}; // issue 11: log uncaught failures; on a fatal one stop the chain, exit 1
  installProcessGuards({ onFatal: async () => running.rt?.stop() });
  const t0 = Date.now();
  const log = (m: string) => console.log(`[notary] ${m}`);
  // fastify's pino logger at LOG_LEVEL (default warn: failures and 5xx with their cause, no per-request lines).
  const rt = await startRuntime(config, { log, logger: { level: config.logLevel } });
  running.rt = rt;
  log(`API on ${rt.apiUrl} (OpenAPI ${rt.apiUrl}/openapi.json, Swagger UI ${rt.apiUrl}/docs, verifier ${rt.apiUrl}/)`);
  log(
    `chain ${rt.rpcUrl} (chainId ${rt.deployment.chainId}), NotaryRegistry ${rt.deployment.notaryRegistry.address}, ClaimRegistry ${rt.deployment.claimRegistry.address}`,
  );
  log(
    `database: ${config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`}; anchoring every ${config.anchorIntervalMs} ms, ${config.confirmations} confirmation(s)`,
  );
  if (rt.demo) {
    console.log('\nDemo API keys (also in ' + `${config.dataDir}/demo.json):`);
    console.log(`  admin    ${rt.demo.admin.apiKey}`);
    console.log(`  auditor  ${rt.demo.auditor.apiKey}`);
    for (const o of rt.demo.orgs) console.log(`  ${o.id.padEnd(9)} ${o.apiKey}  (chain account ${o.address})`);
    console.log('');
  }
  log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  let signals = 0;
  const shutdown = async (sig: string) => {
    if (signals++) return;
    log(`${sig}: draining…`);
    try {
      await rt.stop();
      log('stopped cleanly');
      process.exit(0);
    } catch (err) {
      console.error(`[notary] shutdown failed: ${(err as Error).message}`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
