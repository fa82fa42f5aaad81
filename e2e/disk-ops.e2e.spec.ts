import { existsSync } from 'node:fs';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventStream, guestFixtures, waitFor, type GuestFixtures, Fleet, onHost, type JobView, removeDomains } from '@virtfleet/testing';

interface DiskBody {
  id: string;
  name: string;
  format: string;
  state: string;
  path: string | null;
  virtualSize: number | null;
  refused: string | null;
  usedBy: Array<{ id: string; name: string }>;
}

const PREFIX = `vfdk${process.pid}-`;

describe('disks end to end: convert with progress, resize, delete, convert-and-swap, the image guard', () => {
  let fleet: Fleet;
  let fx: GuestFixtures;

  beforeAll(async () => {
    fx = await guestFixtures();
    // Files copied into the store by hand show up at the next storage scan: every 3 s here, not every minute.
    fleet = await Fleet.start({ name: 'e2e-disk-ops', agentEnv: { VIRTFLEET_ISO_ROOT: fx.dir, VIRTFLEET_INVENTORY_INTERVAL_MS: '3000' } });
  }, 180_000);

  afterAll(async () => {
    await removeDomains(PREFIX);
    await fleet?.stop();
  }, 120_000);

  const info = async (path: string, format: string) =>
    JSON.parse(await onHost('qemu-img', 'info', '--output=json', '-U', '-f', format, path)) as { format: string; 'virtual-size': number };

  async function submitted(r: { status: number; body: Record<string, unknown> }, waitSeconds = 300): Promise<JobView> {
    if (r.status !== 202) throw new Error(`expected 202: ${r.status} ${JSON.stringify(r.body)}`);
    return fleet.job(String(r.body['id']), waitSeconds);
  }

  async function diskNamed(name: string): Promise<DiskBody> {
    return waitFor(`disk ${name} listed`, async () => {
      const page = await fleet.get<{ items: DiskBody[] }>(`/v1/disks?hostId=${fleet.hostId}&name=${name}`);
      return page.items.find((d) => d.name === name && d.state === 'ready');
    }, { timeoutMs: 15_000 });
  }

  it('create, convert raw→qcow2 -c with live progress, qcow2→raw, resize, delete — each seen on the host with qemu-img info', async () => {
    const src = `${PREFIX}src`;
    expect((await submitted(await fleet.post('/v1/disks', { hostId: fleet.hostId, name: src, format: 'raw', sizeGiB: 1 }))).state).toBe('succeeded');
    const srcPath = join(fleet.storeRoot, `${src}.raw`);
    // 384 MiB of random data in the 1 GiB image: compression has real work to do, in steps.
    await onHost('dd', 'if=/dev/urandom', `of=${srcPath}`, 'bs=1M', 'count=384', 'conv=notrunc', 'status=none');
    const disk = await diskNamed(src);
    expect(disk).toMatchObject({ format: 'raw', virtualSize: 1024 ** 3, path: srcPath });

    const events = await eventStream(`${fleet.url}/v1/events?hostId=${fleet.hostId}&type=convert-disk`, fleet.token);
    const compressed = await submitted(await fleet.post(`/v1/disks/${disk.id}/convert`, { target: `${src}-z`, format: 'qcow2', compress: true }));
    await events.close();
    expect(compressed.state).toBe('succeeded');
    const steps = [...new Set(events.events.filter((e) => e.event === 'job.progress').map((e) => (JSON.parse(e.data) as { progress: number }).progress))];
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    const zPath = join(fleet.storeRoot, `${src}-z.qcow2`);
    expect(await info(zPath, 'qcow2')).toMatchObject({ format: 'qcow2', 'virtual-size': 1024 ** 3 });
    const logs = await fleet.get<{ items: Array<{ argv: string[] }> }>(`/v1/jobs/${compressed.id}/logs`);
    expect(logs.items.find((l) => l.argv.includes('convert'))?.argv).toEqual(['qemu-img', 'convert', '-p', '-f', 'raw', '-O', 'qcow2', '-c', srcPath, expect.stringContaining(`.${src}-z.qcow2.`)]);

    const z = await diskNamed(`${src}-z`);
    const back = await submitted(await fleet.post(`/v1/disks/${z.id}/convert`, { target: `${src}-back`, format: 'raw' }));
    expect(back.state).toBe('succeeded');
    expect(await info(join(fleet.storeRoot, `${src}-back.raw`), 'raw')).toMatchObject({ format: 'raw', 'virtual-size': 1024 ** 3 });

    const grow = await submitted(await fleet.post(`/v1/disks/${z.id}/resize`, { sizeGiB: 2 }));
    expect(grow.state).toBe('succeeded');
    expect(grow.result).toMatchObject({ previousVirtualSize: 1024 ** 3, virtualSize: 2 * 1024 ** 3 });
    expect((await info(zPath, 'qcow2'))['virtual-size']).toBe(2 * 1024 ** 3);
    const shrink = await submitted(await fleet.post(`/v1/disks/${z.id}/resize`, { sizeGiB: 1 }));
    expect(shrink.state).toBe('failed');
    expect(shrink.error?.code).toBe('shrink_refused');
    expect((await info(zPath, 'qcow2'))['virtual-size']).toBe(2 * 1024 ** 3);

    for (const d of [disk, z, await diskNamed(`${src}-back`)]) {
      const res = await fetch(new URL(`/v1/disks/${d.id}`, fleet.url), { method: 'DELETE', headers: { authorization: `Bearer ${fleet.token}` } });
      const job = await fleet.job(((await res.json()) as { id: string }).id, 60);
      expect(job.state).toBe('succeeded');
    }
    expect(existsSync(srcPath)).toBe(false);
    expect(existsSync(zPath)).toBe(false);
    const left = await fleet.get<{ items: DiskBody[] }>(`/v1/disks?hostId=${fleet.hostId}&name=${src}`);
    expect(left.items).toEqual([]);
  }, 300_000);

  it('convert-and-swap: a shut-off VM boots from the converted disk; a running one is refused before anything is touched', async () => {
    const name = `${PREFIX}swap`;
    await onHost('cp', fx.bootDisk, join(fleet.storeRoot, `${name}.qcow2`));
    const boot = await diskNamed(name);
    const made = await submitted(
      await fleet.post('/v1/vms', { hostId: fleet.hostId, name, memoryMiB: 256, vcpus: 1, install: { kind: 'import' }, disks: [{ name }] }),
    );
    expect(made.state).toBe('succeeded');
    const vm = (await fleet.get<{ items: Array<{ id: string; uuid: string; serialLog: string }> }>(`/v1/vms?hostId=${fleet.hostId}&name=${name}`)).items[0];
    if (!vm) throw new Error('no VM');
    expect((await diskNamed(name)).usedBy.map((u) => u.id)).toEqual([vm.id]);

    // Running: the API refuses, and so does the agent for a job that reaches it anyway.
    const refused = await fleet.post(`/v1/disks/${boot.id}/convert`, { target: `${name}-raw`, format: 'raw', attachTo: vm.id });
    expect(refused.status).toBe(409);
    const direct = await submitted(
      await fleet.post('/v1/jobs', {
        type: 'convert-disk',
        hostId: fleet.hostId,
        payload: { source: name, target: `${name}-raw`, format: 'raw', attachTo: { uuid: vm.uuid, name } },
      }),
    );
    expect(direct.state).toBe('failed');
    expect(direct.error?.code).toBe('vm_running');
    expect(existsSync(join(fleet.storeRoot, `${name}-raw.raw`))).toBe(false);

    await submitted(await fleet.post(`/v1/vms/${vm.id}/actions/destroy`, {}));
    const swap = await submitted(await fleet.post(`/v1/disks/${boot.id}/convert`, { target: `${name}-raw`, format: 'raw', attachTo: vm.id }));
    expect(swap.state).toBe('succeeded');
    expect(swap.result).toMatchObject({ swapped: { vm: name, target: 'vda' }, sourceDeleted: false });
    const xml = await onHost('virsh', 'dumpxml', vm.uuid);
    expect(xml).toMatch(new RegExp(`<driver name='qemu' type='raw'/>\\s*<source file='${join(fleet.storeRoot, `${name}-raw.raw`)}'`));
    expect(existsSync(join(fleet.storeRoot, `${name}.qcow2`))).toBe(true); // kept until deleteSource

    await submitted(await fleet.post(`/v1/vms/${vm.id}/actions/start`, {}));
    await waitFor('READY from the converted disk', async () => existsSync(vm.serialLog) && (await readFile(vm.serialLog, 'utf8')).includes(fx.readyMarker), {
      timeoutMs: 90_000,
      intervalMs: 250,
    });
  }, 300_000);

  it('hostile images are refused before qemu-img reads them, each with the reason', async () => {
    const store = fleet.storeRoot;
    const mk = (...args: string[]) => onHost('qemu-img', ...args);
    await mk('create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', join(store, `${PREFIX}backing.qcow2`));
    await mk('create', '-q', '-f', 'qcow2', '-o', `data_file=${join(store, `${PREFIX}data.img`)}`, join(store, `${PREFIX}datafile.qcow2`), '16M');
    await writeFile(
      join(store, `${PREFIX}vmdk.raw`),
      '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 2048 FLAT "/etc/passwd" 0\n',
    );
    await mk('create', '-q', '-f', 'qcow2', join(store, `${PREFIX}hdr.raw`), '16M'); // a qcow2 image named (claimed) raw
    await mk('create', '-q', '-f', 'qcow2', join(store, `${PREFIX}huge.qcow2`), '100T');
    const cases: Array<[string, string, RegExp]> = [
      [`${PREFIX}backing`, 'qcow2', /image_backing_outside_roots/],
      [`${PREFIX}datafile`, 'qcow2', /image_data_file/],
      [`${PREFIX}vmdk`, 'raw', /image_(format_mismatch|vmdk_extent|ambiguous)/],
      [`${PREFIX}hdr`, 'raw', /image_format_mismatch/],
      [`${PREFIX}huge`, 'qcow2', /image_too_large/],
    ];
    for (const [name, format, code] of cases) {
      const job = await fleet.run('inspect-disk', { name, format }, 60);
      expect(job.state).toBe('failed');
      expect(job.error?.code).toMatch(code);
      expect(job.error?.message).toMatch(/refused: .{10,}/);
      const logs = await fleet.get<{ items: Array<{ argv: string[] }> }>(`/v1/jobs/${job.id}/logs`);
      expect(logs.items.filter((l) => l.argv.includes('qemu-img'))).toEqual([]);
    }
    // The storage scan lists them, marked refused, and never as usable disks of a size.
    const listed = await waitFor('refused images listed', async () => {
      const page = await fleet.get<{ items: DiskBody[] }>(`/v1/disks?hostId=${fleet.hostId}&name=${PREFIX}hdr`);
      return page.items[0];
    }, { timeoutMs: 30_000 });
    expect(listed.virtualSize).toBe(0);
    expect(listed.refused).toMatch(/refused: .{10,}/);
    // Using it is refused at the API; deleting it is what an operator does with one.
    expect((await fleet.post(`/v1/disks/${listed.id}/convert`, { target: `${PREFIX}hdr2`, format: 'qcow2' })).status).toBe(409);
    const res = await fetch(new URL(`/v1/disks/${listed.id}`, fleet.url), { method: 'DELETE', headers: { authorization: `Bearer ${fleet.token}` } });
    expect((await fleet.job(((await res.json()) as { id: string }).id, 60)).state).toBe('succeeded');
    expect(existsSync(join(store, `${PREFIX}hdr.raw`))).toBe(false);
  }, 180_000);

  it('names that could escape the root are 400; a symlink out of the root is refused on the host', async () => {
    for (const name of ['../../etc/shadow', '/dev/sda', 'a/b', '..']) {
      const r = await fleet.post('/v1/jobs', { type: 'inspect-disk', hostId: fleet.hostId, payload: { name } });
      expect(r.status).toBe(400);
      const c = await fleet.post('/v1/disks', { hostId: fleet.hostId, name, sizeGiB: 1 });
      expect(c.status).toBe(400);
    }
    await symlink('/etc/passwd', join(fleet.storeRoot, `${PREFIX}link.raw`));
    const job = await fleet.run('inspect-disk', { name: `${PREFIX}link`, format: 'raw' }, 60);
    expect(job.state).toBe('failed');
    expect(job.error?.code).toBe('disk_path_refused');
  }, 60_000);

  it('GET /v1/isos lists the install media in the iso root', async () => {
    const isos = await fleet.get<{ items: Array<{ name: string; hostId: string }> }>(`/v1/isos?hostId=${fleet.hostId}`);
    expect(isos.items.map((i) => i.name)).toEqual(expect.arrayContaining(['tiny-cdrom.iso', 'tiny-tree.iso', 'vmlinux', 'initramfs.gz']));
  });
});
