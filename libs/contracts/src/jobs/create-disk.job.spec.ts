import { createDiskJob, diskSizeBytes } from './create-disk.job';

const parse = (input: unknown) => createDiskJob.payload.safeParse(input);
const paths = (input: unknown) => parse(input).error?.issues.map((i) => i.path) ?? [];

describe('create-disk payload', () => {
  it('accepts a name and a size, and defaults the format to qcow2', () => {
    expect(parse({ name: 'd1', sizeGiB: 10 }).data).toEqual({ name: 'd1', sizeGiB: 10, format: 'qcow2' });
  });

  it('accepts raw and a size in MiB', () => {
    expect(parse({ name: 'd2', format: 'raw', sizeMiB: 512 }).data).toEqual({ name: 'd2', format: 'raw', sizeMiB: 512 });
  });

  it.each(['../x', 'a;b', '-f', 'x,y=z', '', '/etc/passwd'])('refuses the name %j on the name path', (name) => {
    expect(paths({ name, sizeGiB: 1 })).toEqual([['name']]);
  });

  it.each([0, -1, 1.5, 64 * 1024 + 1])('refuses sizeGiB %p', (sizeGiB) => {
    expect(paths({ name: 'd1', sizeGiB })).toEqual([['sizeGiB']]);
  });

  it('accepts the largest size, 64 TiB', () => {
    expect(parse({ name: 'd1', sizeGiB: 64 * 1024 }).success).toBe(true);
    expect(parse({ name: 'd1', sizeMiB: 64 * 1024 * 1024 }).success).toBe(true);
    expect(paths({ name: 'd1', sizeMiB: 64 * 1024 * 1024 + 1 })).toEqual([['sizeMiB']]);
  });

  it.each([0, -512, 0.5])('refuses sizeMiB %p', (sizeMiB) => {
    expect(paths({ name: 'd1', sizeMiB })).toEqual([['sizeMiB']]);
  });

  it('refuses a size given as a string', () => {
    expect(paths({ name: 'd1', sizeGiB: '10' })).toEqual([['sizeGiB']]);
  });

  it('refuses both sizeGiB and sizeMiB', () => {
    const r = parse({ name: 'd1', sizeGiB: 1, sizeMiB: 1024 });
    expect(r.success).toBe(false);
    expect(r.error?.issues).toEqual([expect.objectContaining({ message: 'give sizeGiB or sizeMiB, not both' })]);
  });

  it('an overlay of a backing disk may leave the size out; only qcow2 has a backing disk, never itself', () => {
    expect(parse({ name: 'd2', backing: 'base' }).success).toBe(true);
    expect(parse({ name: 'd2', format: 'raw', backing: 'base' }).success).toBe(false);
    expect(parse({ name: 'base', backing: 'base' }).success).toBe(false);
    expect(parse({ name: 'd2', backing: '../etc' }).success).toBe(false);
  });

  it('refuses neither sizeGiB nor sizeMiB', () => {
    const r = parse({ name: 'd1' });
    expect(r.error?.issues).toEqual([
      expect.objectContaining({ path: ['sizeGiB'], message: 'give sizeGiB or sizeMiB (only an overlay of a backing disk may leave the size out)' }),
    ]);
  });

  it('refuses an unknown format', () => {
    expect(paths({ name: 'd1', sizeGiB: 1, format: 'vmdk' })).toEqual([['format']]);
  });

  it('refuses unknown keys', () => {
    const r = parse({ name: 'd1', sizeGiB: 1, path: '/etc/shadow' });
    expect(r.error?.issues).toEqual([expect.objectContaining({ code: 'unrecognized_keys', keys: ['path'] })]);
  });

  it('refuses a missing name', () => {
    expect(paths({ sizeGiB: 1 })).toEqual([['name']]);
  });
});

describe('create-disk result', () => {
  it('is a disk description with created', () => {
    const info = {
      name: 'd1',
      path: '/srv/disks/d1.qcow2',
      format: 'qcow2',
      virtualSize: 1073741824,
      actualSize: 200704,
      clusterSize: 65536,
      dirty: false,
    };
    expect(createDiskJob.result.safeParse({ ...info, created: true }).success).toBe(true);
    expect(createDiskJob.result.safeParse(info).success).toBe(false);
  });
});

describe('diskSizeBytes', () => {
  it('converts GiB', () => {
    expect(diskSizeBytes({ sizeGiB: 2 })).toBe(2 * 1024 ** 3);
  });

  it('converts MiB', () => {
    expect(diskSizeBytes({ sizeMiB: 512 })).toBe(512 * 1024 ** 2);
  });

  it('works on the parsed payload', () => {
    const p = createDiskJob.payload.parse({ name: 'd1', sizeGiB: 1 });
    expect(diskSizeBytes(p)).toBe(1073741824);
  });

  it('is undefined with no size (an overlay takes its backing disk\'s)', () => {
    expect(diskSizeBytes({})).toBeUndefined();
  });
});
