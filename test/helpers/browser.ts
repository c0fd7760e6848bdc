import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

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
