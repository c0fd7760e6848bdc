import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Browser, BrowserContext } from 'playwright-core';
import { webPlugin } from '../../src/api/web';
import { verifyReceipt, type RootSource } from '../../src/verifier';
import { launchChromium } from './browser';

export interface VerifierPage {
  app: FastifyInstance;
  url: string;
  browser: Browser;
  /** One context for the page's tests (`viewport`); close its pages after each test (closePages). */
  ctx: BrowserContext;
  close(): Promise<void>;
}

/**
 * The auditor page served as the app serves it (helmet's default CSP: script-src 'self', no inline handlers, no
 * eval), with a minimal POST /v1/verify that is the real verifier over `rootSource()` and records each body it got
 * in `bodies`; and headless Chromium with one context on it.
 */
export async function startVerifierPage(opts: {
  rootSource: () => RootSource;
  viewport: { width: number; height: number };
  bodies: unknown[];
}): Promise<VerifierPage> {
  const app = Fastify({ forceCloseConnections: true }); // the test's own fetch() keeps sockets alive
  await app.register(helmet);
  await app.register(webPlugin);
  app.post('/v1/verify', async (req) => {
    opts.bodies.push(req.body);
    return verifyReceipt((req.body as { receipt: unknown }).receipt, { rootSource: opts.rootSource() });
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (err) {
    await app.close();
    throw err;
  }
  const ctx = await browser.newContext({ viewport: opts.viewport });
  return {
    app,
    url,
    browser,
    ctx,
    async close() {
      await browser.close();
      await app.close();
    },
  };
}
