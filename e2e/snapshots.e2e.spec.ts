import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { guestFixtures, type GuestFixtures, Fleet, onHost, type JobView, removeDomains, TINY_KERNEL_BOOT } from '@virtfleet/testing';

// Issue 7, acceptance 4: internal snapshots of the tiny guest through the API, on the real
// libvirtd (TCG): create on a running and on a shut-off VM, list as virsh shows it, revert (the
// state afterwards, and data written after the snapshot is gone), delete.

interface SnapshotBody {
  name: string;
  createdAt?: string;
  state?: string;
  parent?: string;
  current: boolean;
  description?: string;
}

interface VmBody {
  id: string;
  name: string;
  uuid: string;
  state: string;
  snapshots: SnapshotBody[];
}

const PREFIX = `vfsnap${process.pid}-`;

/** virsh as an operator types it on the host. */
const virsh = (...args: string[]) => onHost('virsh', '-q', ...args).then((s) => s.trim());
const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean).sort();

describe('snapshots end to end on the real libvirtd (TCG)', () => {
  let fleet: Fleet;
  let fx: GuestFixtures;

  beforeAll(async () => {
    fx = await guestFixtures();
    fleet = await Fleet.start({ name: 'e2e-snapshots', agentEnv: { VIRTFLEET_ISO_ROOT: fx.dir } });
  }, 180_000);

  afterAll(async () => {
    await removeDomains(PREFIX);
    await fleet?.stop();
  }, 120_000);

  const kernelBoot = TINY_KERNEL_BOOT;

  const accepted = (r: { status: number; body: Record<string, unknown> }, what: string, waitSeconds = 120) => fleet.accepted(r, what, waitSeconds);

  async function vmNamed(name: string): Promise<VmBody> {
    const page = await fleet.get<{ items: VmBody[] }>(`/v1/vms?hostId=${fleet.hostId}&name=${encodeURIComponent(name)}`);
    const vm = page.items.find((v) => v.name === name);
    if (!vm) throw new Error(`no VM ${name} in the API`);
    return vm;
  }

  const snapshot = (vm: VmBody, body: Record<string, unknown>) => fleet.post(`/v1/vms/${vm.id}/snapshots`, body).then((r) => accepted(r, 'create-snapshot'));
  const revert = (vm: VmBody, name: string) => fleet.post(`/v1/vms/${vm.id}/snapshots/${encodeURIComponent(name)}/revert`, {}).then((r) => accepted(r, 'revert-snapshot'));
  const listed = (vm: VmBody) => fleet.get<{ items: SnapshotBody[] }>(`/v1/vms/${vm.id}/snapshots`).then((r) => r.items);

  async function remove(vm: VmBody, name: string): Promise<JobView> {
    const res = await fetch(new URL(`/v1/vms/${vm.id}/snapshots/${encodeURIComponent(name)}`, fleet.url), {
      method: 'DELETE',
      headers: { authorization: `Bearer ${fleet.token}` },
    });
    return accepted({ status: res.status, body: (await res.json()) as Record<string, unknown> }, 'delete-snapshot');
  }

  async function action(vm: VmBody, name: string): Promise<void> {
    const job = await fleet.post(`/v1/vms/${vm.id}/actions/${name}`, {}).then((r) => accepted(r, name));
    expect(job.state).toBe('succeeded');
  }

  /** What `virsh snapshot-list --name` shows, sorted. */
  const virshSnapshots = async (vm: VmBody) => lines(await virsh('snapshot-list', vm.uuid, '--name'));
  const apiSnapshots = async (vm: VmBody) => (await listed(vm)).map((s) => s.name).sort();

  /** Guest-visible content of the disk's first 4 MiB, as the VM would read it (the image's active state). */
  async function diskDigest(path: string): Promise<string> {
    const out = join(fleet.dir, `digest-${Date.now()}.raw`);
    await onHost('qemu-img', 'dd', '-f', 'qcow2', '-O', 'raw', 'bs=1M', 'count=4', `if=${path}`, `of=${out}`);
    try {
      return createHash('sha256').update(await readFile(out)).digest('hex');
    } finally {
      await rm(out, { force: true });
    }
  }

  /** qemu-io exits 1 ("Pattern verification failed") unless the first MiB holds only `byte`. */
  const holds = (path: string, byte: string) =>
    onHost('qemu-io', '-f', 'qcow2', '-r', '-c', `read -P ${byte} 0 1M`, path).then(
      () => true,
      () => false,
    );

  it('create on a running and a shut-off VM, list, revert to each (state and data), delete', async () => {
    const name = `${PREFIX}tiny`;
    const disk = join(fleet.storeRoot, `${name}-data.qcow2`);
    const created = await fleet
      .post('/v1/vms', {
        hostId: fleet.hostId,
        name,
        memoryMiB: 256,
        vcpus: 1,
        install: kernelBoot,
        // Internal snapshots live in a qcow2 image: the blank data disk holds them.
        disks: [{ name: `${name}-data`, sizeGiB: 1 }],
        waitFor: 'guest-ready',
        readyMarker: fx.readyMarker,
        readyTimeoutSeconds: 90,
      })
      .then((r) => accepted(r, 'create-vm', 180));
    expect(created.state).toBe('succeeded');
    const vm = await vmNamed(name);
    expect(vm.state).toBe('running');
    expect(await virshSnapshots(vm)).toEqual([]);

    // ---- a snapshot of the running VM (memory included) ----
    const run1 = await snapshot(vm, { name: 's-run1', description: 'running snapshot' });
    expect(run1.state).toBe('succeeded');
    expect(run1.result).toMatchObject({
      created: true,
      snapshot: { name: 's-run1', state: 'running', description: 'running snapshot', current: true },
      domain: { uuid: vm.uuid, state: 'running' },
    });
    expect(await virshSnapshots(vm)).toEqual(['s-run1']);
    expect(await apiSnapshots(vm)).toEqual(['s-run1']);
    expect((await vmNamed(name)).snapshots.map((s) => s.name)).toEqual(['s-run1']);
    expect(await virsh('snapshot-dumpxml', vm.uuid, 's-run1')).toContain("<memory snapshot='internal'/>");

    // The same name again is the same snapshot (a repeated request, a redelivered job).
    const again = await snapshot(vm, { name: 's-run1', description: 'another try' });
    expect(again.state).toBe('succeeded');
    expect(again.result).toMatchObject({ created: false, snapshot: { name: 's-run1', description: 'running snapshot' } });
    expect(await virshSnapshots(vm)).toEqual(['s-run1']);

    // ---- a snapshot of the shut-off VM ----
    await action(vm, 'destroy');
    expect(await virsh('domstate', vm.uuid)).toBe('shut off');
    const off1 = await snapshot(vm, { name: 's-off1', description: 'shut off snapshot' });
    expect(off1.state).toBe('succeeded');
    expect(off1.result).toMatchObject({ created: true, snapshot: { name: 's-off1', state: 'shutoff', parent: 's-run1', current: true } });
    expect(await virshSnapshots(vm)).toEqual(['s-off1', 's-run1']);
    expect(await virsh('snapshot-current', vm.uuid, '--name')).toBe('s-off1');
    const items = await listed(vm);
    expect(items.map((s) => s.name).sort()).toEqual(await virshSnapshots(vm));
    expect(items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 's-run1', state: 'running', current: false, createdAt: expect.any(String) }),
        expect.objectContaining({ name: 's-off1', state: 'shutoff', parent: 's-run1', current: true, createdAt: expect.any(String) }),
      ]),
    );

    // ---- data written after the snapshot is gone after the revert ----
    const atSnapshot = await diskDigest(disk);
    expect(await holds(disk, '0')).toBe(true); // the blank disk as the snapshot holds it
    await onHost('qemu-io', '-f', 'qcow2', '-c', 'write -P 0xab 0 1M', disk);
    expect(await holds(disk, '0xab')).toBe(true);
    expect(await diskDigest(disk)).not.toBe(atSnapshot);

    const backOff = await revert(vm, 's-off1');
    expect(backOff.state).toBe('succeeded');
    expect(backOff.result).toMatchObject({ state: 'shutoff', snapshot: { name: 's-off1', current: true }, domain: { state: 'shutoff' } });
    expect(await virsh('domstate', vm.uuid)).toBe('shut off');
    expect((await vmNamed(name)).state).toBe('shutoff');
    expect(await holds(disk, '0xab')).toBe(false);
    expect(await holds(disk, '0')).toBe(true);
    expect(await diskDigest(disk)).toBe(atSnapshot);

    // ---- back to the running snapshot: the VM runs again, where it was ----
    const backRun = await revert(vm, 's-run1');
    expect(backRun.state).toBe('succeeded');
    expect(backRun.result).toMatchObject({ state: 'running', snapshot: { name: 's-run1', current: true }, domain: { state: 'running', reason: 'from snapshot' } });
    expect(await virsh('domstate', vm.uuid, '--reason')).toBe('running (from snapshot)');
    expect(await virsh('snapshot-current', vm.uuid, '--name')).toBe('s-run1');
    const afterRun = await vmNamed(name);
    expect(afterRun.state).toBe('running');
    expect(afterRun.snapshots.find((s) => s.current)?.name).toBe('s-run1');

    // An unknown snapshot fails with a code, and changes nothing.
    const missing = await revert(vm, 'nosuch');
    expect(missing.state).toBe('failed');
    expect(missing.error).toMatchObject({ code: 'snapshot_not_found' });
    expect(await virsh('domstate', vm.uuid)).toBe('running');

    // ---- a snapshot without a name: epoch seconds, as virsh snapshot-create names it ----
    const before = Math.floor(Date.now() / 1000);
    const unnamed = await snapshot(vm, {});
    expect(unnamed.state).toBe('succeeded');
    const stamp = String((unnamed.result?.['snapshot'] as { name: string } | undefined)?.name);
    expect(stamp).toMatch(/^\d+$/);
    expect(Number(stamp)).toBeGreaterThanOrEqual(before - 5); // the agent's clock is the host's
    expect(await virshSnapshots(vm)).toEqual([stamp, 's-off1', 's-run1'].sort());

    // ---- delete: gone from virsh and the API; again is deleted: false ----
    for (const snap of ['s-off1', stamp]) {
      const gone = await remove(vm, snap);
      expect(gone.state).toBe('succeeded');
      expect(gone.result).toMatchObject({ deleted: true });
    }
    expect(await virshSnapshots(vm)).toEqual(['s-run1']);
    expect(await apiSnapshots(vm)).toEqual(['s-run1']);
    const twice = await remove(vm, 's-off1');
    expect(twice.state).toBe('succeeded');
    expect(twice.result).toMatchObject({ deleted: false });

    const last = await remove(vm, 's-run1');
    expect(last.result).toMatchObject({ deleted: true });
    expect(await virshSnapshots(vm)).toEqual([]);
    expect(await apiSnapshots(vm)).toEqual([]);
    expect(await virsh('domstate', vm.uuid)).toBe('running');
  }, 600_000);
});
