/**
 * Chromium for the browser tests (Debian's package, driven by playwright-core): where it is, why a suite
 * is skipped without it, and one way to launch it — headless, without the background traffic (updates,
 * sync, QUIC) that would reach for the network this machine does not have.
 */
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** `describe`'s skip option: false when Chromium is installed, else why the suite does not run. */
export const chromiumSkip: string | false = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the browser tests`;

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** A persistent context with its profile in `userDataDir`, a 1440×900 viewport, downloads as asked. */
export function launchChromium(userDataDir: string, opts: { acceptDownloads?: boolean } = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1440, height: 900 },
    ...opts,
  });
}
