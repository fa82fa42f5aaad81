import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';

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

/** A console tab as the web tests use one: a laptop-sized page, and the script errors it logs. */
export interface ConsoleTab {
  context: BrowserContext;
  page: Page;
  /** Script errors and console errors (not Chromium's "Failed to load resource" for a 4xx the console expects). */
  errors: string[];
}

export async function openConsoleTab(browser: Browser, opts: { clipboardOrigin?: string } = {}): Promise<ConsoleTab> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  if (opts.clipboardOrigin) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: opts.clipboardOrigin });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  return { context, page, errors };
}

/** Pastes a token into the login form (opening `url` first when given) and waits until the console took it. */
export async function signIn(page: Page, token: string, url?: string): Promise<void> {
  if (url) await page.goto(url);
  const field = page.getByLabel('API token', { exact: true });
  await field.fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await field.waitFor({ state: 'detached' });
}

/** The names of the page's buttons (their aria-label, else their text): which actions it offers. */
export async function buttonNames(page: Page): Promise<string[]> {
  const buttons = await page.getByRole('button').all();
  return Promise.all(buttons.map(async (b) => ((await b.getAttribute('aria-label')) ?? (await b.textContent()) ?? '').trim()));
}

/** Client-side navigation through the side bar (a reload would lose what the page holds). */
export function navTo(page: Page, name: string): Promise<void> {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
}
