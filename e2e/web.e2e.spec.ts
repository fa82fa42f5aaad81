import type { Browser, Page } from 'playwright-core';
import { buttonNames, guestFixtures, launchChromium, navTo, openConsoleTab, removeDomains, signIn, waitFor, Fleet, type GuestFixtures } from '@virtfleet/testing';

// The web console (apps/web) in Debian's Chromium, against the real product as `npm run up`
// brings it up: the built API serving dist/web, the agent on this machine's libvirtd, the tiny
// guest under TCG. Every step
// is done the way a person does it — pasting a token, clicking, filling forms — and what the page
// shows is read back; the page is never reloaded (a marker on `window` proves it).

const PREFIX = `vfweb${process.pid}-`;
const MARK = 'window.__virtfleetNoReload';

/** Buttons that change something: none of them may be on a page a read token sees. */
const ACTION = /^(Start|Shut down|Reboot|Suspend|Resume|Destroy|Cancel|Convert|Delete|Create|Take snapshot|Revert|Stop|Check placement|Connect|Clone|(Start|End) maintenance)\b/;

describe('web console end to end (Chromium, playwright-core)', () => {
  let fleet: Fleet;
  let fx: GuestFixtures;
  let browser: Browser;
  let page: Page;
  const vmName = `${PREFIX}tiny`;
  const diskName = `${PREFIX}data`;
  let consoleErrors: string[] = [];

  beforeAll(async () => {
    fx = await guestFixtures();
    [fleet, browser] = await Promise.all([
      // `npm run up`, in a folder and on ports of its own. The fixtures folder is the agent's iso
      // root: the tiny guest's kernel and initramfs are found there by name.
      Fleet.up({ name: 'e2e-web', env: { VIRTFLEET_TEST_JOBS: '1', VIRTFLEET_ISO_ROOT: fx.dir } }),
      launchChromium(),
    ]);
    ({ page, errors: consoleErrors } = await openConsoleTab(browser));
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    try {
      await removeDomains(PREFIX);
    } finally {
      await fleet?.stop();
    }
  }, 120_000);

  /** Client-side navigation through the side bar (a reload would lose the window marker). */
  const nav = (name: string) => navTo(page, name);

  it('refuses a wrong token in the API’s words, then signs in with the admin token and shows the local host online', async () => {
    await page.goto(`${fleet.url}/`);
    await page.getByLabel('API token', { exact: true }).fill('vfa_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'unknown or revoked token' }).waitFor();

    await signIn(page, fleet.token);
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    await page.evaluate(`${MARK} = true`);
    const host = page.locator('tr[data-host="e2e-web"]');
    await host.locator('.badge', { hasText: 'online' }).waitFor();
    expect(await host.locator('.badge', { hasText: /^(KVM|TCG)$/ }).count()).toBe(1);
    expect(await host.getByRole('meter', { name: /Memory in use/ }).getAttribute('aria-valuenow')).toMatch(/^\d+$/);
    expect(await page.locator('.scope').textContent()).toBe('admin');
    await page.getByText('Live', { exact: true }).waitFor(); // the event stream is open
    // The keyboard's first stop is the skip link, which lands on the page's content.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement.id')).toBe('main');
  }, 60_000);

  it('creates a disk and its job’s progress bar reaches 100 %', async () => {
    await nav('Disks');
    await page.getByLabel('Name', { exact: true }).fill(diskName);
    await page.getByLabel('Size (GiB)', { exact: true }).fill('1');
    await page.getByRole('button', { name: 'Create disk' }).click();
    const card = page.locator('.activity-item[data-job-type="create-disk"]').filter({ hasText: diskName });
    await card.getByRole('progressbar').waitFor();
    await card.locator('[role="progressbar"][aria-valuenow="100"]').waitFor();
    await card.locator('.badge', { hasText: 'succeeded' }).waitFor();
    // The list follows without a reload: the new disk is there, ready, 1 GiB.
    const row = page.locator(`tr[data-disk="${diskName}"]`);
    await row.locator('.badge', { hasText: 'ready' }).waitFor();
    expect(await row.locator('td.num').first().textContent()).toBe('1 GiB');
  }, 60_000);

  it('creates the tiny VM with the form, sees it running, types in its serial console, shuts it down and sees it shut off without a reload', async () => {
    await nav('VMs');
    await page.getByRole('link', { name: 'Create VM' }).click();
    await page.getByLabel('Name', { exact: true }).fill(vmName);
    await page.getByLabel('Host', { exact: true }).selectOption({ label: 'e2e-web' });
    await page.getByLabel('vCPUs', { exact: true }).fill('1');
    await page.getByLabel('Memory (MiB)', { exact: true }).fill('256');
    await page.getByRole('radio', { name: /^Direct kernel/ }).check();
    await page.getByLabel('Kernel', { exact: true }).fill('vmlinux');
    await page.getByLabel('Initrd (optional)', { exact: true }).fill('initramfs.gz');
    await page.getByLabel('Kernel command line', { exact: true }).fill(fx.cmdline);
    await page.getByLabel('Disk 1 name', { exact: true }).fill(`${vmName}-root`);
    await page.getByLabel('Size (GiB)', { exact: true }).fill('1');
    // An ACPI shutdown sent while the guest still boots is lost: the job ends when it is up.
    await page.getByLabel('The job ends when', { exact: true }).selectOption('guest-ready');
    await page.getByLabel('Ready marker (serial console text)', { exact: true }).fill(fx.readyMarker);
    await page.getByLabel('Ready within (s)', { exact: true }).fill('90');
    await page.getByRole('button', { name: 'Create VM' }).click();

    // The VMs page, filtered to the new VM; the create-vm job in the tray.
    const row = page.locator(`tr[data-vm="${vmName}"]`);
    await row.waitFor();
    const job = page.locator('.activity-item[data-job-type="create-vm"]');
    await job.locator('.badge', { hasText: 'succeeded' }).waitFor({ timeout: 120_000 });
    await row.locator('.vm-state .badge', { hasText: 'running' }).waitFor();

    // Its serial console in the page: the boot marker from the log, then the guest's shell answers.
    await row.getByRole('link', { name: vmName }).click();
    await page.getByRole('button', { name: 'Connect' }).click();
    const screen = page.getByRole('region', { name: `Serial console of ${vmName}` });
    await screen.locator('.xterm-rows', { hasText: fx.readyMarker }).waitFor();
    await page.keyboard.type('echo console-$((6*7))\n');
    await screen.locator('.xterm-rows', { hasText: 'console-42' }).waitFor();
    await page.keyboard.press('Control+]'); // back to the page, as virsh console's escape
    await page.getByRole('button', { name: 'Disconnect' }).click();

    await nav('VMs');
    await row.getByRole('button', { name: `Shut down ${vmName}` }).click();
    await row.locator('.vm-state .badge', { hasText: 'shut off' }).waitFor({ timeout: 90_000 });
    await page.locator('.activity-item[data-job-type="shutdown-vm"] .badge', { hasText: 'succeeded' }).waitFor();
    // Shut off: of the power buttons only Start is offered (and Delete, which is not one).
    expect(await row.getByRole('button').allTextContents()).toEqual(['Start', 'Delete']);
    expect(await page.evaluate(MARK)).toBe(true);
  }, 180_000);

  it('shows the VM’s detail (its disk, its domain XML) and clones it from there', async () => {
    await page.locator(`tr[data-vm="${vmName}"]`).getByRole('link', { name: vmName }).click();
    await page.getByRole('heading', { name: new RegExp(vmName) }).first().waitFor();
    await page.getByRole('table', { name: 'Disks' }).getByText(`${vmName}-root.qcow2`, { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Show XML' }).click();
    await page.getByLabel(`Domain XML of ${vmName}`).getByText('<domain', { exact: false }).waitFor();

    await page.getByRole('button', { name: `Clone ${vmName}` }).click();
    await page.getByLabel('Name of the clone', { exact: true }).fill(`${PREFIX}copy`);
    await page.getByRole('dialog').getByRole('button', { name: 'Clone', exact: true }).click();
    await page.locator('.activity-item[data-job-type="clone-vm"] .badge', { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });
    await nav('VMs');
    await page.locator(`tr[data-vm="${PREFIX}copy"] .vm-state .badge`, { hasText: 'shut off' }).waitFor();
  }, 90_000);

  it('opens a job’s log: the commands the agent ran, with their exit codes', async () => {
    await nav('Jobs');
    const row = page.locator('tr[data-job-type="create-disk"]').filter({ hasText: diskName });
    await row.getByRole('link', { name: 'create-disk' }).click();
    await page.getByRole('heading', { name: 'Commands run on the host' }).waitFor();
    const command = page.locator('.command').filter({ hasText: '$ qemu-img create' });
    await command.waitFor();
    await command.locator('.badge', { hasText: 'exit 0' }).waitFor();
    expect(await page.getByRole('region', { name: 'Payload' }).locator('pre').textContent()).toContain(`"name": "${diskName}"`);
  }, 60_000);

  it('cancels a running job from the jobs list, which follows it live', async () => {
    await nav('Jobs');
    const id = await fleet.submit('sleep', { seconds: 300 }); // the diagnostic job of test fleets
    const row = page.locator(`tr[data-job-id="${id}"]`);
    await row.locator('.badge', { hasText: 'running' }).waitFor(); // job.created, then job.updated: no reload
    await row.getByRole('button', { name: /^Cancel sleep/ }).click();
    await row.locator('.badge', { hasText: 'cancelled' }).waitFor();
    expect((await fleet.job(id)).state).toBe('cancelled');
    expect(await page.evaluate(MARK)).toBe(true);
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it('a read-scoped token sees the same pages without a single action button', async () => {
    const made = await fleet.post('/v1/tokens', { name: `web-reader-${process.pid}`, scopes: ['read'] });
    expect(made.status).toBe(201);
    const live = await fleet.submit('sleep', { seconds: 300 }); // a running job a reader must not be offered to cancel
    const { context: reader, page: p } = await openConsoleTab(browser);
    try {
      await signIn(p, String(made.body['token']), `${fleet.url}/`);
      await p.locator('tr[data-host="e2e-web"] .badge', { hasText: 'online' }).waitFor();
      expect(await p.locator('.scope').textContent()).toBe('read');

      const vm = (await fleet.get<{ items: Array<{ id: string }> }>(`/v1/vms?name=${vmName}`)).items[0];
      const host = fleet.hostId;
      const pages: Array<[string, string]> = [
        ['/', 'tr[data-host="e2e-web"]'],
        [`/hosts/${host}`, '#doctor'],
        ['/vms', `tr[data-vm="${vmName}"]`],
        [`/vms/${vm?.id}`, '#snapshots'],
        ['/jobs', `tr[data-job-id="${live}"]`],
        [`/jobs/${live}`, '#logs'],
        ['/networks', 'h1'],
        ['/disks', `tr[data-disk="${diskName}"]`],
      ];
      for (const [path, ready] of pages) {
        // A pasted link: the page loads again and signs in with the token kept for the tab.
        await p.goto(`${fleet.url}${path}`);
        await p.locator(ready).first().waitFor();
        expect({ path, actions: (await buttonNames(p)).filter((n) => ACTION.test(n)) }).toEqual({ path, actions: [] });
        expect(await p.locator('.scope').textContent()).toBe('read');
      }
      // Nor a link to the create form, nor the form at its address.
      await p.goto(`${fleet.url}/vms`);
      await p.locator(`tr[data-vm="${vmName}"]`).waitFor();
      expect(await p.getByRole('link', { name: 'Create VM' }).count()).toBe(0);
      await p.goto(`${fleet.url}/vms/new`);
      await p.getByText('This token may only read').waitFor();
      expect(await p.getByLabel('Name', { exact: true }).count()).toBe(0);
    } finally {
      await reader.close();
      await fleet.post(`/v1/jobs/${live}/cancel`, {});
    }
  }, 60_000);

  it('the page never reloaded, and the browser logged no error', async () => {
    expect(await page.evaluate(MARK)).toBe(true);
    expect(consoleErrors).toEqual([]);
    await waitFor('no job left running', async () => (await fleet.get<{ items: unknown[] }>('/v1/jobs?state=running')).items.length === 0, { timeoutMs: 20_000 });
  }, 60_000);
});
