import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** Debian's Chromium (scripts/ensure-deps.sh installs it): Playwright never downloads a browser here. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless, no sandbox (root in a container), and nothing that phones home: on a closed network
 * Chromium's background fetches (QUIC, component updates, sync) only flood refused connections.
 * Playwright adds --headless and a fresh --user-data-dir of its own.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Chromium under playwright-core, for the web console's end-to-end tests and screenshots. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/ensure-deps.sh installs Debian's chromium`);
  // Loaded here, not at import: the many tests that import @virtfleet/testing do not pay for it.
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
