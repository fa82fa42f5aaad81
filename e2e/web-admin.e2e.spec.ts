import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '@virtfleet/sdk';
import type { Browser, Page } from 'playwright-core';
import { buttonNames, launchChromium, navTo, onHost, openConsoleTab, signIn as signInWith, waitFor, Fleet } from '@virtfleet/testing';

// The web console's network and administration side in Debian's Chromium, against the real
// product (the built API serving dist/web, the agent on this machine's libvirtd): a network
// defined with the form, autostarted and undefined; an API token made, used, refused once
// revoked; a webhook delivering to a listener this test runs; the audit log; a join token, a host
// enrolled with it and revoked. Everything through the page, as a person does it.

const PREFIX = `vfadm${process.pid}-`;
const NET = `${PREFIX}iso`;
const NET_BRIDGE = `vfad${process.pid % 100000}`;
const SUBNET = `10.216.${process.pid % 200}`;
const HOST = 'e2e-web-admin';
const MARK = 'window.__virtfleetNoReload';

/** Buttons that change something: a read token may see none of them. */
const ACTION =
  /^(Define network|Undefine|Turn autostart|Start|Stop|Create|Make join token|Revoke|Delete|Cancel|Convert|Destroy|Shut down|Reboot|Suspend|Resume|Clone|(Start|End) maintenance)\b/;

/** The text of the tray's card for a job of this type once the job has ended (its error, if it failed). */
async function ended(page: Page, type: string): Promise<string> {
  const card = page.locator(`.activity-item[data-job-type="${type}"]:is(.activity-succeeded, .activity-failed, .activity-timed_out, .activity-cancelled)`);
  await card.waitFor({ timeout: 90_000 });
  return (await card.textContent()) ?? '';
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

describe('web console administration end to end (Chromium, playwright-core)', () => {
  let fleet: Fleet;
  let browser: Browser;
  let page: Page;
  let listener: Server;
  let hookUrl = '';
  const received: Received[] = [];
  let consoleErrors: string[] = [];
  const readerName = `${PREFIX}reader`;
  let readerToken = '';

  beforeAll(async () => {
    // The webhook's receiver: answers 200 and keeps what it got.
    listener = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/hook`;

    [fleet, browser] = await Promise.all([Fleet.start({ name: HOST, apiEnv: { VIRTFLEET_TEST_JOBS: '1' } }), launchChromium()]);
    ({ page, errors: consoleErrors } = await openConsoleTab(browser, { clipboardOrigin: fleet.url }));
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    listener?.closeAllConnections(); // the API's fetch keeps its connection alive
    await new Promise((resolve) => listener?.close(resolve));
    try {
      // A network an interrupted run left behind.
      await onHost('virsh', 'net-destroy', NET).catch(() => undefined);
      await onHost('virsh', 'net-undefine', NET).catch(() => undefined);
    } finally {
      await fleet?.stop();
    }
  }, 120_000);

  /** Client-side navigation through the side bar (a reload would lose the window marker). */
  const nav = (name: string) => navTo(page, name);
  const adminLinks = () => page.getByRole('navigation', { name: 'Main' }).getByRole('list', { name: 'Administration' }).getByRole('link');

  const signIn = (token: string) => signInWith(page, token);
  const signOut = async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('API token', { exact: true }).waitFor();
  };
  /** The names of the buttons on the page that change something. */
  const actionButtons = async () => {
    return (await buttonNames(page)).filter((n) => ACTION.test(n));
  };

  it('signs in with the admin token and shows the administration pages in the side bar', async () => {
    await page.goto(`${fleet.url}/`);
    await signIn(fleet.token);
    await page.locator(`tr[data-host="${HOST}"] .badge`, { hasText: 'online' }).waitFor();
    await page.evaluate(`${MARK} = true`);
    expect(await page.locator('.scope').textContent()).toBe('admin');
    expect(await adminLinks().allTextContents()).toEqual(['Hosts', 'API tokens', 'Webhooks', 'Audit log']);
  }, 60_000);

  it('defines an isolated network with the form, turns its autostart on, then undefines it (asked first)', async () => {
    await nav('Networks');
    const form = page.getByRole('form', { name: 'Define a network' });
    await form.getByRole('radio', { name: /^Isolated/ }).check();
    await form.getByLabel('Name', { exact: true }).fill(NET);
    await form.getByLabel('Host', { exact: true }).selectOption({ label: HOST });
    await form.getByLabel('Bridge name (optional)', { exact: true }).fill(NET_BRIDGE);
    await form.getByLabel('Subnet (host address/prefix)', { exact: true }).fill(`${SUBNET}.1/24`);
    await form.getByLabel('DHCP range start (optional)', { exact: true }).fill(`${SUBNET}.10`);
    await form.getByLabel('DHCP range end (optional)', { exact: true }).fill(`${SUBNET}.20`);
    await form.getByLabel('Start with libvirtd (autostart)', { exact: true }).uncheck();
    await form.getByRole('button', { name: 'Define network' }).click();
    await expect(ended(page, 'define-network')).resolves.toContain('succeeded');

    // The list follows without a reload: active, isolated, on its bridge and subnet, no autostart.
    const row = page.locator(`tr[data-network="${NET}"]`);
    await row.locator('.badge', { hasText: 'active' }).waitFor();
    expect(await row.locator('td.mono').allTextContents()).toEqual([NET_BRIDGE, `${SUBNET}.1/24`]);
    await row.locator('.badge', { hasText: /^no$/ }).waitFor();

    await row.getByRole('button', { name: `Turn autostart on for network ${NET} on ${HOST}` }).click();
    await expect(ended(page, 'set-network-autostart')).resolves.toContain('succeeded');
    await row.locator('.badge', { hasText: /^yes$/ }).waitFor();
    expect((await onHost('virsh', 'net-info', NET)).replace(/\s+/g, ' ')).toContain('Autostart: yes');

    await row.getByRole('button', { name: `Undefine network ${NET} on ${HOST}` }).click();
    const dialog = page.getByRole('dialog', { name: `Undefine network ${NET}?` });
    await dialog.getByText('refuses while a running VM uses it').waitFor();
    await dialog.getByRole('button', { name: 'Undefine network' }).click();
    await expect(ended(page, 'undefine-network')).resolves.toContain('succeeded');
    await row.waitFor({ state: 'detached' });
    expect(await onHost('virsh', 'net-list', '--all', '--name')).not.toContain(NET);
    expect(await page.evaluate(MARK)).toBe(true);
  }, 120_000);

  it('creates a read token, shows its secret once, and a console signed in with it has no admin pages and no action buttons', async () => {
    await nav('API tokens');
    await page.getByLabel('Name', { exact: true }).fill(readerName);
    expect(await page.getByRole('checkbox', { name: /^read/ }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = page.getByLabel(`Token ${readerName}`, { exact: true });
    readerToken = await secret.inputValue();
    expect(readerToken).toMatch(/^vfa_[\w-]{40,}$/);
    await page.getByText('Shown this once.').waitFor();
    await page.getByRole('button', { name: `Copy Token ${readerName}` }).click();
    await page.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(readerToken);
    const row = page.locator(`tr[data-token="${readerName}"]`);
    expect(await row.locator('.scope').allTextContents()).toEqual(['read']);
    await row.locator('.badge', { hasText: 'live' }).waitFor();
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    expect(await page.getByLabel(`Token ${readerName}`, { exact: true }).count()).toBe(0);
    expect(await page.locator('body').textContent()).not.toContain(readerToken); // once: it is nowhere on the page now

    // Signed out here, the address stays: signed in again with the read token, the same page
    // says what it needs instead of failing.
    await signOut();
    await signIn(readerToken);
    await page.getByText('This page needs an admin token').waitFor();
    expect(await page.locator('.scope').textContent()).toBe('read');
    expect(await page.getByRole('heading', { name: 'Administration' }).count()).toBe(0);
    expect(await adminLinks().count()).toBe(0);
    await nav('Fleet');
    await page.locator(`tr[data-host="${HOST}"] .badge`, { hasText: 'online' }).waitFor();
    expect(await actionButtons()).toEqual([]);
    await nav('Networks');
    await page.getByRole('heading', { name: 'All networks' }).waitFor();
    expect(await page.getByRole('form', { name: 'Define a network' }).count()).toBe(0);
    expect(await actionButtons()).toEqual([]);
    // The host page has no Revoke host for it either.
    await nav('Fleet');
    await page.locator(`tr[data-host="${HOST}"]`).getByRole('link', { name: HOST }).click();
    await page.locator('#doctor').waitFor();
    expect(await actionButtons()).toEqual([]);
    // So does every admin page's address, pasted.
    for (const path of ['/admin/tokens', '/admin/webhooks', '/admin/audit', '/admin/hosts']) {
      await page.goto(`${fleet.url}${path}`);
      await page.getByText('This page needs an admin token').waitFor();
      expect(await page.getByRole('alert').count()).toBe(0);
      expect(await page.getByRole('table').count()).toBe(0);
    }
    await page.evaluate(`${MARK} = true`); // the goto above reloaded the page on purpose

    // Back as admin: revoke it, asked first.
    await signOut();
    await signIn(fleet.token);
    await nav('API tokens');
    await row.locator('.badge', { hasText: 'live' }).waitFor();
    await row.getByRole('button', { name: `Revoke token ${readerName}` }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke token ${readerName}?` });
    await dialog.getByText('cannot be undone').waitFor();
    await dialog.getByRole('button', { name: 'Revoke token' }).click();
    await row.locator('.badge', { hasText: 'revoked' }).waitFor();
    expect(await row.getByRole('button').count()).toBe(0);

    // Signing in with it again is refused in the API's words.
    await signOut();
    await page.getByLabel('API token', { exact: true }).fill(readerToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'unknown or revoked token' }).waitFor();
    await signIn(fleet.token);
    await row.locator('.badge', { hasText: 'revoked' }).waitFor(); // back where it was signed out
    expect(await page.evaluate(MARK)).toBe(true);
  }, 120_000);

  it('creates a webhook to a local listener, shows its secret once, lists the signed delivery a job makes, then deletes it', async () => {
    await nav('Webhooks');
    await page.getByLabel('URL', { exact: true }).fill(hookUrl);
    expect(await page.getByRole('checkbox', { name: 'job.finished' }).isChecked()).toBe(true);
    await page.getByLabel('Only jobs on host', { exact: true }).selectOption({ label: HOST });
    await page.getByLabel('Only jobs of type', { exact: true }).selectOption('noop');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    const secret = await page.getByLabel('Signing secret', { exact: true }).inputValue();
    expect(secret).toMatch(/^whsec_/);
    const row = page.locator(`tr[data-webhook="${hookUrl}"]`);
    await row.getByText('noop').waitFor();
    await row.getByRole('link', { name: HOST }).waitFor();
    await page.getByRole('button', { name: 'Done, hide it' }).click();

    await row.getByRole('button', { name: `Deliveries of the webhook to ${hookUrl}` }).click();
    await page.getByText('No delivery yet').waitFor();
    const job = await fleet.submit('noop', {});
    // The delivery appears in the open log by itself: succeeded, one attempt, the listener's 200.
    const delivery = page.getByRole('table', { name: `Deliveries to ${hookUrl}` }).locator('tbody tr');
    await delivery.locator('.badge', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    expect(await delivery.count()).toBe(1);
    expect(await delivery.locator('td.num').allTextContents()).toEqual(['1', '200']);
    expect(await delivery.getByRole('link').textContent()).toBe(job.slice(0, 8));
    // What the listener got is signed with the secret the page showed.
    const got = received.find((r) => r.body.includes(job));
    expect(got).toBeDefined();
    expect(verifyWebhookSignature(secret, got?.body ?? '', got?.headers['x-virtfleet-signature'] as string | undefined)).toBe(true);

    await row.getByRole('button', { name: `Delete webhook to ${hookUrl}` }).click();
    await page.getByRole('dialog', { name: 'Delete this webhook?' }).getByRole('button', { name: 'Delete webhook' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await fleet.get<{ items: unknown[] }>('/v1/webhooks')).toEqual({ items: [] });
  }, 90_000);

  it('shows the token’s creation and revocation in the audit log, filtered by action, target and time, newest first', async () => {
    const tokenId = (await fleet.get<{ items: Array<{ id: string; name: string }> }>('/v1/tokens')).items.find((t) => t.name === readerName)?.id;
    await nav('Audit log');
    const table = page.getByRole('table', { name: 'Audit log' });
    await table.locator('tr[data-audit-action="token.create"]').filter({ hasText: `token ${readerName}` }).waitFor();
    // Newest first: the revocation is above the creation.
    const actions = await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-audit-action')));
    expect(actions.indexOf('token.revoke')).toBeLessThan(actions.indexOf('token.create'));
    expect(actions).toContain('webhook.create');

    await page.getByLabel('Action (exactly)', { exact: true }).fill('token.create');
    await waitFor('only token.create rows', async () => {
      const shown = await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-audit-action')));
      return shown.length > 0 && shown.every((a) => a === 'token.create');
    });
    const created = table.locator('tbody tr').filter({ hasText: `token:${tokenId}` });
    expect(await created.textContent()).toContain(`"name":"${readerName}"`);
    expect(new URL(page.url()).searchParams.get('action')).toBe('token.create');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await table.locator('tr[data-audit-action="webhook.delete"]').waitFor();

    // By target (a click on one), then by time: nothing before the token existed.
    await table.getByRole('button', { name: `token:${tokenId}` }).first().click();
    await waitFor('only the token’s rows', async () => {
      const shown = await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-audit-action')));
      return shown.join(',') === 'token.revoke,token.create';
    });
    expect(new URL(page.url()).searchParams.get('target')).toBe(`token:${tokenId}`);
    await page.getByLabel('Until', { exact: true }).fill('2020-01-01T00:00');
    await page.getByText('No audit event matches.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
  }, 60_000);

  it('makes a join token and shows the enroll command; a host enrolled with it is revoked from the page (asked first)', async () => {
    await nav('Hosts');
    await page.getByLabel('Valid for', { exact: true }).selectOption({ label: '1 hour' });
    await page.getByLabel('Host name (optional)', { exact: true }).fill(`${PREFIX}new`);
    await page.getByRole('button', { name: 'Make join token' }).click();
    const command = (await page.getByLabel('Enroll command', { exact: true }).textContent()) ?? '';
    const origin = new URL(fleet.url).origin;
    expect(command).toMatch(new RegExp(`^virtfleet-agent enroll --api ${origin.replace(/[.]/g, '\\.')} --token (vfj_\\S+) --name ${PREFIX}new$`));
    await page.getByRole('button', { name: 'Copy the enroll command' }).click();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(command);

    // What `virtfleet-agent enroll` does with it: the API takes the token once.
    const joinToken = / --token (\S+)/.exec(command)?.[1] ?? '';
    const enrolled = await fetch(`${fleet.url}/v1/agent/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ joinToken, name: `${PREFIX}new` }),
    });
    expect(enrolled.status).toBe(201);
    await page.getByRole('button', { name: 'Done, hide it' }).click();

    const row = page.locator(`tr[data-host="${PREFIX}new"]`);
    await row.waitFor(); // the list is read again every 5 s
    await row.getByRole('button', { name: `Revoke host ${PREFIX}new` }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke host ${PREFIX}new?` });
    await dialog.getByText('Its agent token stops working').waitFor();
    await dialog.getByRole('button', { name: 'Revoke host' }).click();
    await row.locator('.badge', { hasText: 'revoked' }).waitFor();
    expect(await row.getByRole('button', { name: /^Revoke/ }).count()).toBe(0);
    // The fleet's own host is still there and offered a revoke on its page, which is not clicked.
    await nav('Fleet');
    await page.locator(`tr[data-host="${HOST}"]`).getByRole('link', { name: HOST }).click();
    await page.getByRole('button', { name: `Revoke host ${HOST}` }).waitFor();
  }, 60_000);

  it('the page never reloaded on its own, and the browser logged no error', async () => {
    expect(await page.evaluate(MARK)).toBe(true);
    expect(consoleErrors).toEqual([]);
  });
});
