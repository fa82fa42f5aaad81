import { guestDiskUsageJob, listGuestFilesystemsJob, readGuestFileJob, writeGuestFileJob, type GuestFilesystemEntry } from '@virtfleet/contracts';
import { canWriteFiles, guestVm, mountChoices, readFileBody, readView, writeFileBody } from './guest-files-bodies';

// The guest-file section's payloads are what the jobs' own schemas (libs/contracts) take.

const vm = { uuid: '2f1c4a8e-0d5b-4c1e-9a7f-3b6d8e2c1a90', name: 'web-03', state: 'shutoff' };
/** readView does not look at the digest: any well-formed one. */
const sha = (s: string) => s.length.toString(16).padStart(64, '0');

describe('readFileBody', () => {
  it.each<[string, { mount: string; path: string }, Record<string, unknown>]>([
    ['a filesystem and a path, trimmed', { mount: ' /dev/sda2 ', path: ' /etc/app.conf ' }, { mount: '/dev/sda2', path: '/etc/app.conf' }],
    ['no filesystem: libguestfs inspects (no mount sent)', { mount: '', path: '/etc/hostname' }, { path: '/etc/hostname' }],
  ])('%s', (_, draft, fields) => {
    const body = readFileBody(vm, draft);
    expect(body).toEqual({ vm: { uuid: vm.uuid, name: vm.name }, ...fields });
    expect(readGuestFileJob.payload.safeParse(body).error?.issues).toBeUndefined();
  });

  it('leaves a path that escapes for the API to refuse, in its words', () => {
    const body = readFileBody(vm, { mount: '/dev/sda', path: '../etc/shadow' });
    expect(body.path).toBe('../etc/shadow');
    expect(readGuestFileJob.payload.safeParse(body).error?.issues.map((i) => i.message)).toEqual(['must be absolute (start with "/")']);
  });
});

describe('writeFileBody', () => {
  it('writes the whole text back where it was read from', () => {
    const body = writeFileBody(vm, { mount: '/dev/sda2', path: '/etc/app.conf' }, 'mode=green\nworkers=2\n');
    expect(body).toEqual({ vm: { uuid: vm.uuid, name: vm.name }, mount: '/dev/sda2', path: '/etc/app.conf', content: 'mode=green\nworkers=2\n', encoding: 'utf8' });
    expect(writeGuestFileJob.payload.safeParse(body).error?.issues).toBeUndefined();
  });

  it('an emptied file is still content (not a replace)', () => {
    const body = writeFileBody(vm, { mount: '', path: '/etc/motd' }, '');
    expect(writeGuestFileJob.payload.safeParse(body).error?.issues).toBeUndefined();
  });
});

describe('the usage and filesystem payloads', () => {
  it('name the VM only', () => {
    expect(guestDiskUsageJob.payload.safeParse(guestVm(vm)).error?.issues).toBeUndefined();
    expect(listGuestFilesystemsJob.payload.safeParse(guestVm(vm)).error?.issues).toBeUndefined();
    expect(guestVm({ ...vm, extra: 1 } as typeof vm)).toEqual({ vm: { uuid: vm.uuid, name: vm.name } });
  });
});

describe('readView', () => {
  const text = 'mode=blue\nworkers=2\n';
  it('a whole text file: shown and editable', () => {
    expect(readView({ path: '/etc/app.conf', size: 20, truncated: false, encoding: 'utf8', content: text, sha256: sha(text) })).toEqual({
      text,
      binary: false,
      editable: true,
      extent: '20 bytes',
    });
  });

  it('a truncated text file: the part read, not editable (writing it back would cut the file)', () => {
    const part = 'é'.repeat(4); // 8 bytes
    expect(readView({ path: '/var/log/big', size: 5000, truncated: true, encoding: 'utf8', content: part, sha256: sha(part) })).toMatchObject({
      editable: false,
      extent: 'first 8 of 5000 bytes',
    });
  });

  it('a binary file: base64, not editable', () => {
    const b64 = 'AAECA/8='; // the bytes 00 01 02 03 ff
    expect(readView({ path: '/bin/x', size: 5, truncated: false, encoding: 'base64', content: b64, sha256: sha('x') })).toEqual({
      text: b64,
      binary: true,
      editable: false,
      extent: '5 bytes',
    });
    expect(readView({ path: '/bin/x', size: 9, truncated: true, encoding: 'base64', content: b64, sha256: sha('x') }).extent).toBe('first 5 of 9 bytes');
  });
});

describe('mountChoices', () => {
  it('the filesystems virt-filesystems found, once each, without swap', () => {
    const entries: GuestFilesystemEntry[] = [
      { name: '/dev/sda1', type: 'filesystem', vfs: 'vfat', label: 'TINYBOOT' },
      { name: '/dev/sda2', type: 'filesystem', vfs: 'ext4' },
      { name: '/dev/sda3', type: 'filesystem', vfs: 'swap' },
      { name: '/dev/sda1', type: 'partition', mbr: '0c' },
      { name: '/dev/sda', type: 'device' },
    ];
    expect(mountChoices(entries)).toEqual(['/dev/sda1', '/dev/sda2']);
  });
});

describe('canWriteFiles', () => {
  it.each([
    ['shutoff', true],
    ['running', false],
    ['paused', false],
    ['crashed', false],
  ])('%s: %p', (state, ok) => {
    expect(canWriteFiles({ state })).toBe(ok);
  });
});
