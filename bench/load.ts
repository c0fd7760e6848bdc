// Load generator child process (lib.ts `autocannon`): autocannon's programmatic API in its own process, so the
// server under test gets its own core. argv[2] is a JSON config; prints autocannon's result as one JSON line.
// `unique: true` replaces every `[<id>]` in the body with a fresh id per request (each request a new record;
// the CLI's -I miscomputes Content-Length for bodies like ours).
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';

interface Config {
  url: string;
  connections: number;
  seconds: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  unique?: boolean;
  /** GET these paths (of `url`'s origin) in random order instead of `url` (e.g. receipts of many records). */
  paths?: string[];
}

const cfg = JSON.parse(process.argv[2]!) as Config;
const prefix = randomBytes(6).toString('hex');
let n = 0;

const instance = autocannon(
  {
    url: cfg.url,
    connections: cfg.connections,
    duration: cfg.seconds,
    method: cfg.method ?? 'GET',
    headers: cfg.headers,
    body: cfg.unique ? undefined : cfg.body,
    requests: cfg.paths
      ? [{ setupRequest: (req) => ({ ...req, path: cfg.paths![Math.floor(Math.random() * cfg.paths!.length)]! }) }]
      : cfg.unique
        ? [
            {
              setupRequest: (req) => ({ ...req, body: cfg.body!.replaceAll('[<id>]', `${prefix}-${++n}`) }),
            },
          ]
        : undefined,
  },
  (err, result) => {
    if (err) {
      console.error(err);
      process.exit(1);
    }
    console.log(JSON.stringify(result));
  },
);
void instance;
