import fs from 'node:fs';
import path from 'node:path';
import { CliError } from './errors';
import { ApiClient, ApiError } from './http';
import { out, printJson } from './output';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `notary receipt <id>`: GET /v1/records/:id/receipt (409 RECEIPT_NOT_READY while pending). */
export async function fetchReceipt(
  client: ApiClient,
  id: string,
  opts: { out?: string; wait: boolean; timeoutSeconds: number; json: boolean },
): Promise<number> {
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  let receipt: unknown;
  for (;;) {
    try {
      receipt = await client.request<unknown>('GET', `/v1/records/${encodeURIComponent(id)}/receipt`);
      break;
    } catch (err) {
      if (!(opts.wait && err instanceof ApiError && err.code === 'RECEIPT_NOT_READY')) throw err;
      if (Date.now() > deadline) {
        throw new CliError('WAIT_TIMEOUT', `record ${id} not anchored after ${opts.timeoutSeconds} s`);
      }
      await sleep(300);
    }
  }
  if (!opts.out) {
    printJson(receipt);
    return 0;
  }
  const file = path.resolve(opts.out);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(receipt, null, 2) + '\n');
  if (opts.json) printJson({ id, file });
  else out(`wrote ${file}`);
  return 0;
}
