import fs from 'node:fs';
import path from 'node:path';
import type { NotaryClient, Receipt } from '../client';
import { CliError } from './errors';
import { note, out, printJson } from './output';

/** `notary receipt <id>`: GET /v1/records/:id/receipt; with --wait, polls (and says why it is blocked, if it is). */
export async function fetchReceipt(
  client: NotaryClient,
  id: string,
  opts: { out?: string; wait: boolean; timeoutSeconds: number; json: boolean },
): Promise<number> {
  let receipt: Receipt;
  if (!opts.wait) receipt = await client.receipt(id);
  else {
    const r = await client.waitForReceipts([id], {
      timeoutMs: opts.timeoutSeconds * 1000,
      onBlocked: (b) => {
        if (b) note(`notary: record ${id} cannot be anchored yet: ${b.code}: ${b.detail}`);
      },
    });
    if (r.notFound.length) throw new CliError('RECORD_NOT_FOUND', `Record ${id} not found`);
    const got = r.receipts.get(id);
    if (!got) {
      const why = r.blocked ? ` (blocked: ${r.blocked.code}: ${r.blocked.detail})` : '';
      throw new CliError('WAIT_TIMEOUT', `record ${id} not anchored after ${opts.timeoutSeconds} s${why}`);
    }
    receipt = got;
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
