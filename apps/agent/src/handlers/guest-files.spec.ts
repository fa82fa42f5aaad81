import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  guestDiskUsageJob,
  listGuestFilesystemsJob,
  readGuestFileJob,
  writeGuestFileJob,
  type DomainInventory,
  type JobPayloadInput,
} from '@virtfleet/contracts';
import { FakeRunner, type Command, type FakeOutcome, type RunOptions } from '@virtfleet/exec';
import { JobContext } from '../job-context';
import { JobFailure } from '../job-failure';
import { StorageRoot } from '../storage/storage-root';
import { encode, GuestFileHandlers, replaceLiteral, type GuestDomains } from './guest-files';

const VM = { uuid: '5b3c3a6e-2f4e-4b7a-9c1d-0a1b2c3d4e5f', name: 'web-1' };
const TCG = { LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };

/** FakeRunner that also keeps each command's env (libguestfs needs force_tcg on this host). */
class EnvRunner extends FakeRunner {
  readonly envs: Array<Readonly<Record<string, string>> | undefined> = [];
  override run(command: Command, options?: RunOptions) {
    this.envs.push(command.env);
    return super.run(command, options);
  }
}

/** guestfish's read step: the size on stdout, the bytes into the local file it was given. */
function guestfishRead(content: Buffer | string, size?: number) {
  return (argv: readonly string[]): FakeOutcome => {
    const at = argv.indexOf('download-offset');
    const local = argv[at + 2] ?? '';
    const max = Number(argv[at + 4]);
    const bytes = Buffer.from(content);
    writeFileSync(local, bytes.subarray(0, max));
    return { stdout: `${size ?? bytes.length}\n` };
  };
}

function domain(over: Partial<DomainInventory>): DomainInventory {
  return {
    uuid: VM.uuid,
    name: VM.name,
    state: 'shutoff',
    persistent: true,
    autostart: false,
    vcpus: 1,
    maxVcpus: 1,
    memoryMiB: 512,
    maxMemoryMiB: 512,
    disks: [],
    interfaces: [],
    graphics: [],
    snapshots: [],
    ...over,
  } as DomainInventory;
}

describe('GuestFileHandlers', () => {
  let dir: string;
  let store: StorageRoot;
  let runner: EnvRunner;
  let ctx: JobContext;
  let domains: DomainInventory[];
  let checked: Array<{ path: string; format: string }>;
  let handlers: GuestFileHandlers;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vf-guestfs-'));
    store = new StorageRoot(join(dir, 'store'));
    await store.ensure();
    await writeFile(join(store.root, 'd1.qcow2'), 'image');
    runner = new EnvRunner();
    ctx = new JobContext('job-1', 1, new AbortController().signal, runner, { report: async () => undefined });
    domains = [];
    checked = [];
    const lookup: GuestDomains = {
      read: async (_ctx, uuid) => domains.find((d) => d.uuid === uuid) ?? null,
      all: async () => domains,
    };
    handlers = new GuestFileHandlers({
      store,
      virtType: () => 'qemu',
      domains: lookup,
      checkImage: async (_ctx, path, format) => void checked.push({ path, format }),
    });
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  const d1 = () => join(store.root, 'd1.qcow2');
  const tmpLeft = async () => readdir(join(store.root, '.guestfs-tmp')).catch(() => []);
  const read = (p: JobPayloadInput<'read-guest-file'>) => handlers.readGuestFile(readGuestFileJob.payload.parse(p), ctx);
  const write = (p: JobPayloadInput<'write-guest-file'>) => handlers.writeGuestFile(writeGuestFileJob.payload.parse(p), ctx);

  describe('read-guest-file', () => {
    it('reads a disk of ours read-only, format pinned, under force_tcg, and returns text as utf8', async () => {
      runner.on('guestfish', guestfishRead('hello=1\nvalue1\n'));
      const res = await read({ disk: { name: 'd1' }, mount: '/dev/sda', path: '/etc/app.conf' });
      expect(res).toEqual({
        path: '/etc/app.conf',
        size: 15,
        truncated: false,
        encoding: 'utf8',
        content: 'hello=1\nvalue1\n',
        sha256: createHash('sha256').update('hello=1\nvalue1\n').digest('hex'),
      });
      const argv = runner.calls[0] ?? [];
      expect(argv.slice(0, 10)).toEqual(['guestfish', '--ro', '--format=qcow2', '-a', d1(), '-m', '/dev/sda', '--', 'filesize', '/etc/app.conf']);
      expect(argv.slice(10, 13)).toEqual([':', 'download-offset', '/etc/app.conf']);
      expect(argv[13]).toMatch(new RegExp(`^${store.root}/\\.guestfs-tmp/[0-9a-f-]{36}$`));
      expect(argv.slice(14)).toEqual(['0', String(1024 * 1024)]);
      expect(runner.envs[0]).toEqual(TCG);
      expect(checked).toEqual([{ path: d1(), format: 'qcow2' }]);
      expect(await tmpLeft()).toEqual([]);
    });

    it('returns binary as base64 and says when the file was cut', async () => {
      const bin = Buffer.from([0, 1, 2, 0xff, 0xfe, 3, 4, 5]);
      runner.on('guestfish', guestfishRead(bin, 4096));
      const res = await read({ disk: { name: 'd1' }, mount: '/dev/sda', path: '/bin.dat', maxBytes: 4 });
      expect(res).toMatchObject({ size: 4096, truncated: true, encoding: 'base64', content: bin.subarray(0, 4).toString('base64') });
    });

    it('reads a running VM through its disks in XML order, CD-ROMs left out', async () => {
      await writeFile(join(store.root, 'data.raw'), 'raw');
      domains = [
        domain({
          state: 'running',
          disks: [
            { target: 'vda', device: 'disk', type: 'file', source: d1(), format: 'qcow2' },
            { target: 'sda', device: 'cdrom', type: 'file', source: '/kvm/iso/debian.iso', format: 'raw' },
            { target: 'vdb', device: 'disk', type: 'file', source: join(store.root, 'data.raw'), format: 'raw' },
          ],
        }),
      ];
      runner.on('guestfish', guestfishRead('x'));
      await read({ vm: VM, path: '/etc/hostname' });
      expect(runner.calls[0]?.slice(0, 9)).toEqual([
        'guestfish', '--ro', '--format=qcow2', '-a', d1(), '--format=raw', '-a', join(store.root, 'data.raw'), '-i',
      ]);
      expect(checked).toEqual([
        { path: d1(), format: 'qcow2' },
        { path: join(store.root, 'data.raw'), format: 'raw' },
      ]);
    });

    it('refuses a VM disk outside the storage root before running anything', async () => {
      domains = [domain({ disks: [{ target: 'vda', device: 'disk', type: 'file', source: '/etc/shadow', format: 'raw' }] })];
      await expect(read({ vm: VM, path: '/x' })).rejects.toMatchObject({ code: 'guest_disk_refused' });
      expect(runner.calls).toEqual([]);
    });

    it('refuses a VM disk of another format or type, an unknown VM and a VM without disks', async () => {
      domains = [domain({ disks: [{ target: 'vda', device: 'disk', type: 'file', source: d1(), format: 'vmdk' }] })];
      await expect(read({ vm: VM, path: '/x' })).rejects.toMatchObject({ code: 'guest_disk_refused' });
      domains = [domain({ disks: [{ target: 'vda', device: 'disk', type: 'block', source: '/dev/sda' }] })];
      await expect(read({ vm: VM, path: '/x' })).rejects.toMatchObject({ code: 'guest_disk_refused' });
      domains = [domain({ disks: [] })];
      await expect(read({ vm: VM, path: '/x' })).rejects.toMatchObject({ code: 'vm_has_no_disks' });
      domains = [];
      await expect(read({ vm: VM, path: '/x' })).rejects.toMatchObject({ code: 'vm_not_found' });
      expect(runner.calls).toEqual([]);
    });

    it('refuses a missing disk and a symlink posing as one', async () => {
      await expect(read({ disk: { name: 'nope' }, path: '/x' })).rejects.toMatchObject({ code: 'disk_not_found' });
      await symlink('/etc/passwd', join(store.root, 'evil.raw'));
      await expect(read({ disk: { name: 'evil', format: 'raw' }, path: '/x' })).rejects.toMatchObject({ code: 'disk_path_refused' });
      expect(runner.calls).toEqual([]);
    });

    it.each([
      ['virt-cat: no operating system was found on this disk', 'guest_os_not_found'],
      ['*stdin*:0: libguestfs: error: filesize: /nope: No such file or directory', 'guest_file_not_found'],
      ['*stdin*:0: libguestfs: error: download_offset: /etc: is a directory', 'guest_not_a_file'],
      ["libguestfs: error: mount_options: mount_options_stub: /dev/sdb1: No such file or directory\nguestfish: '/dev/sdb1' could not be mounted.", 'guest_mount_failed'],
    ])('turns %j into %s', async (stderr, code) => {
      runner.on('guestfish', { exitCode: 1, stderr });
      await expect(read({ disk: { name: 'd1' }, path: '/nope' })).rejects.toMatchObject({ name: 'JobFailure', code });
      expect(await tmpLeft()).toEqual([]);
    });

    it('leaves other failures as command failures', async () => {
      runner.on('guestfish', { exitCode: 1, stderr: 'libguestfs: error: appliance closed the connection unexpectedly' });
      await expect(read({ disk: { name: 'd1' }, path: '/x' })).rejects.toMatchObject({ name: 'CommandFailedError' });
    });
  });

  describe('write-guest-file', () => {
    it('uploads the whole content from a private temp file, then removes it', async () => {
      let seen: { content: string; mode: number } | undefined;
      runner.on('guestfish', (argv) => {
        const local = argv[argv.indexOf('upload') + 1] ?? '';
        seen = { content: readFileSync(local, 'utf8'), mode: statSync(local).mode & 0o777 };
        return {};
      });
      const res = await write({ disk: { name: 'd1' }, mount: '/dev/sda', path: '/etc/app.conf', content: 'a=2\n', mode: '0640' });
      expect(res).toEqual({ path: '/etc/app.conf', written: true, size: 4, sha256: createHash('sha256').update('a=2\n').digest('hex') });
      expect(seen).toEqual({ content: 'a=2\n', mode: 0o600 });
      const argv = runner.calls[0] ?? [];
      expect(argv.slice(0, 9)).toEqual(['guestfish', '--rw', '--format=qcow2', '-a', d1(), '-m', '/dev/sda', '--', 'upload']);
      expect(argv.slice(10)).toEqual(['/etc/app.conf', ':', 'chmod', '0640', '/etc/app.conf']);
      expect(runner.envs[0]).toEqual(TCG);
      expect(await tmpLeft()).toEqual([]);
    });

    it('decodes base64 content byte for byte', async () => {
      let bytes: Buffer | undefined;
      runner.on('guestfish', (argv) => ((bytes = readFileSync(argv[argv.indexOf('upload') + 1] ?? '')), {}));
      await write({ disk: { name: 'd1' }, path: '/bin.dat', content: Buffer.from([0, 255, 1]).toString('base64'), encoding: 'base64' });
      expect(bytes).toEqual(Buffer.from([0, 255, 1]));
    });

    it('refuses a VM that is not shut off, before running anything', async () => {
      domains = [domain({ state: 'paused', disks: [{ target: 'vda', device: 'disk', type: 'file', source: d1(), format: 'qcow2' }] })];
      await expect(write({ vm: VM, path: '/x', content: '' })).rejects.toMatchObject({ code: 'vm_not_shut_off' });
      expect(runner.calls).toEqual([]);
    });

    it('refuses a disk an active VM uses, even when named as a disk', async () => {
      domains = [domain({ name: 'db', state: 'running', disks: [{ target: 'vda', device: 'disk', type: 'file', source: d1(), format: 'qcow2' }] })];
      await expect(write({ disk: { name: 'd1' }, path: '/x', content: '' })).rejects.toThrow(/used by db, which is running/);
      expect(runner.calls).toEqual([]);
    });

    it('writes a shut-off VM and a disk only shut-off VMs use', async () => {
      domains = [domain({ disks: [{ target: 'vda', device: 'disk', type: 'file', source: d1(), format: 'qcow2' }] })];
      runner.on('guestfish', {});
      await write({ vm: VM, mount: '/dev/sda1', path: '/x', content: '' });
      await write({ disk: { name: 'd1' }, mount: '/dev/sda1', path: '/x', content: '' });
      expect(runner.calls).toHaveLength(2);
    });

    it('replaces literal text: read, change here, upload', async () => {
      let uploaded = '';
      runner.on('guestfish', guestfishRead('hello=1\nvalue1\n'));
      runner.on(['guestfish', '--rw'], (argv) => ((uploaded = readFileSync(argv[argv.indexOf('upload') + 1] ?? '', 'utf8')), {}));
      const res = await write({ disk: { name: 'd1' }, mount: '/dev/sda', path: '/etc/app.conf', replace: { find: 'value1', with: 'value2' } });
      expect(uploaded).toBe('hello=1\nvalue2\n');
      expect(res).toMatchObject({ written: true, replacements: 1, size: 15 });
      expect(runner.calls.map((a) => a[1])).toEqual(['--ro', '--rw']);
      expect(runner.calls[0]?.at(-1)).toBe(String(16 * 1024 * 1024));
    });

    it('counts a replace already done as done, and writes nothing', async () => {
      runner.on('guestfish', guestfishRead('hello=1\nvalue2\n'));
      const res = await write({ disk: { name: 'd1' }, path: '/etc/app.conf', replace: { find: 'value1', with: 'value2' } });
      expect(res).toMatchObject({ written: false, replacements: 0 });
      expect(runner.calls).toHaveLength(1);
    });

    it('refuses a replace of a file too large to read whole', async () => {
      runner.on('guestfish', guestfishRead('x', 17 * 1024 * 1024));
      await expect(write({ disk: { name: 'd1' }, path: '/big', replace: { find: 'x', with: 'y' } })).rejects.toMatchObject({ code: 'guest_file_too_large' });
    });
  });

  describe('usage and filesystems', () => {
    it('runs virt-df --csv and returns bytes', async () => {
      runner.on('virt-df', { stdout: 'VirtualMachine,Filesystem,1K-blocks,Used,Available,Use%\nd1.qcow2,/dev/sda,47353,19,43416,0.0\n' });
      const res = await handlers.guestDiskUsage(guestDiskUsageJob.payload.parse({ disk: { name: 'd1' } }), ctx);
      expect(res.filesystems).toEqual([
        { source: 'd1.qcow2', device: '/dev/sda', sizeBytes: 48489472, usedBytes: 19456, availableBytes: 44457984, usePercent: 0 },
      ]);
      expect(runner.calls[0]).toEqual(['virt-df', '--format=qcow2', '-a', d1(), '--csv']);
      expect(runner.envs[0]).toEqual(TCG);
    });

    it('runs virt-filesystems --long --csv', async () => {
      runner.on('virt-filesystems', { stdout: 'Name,Type,VFS,Label,MBR,Size,Parent,UUID\n/dev/sda,device,,,,57343488,,\n' });
      const res = await handlers.listGuestFilesystems(listGuestFilesystemsJob.payload.parse({ disk: { name: 'd1' } }), ctx);
      expect(res.entries).toEqual([{ name: '/dev/sda', type: 'device', sizeBytes: 57343488 }]);
      expect(runner.calls[0]?.slice(4)).toEqual(['--long', '--parts', '--blkdevs', '--filesystems', '--uuid', '--csv']);
    });

    it('uses no force_tcg where the host runs KVM', async () => {
      const kvm = new GuestFileHandlers({ store, virtType: () => 'kvm', domains: { read: async () => null, all: async () => [] }, checkImage: async () => undefined });
      runner.on('virt-df', { stdout: 'VirtualMachine,Filesystem,1K-blocks,Used,Available,Use%\n' });
      await kvm.guestDiskUsage(guestDiskUsageJob.payload.parse({ disk: { name: 'd1' } }), ctx);
      expect(runner.envs[0]).toEqual({});
    });
  });
});

describe('encode', () => {
  it.each([
    ['text', Buffer.from('héllo\n'), 'utf8'],
    ['a NUL', Buffer.from('a\0b'), 'base64'],
    ['invalid UTF-8', Buffer.from([0xc3, 0x28]), 'base64'],
    ['a cut multi-byte character', Buffer.from('é').subarray(0, 1), 'base64'],
  ])('%s is %s', (_what, bytes, encoding) => {
    expect(encode(bytes).encoding).toBe(encoding);
  });
});

describe('replaceLiteral', () => {
  const r = (text: string, find: string, repl: string, all = false) => replaceLiteral(Buffer.from(text), { find, with: repl, all });

  it('replaces the one occurrence, or all of them when asked', () => {
    expect(r('a=1 b=1', 'a=1', 'a=2').bytes.toString()).toBe('a=2 b=1');
    expect(r('x.x.x', 'x', 'yy', true)).toEqual({ bytes: Buffer.from('yy.yy.yy'), replacements: 3 });
  });

  it('treats regex and Perl syntax as plain text', () => {
    expect(r('s/a/b/e $x', 's/a/b/e', 'ok').bytes.toString()).toBe('ok $x');
    expect(r('a.*b', '.*', '$&').bytes.toString()).toBe('a$&b');
  });

  it('refuses an ambiguous or a missing text', () => {
    expect(() => r('x x', 'x', 'y')).toThrow(expect.objectContaining({ code: 'guest_text_ambiguous' }));
    expect(() => r('abc', 'zzz', 'y')).toThrow(JobFailure);
    expect(() => r('abc', 'zzz', '')).toThrow(expect.objectContaining({ code: 'guest_text_not_found' }));
  });
});
