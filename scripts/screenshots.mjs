// npm run screenshots: a picture of every page of the web console, in docs/screenshots/.
// It starts services and a fleet of its own (libs/testing, as the e2e tests do: PostgreSQL, Redis
// and the API on free ports, the agent on this machine's libvirtd), gives it something to show
// (disks, a NAT network, the tiny guest running and shut off, a snapshot, jobs running, failed and
// cancelled, API tokens, webhooks to a local receiver, audit rows), signs in with Chromium (playwright-core) at a laptop's 1440×900 and saves each page.
// Everything it made is removed again. Run through scripts/screenshots.sh (installs, builds).
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import testing from '../dist/libs/testing/src/index.js';

const { Fleet, guestFixtures, launchChromium, removeDomains, startTestServices, stopTestServices, waitFor } = testing;
const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'docs/screenshots');
const log = (line) => process.stderr.write(`screenshots: ${line}\n`);
const NET = 'vf-lab';

/** A route's 202, then the job once it ended (the API holds the answer up to `wait` seconds). */
async function done(fleet, call, what, wait = 180) {
  const r = await call;
  if (r.status !== 202) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  const job = await fleet.job(String(r.body.id), wait);
  log(`${what}: ${job.state}${job.error ? ` (${job.error.code})` : ''}`);
  return job;
}

/** A webhook receiver for the pictures: /ok answers 200, anything else 503 (a delivery that is retried). */
async function startReceiver() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(req.url === '/ok' ? 200 : 503).end());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

/** The administration pages' material: tokens (one revoked), webhooks (one answering, one not), audit rows. */
async function seedAdmin(fleet, receiver) {
  const post = async (path, body, what) => {
    const r = await fleet.post(path, body);
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  await post('/v1/tokens', { name: 'ci-deploy', scopes: ['operate'] }, 'token ci-deploy');
  await post('/v1/tokens', { name: 'grafana', scopes: ['read'] }, 'token grafana');
  const old = await post('/v1/tokens', { name: 'old-laptop', scopes: ['admin'] }, 'token old-laptop');
  await fleet.delete(`/v1/tokens/${old.id}`);
  await post('/v1/webhooks', { url: `${receiver.url}/ok`, events: ['job.finished'] }, 'webhook ok');
  await post('/v1/webhooks', { url: `${receiver.url}/ci-down`, jobType: 'create-vm' }, 'webhook down');
  await post(`/v1/hosts/${fleet.hostId}/maintenance`, { enabled: true }, 'maintenance on');
  await post(`/v1/hosts/${fleet.hostId}/maintenance`, { enabled: false }, 'maintenance off');
  log('tokens, webhooks and audit rows');
}

async function seed(fleet, fx, receiver) {
  const host = fleet.hostId;
  const post = (path, body) => fleet.post(path, body);
  await seedAdmin(fleet, receiver);
  await done(fleet, post('/v1/networks', { hostId: host, network: { kind: 'nat', name: NET, cidr: '10.213.7.1/24', dhcp: { start: '10.213.7.100', end: '10.213.7.200' } } }), 'network');
  for (const [name, sizeGiB, format] of [
    ['debian12-base', 8, 'qcow2'],
    ['web-data', 20, 'qcow2'],
    ['scratch', 2, 'raw'],
  ]) {
    await done(fleet, post('/v1/disks', { hostId: host, name, sizeGiB, format }), `disk ${name}`);
  }
  await done(fleet, post('/v1/disks', { hostId: host, name: 'web-02-root', backing: 'debian12-base' }), 'overlay disk');
  const tiny = (name, labels, extra = {}) =>
    post('/v1/vms', {
      hostId: host,
      name,
      memoryMiB: 256,
      vcpus: 1,
      install: { kind: 'kernel', kernel: 'vmlinux', initrd: 'initramfs.gz', cmdline: fx.cmdline },
      disks: [{ name: `${name}-root`, sizeGiB: 1 }],
      waitFor: 'guest-ready',
      readyMarker: fx.readyMarker,
      readyTimeoutSeconds: 90,
      labels,
      ...extra,
    });
  await done(fleet, tiny('web-01', { tier: 'web', team: 'storefront' }, { networks: [{ network: NET }] }), 'VM web-01');
  await done(fleet, tiny('db-01', { tier: 'db' }), 'VM db-01');
  await done(fleet, tiny('batch-01', { tier: 'batch' }), 'VM batch-01');
  const vms = (await fleet.get('/v1/vms?limit=50')).items;
  const id = (name) => vms.find((v) => v.name === name)?.id;
  await done(fleet, post(`/v1/vms/${id('db-01')}/snapshots`, { name: 'before-upgrade', description: 'schema 41' }), 'snapshot');
  await done(fleet, post(`/v1/vms/${id('db-01')}/actions/shutdown`, { timeoutSeconds: 60 }), 'shut down db-01');
  await done(fleet, post(`/v1/vms/${id('batch-01')}/actions/suspend`, {}), 'suspend batch-01');
  await done(fleet, post('/v1/disks', { hostId: host, name: 'broken-overlay', backing: 'no-such-base' }), 'a disk job that fails');
  const cancelled = await fleet.submit('sleep', { seconds: 120 });
  await waitFor('sleep running', async () => (await fleet.job(cancelled)).state === 'running');
  await fleet.post(`/v1/jobs/${cancelled}/cancel`, {});
  // Left running for the pictures: a long sleep (the diagnostic job of test fleets).
  const running = await fleet.submit('sleep', { seconds: 600 });
  await waitFor('DHCP lease of web-01', async () => ((await fleet.get(`/v1/vms/${id('web-01')}`)).interfaces[0]?.addresses ?? []).length > 0, { timeoutMs: 60_000 }).catch(() =>
    log('web-01 got no DHCP lease: its address column stays empty'),
  );
  return { vms: Object.fromEntries(vms.map((v) => [v.name, v.id])), running };
}

async function cleanUp(fleet) {
  for (const v of (await fleet.get('/v1/vms?limit=100')).items.filter((v) => ['web-01', 'db-01', 'batch-01'].includes(v.name))) {
    await fleet.job(String((await fleet.delete(`/v1/vms/${v.id}?removeStorage=true&deleteSnapshots=true`)).body.id), 60).catch(() => undefined);
  }
  for (const name of ['web-01', 'db-01', 'batch-01']) await removeDomains(name).catch(() => undefined);
  await fleet.delete(`/v1/hosts/${fleet.hostId}/networks/${NET}?force=true`).catch(() => undefined);
}

async function shoot(fleet, seeded) {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1, reducedMotion: 'reduce' });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    const save = async (name, opts = {}) => {
      await page.evaluate('window.scrollTo(0, 0)');
      await page.waitForTimeout(400); // transitions of the bars
      await page.screenshot({ path: join(out, `${name}.png`), fullPage: opts.fullPage ?? true });
      log(`docs/screenshots/${name}.png`);
    };
    const go = async (path, ready) => {
      await page.evaluate(`history.pushState(null, '', ${JSON.stringify(path)}); dispatchEvent(new PopStateEvent('popstate'))`);
      await page.locator(ready).first().waitFor();
    };

    await page.goto(`${fleet.url}/`);
    await page.getByLabel('API token', { exact: true }).waitFor();
    await save('login', { fullPage: false });
    await page.getByLabel('API token', { exact: true }).fill(fleet.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('tr[data-host] .badge').first().waitFor();
    await page.getByText('Live', { exact: true }).waitFor();
    await save('fleet');
    await go(`/hosts/${fleet.hostId}`, '#doctor');
    await save('host');
    await go('/vms', 'tr[data-vm="web-01"]');
    await save('vms');
    await go('/vms/new', '#vm-name');
    await page.getByLabel('Name', { exact: true }).fill('web-03');
    await page.getByRole('radio', { name: /^CD-ROM/ }).check();
    await page.getByRole('button', { name: 'Add interface' }).click();
    await save('vm-create');
    await go(`/vms/${seeded.vms['web-01']}`, '#console');
    await page.getByRole('button', { name: 'Connect' }).click();
    const screen = page.getByRole('region', { name: 'Serial console of web-01' });
    await screen.locator('.xterm-rows', { hasText: 'TINYGUEST-READY' }).waitFor();
    await page.keyboard.type('uname -sr; ip -4 addr show eth0 | grep inet\n');
    await screen.locator('.xterm-rows', { hasText: 'inet 10.213.7' }).waitFor({ timeout: 10_000 }).catch(() => undefined);
    await page.locator('#console').scrollIntoViewIfNeeded();
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(out, 'vm-console.png') });
    log('docs/screenshots/vm-console.png');
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await go(`/vms/${seeded.vms['db-01']}`, '#snapshots');
    await page.getByRole('button', { name: 'Show XML' }).click();
    await page.locator('#xml-view pre').waitFor();
    await save('vm');
    await go('/jobs', `tr[data-job-id="${seeded.running}"]`);
    await save('jobs');
    const createVm = page.locator('tr[data-job-type="create-vm"]').first();
    await createVm.getByRole('link').first().click();
    await page.locator('.command').first().waitFor();
    await save('job');
    await go('/networks', `tr[data-network="${NET}"]`);
    // The define form filled in, not sent.
    await page.getByRole('radio', { name: /^Isolated/ }).check();
    await page.getByLabel('Name', { exact: true }).fill('backend');
    await page.getByLabel('Subnet (host address/prefix)', { exact: true }).fill('10.213.9.1/24');
    await page.getByLabel('DHCP range start (optional)', { exact: true }).fill('10.213.9.100');
    await page.getByLabel('DHCP range end (optional)', { exact: true }).fill('10.213.9.200');
    await page.evaluate('document.activeElement.blur()');
    await save('networks');
    await go('/disks', 'tr[data-disk="web-data"]');
    // A conversion started from the page: its progress in the tray.
    await page.getByRole('button', { name: 'Convert web-data' }).click();
    await page.getByRole('button', { name: 'Convert', exact: true }).click();
    await page.locator('.activity-item[data-job-type="convert-disk"]').waitFor();
    await page.locator('.activity-item[data-job-type="convert-disk"] .badge', { hasText: 'succeeded' }).waitFor({ timeout: 120_000 });
    await save('disks');
    // The tray's cards stay out of the next pictures.
    for (const close of await page.locator('.activity-item').getByRole('button', { name: /^Close / }).all()) await close.click();

    // Administration (admin token): a join token made, with its enroll command …
    await go('/admin/hosts', '#add');
    await page.getByLabel('Host name (optional)', { exact: true }).fill('kvm-lab-02');
    await page.getByLabel('Labels (optional)', { exact: true }).fill('rack=r2, zone=b');
    await page.getByRole('button', { name: 'Make join token' }).click();
    await page.getByLabel('Enroll command', { exact: true }).waitFor();
    await page.evaluate('document.activeElement.blur()');
    await save('add-host');
    // … a token made, its secret shown once …
    await go('/admin/tokens', 'tr[data-token="ci-deploy"]');
    await page.getByLabel('Name', { exact: true }).fill('backup-bot');
    await page.getByRole('checkbox', { name: /^operate/ }).check();
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByLabel('Token backup-bot', { exact: true }).waitFor();
    await page.evaluate('document.activeElement.blur()');
    await save('tokens');
    // … a webhook's deliveries (the one whose receiver answers 503 is retried) …
    await go('/admin/webhooks', 'tr[data-webhook]');
    await page.getByRole('button', { name: /^Deliveries of the webhook to .*\/ci-down$/ }).click();
    await page.getByRole('button', { name: /^Deliveries of the webhook to .*\/ok$/ }).click();
    await page.locator('tr[data-delivery]').first().waitFor();
    await save('webhooks');
    // … and the audit log.
    await go('/admin/audit', 'tr[data-audit-action="token.create"]');
    await save('audit');
    await go('/vms', 'tr[data-vm="web-01"]');
    await page.getByRole('button', { name: 'Destroy web-01' }).click();
    await page.getByRole('dialog').waitFor();
    await save('confirm-destroy', { fullPage: false });
  } finally {
    await browser.close();
  }
}

const t0 = Date.now();
await mkdir(out, { recursive: true });
await startTestServices();
let fleet;
let receiver;
try {
  const fx = await guestFixtures();
  fleet = await Fleet.start({ name: 'kvm-lab-01', apiEnv: { VIRTFLEET_TEST_JOBS: '1' }, agentEnv: { VIRTFLEET_ISO_ROOT: fx.dir } });
  log(`fleet up at ${fleet.url}`);
  await cleanUp(fleet); // what an interrupted run left
  receiver = await startReceiver();
  const seeded = await seed(fleet, fx, receiver);
  await shoot(fleet, seeded);
  await cleanUp(fleet);
} finally {
  receiver?.server.closeAllConnections();
  receiver?.server.close();
  await fleet?.stop();
  await stopTestServices();
}
log(`done in ${Math.round((Date.now() - t0) / 1000)} s`);
