import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (apt-get install -y chromium; .ci/run installs it), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
/** Skipped only outside CI: with CI set, a missing Chromium fails the browser tests instead. */
export const SKIP_BROWSER = !HAVE_CHROMIUM && !process.env.CI;

/**
 * Headless Chromium as this machine needs it: no sandbox (root), no GPU, and none of its background connections
 * (this machine has no network: they would fail, many at a time). `extraArgs`, e.g. `--host-resolver-rules=…`.
 */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!HAVE_CHROMIUM) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the CI image must install it (apt-get install -y chromium, see .ci/run)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/**
 * Opens the auditor page at `url` in `ctx` and waits until its script is ready (`html[data-ready]`); `errors`
 * collects its page errors and console errors (CSP violations among them) from then on.
 */
export async function openPage(ctx: BrowserContext, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  await page.bringToFront();
  await page.waitForSelector('html[data-ready="true"]');
  return { page, errors };
}

/** Closes the pages a test left open (a failed assertion skips its own close). */
export async function closePages(ctx: BrowserContext | undefined): Promise<void> {
  for (const p of ctx?.pages() ?? []) await p.close();
}
