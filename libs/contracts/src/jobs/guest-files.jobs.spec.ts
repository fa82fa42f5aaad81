import {
  GUEST_FILE_DEFAULT_BYTES,
  GUEST_FILE_MAX_BYTES,
  guestDiskUsageJob,
  guestPathProblem,
  guestTargetLockKey,
  listGuestFilesystemsJob,
  readGuestFileJob,
  writeGuestFileJob,
} from './guest-files.jobs';

const VM = { uuid: '5b3c3a6e-2f4e-4b7a-9c1d-0a1b2c3d4e5f', name: 'web-1' };
const read = (input: unknown) => readGuestFileJob.payload.safeParse(input);
const write = (input: unknown) => writeGuestFileJob.payload.safeParse(input);
const readPaths = (input: unknown) => read(input).error?.issues.map((i) => i.path) ?? [];
const writePaths = (input: unknown) => write(input).error?.issues.map((i) => i.path) ?? [];

describe('guest paths', () => {
  it.each(['/etc/motd', '/etc/app.conf', '/a b/ü.txt', '/.hidden', '/x..y', '/x:y'])('accepts %j', (path) => {
    expect(guestPathProblem(path)).toBeUndefined();
  });

  it.each([
    ['../../etc/shadow', 'absolute'],
    ['etc/shadow', 'absolute'],
    ['/etc/../etc/shadow', '".."'],
    ['/..', '".."'],
    ['/etc/./shadow', '".."'],
    ['/etc//shadow', 'normalised'],
    ['/etc/', 'normalised'],
    ['/', 'file'],
    ['', 'absolute'],
    ['/etc/sha\u0000dow', 'control'],
    ['/etc/x\ny', 'control'],
    ['/etc/\u007f', 'control'],
    [`/${'a'.repeat(256)}`, '255 bytes'],
    [`/${'é'.repeat(128)}`, '255 bytes'],
    [`/${'a/'.repeat(2100)}a`, '4096'],
  ].map(([path, why]) => [path.length > 40 ? `${path.slice(0, 12)}… (${path.length} chars)` : JSON.stringify(path), path, why]))(
    'refuses %s (%s)',
    (_shown, path, why) => {
    expect(guestPathProblem(path)).toContain(why);
    expect(readPaths({ disk: { name: 'd1' }, path })).toEqual([['path']]);
    },
  );
});

describe('read-guest-file payload', () => {
  it('takes a disk of ours, defaults maxBytes to 1 MiB', () => {
    expect(read({ disk: { name: 'd1' }, mount: '/dev/sda1', path: '/etc/motd' }).data).toEqual({
      disk: { name: 'd1' },
      mount: '/dev/sda1',
      path: '/etc/motd',
      maxBytes: GUEST_FILE_DEFAULT_BYTES,
    });
  });

  it('takes a VM', () => {
    expect(read({ vm: VM, path: '/etc/motd', maxBytes: GUEST_FILE_MAX_BYTES }).success).toBe(true);
  });

  it.each(['/dev/sda', '../x', '../../etc/shadow', '/etc/passwd', 'a/b', '-a', '.hidden', 'x,y=z', 'd1 -> /etc/shadow', '~root', 'd1/..', ''])('refuses the disk name %j', (name) => {
    expect(readPaths({ disk: { name }, path: '/etc/motd' })).toEqual([['disk', 'name']]);
  });

  it('refuses both a vm and a disk, and neither', () => {
    expect(readPaths({ vm: VM, disk: { name: 'd1' }, path: '/x' })).toEqual([['vm']]);
    expect(readPaths({ path: '/x' })).toEqual([['vm']]);
  });

  it.each(['/dev/sda', '/dev/sda1', '/dev/sdab12', '/dev/md0', '/dev/vg0/root', '/dev/mapper/luks-1'])('accepts the mount device %j', (mount) => {
    expect(read({ disk: { name: 'd1' }, mount, path: '/x' }).success).toBe(true);
  });

  it.each(['/dev/sda1:/boot', 'sda1', '/dev/../etc/shadow', '/dev/vg0/..', '/dev/.x/y', '/dev/sda1 ', '-m', '/dev/a/b/c', '/etc/passwd'])(
    'refuses the mount device %j',
    (mount) => {
      expect(readPaths({ disk: { name: 'd1' }, mount, path: '/x' })).toEqual([['mount']]);
    },
  );

  it.each([0, -1, 1.5, GUEST_FILE_MAX_BYTES + 1])('refuses maxBytes %p', (maxBytes) => {
    expect(readPaths({ disk: { name: 'd1' }, path: '/x', maxBytes })).toEqual([['maxBytes']]);
  });

  it('refuses unknown keys (no expression, no host path)', () => {
    expect(read({ disk: { name: 'd1' }, path: '/x', expr: 's/a/b/' }).success).toBe(false);
    expect(read({ disk: { name: 'd1', path: '/etc/shadow' }, path: '/x' }).success).toBe(false);
  });
});

describe('write-guest-file payload', () => {
  it('takes whole content, utf8 by default', () => {
    expect(write({ vm: VM, mount: '/dev/sda1', path: '/etc/app.conf', content: 'a=1\n' }).data).toEqual({
      vm: VM,
      mount: '/dev/sda1',
      path: '/etc/app.conf',
      content: 'a=1\n',
      encoding: 'utf8',
      createParents: false,
    });
  });

  it('takes a literal replace with all defaulting to false', () => {
    expect(write({ disk: { name: 'd1' }, path: '/etc/app.conf', replace: { find: 'a=1', with: 'a=2' } }).data?.replace).toEqual({
      find: 'a=1',
      with: 'a=2',
      all: false,
    });
  });

  it('wants exactly one of content and replace', () => {
    expect(writePaths({ disk: { name: 'd1' }, path: '/x' })).toEqual([['content']]);
    expect(writePaths({ disk: { name: 'd1' }, path: '/x', content: '', replace: { find: 'a', with: 'b' } })).toEqual([['content']]);
  });

  it('refuses content that is not base64 when it says so', () => {
    expect(writePaths({ disk: { name: 'd1' }, path: '/x', content: 'not base64!', encoding: 'base64' })).toEqual([['content']]);
    expect(write({ disk: { name: 'd1' }, path: '/x', content: 'AAEC', encoding: 'base64' }).success).toBe(true);
  });

  it.each(['644', '0644', '0755', '4755'])('accepts mode %j', (mode) => {
    expect(write({ disk: { name: 'd1' }, path: '/x', content: '', mode }).success).toBe(true);
  });

  it.each(['u+x', '999', '0o644', '-1', '644 '])('refuses mode %j', (mode) => {
    expect(writePaths({ disk: { name: 'd1' }, path: '/x', content: '', mode })).toEqual([['mode']]);
  });

  it('refuses an empty find and a path with ".."', () => {
    expect(writePaths({ disk: { name: 'd1' }, path: '/x', replace: { find: '', with: 'b' } })).toEqual([['replace', 'find']]);
    expect(writePaths({ disk: { name: 'd1' }, path: '/etc/../../etc/shadow', content: 'x' })).toEqual([['path']]);
  });
});

describe('usage and filesystem payloads', () => {
  it.each([guestDiskUsageJob, listGuestFilesystemsJob])('$name takes one target', (job) => {
    expect(job.payload.safeParse({ vm: VM }).success).toBe(true);
    expect(job.payload.safeParse({ disk: { name: 'd1', format: 'raw' } }).success).toBe(true);
    expect(job.payload.safeParse({}).success).toBe(false);
    expect(job.payload.safeParse({ disk: { name: '/dev/sda' } }).success).toBe(false);
  });
});

describe('lock keys', () => {
  it('are the keys VM and disk jobs take', () => {
    expect(guestTargetLockKey({ vm: VM })).toBe('vm:web-1');
    expect(guestTargetLockKey({ disk: { name: 'd1' } })).toBe('disk:d1');
    const p = read({ vm: VM, path: '/x' }).data;
    expect(p && readGuestFileJob.lockKey?.(p)).toBe('vm:web-1');
  });

  it('take minutes, not seconds (libguestfs under TCG)', () => {
    for (const job of [readGuestFileJob, writeGuestFileJob, guestDiskUsageJob, listGuestFilesystemsJob]) {
      expect(job.timeoutMs).toBeGreaterThanOrEqual(180_000);
    }
  });
});
