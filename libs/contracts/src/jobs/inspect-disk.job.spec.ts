import { inspectDiskJob } from './inspect-disk.job';

const parse = (input: unknown) => inspectDiskJob.payload.safeParse(input);

describe('inspect-disk payload', () => {
  it('accepts a name alone and leaves the format unset', () => {
    const r = parse({ name: 'd1' });
    expect(r.data).toEqual({ name: 'd1' });
    expect(r.data).not.toHaveProperty('format');
  });

  it.each(['qcow2', 'raw'])('accepts format %s', (format) => {
    expect(parse({ name: 'd1', format }).data).toEqual({ name: 'd1', format });
  });

  it.each(['../x', 'a;b', '-f', 'x,y=z'])('refuses the name %j on the name path', (name) => {
    expect(parse({ name }).error?.issues.map((i) => i.path)).toEqual([['name']]);
  });

  it('refuses an unknown format', () => {
    expect(parse({ name: 'd1', format: 'vmdk' }).error?.issues.map((i) => i.path)).toEqual([['format']]);
  });

  it('refuses unknown keys', () => {
    expect(parse({ name: 'd1', forceShare: true }).error?.issues).toEqual([
      expect.objectContaining({ code: 'unrecognized_keys', keys: ['forceShare'] }),
    ]);
  });
});

describe('inspect-disk result', () => {
  it('accepts an overlay with snapshots and refuses a format outside the enum', () => {
    const info = {
      name: 'vm1',
      path: '/srv/disks/vm1.qcow2',
      format: 'qcow2',
      virtualSize: 10737418240,
      actualSize: 196608,
      backingFile: '/srv/disks/base.qcow2',
      backingFormat: 'qcow2',
      snapshots: [{ id: '1', name: 's1', vmStateSize: 0, date: '2023-11-14T22:13:20.000Z' }],
    };
    expect(inspectDiskJob.result.safeParse(info).success).toBe(true);
    expect(inspectDiskJob.result.safeParse({ ...info, format: 'vmdk' }).success).toBe(false);
    expect(inspectDiskJob.result.safeParse({ ...info, virtualSize: -1 }).success).toBe(false);
  });
});
