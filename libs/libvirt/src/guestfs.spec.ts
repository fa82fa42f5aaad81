import {
  classifyGuestfsError,
  GuestfsArgError,
  guestfishReadFile,
  guestfishUploadFile,
  guestfsEnv,
  parseCsv,
  parseGuestfishFilesize,
  parseVirtDfCsv,
  parseVirtFilesystemsCsv,
  virtCat,
  virtDf,
  virtFilesystems,
  type GuestfsSource,
} from './guestfs';

const DISK: GuestfsSource = { kind: 'images', images: [{ path: '/kvm/store/d1.qcow2', format: 'qcow2' }] };
const TWO: GuestfsSource = {
  kind: 'images',
  images: [
    { path: '/kvm/store/vm1.qcow2', format: 'qcow2' },
    { path: '/kvm/store/data.raw', format: 'raw' },
  ],
};
const DOMAIN: GuestfsSource = { kind: 'domain', uri: 'qemu:///system', uuid: '5b3c3a6e-2f4e-4b7a-9c1d-0a1b2c3d4e5f' };
const argv = (c: { cmd: string; args: readonly string[] }) => [c.cmd, ...c.args];

describe('guestfsEnv', () => {
  it('forces TCG unless the host runs KVM guests', () => {
    expect(guestfsEnv('kvm')).toEqual({});
    expect(guestfsEnv('qemu')).toEqual({ LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' });
    expect(guestfsEnv(undefined)).toEqual({ LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' });
  });
});

describe('argv builders', () => {
  it('virt-cat pins each format before its -a and ends options before the path', () => {
    expect(argv(virtCat({ source: TWO, mount: '/dev/sda1', path: '/etc/motd' }))).toEqual([
      'virt-cat', '--format=qcow2', '-a', '/kvm/store/vm1.qcow2', '--format=raw', '-a', '/kvm/store/data.raw', '-m', '/dev/sda1', '--', '/etc/motd',
    ]);
  });

  it('virt-cat on a domain by UUID, inspecting without a mount', () => {
    expect(argv(virtCat({ source: DOMAIN, path: '/etc/motd' }))).toEqual([
      'virt-cat', '-c', 'qemu:///system', '-d', '5b3c3a6e-2f4e-4b7a-9c1d-0a1b2c3d4e5f', '--', '/etc/motd',
    ]);
  });

  it('reads read-only: size, then at most maxBytes into the local file', () => {
    expect(argv(guestfishReadFile({ source: DISK, mount: '/dev/sda', path: '/etc/app.conf', maxBytes: 1024, localFile: '/kvm/store/.guestfs-tmp/x' }))).toEqual([
      'guestfish', '--ro', '--format=qcow2', '-a', '/kvm/store/d1.qcow2', '-m', '/dev/sda', '--',
      'filesize', '/etc/app.conf', ':', 'download-offset', '/etc/app.conf', '/kvm/store/.guestfs-tmp/x', '0', '1024',
    ]);
  });

  it('inspects (-i) when guestfish has no mount device', () => {
    const cmd = guestfishReadFile({ source: DISK, path: '/etc/motd', maxBytes: 1, localFile: '/t/x' });
    expect(cmd.args.slice(0, 6)).toEqual(['--ro', '--format=qcow2', '-a', '/kvm/store/d1.qcow2', '-i', '--']);
  });

  it('uploads read-write, with mkdir -p and an octal chmod when asked', () => {
    const cmd = guestfishUploadFile({ source: DISK, mount: '/dev/sda1', path: '/opt/app/run.sh', localFile: '/t/x', mode: '755', createParents: true });
    expect(argv(cmd)).toEqual([
      'guestfish', '--rw', '--format=qcow2', '-a', '/kvm/store/d1.qcow2', '-m', '/dev/sda1', '--',
      'mkdir-p', '/opt/app', ':', 'upload', '/t/x', '/opt/app/run.sh', ':', 'chmod', '0755', '/opt/app/run.sh',
    ]);
  });

  it('uploads alone when nothing else is asked (no mkdir-p of "/")', () => {
    const cmd = guestfishUploadFile({ source: DISK, mount: '/dev/sda', path: '/top', localFile: '/t/x', createParents: true });
    expect(cmd.args.slice(6)).toEqual(['--', 'upload', '/t/x', '/top']);
  });

  it('virt-df and virt-filesystems ask for CSV', () => {
    expect(argv(virtDf(DISK))).toEqual(['virt-df', '--format=qcow2', '-a', '/kvm/store/d1.qcow2', '--csv']);
    expect(argv(virtFilesystems(DOMAIN))).toEqual([
      'virt-filesystems', '-c', 'qemu:///system', '-d', '5b3c3a6e-2f4e-4b7a-9c1d-0a1b2c3d4e5f',
      '--long', '--parts', '--blkdevs', '--filesystems', '--uuid', '--csv',
    ]);
  });

  it.each([
    ['a relative path', { source: DISK, path: 'etc/motd' }, 'path'],
    ['".."', { source: DISK, path: '/etc/../../shadow' }, 'path'],
    ['a NUL', { source: DISK, path: '/etc/mo\u0000td' }, 'path'],
    ['a -m with a mount point', { source: DISK, path: '/x', mount: '/dev/sda1:/boot' }, 'mount'],
    ['a -m that is an option', { source: DISK, path: '/x', mount: '--rw' }, 'mount'],
    ['no image', { source: { kind: 'images', images: [] } as GuestfsSource, path: '/x' }, 'images'],
    ['a relative image', { source: { kind: 'images', images: [{ path: 'd.qcow2', format: 'qcow2' }] } as GuestfsSource, path: '/x' }, 'image'],
    ['a probed format', { source: { kind: 'images', images: [{ path: '/d', format: 'vmdk' }] } as unknown as GuestfsSource, path: '/x' }, 'format'],
    ['a non-UUID domain', { source: { kind: 'domain', uri: 'qemu:///system', uuid: 'web-1' } as GuestfsSource, path: '/x' }, 'uuid'],
  ])('refuses %s', (_what, spec, field) => {
    expect(() => virtCat(spec)).toThrow(expect.objectContaining({ name: 'GuestfsArgError', field }));
  });

  it('refuses a bad mode and a bad size', () => {
    expect(() => guestfishUploadFile({ source: DISK, path: '/x', localFile: '/t/x', mode: 'u+s' })).toThrow(GuestfsArgError);
    expect(() => guestfishReadFile({ source: DISK, path: '/x', localFile: '/t/x', maxBytes: 0 })).toThrow(GuestfsArgError);
    expect(() => guestfishReadFile({ source: DISK, path: '/x', localFile: 'rel', maxBytes: 1 })).toThrow(GuestfsArgError);
  });
});

describe('parsers', () => {
  it('parses quoted CSV', () => {
    expect(parseCsv('a,"b,c","d ""e"""\r\n,x,\n')).toEqual([
      ['a', 'b,c', 'd "e"'],
      ['', 'x', ''],
    ]);
  });

  // Real output, libguestfs 1.48.6 on this machine (virt-make-fs --type=ext4 --size=+50M, no partition).
  it('parses virt-df --csv (KiB to bytes)', () => {
    const out = 'VirtualMachine,Filesystem,1K-blocks,Used,Available,Use%\ndisk.qcow2,/dev/sda,47353,19,43416,0.0\n';
    expect(parseVirtDfCsv(out)).toEqual([
      { source: 'disk.qcow2', device: '/dev/sda', sizeBytes: 47353 * 1024, usedBytes: 19 * 1024, availableBytes: 43416 * 1024, usePercent: 0 },
    ]);
  });

  it('parses a Use% with a percent sign and refuses a non-number', () => {
    const head = 'VirtualMachine,Filesystem,1K-blocks,Used,Available,Use%\n';
    expect(parseVirtDfCsv(`${head}vm1,/dev/sda1,100,50,50,50.0%\n`)[0]?.usePercent).toBe(50);
    expect(() => parseVirtDfCsv(`${head}vm1,/dev/sda1,-,50,50,50\n`)).toThrow(/1K-blocks/);
    expect(() => parseVirtDfCsv('garbage')).toThrow(/virt-df printed no CSV header/);
  });

  it('parses virt-filesystems --long --csv (real, unpartitioned) and leaves empty cells out', () => {
    const out = [
      'Name,Type,VFS,Label,MBR,Size,Parent,UUID',
      '/dev/sda,filesystem,ext4,,,48489472,,e762c28f-0336-454e-926a-731ba85506df',
      '/dev/sda,device,,,,57343488,,',
      '',
    ].join('\n');
    expect(parseVirtFilesystemsCsv(out)).toEqual([
      { name: '/dev/sda', type: 'filesystem', vfs: 'ext4', sizeBytes: 48489472, uuid: 'e762c28f-0336-454e-926a-731ba85506df' },
      { name: '/dev/sda', type: 'device', sizeBytes: 57343488 },
    ]);
  });

  // Shaped after the reference's `--filesystems --long --csv` line plus --parts (MBR, Parent); not captured.
  it('parses partitions with their parent and MBR id', () => {
    const out = 'Name,Type,VFS,Label,MBR,Size,Parent,UUID\n/dev/sda1,partition,,,83,209715200,/dev/sda,\n/dev/sda1,filesystem,ext4,"root,fs",,194971648,,\n';
    expect(parseVirtFilesystemsCsv(out)).toEqual([
      { name: '/dev/sda1', type: 'partition', mbr: '83', sizeBytes: 209715200, parent: '/dev/sda' },
      { name: '/dev/sda1', type: 'filesystem', vfs: 'ext4', label: 'root,fs', sizeBytes: 194971648 },
    ]);
  });

  it('reads the size guestfish printed first', () => {
    expect(parseGuestfishFilesize('15\n')).toBe(15);
    expect(() => parseGuestfishFilesize('')).toThrow(/filesize/);
  });
});

describe('classifyGuestfsError (stderr captured on this machine)', () => {
  it.each([
    ['virt-cat: no operating system was found on this disk\n\nIf using guestfish ‘-i’ option …', 'no_os'],
    ['*stdin*:0: libguestfs: error: filesize: /nope: No such file or directory', 'not_found'],
    ['*stdin*:0: libguestfs: error: download_offset: /etc: is a directory', 'not_a_file'],
    [
      "libguestfs: error: mount_options: mount_options_stub: /dev/sdb1: No such file or directory\nguestfish: '/dev/sdb1' could not be mounted.",
      'mount_failed',
    ],
    ['qemu-system-x86_64: Failed to get "write" lock\nIs another process using the image [/kvm/store/d1.qcow2]?', 'disk_in_use'],
    ['something else', 'other'],
  ])('%j is %s', (stderr, kind) => {
    expect(classifyGuestfsError(stderr)).toBe(kind);
  });
});
