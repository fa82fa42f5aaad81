import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { guestFixtures, waitFor, type GuestFixtures, Fleet, onHost, type JobView, removeDomains, TINY_KERNEL_BOOT } from '@virtfleet/testing';
import { WebSocket } from 'ws';

interface VmBody {
  id: string;
  name: string;
  uuid: string;
  status: string;
  state: string;
  vcpus: number;
  maxVcpus: number;
  memoryMiB: number;
  maxMemoryMiB: number;
  autostart: boolean;
  serialLog: string | null;
  disks: Array<{ source?: string; device: string }>;
}

const PREFIX = `vfe2e${process.pid}-`;
const BRIDGE = `vfbr${process.pid % 100000}`;

/** virsh as an operator types it on the host. */
const virsh = (...args: string[]) => onHost('virsh', '-q', ...args).then((s) => s.trim());

describe('VMs end to end on the real libvirtd (TCG): create-vm, power actions, inventory truth', () => {
  let fleet: Fleet;
  let fx: GuestFixtures;

  beforeAll(async () => {
    fx = await guestFixtures();
    // The fixtures folder is the agent's iso root: install media and kernels are found there by name.
    fleet = await Fleet.start({ name: 'e2e-vms', agentEnv: { VIRTFLEET_ISO_ROOT: fx.dir } });
    await onHost('ip', 'link', 'add', BRIDGE, 'type', 'bridge').catch(() => undefined);
  }, 180_000);

  afterAll(async () => {
    await removeDomains(PREFIX);
    await onHost('ip', 'link', 'del', BRIDGE).catch(() => undefined);
    await fleet?.stop();
  }, 120_000);

  const kernelBoot = TINY_KERNEL_BOOT;

  async function create(body: Record<string, unknown>, waitSeconds = 180): Promise<JobView> {
    const r = await fleet.post('/v1/vms', { hostId: fleet.hostId, ...body });
    if (r.status !== 202) throw new Error(`create-vm: ${r.status} ${JSON.stringify(r.body)}`);
    return fleet.job(String(r.body['id']), waitSeconds);
  }

  async function vmNamed(name: string): Promise<VmBody> {
    const page = await fleet.get<{ items: VmBody[] }>(`/v1/vms?hostId=${fleet.hostId}&name=${encodeURIComponent(name)}`);
    const vm = page.items.find((v) => v.name === name);
    if (!vm) throw new Error(`no VM ${name} in the API`);
    return vm;
  }

  async function act(vm: VmBody, action: string, body: Record<string, unknown> = {}, waitSeconds = 120): Promise<JobView> {
    const r = await fleet.post(`/v1/vms/${vm.id}/actions/${action}`, body);
    if (r.status !== 202) throw new Error(`${action}: ${r.status} ${JSON.stringify(r.body)}`);
    return fleet.job(String(r.body['id']), waitSeconds);
  }

  async function remove(vm: VmBody, query = ''): Promise<JobView> {
    const res = await fetch(new URL(`/v1/vms/${vm.id}${query}`, fleet.url), { method: 'DELETE', headers: { authorization: `Bearer ${fleet.token}` } });
    const body = (await res.json()) as { id: string };
    return fleet.job(body.id, 120);
  }

  const domstate = (uuid: string) => virsh('domstate', uuid);

  /** The serial log is truncated on every start: wait for this boot's marker. */
  async function guestReady(vm: VmBody): Promise<void> {
    const log = vm.serialLog ?? '';
    await waitFor('guest READY marker', async () => existsSync(log) && (await readFile(log, 'utf8')).includes(fx.readyMarker), {
      timeoutMs: 90_000,
      intervalMs: 250,
    });
  }

  it('the tiny guest: guest-ready create, then every power action changes the real domain as virsh and the API show', async () => {
    const name = `${PREFIX}tiny`;
    const job = await create({
      name,
      memoryMiB: 256,
      vcpus: 1,
      install: kernelBoot,
      disks: [{ name: `${name}-data`, sizeGiB: 1 }],
      waitFor: 'guest-ready',
      readyMarker: fx.readyMarker,
      readyTimeoutSeconds: 90,
    });
    expect(job.state).toBe('succeeded');
    expect(job.result).toMatchObject({ created: true, virtType: 'qemu', ready: { sign: expect.stringContaining('serial console') } });
    let vm = await vmNamed(name);
    expect(vm).toMatchObject({ status: 'managed', state: 'running' });
    expect(await domstate(vm.uuid)).toBe('running');
    expect(vm.disks.find((d) => d.device === 'disk')?.source).toBe(join(fleet.storeRoot, `${name}-data.qcow2`));

    const down = await act(vm, 'shutdown', { timeoutSeconds: 60 });
    expect(down.state).toBe('succeeded');
    expect(down.result).toMatchObject({ forced: false });
    expect(await domstate(vm.uuid)).toBe('shut off');
    expect((await vmNamed(name)).state).toBe('shutoff');

    expect((await act(vm, 'start')).state).toBe('succeeded');
    expect(await domstate(vm.uuid)).toBe('running');
    vm = await vmNamed(name);
    expect(vm.state).toBe('running');

    expect((await act(vm, 'suspend')).state).toBe('succeeded');
    expect(await domstate(vm.uuid)).toBe('paused');
    expect((await vmNamed(name)).state).toBe('paused');
    expect((await act(vm, 'resume')).state).toBe('succeeded');
    expect(await domstate(vm.uuid)).toBe('running');

    await guestReady(vm); // an ACPI request during early boot is lost
    expect((await act(vm, 'reboot')).state).toBe('succeeded');
    expect(await domstate(vm.uuid)).toBe('running');

    expect((await act(vm, 'destroy')).state).toBe('succeeded');
    expect(await domstate(vm.uuid)).toBe('shut off');
    expect((await vmNamed(name)).state).toBe('shutoff');

    const vcpus = await act(vm, 'set-vcpus', { vcpus: 2, maxVcpus: 4 });
    expect(vcpus.state).toBe('succeeded');
    expect(vcpus.result?.['applied']).toEqual(
      expect.arrayContaining([{ what: 'maxVcpus', value: 4, when: 'next-boot' }, { what: 'vcpus', value: 2, when: 'next-boot' }]),
    );
    const count = await virsh('vcpucount', vm.uuid);
    expect(count).toMatch(/maximum\s+config\s+4/);
    expect(count).toMatch(/current\s+config\s+2/);

    expect((await act(vm, 'set-memory', { maxMemoryMiB: 512, memoryMiB: 384 })).state).toBe('succeeded');
    const info = await virsh('dominfo', vm.uuid);
    expect(info).toMatch(/Max memory:\s+524288 KiB/);
    expect(info).toMatch(/Used memory:\s+393216 KiB/);

    expect((await act(vm, 'set-autostart', { enabled: true })).state).toBe('succeeded');
    expect(await virsh('dominfo', vm.uuid)).toMatch(/Autostart:\s+enable/);
    expect(await vmNamed(name)).toMatchObject({ vcpus: 2, maxVcpus: 4, memoryMiB: 384, maxMemoryMiB: 512, autostart: true });

    const gone = await remove(vm, '?removeStorage=true');
    expect(gone.state).toBe('succeeded');
    const disk = join(fleet.storeRoot, `${name}-data.qcow2`);
    expect(gone.result).toMatchObject({ undefined: true, deleted: [disk] });
    expect(existsSync(disk)).toBe(false);
    await expect(virsh('dominfo', vm.uuid)).rejects.toThrow();
    const res = await fetch(new URL(`/v1/vms/${vm.id}`, fleet.url), { headers: { authorization: `Bearer ${fleet.token}` } });
    expect(res.status).toBe(404);
  }, 300_000);

  it('a disk with no OS ignores ACPI: shutdown without force ends timed_out, with force succeeded and off; undefine keeps its disk', async () => {
    const name = `${PREFIX}noos`;
    const job = await create({ name, memoryMiB: 128, vcpus: 1, install: { kind: 'import' }, disks: [{ name, sizeGiB: 1 }], serial: false });
    expect(job.state).toBe('succeeded');
    const vm = await vmNamed(name);

    const t0 = Date.now();
    const polite = await act(vm, 'shutdown', { timeoutSeconds: 3 });
    expect(polite.state).toBe('timed_out');
    expect(polite.error?.message).toMatch(/did not power off within 3 s/);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(await domstate(vm.uuid)).toBe('running');

    const forced = await act(vm, 'shutdown', { timeoutSeconds: 2, force: true });
    expect(forced.state).toBe('succeeded');
    expect(forced.result).toMatchObject({ forced: true });
    expect(await domstate(vm.uuid)).toBe('shut off');

    const gone = await remove(vm);
    const disk = join(fleet.storeRoot, `${name}.qcow2`);
    expect(gone.result).toMatchObject({ undefined: true, deleted: [], kept: [disk] });
    expect(existsSync(disk)).toBe(true);
  }, 240_000);

  it('cdrom, location with extraArgs, pxe and vnc give the right domain XML (as virsh dumpxml shows it)', async () => {
    const xmlOf = async (name: string) => virsh('dumpxml', name);
    const base = { memoryMiB: 128, vcpus: 1, serial: false };

    const cdrom = await create({ ...base, name: `${PREFIX}cd`, install: { kind: 'cdrom', iso: 'tiny-cdrom.iso' } });
    expect(cdrom.state).toBe('succeeded');
    const cdXml = await xmlOf(`${PREFIX}cd`);
    expect(cdXml).toMatch(/<disk type='file' device='cdrom'>[\s\S]*?<source file='[^']*tiny-cdrom\.iso'/);

    const loc = await create({ ...base, name: `${PREFIX}loc`, install: { kind: 'location', iso: 'tiny-tree.iso', extraArgs: 'console=ttyS0 vfmarker=1' } });
    expect(loc.state).toBe('succeeded');
    expect(await xmlOf(`${PREFIX}loc`)).toMatch(/<cmdline>[^<]*vfmarker=1[^<]*<\/cmdline>/);

    const pxe = await create({ ...base, name: `${PREFIX}pxe`, install: { kind: 'pxe' }, networks: [{ bridge: BRIDGE, mac: '52:54:00:aa:bb:01' }] });
    expect(pxe.state).toBe('succeeded');
    const pxeXml = await xmlOf(`${PREFIX}pxe`);
    expect(pxeXml).toMatch(/<boot dev='network'\/>/);
    expect(pxeXml).toMatch(/<mac address='52:54:00:aa:bb:01'\/>[\s\S]*?<source bridge='[^']+'/);
    expect(pxeXml).toMatch(/<model type='virtio'\/>/);

    const vnc = await create({ ...base, name: `${PREFIX}vnc`, install: kernelBoot, graphics: { type: 'vnc' } });
    expect(vnc.state).toBe('succeeded');
    expect(await xmlOf(`${PREFIX}vnc`)).toMatch(/<graphics type='vnc' port='\d+' autoport='yes' listen='127\.0\.0\.1'/);

    for (const n of ['cd', 'loc', 'pxe', 'vnc']) expect((await remove(await vmNamed(`${PREFIX}${n}`))).state).toBe('succeeded');
  }, 300_000);

  it('the serial console WebSocket shows the boot marker and carries typing to the guest shell', async () => {
    const name = `${PREFIX}con`;
    expect((await create({ name, memoryMiB: 256, vcpus: 1, install: kernelBoot })).state).toBe('succeeded');
    const vm = await vmNamed(name);
    const wsUrl = `${fleet.url.replace('http', 'ws')}/v1/vms/${vm.id}/console`;

    const refused = new WebSocket(wsUrl);
    const code = await new Promise<number>((resolve) => refused.on('close', (c) => resolve(c)));
    expect(code).toBe(4401);

    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${fleet.token}` } });
    let seen = '';
    ws.on('message', (d: Buffer) => (seen += d.toString('utf8')));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await waitFor('boot marker on the console', async () => seen.includes(fx.readyMarker), { timeoutMs: 60_000, intervalMs: 100 });
    ws.send('\necho console-$((6*7))\n');
    await waitFor('the shell answers', async () => seen.includes('console-42'), { timeoutMs: 20_000, intervalMs: 100 });
    ws.close();
    const audit = await fleet.get<{ items: Array<{ action: string; target: string }> }>('/v1/audit');
    expect(audit.items).toContainEqual(expect.objectContaining({ action: 'vm.console', target: `vm:${vm.id}` }));

    // A shut-off domain has no console: the socket closes with the host's reason.
    expect((await act(vm, 'destroy')).state).toBe('succeeded');
    const off = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${fleet.token}` } });
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => off.on('close', (c, r) => resolve({ code: c, reason: r.toString() })));
    expect(closed.code).toBe(4502);
    expect(closed.reason).toMatch(/closed:/);
    expect((await remove(vm)).state).toBe('succeeded');
  }, 180_000);

  it('two create-vm jobs with one name on one host: one succeeds, the other fails vm_exists, never two domains', async () => {
    const name = `${PREFIX}twin`;
    const body = { type: 'create-vm', hostId: fleet.hostId, payload: { name, memoryMiB: 128, vcpus: 1, install: kernelBoot, serial: false } };
    const answers = await Promise.all([fleet.post('/v1/jobs', body), fleet.post('/v1/jobs', body)]);
    const outcomes = await Promise.all(
      answers.map(async (a) => (a.status === 202 ? fleet.job(String(a.body['id']), 120) : { state: 'refused', error: (a.body as { error: { code: string } }).error })),
    );
    expect(outcomes.filter((o) => o.state === 'succeeded')).toHaveLength(1);
    expect(outcomes.filter((o) => o.state !== 'succeeded').map((o) => o.error?.code)).toEqual(['vm_exists']);
    const domains = (await virsh('list', '--all', '--name')).split('\n').filter((n) => n === name);
    expect(domains).toHaveLength(1);
    expect((await remove(await vmNamed(name))).state).toBe('succeeded');
  }, 240_000);

  it('virsh destroy, define and undefine done by hand show in the API within 2 s', async () => {
    const name = `${PREFIX}oob`;
    expect((await create({ name, memoryMiB: 128, vcpus: 1, install: kernelBoot, serial: false })).state).toBe('succeeded');
    const vm = await vmNamed(name);
    expect(vm.state).toBe('running');

    const within2s = async (what: string, check: () => Promise<boolean>) => {
      const t0 = Date.now();
      await waitFor(what, check, { timeoutMs: 10_000, intervalMs: 50 });
      return Date.now() - t0;
    };
    await virsh('destroy', vm.uuid);
    expect(await within2s('shut off in the API', async () => (await vmNamed(name)).state === 'shutoff')).toBeLessThan(2_000);

    const byHand = `${PREFIX}byhand`;
    const file = join(fleet.dir, 'byhand.xml');
    await writeFile(file, `<domain type='qemu'><name>${byHand}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`);
    await virsh('define', file);
    expect(await within2s('unmanaged in the API', async () => (await vmNamed(byHand).catch(() => null))?.status === 'unmanaged')).toBeLessThan(2_000);

    await virsh('undefine', vm.uuid);
    expect(await within2s('missing in the API', async () => (await vmNamed(name)).status === 'missing')).toBeLessThan(2_000);
    await virsh('undefine', byHand);
    await waitFor('unmanaged row gone', async () => (await vmNamed(byHand).catch(() => null)) === null, { timeoutMs: 10_000 });
  }, 120_000);

  // How fast: bench/inventory.ts (npm run bench -- inventory); this checks that it is complete.
  it('a full resync of 1,000 domains (libvirt test driver) lists them all, also after an agent restart', async () => {
    const node = join(fleet.dir, 'thousand.xml');
    const domains = Array.from(
      { length: 1000 },
      (_, i) =>
        `<domain type='test'><name>t${i}</name><uuid>${`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`}</uuid><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`,
    );
    await writeFile(node, `<?xml version="1.0"?><node>${domains.join('')}</node>`);
    const { hostId, configFile } = await fleet.enrollHost('e2e-thousand', join(fleet.dir, 'store-thousand'));
    const count = async () => {
      let n = 0;
      let cursor: string | null = '';
      while (cursor !== null) {
        const page: { items: unknown[]; nextCursor: string | null } = await fleet.get(`/v1/vms?hostId=${hostId}&limit=500${cursor ? `&cursor=${cursor}` : ''}`);
        n += page.items.length;
        cursor = page.nextCursor;
      }
      return n;
    };
    const inventoryAt = async () => (await fleet.get<{ inventoryAt: string | null }>(`/v1/hosts/${hostId}`)).inventoryAt;
    const env = { LIBVIRT_DEFAULT_URI: `test://${node}` };

    let agent = fleet.startExtraAgent(configFile, 'agent-thousand', env);
    await waitFor('1,000 VMs', async () => (await count()) === 1000, { timeoutMs: 30_000, intervalMs: 100 });
    await agent.stop(10_000);

    const before = await inventoryAt();
    agent = fleet.startExtraAgent(configFile, 'agent-thousand-2', env);
    await waitFor('resync', async () => (await inventoryAt()) !== before, { timeoutMs: 30_000, intervalMs: 50 });
    await agent.stop(10_000);
    expect(await count()).toBe(1000);
  }, 120_000);
});
