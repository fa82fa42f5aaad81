import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { buttonNames, launchChromium, onHost, openConsoleTab, removeDomains, signIn, waitFor, Fleet } from '@virtfleet/testing';

// The web console's everyday VM and disk tasks in Debian's Chromium, against the real product:
// set vCPUs, memory and autostart, labels, attach and detach a NIC, resize and inspect a disk,
// adopt a domain defined by hand, guest files (read, edit and save, disk usage) and
// deleting a VM with its disks. The VMs are shut-off domains made by define-vm (nothing boots):
// every change goes to their saved definitions, and the page shows what the host reports afterwards.
// The guest-file steps each start libguestfs's appliance under TCG (15-60 s each): three of them
// (a read after the save would be a fourth: the host checks the image instead).

const PREFIX = `vfwebvm${process.pid}-`;
const NET = `${PREFIX}net`;
const NET_BRIDGE = `vfw${process.pid % 100000}`;
const SUBNET = `10.215.${process.pid % 200}`;
const MAC = `52:54:00:5e:${((process.pid >> 8) & 0xff).toString(16).padStart(2, '0')}:${(process.pid & 0xff).toString(16).padStart(2, '0')}`;

/** The buttons this suite adds: none of them may be on a page a read token sees. */
const NEW_ACTION =
  /^(Set vCPUs|Set memory|Enable autostart|Disable autostart|Attach interface|Attach|Detach|Resize|Inspect|Adopt|Edit labels|Delete|Read file|Edit file|Save file|Disk usage|List filesystems|Use)\b/;
/** One libguestfs job under TCG, from the click to its result on the page. */
const GUESTFS_MS = 180_000;

interface VmBody {
  id: string;
  name: string;
  status: string;
  vcpus: number;
  maxVcpus: number;
  memoryMiB: number;
  autostart: boolean;
  interfaces: Array<{ mac?: string; network?: string }>;
}

describe('web console: VM and disk tasks (Chromium, playwright-core)', () => {
  let fleet: Fleet;
  let browser: Browser;
  let page: Page;
  let vm: VmBody;
  const vmName = `${PREFIX}vm`;
  const byHand = `${PREFIX}byhand`;
  const diskName = `${PREFIX}data`;
  const guestName = `${PREFIX}guest`;
  let guest: VmBody;
  let guestDisk: string;
  let scriptErrors: string[] = [];

  const vmNamed = async (name: string) => (await fleet.get<{ items: VmBody[] }>(`/v1/vms?hostId=${fleet.hostId}&name=${encodeURIComponent(name)}`)).items.find((v) => v.name === name);

  beforeAll(async () => {
    [fleet, browser] = await Promise.all([Fleet.start({ name: 'e2e-web-vm' }), launchChromium()]);
    // What the browser works on, made through the API at once: a shut-off domain (define-vm), a disk,
    // and an isolated network to put a NIC on.
    const xml = `<domain type='qemu'><name>${vmName}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>`;
    // A second shut-off domain whose disk holds a real ext4 filesystem (no partition table: it is
    // /dev/sda to libguestfs), made with mkfs.ext4 -d from a folder: no appliance, well under a second.
    guestDisk = join(fleet.storeRoot, `${guestName}.qcow2`);
    const content = join(fleet.dir, 'guest-content');
    await mkdir(join(content, 'etc'), { recursive: true });
    await writeFile(join(content, 'etc/app.conf'), 'mode=blue\nworkers=2\n');
    await onHost('truncate', '-s', '40M', `${guestDisk}.raw`);
    await onHost('mkfs.ext4', '-q', '-F', '-L', 'guestdata', '-d', content, `${guestDisk}.raw`);
    await onHost('qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', `${guestDisk}.raw`, guestDisk);
    await rm(`${guestDisk}.raw`);
    const guestXml =
      `<domain type='qemu'><name>${guestName}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>` +
      `<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${guestDisk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
    const [defined, guestDefined, disk, network] = await Promise.all([
      fleet.accepted(await fleet.post('/v1/vms/define', { hostId: fleet.hostId, xml }), 'define-vm'),
      fleet.accepted(await fleet.post('/v1/vms/define', { hostId: fleet.hostId, xml: guestXml }), 'define-vm'),
      fleet.accepted(await fleet.post('/v1/disks', { hostId: fleet.hostId, name: diskName, sizeGiB: 1, format: 'qcow2' }), 'create-disk'),
      fleet.accepted(
        await fleet.post('/v1/networks', {
          hostId: fleet.hostId,
          network: { kind: 'isolated', name: NET, bridge: NET_BRIDGE, cidr: `${SUBNET}.1/24`, dhcp: { start: `${SUBNET}.10`, end: `${SUBNET}.20` } },
        }),
        'define-network',
      ),
    ]);
    for (const job of [defined, guestDefined, disk, network]) if (job.state !== 'succeeded') throw new Error(`${job.type}: ${job.state} ${JSON.stringify(job.error)}`);
    await waitFor('the VM managed and shut off', async () => (await vmNamed(vmName))?.status === 'managed', { timeoutMs: 20_000 });
    vm = (await vmNamed(vmName)) as VmBody;
    await waitFor('the guest VM managed', async () => (await vmNamed(guestName))?.status === 'managed', { timeoutMs: 20_000 });
    guest = (await vmNamed(guestName)) as VmBody;
    await waitFor('the network listed', async () => (await fleet.get<{ items: unknown[] }>(`/v1/networks?hostId=${fleet.hostId}&name=${NET}`)).items.length === 1, {
      timeoutMs: 20_000,
    });

    ({ page, errors: scriptErrors } = await openConsoleTab(browser));
    await signIn(page, fleet.token, `${fleet.url}/`);
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    await page.getByText('Live', { exact: true }).waitFor();
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    try {
      await removeDomains(PREFIX);
      await onHost('virsh', 'net-destroy', NET).catch(() => undefined);
      await onHost('virsh', 'net-undefine', NET).catch(() => undefined);
    } finally {
      await fleet?.stop();
    }
  }, 120_000);

  /** The value of a fact on the VM page (`<dt>` then `<dd>`). */
  const fact = (name: string) => page.locator('#details dt', { hasText: new RegExp(`^${name}$`) }).locator('xpath=following-sibling::dd[1]');
  const succeeded = (type: string) => page.locator(`.activity-item[data-job-type="${type}"]`).first().locator('.badge', { hasText: 'succeeded' });
  const openVm = async (which: VmBody = vm) => {
    await page.goto(`${fleet.url}/vms/${which.id}`);
    await page.getByRole('heading', { name: new RegExp(which.name) }).first().waitFor();
  };

  it('sets vCPUs and memory of the shut-off VM; the API refuses a count above the maximum in its own words', async () => {
    await openVm();
    expect(await fact('vCPUs').textContent()).toBe('1 (max 1)');

    await page.getByRole('button', { name: 'Set vCPUs' }).click();
    const dialog = page.getByRole('dialog', { name: `Set vCPUs of ${vmName}` });
    expect(await dialog.getByLabel('vCPUs', { exact: true }).inputValue()).toBe('1');
    await dialog.getByLabel('vCPUs', { exact: true }).fill('3');
    await dialog.getByLabel('Maximum vCPUs', { exact: true }).fill('2');
    await dialog.getByRole('button', { name: 'Set vCPUs' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'vcpus may not exceed maxVcpus' }).waitFor();
    await dialog.getByLabel('vCPUs', { exact: true }).fill('2');
    await dialog.getByRole('button', { name: 'Set vCPUs' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await succeeded('set-vcpus').waitFor();
    await fact('vCPUs').filter({ hasText: '2 (max 2)' }).waitFor();

    await page.getByRole('button', { name: 'Set memory' }).click();
    const memory = page.getByRole('dialog', { name: `Set memory of ${vmName}` });
    await memory.getByLabel('Memory (MiB)', { exact: true }).fill('192');
    await memory.getByLabel('Maximum memory (MiB)', { exact: true }).fill('256');
    await memory.getByRole('button', { name: 'Set memory' }).click();
    await succeeded('set-memory').waitFor();
    await fact('Memory').filter({ hasText: '192 MiB (max 256 MiB)' }).waitFor();

    const after = (await vmNamed(vmName)) as VmBody;
    expect([after.vcpus, after.maxVcpus, after.memoryMiB]).toEqual([2, 2, 192]);
  }, 90_000);

  it('turns autostart on and off again', async () => {
    await openVm();
    expect(await fact('Autostart').textContent()).toBe('no');
    await page.getByRole('button', { name: 'Enable autostart', exact: true }).click();
    await fact('Autostart').filter({ hasText: 'yes' }).waitFor();
    expect((await vmNamed(vmName))?.autostart).toBe(true);
    await page.getByRole('button', { name: 'Disable autostart', exact: true }).click();
    await page.locator('.activity-item').filter({ hasText: `Disable autostart of ${vmName}` }).locator('.badge', { hasText: 'succeeded' }).waitFor();
    await fact('Autostart').filter({ hasText: 'no' }).waitFor();
    await page.getByRole('button', { name: 'Enable autostart', exact: true }).waitFor();
    expect((await vmNamed(vmName))?.autostart).toBe(false);
  }, 60_000);

  it('attaches an interface on a libvirt network of the host, then detaches it', async () => {
    await openVm();
    const nics = page.getByRole('table', { name: 'Network interfaces' });
    expect(await nics.count()).toBe(0);
    await page.getByRole('button', { name: 'Attach interface' }).click();
    const dialog = page.getByRole('dialog', { name: `Attach an interface to ${vmName}` });
    await dialog.getByLabel('Network', { exact: true }).selectOption(NET);
    await dialog.getByLabel('Model', { exact: true }).selectOption('e1000');
    await dialog.getByLabel('MAC (optional)', { exact: true }).fill(MAC);
    // Shut off: there is no running VM to change, only its definition.
    expect(await dialog.getByRole('checkbox').count()).toBe(1);
    await dialog.getByRole('button', { name: 'Attach', exact: true }).click();
    await succeeded('attach-interface').waitFor();
    const row = nics.getByRole('row').filter({ hasText: MAC });
    await row.getByRole('cell', { name: NET }).waitFor();
    await row.getByRole('cell', { name: 'e1000' }).waitFor();
    expect((await vmNamed(vmName))?.interfaces.map((i) => [i.mac, i.network])).toEqual([[MAC, NET]]);

    await row.getByRole('button', { name: `Detach ${MAC}` }).click();
    await page.getByRole('dialog', { name: `Detach ${MAC} from ${vmName}?` }).getByRole('button', { name: 'Detach' }).click();
    await succeeded('detach-interface').waitFor();
    await page.getByText('No network interface.').waitFor();
    expect((await vmNamed(vmName))?.interfaces).toEqual([]);
  }, 60_000);

  it('edits the labels: shown as key=value chips, a bad key refused in the words of the API', async () => {
    await openVm();
    await page.getByRole('button', { name: 'Edit labels' }).click();
    const dialog = page.getByRole('dialog', { name: `Labels of ${vmName}` });
    const field = dialog.getByLabel('Labels, one key=value a line', { exact: true });
    expect(await field.inputValue()).toBe('');
    await field.fill('-bad=1');
    await dialog.getByRole('button', { name: 'Save labels' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'request_invalid' }).waitFor();
    await field.fill('tier=web\nteam=payments, ops');
    await dialog.getByRole('button', { name: 'Save labels' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const chips = fact('Labels').getByRole('list', { name: 'Labels' });
    await chips.getByText('tier=web', { exact: true }).waitFor();
    expect((await chips.getByRole('listitem').allTextContents()).sort()).toEqual(['team=payments, ops', 'tier=web']);
    expect((await fleet.get<{ labels: Record<string, string> }>(`/v1/vms/${vm.id}`)).labels).toEqual({ tier: 'web', team: 'payments, ops' });
    // Kept: the page read again shows them.
    await openVm();
    await fact('Labels').getByText('team=payments, ops', { exact: true }).waitFor();
  }, 60_000);

  it('guest files: reads a file, edits and saves it (the image on the host holds the change), and shows disk usage', async () => {
    await openVm(guest);
    const section = page.locator('#guest-files');
    await section.getByText('The VM is shut off', { exact: false }).waitFor();
    await section.getByLabel('Filesystem (optional)', { exact: true }).fill('/dev/sda');
    await section.getByLabel('File path', { exact: true }).fill('/etc/app.conf');
    await section.getByRole('button', { name: 'Read file' }).click();
    const content = section.getByLabel('Content of /etc/app.conf', { exact: true });
    await content.waitFor({ timeout: GUESTFS_MS });
    expect(await content.textContent()).toBe('mode=blue\nworkers=2\n');
    await succeeded('read-guest-file').waitFor();

    await section.getByRole('button', { name: 'Edit file' }).click();
    const editor = section.getByLabel('New content of /etc/app.conf', { exact: true });
    expect(await editor.inputValue()).toBe('mode=blue\nworkers=2\n');
    await editor.fill('mode=green\nworkers=2\n');
    await section.getByRole('button', { name: 'Save file' }).click();
    await section.getByRole('status').filter({ hasText: 'Saved /etc/app.conf: 21 bytes' }).waitFor({ timeout: GUESTFS_MS });
    expect(await editor.count()).toBe(0);
    // On the host, without libguestfs: the ext4 image itself holds the new text.
    await onHost('qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', guestDisk, `${guestDisk}.check`);
    try {
      expect(await onHost('debugfs', '-R', 'cat /etc/app.conf', `${guestDisk}.check`)).toBe('mode=green\nworkers=2\n');
    } finally {
      await rm(`${guestDisk}.check`, { force: true });
    }


    await section.getByRole('button', { name: 'Disk usage' }).click();
    const usage = section.getByRole('table', { name: `Disk usage inside ${guestName}` });
    await usage.waitFor({ timeout: GUESTFS_MS });
    const row = usage.getByRole('row').filter({ hasText: '/dev/sda' });
    // A 40 MiB ext4 with one small file: some KiB or MiB in use (under 1 %), its size in MiB.
    const meter = row.getByRole('meter', { name: 'Use of /dev/sda' });
    expect(await meter.getAttribute('aria-valuetext')).toMatch(/^\d+(\.\d+)? (KiB|MiB) of \d+(\.\d+)? MiB$/);
    expect(Number(await meter.getAttribute('aria-valuenow'))).toBeLessThan(10);
  }, 3 * GUESTFS_MS);

  it('resizes a disk and sees its new size, then inspects it and sees what qemu-img info says', async () => {
    await page.goto(`${fleet.url}/disks?name=${PREFIX}`);
    const row = page.locator(`tr[data-disk="${diskName}"]`);
    await row.locator('td.num').first().filter({ hasText: '1 GiB' }).waitFor();

    await row.getByRole('button', { name: `Resize ${diskName}` }).click();
    const resize = page.getByRole('dialog', { name: `Resize ${diskName}` });
    expect(await resize.getByLabel('New size', { exact: true }).inputValue()).toBe('1');
    await resize.getByLabel('New size', { exact: true }).fill('2');
    await resize.getByRole('button', { name: 'Resize' }).click();
    await succeeded('resize-disk').waitFor();
    await row.locator('td.num').first().filter({ hasText: '2 GiB' }).waitFor();

    await row.getByRole('button', { name: `Inspect ${diskName}` }).click();
    const inspect = page.getByRole('dialog', { name: `Inspect ${diskName}` });
    const facts = inspect.getByLabel(`What qemu-img info says about ${diskName}`);
    await facts.waitFor();
    expect(await facts.locator('dt').allTextContents()).toEqual(expect.arrayContaining(['Path', 'Format', 'Virtual size', 'Allocated']));
    await facts.getByText('2 GiB', { exact: true }).waitFor();
    await facts.getByText(`${diskName}.qcow2`, { exact: false }).waitFor();
    await inspect.locator('.badge', { hasText: 'succeeded' }).waitFor();
    await succeeded('inspect-disk').waitFor(); // in the tray as well
    await inspect.getByRole('button', { name: 'Close', exact: true }).last().click();
    await inspect.waitFor({ state: 'hidden' });
  }, 60_000);

  it('adopts a domain defined by hand on the host', async () => {
    const file = join(fleet.dir, 'byhand.xml');
    await writeFile(file, `<domain type='qemu'><name>${byHand}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`);
    await onHost('virsh', 'define', file);
    await waitFor('the domain listed as unmanaged', async () => (await vmNamed(byHand))?.status === 'unmanaged', { timeoutMs: 15_000, intervalMs: 200 });

    await page.goto(`${fleet.url}/vms?name=${PREFIX}`);
    const row = page.locator(`tr[data-vm="${byHand}"]`);
    await row.locator('.badge', { hasText: 'unmanaged' }).waitFor();
    expect(await row.getByRole('button', { name: `Start ${byHand}` }).count()).toBe(0);
    await row.getByRole('button', { name: `Adopt ${byHand}` }).click();
    await page.getByRole('dialog', { name: `Adopt ${byHand}?` }).getByRole('button', { name: 'Adopt' }).click();
    // Managed now: the power buttons come, the badge and the Adopt button go (live, without a reload).
    await row.getByRole('button', { name: `Start ${byHand}` }).waitFor();
    expect(await row.locator('.badge', { hasText: 'unmanaged' }).count()).toBe(0);
    expect(await row.getByRole('button', { name: `Adopt ${byHand}` }).count()).toBe(0);
    expect((await vmNamed(byHand))?.status).toBe('managed');
  }, 60_000);

  it('a read-scoped token sees none of these buttons', async () => {
    // One more unmanaged domain, so that the reader is shown one that could be adopted.
    const file = join(fleet.dir, 'byhand2.xml');
    await writeFile(file, `<domain type='qemu'><name>${byHand}2</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`);
    await onHost('virsh', 'define', file);
    await waitFor('the second domain listed as unmanaged', async () => (await vmNamed(`${byHand}2`))?.status === 'unmanaged', { timeoutMs: 15_000, intervalMs: 200 });
    const unmanaged = (await vmNamed(`${byHand}2`)) as VmBody;
    // A NIC on the VM, so that a Detach button would have a row to be in.
    const nic = await fleet.accepted(await fleet.post(`/v1/vms/${vm.id}/interfaces`, { network: NET, mac: MAC }), 'attach-interface');
    expect(nic.state).toBe('succeeded');

    const made = await fleet.post('/v1/tokens', { name: `web-vm-reader-${process.pid}`, scopes: ['read'] });
    expect(made.status).toBe(201);
    const { context: reader, page: p } = await openConsoleTab(browser);
    try {
      await signIn(p, String(made.body['token']), `${fleet.url}/`);
      await p.getByRole('heading', { name: 'Fleet' }).waitFor();
      expect(await p.locator('.scope').textContent()).toBe('read');
      const pages: Array<[string, string]> = [
        [`/vms/${vm.id}`, `tr:has-text("${MAC}")`],
        [`/vms/${unmanaged.id}`, '#details'],
        [`/vms/${guest.id}`, '#guest-files'],
        [`/vms?name=${PREFIX}`, `tr[data-vm="${byHand}2"]`],
        [`/disks?name=${PREFIX}`, `tr[data-disk="${diskName}"]`],
        [`/hosts/${fleet.hostId}`, `tr[data-disk="${diskName}"]`],
      ];
      for (const [path, ready] of pages) {
        await p.goto(`${fleet.url}${path}`);
        await p.locator(ready).first().waitFor();
        expect({ path, actions: (await buttonNames(p)).filter((n) => NEW_ACTION.test(n)) }).toEqual({ path, actions: [] });
      }
      await p.goto(`${fleet.url}/vms/${guest.id}`);
      await p.locator('#guest-files').getByText('takes a token with the operate scope').waitFor();
      expect(await p.locator('#guest-files input, #guest-files textarea').count()).toBe(0);
    } finally {
      await reader.close();
    }
  }, 90_000);

  it('deletes a VM with its disks (refused in the words of the API while its snapshots stay), then gone from the list and from virsh', async () => {
    const snap = await fleet.accepted(await fleet.post(`/v1/vms/${guest.id}/snapshots`, { name: 'before-delete' }), 'create-snapshot');
    expect(snap.state).toBe('succeeded');
    await openVm(guest);
    await page.getByRole('table', { name: 'Snapshots' }).getByText('before-delete').waitFor();

    await page.getByRole('button', { name: `Delete VM ${guestName}` }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${guestName}?` });
    // The safe answer has the focus.
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Cancel');
    await dialog.getByLabel(/Also delete its disks/).check();
    expect(await dialog.getByLabel(/Delete its 1 snapshot/).isChecked()).toBe(false);
    await dialog.getByRole('button', { name: 'Delete VM' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'vm_has_snapshots' }).waitFor();
    expect(await dialog.getByRole('alert').textContent()).toContain('pass deleteSnapshots=true');

    await dialog.getByLabel(/Delete its 1 snapshot/).check();
    await dialog.getByRole('button', { name: 'Delete VM' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await succeeded('undefine-vm').waitFor();
    await page.getByRole('heading', { name: `${guestName} removed` }).waitFor();
    await page.locator('#removed').getByText(guestDisk, { exact: true }).waitFor(); // among the disks deleted
    expect(await page.getByRole('button', { name: `Delete VM ${guestName}` }).count()).toBe(0);

    await page.getByRole('link', { name: 'Back to the VMs' }).click();
    await page.locator(`tr[data-vm="${vmName}"]`).waitFor();
    expect(await page.locator(`tr[data-vm="${guestName}"]`).count()).toBe(0);
    expect((await onHost('virsh', '-q', 'list', '--all', '--name')).split('\n')).not.toContain(guestName);
    await expect(access(guestDisk)).rejects.toThrow(/ENOENT/);
    expect(await vmNamed(guestName)).toBeUndefined();
  }, 60_000);

  it('the browser logged no script error', () => {
    expect(scriptErrors).toEqual([]);
  });
});
