import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eventStream, guestFixtures, waitFor, type GuestFixtures, Fleet, onHost, type JobView, removeDomains, TINY_KERNEL_BOOT } from '@virtfleet/testing';

// Issue 7, acceptance 1–3: clone-vm through the API on the real libvirtd (TCG) — the clone
// boots with its own MAC, UUID, disk and serial log; a running source is refused unless the job
// may shut it down; a cancelled clone leaves nothing; a bulk clone keeps to the host's clone
// concurrency.

interface VmBody {
  id: string;
  name: string;
  uuid: string;
  state: string;
  status: string;
}

interface ChildJob extends JobView {
  startedAt: string | null;
  finishedAt: string | null;
  concurrencyKey: string | null;
  parentId: string | null;
}

const PREFIX = `vfcl${process.pid}-`;
const BRIDGE = `vfcl${process.pid % 100000}`;

const virsh = (...args: string[]) => onHost('virsh', '-q', ...args).then((s) => s.trim());

/** virsh domiflist's MACs, virsh domblklist's sources, the serial log file, from the persistent XML. */
async function onHostFacts(name: string) {
  const xml = await virsh('dumpxml', '--inactive', name);
  return {
    uuid: /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1],
    macs: [...xml.matchAll(/<mac address='([^']+)'/g)].map((m) => m[1]),
    disks: [...xml.matchAll(/<source file='([^']+)'/g)].map((m) => m[1]),
    logs: [...new Set([...xml.matchAll(/<log file='([^']+)'/g)].map((m) => m[1]))],
  };
}

describe('clones end to end on the real libvirtd (TCG)', () => {
  let fleet: Fleet;
  let fx: GuestFixtures;

  beforeAll(async () => {
    fx = await guestFixtures();
    fleet = await Fleet.start({ name: 'e2e-clones', agentEnv: { VIRTFLEET_ISO_ROOT: fx.dir, VIRTFLEET_CLONE_CONCURRENCY: '2' } });
    await onHost('ip', 'link', 'add', BRIDGE, 'type', 'bridge').catch(() => undefined);
  }, 180_000);

  afterAll(async () => {
    await removeDomains(PREFIX);
    await onHost('ip', 'link', 'del', BRIDGE).catch(() => undefined);
    await fleet?.stop();
  }, 120_000);

  const kernelBoot = TINY_KERNEL_BOOT;

  const accepted = (r: { status: number; body: Record<string, unknown> }, what: string, waitSeconds = 180) => fleet.accepted(r, what, waitSeconds);

  async function vmNamed(name: string): Promise<VmBody | undefined> {
    const page = await fleet.get<{ items: VmBody[] }>(`/v1/vms?hostId=${fleet.hostId}&name=${encodeURIComponent(name)}`);
    return page.items.find((v) => v.name === name);
  }

  async function mustVm(name: string): Promise<VmBody> {
    const vm = await vmNamed(name);
    if (!vm) throw new Error(`no VM ${name} in the API`);
    return vm;
  }

  const clone = (vm: VmBody, body: Record<string, unknown>) => fleet.post(`/v1/vms/${vm.id}/clone`, body);
  const action = (vm: VmBody, name: string) => fleet.post(`/v1/vms/${vm.id}/actions/${name}`, {}).then((r) => accepted(r, name));
  const storeFiles = async (prefix: string) => (await readdir(fleet.storeRoot)).filter((f) => f.includes(prefix));

  it('clones the tiny guest: a running source is refused unless shutdownSource; the clone boots with its own MAC, UUID, disk and log', async () => {
    const name = `${PREFIX}tiny`;
    const made = await fleet
      .post('/v1/vms', {
        hostId: fleet.hostId,
        name,
        memoryMiB: 256,
        vcpus: 1,
        install: kernelBoot,
        disks: [{ name: `${name}-data`, sizeGiB: 1 }],
        networks: [{ bridge: BRIDGE }],
        waitFor: 'guest-ready',
        readyMarker: fx.readyMarker,
        readyTimeoutSeconds: 90,
      })
      .then((r) => accepted(r, 'create-vm'));
    expect(made.state).toBe('succeeded');
    const source = await mustVm(name);
    const before = await onHostFacts(name);

    // Running, no shutdownSource: the job fails before anything is made.
    const refused = await clone(source, { name: `${PREFIX}c1` }).then((r) => accepted(r, 'clone-vm'));
    expect(refused.state).toBe('failed');
    expect(refused.error).toMatchObject({ code: 'vm_running' });
    expect(String((refused.error as { message: string }).message)).toMatch(/running: .*shutdownSource/);
    expect(await virsh('list', '--all', '--name')).not.toContain(`${PREFIX}c1`);
    expect(await storeFiles(`${PREFIX}c1`)).toEqual([]);
    expect(await vmNamed(`${PREFIX}c1`)).toBeUndefined();

    // autoClone names it <source>-clone; shutdownSource shuts the source down and starts it again.
    const job = await clone(source, {
      autoClone: true,
      shutdownSource: true,
      start: true,
      waitFor: 'guest-ready',
      readyMarker: fx.readyMarker,
      readyTimeoutSeconds: 90,
    }).then((r) => accepted(r, 'clone-vm', 240));
    expect(job.error).toBeNull();
    expect(job.state).toBe('succeeded');
    const result = job.result as { created: boolean; sourceRestarted: boolean; ready?: { sign: string }; disks: Array<{ name: string; path: string }> };
    expect(result).toMatchObject({ created: true, sourceRestarted: true });
    expect(result.ready?.sign).toContain(fx.readyMarker);
    const cloneName = `${name}-clone`;
    expect(result.disks.map((d) => d.name)).toEqual([`${cloneName}-data`]);

    const copy = await onHostFacts(cloneName);
    const after = await onHostFacts(name);
    expect(copy.uuid).not.toBe(before.uuid);
    expect(copy.macs).toHaveLength(1);
    expect(copy.macs[0]).not.toBe(before.macs[0]);
    expect(copy.disks).toEqual([join(fleet.storeRoot, `${cloneName}-data.qcow2`)]);
    expect(existsSync(copy.disks[0] ?? '')).toBe(true);
    expect(copy.logs).toHaveLength(1);
    expect(copy.logs[0]).toContain(String(copy.uuid));
    expect(copy.logs).not.toEqual(before.logs);
    // The source is as it was, and running again.
    expect(after).toEqual(before);
    expect(await virsh('domstate', name)).toBe('running');
    expect(await virsh('domstate', cloneName)).toBe('running');
    const row = await mustVm(cloneName);
    expect(row).toMatchObject({ status: 'managed', state: 'running', uuid: copy.uuid });
  }, 420_000);

  it('a cancelled clone of a fully allocated 1 GiB disk leaves no disk and no domain', async () => {
    const name = `${PREFIX}big`;
    const disk = join(fleet.storeRoot, `${name}-data.qcow2`);
    const random = join(fleet.dir, 'random-1g.raw');
    await onHost('dd', 'if=/dev/urandom', `of=${random}`, 'bs=1M', 'count=1024', 'status=none');
    await onHost('qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', random, disk);
    await rm(random, { force: true });
    const made = await fleet
      .post('/v1/vms', { hostId: fleet.hostId, name, memoryMiB: 128, vcpus: 1, install: kernelBoot, disks: [{ name: `${name}-data` }] })
      .then((r) => accepted(r, 'create-vm'));
    expect(made.state).toBe('succeeded');
    const source = await mustVm(name);
    expect((await action(source, 'destroy')).state).toBe('succeeded');

    const target = `${PREFIX}gone`;
    const events = await eventStream(`${fleet.url}/v1/events?hostId=${fleet.hostId}&type=clone-vm`, fleet.token);
    try {
      const r = await clone(source, { name: target, sparse: false });
      expect(r.status).toBe(202);
      const id = String(r.body['id']);
      // Cancel at the first progress report: the copy is under way.
      await waitFor('the copy to report progress', () => events.events.some((e) => e.event === 'job.progress' && e.data.includes(id)), { timeoutMs: 60_000, intervalMs: 10 });
      expect((await fleet.post(`/v1/jobs/${id}/cancel`, {})).status).toBeLessThan(300);
      const ended = await fleet.job(id, 60);
      expect(ended.state).toBe('cancelled');
      // Midway: the copy itself was killed (not a job cancelled before or after it).
      const logs = await fleet.get<{ items: Array<{ argv: string[]; exitCode: number | null; signal: string | null }> }>(`/v1/jobs/${id}/logs`);
      const copy = logs.items.find((l) => l.argv[0] === 'qemu-img' && l.argv[1] === 'convert');
      expect(copy?.argv).toEqual(expect.arrayContaining(['-S', '0']));
      expect(copy?.exitCode === 0).toBe(false);
    } finally {
      await events.close();
    }
    expect(await virsh('list', '--all', '--name')).not.toContain(target);
    expect(await storeFiles(target)).toEqual([]);
    expect(await vmNamed(target)).toBeUndefined();
  }, 300_000);

  it('a bulk clone of 5 runs at most 2 at once on the host and makes all 5', async () => {
    const source = await mustVm(`${PREFIX}big`);
    const r = await clone(source, { count: 5, namePattern: `${PREFIX}b{n}` });
    expect(r.status).toBe(202);
    const parent = await accepted(r, 'bulk clone', 300);
    expect(parent.state).toBe('succeeded');
    expect(parent.progress).toBe(100);
    expect(parent.result).toMatchObject({ succeeded: 5 });

    const children = (await fleet.get<{ items: ChildJob[] }>(`/v1/jobs?parentId=${parent.id}`)).items;
    expect(children).toHaveLength(5);
    for (const c of children) expect(c).toMatchObject({ state: 'succeeded', concurrencyKey: 'clone', parentId: parent.id });
    // At every start, how many children had started and not yet ended (by the API's timestamps).
    const spans = children.map((c) => ({ start: Date.parse(String(c.startedAt)), end: Date.parse(String(c.finishedAt)) }));
    const overlap = Math.max(...spans.map((s) => spans.filter((o) => o.start <= s.start && o.end > s.start).length));
    // Never more than the limit, and the limit used: the first two start together.
    expect(overlap).toBe(2);

    const defined = (await virsh('list', '--all', '--name')).split('\n');
    for (let n = 1; n <= 5; n++) {
      expect(defined).toContain(`${PREFIX}b${n}`);
      expect(existsSync(join(fleet.storeRoot, `${PREFIX}b${n}-data.qcow2`))).toBe(true);
    }
  }, 420_000);
});
