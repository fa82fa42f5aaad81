import { diskInfo } from '@virtfleet/contracts';
import { argvOf, FakeRunner } from '@virtfleet/exec';
import {
  parseQemuImgInfo,
  parseQemuImgVersion,
  QEMU_IMG_LIMITS,
  qemuImgCreate,
  qemuImgInfo,
  qemuImgVersion,
  withLimits,
} from './qemu-img';

// qemu-img 7.2 `info --output=json` of a fresh 1 GiB qcow2
const QCOW2_INFO = `{
    "virtual-size": 1073741824,
    "filename": "x.qcow2",
    "cluster-size": 65536,
    "format": "qcow2",
    "actual-size": 200704,
    "format-specific": {
        "type": "qcow2",
        "data": {
            "compat": "1.1",
            "compression-type": "zlib",
            "lazy-refcounts": false,
            "refcount-bits": 16,
            "corrupt": false,
            "extended-l2": false
        }
    },
    "dirty-flag": false
}`;

const OVERLAY_INFO = JSON.stringify({
  'virtual-size': 10737418240,
  filename: '/var/lib/virtfleet/disks/vm1.qcow2',
  'cluster-size': 65536,
  format: 'qcow2',
  'actual-size': 196608,
  'backing-filename': 'base.qcow2',
  'full-backing-filename': '/var/lib/virtfleet/disks/base.qcow2',
  'backing-filename-format': 'qcow2',
  'format-specific': { type: 'qcow2', data: { compat: '1.1', 'refcount-bits': 16, corrupt: false } },
  'dirty-flag': false,
});

const SNAPSHOT_INFO = JSON.stringify({
  snapshots: [
    {
      icount: 0,
      'vm-clock-nsec': 0,
      name: 'before-upgrade',
      'date-sec': 1700000000,
      'date-nsec': 123456789,
      'vm-clock-sec': 0,
      id: '1',
      'vm-state-size': 0,
    },
    {
      icount: 1234,
      'vm-clock-nsec': 500000000,
      name: 'running',
      'date-sec': 1700003600,
      'date-nsec': 0,
      'vm-clock-sec': 42,
      id: '2',
      'vm-state-size': 52428800,
    },
  ],
  'virtual-size': 1073741824,
  filename: 'snap.qcow2',
  'cluster-size': 65536,
  format: 'qcow2',
  'actual-size': 53739520,
  'dirty-flag': false,
});

describe('qemu-img command builders', () => {
  it('qemuImgCreate pins the format and gives the size in bytes', () => {
    expect(argvOf(qemuImgCreate({ path: '/srv/disks/d1.qcow2', format: 'qcow2', sizeBytes: 1073741824 }))).toEqual([
      'qemu-img',
      'create',
      '-q',
      '-f',
      'qcow2',
      '/srv/disks/d1.qcow2',
      '1073741824',
    ]);
    expect(argvOf(qemuImgCreate({ path: '/srv/disks/d2.raw', format: 'raw', sizeBytes: 512 * 1024 ** 2 }))).toEqual([
      'qemu-img',
      'create',
      '-q',
      '-f',
      'raw',
      '/srv/disks/d2.raw',
      '536870912',
    ]);
  });

  it('qemuImgInfo runs under prlimit with the format pinned', () => {
    expect(argvOf(qemuImgInfo({ path: '/srv/disks/d1.qcow2', format: 'qcow2' }))).toEqual([
      'prlimit',
      '--as=1073741824',
      '--cpu=30',
      '--',
      'qemu-img',
      'info',
      '--output=json',
      '-f',
      'qcow2',
      '/srv/disks/d1.qcow2',
    ]);
  });

  it('qemuImgInfo adds -U before the path when asked to share the lock', () => {
    expect(argvOf(qemuImgInfo({ path: '/srv/disks/d1.raw', format: 'raw', forceShare: true }))).toEqual([
      'prlimit',
      '--as=1073741824',
      '--cpu=30',
      '--',
      'qemu-img',
      'info',
      '--output=json',
      '-f',
      'raw',
      '-U',
      '/srv/disks/d1.raw',
    ]);
  });

  it('qemuImgVersion', () => {
    expect(argvOf(qemuImgVersion())).toEqual(['qemu-img', '--version']);
  });

  it('the limits are 1 GiB of address space and 30 s of CPU', () => {
    expect(QEMU_IMG_LIMITS).toEqual({ addressSpaceBytes: 1073741824, cpuSeconds: 30 });
  });

  it('withLimits wraps the command and keeps its env, time-out and input', () => {
    const wrapped = withLimits(
      { cmd: 'tool', args: ['-x', 'y'], env: { A: '1' }, timeoutMs: 500, input: 'in' },
      { addressSpaceBytes: 4096, cpuSeconds: 2 },
    );
    expect(wrapped).toEqual({
      cmd: 'prlimit',
      args: ['--as=4096', '--cpu=2', '--', 'tool', '-x', 'y'],
      env: { A: '1' },
      timeoutMs: 500,
      input: 'in',
    });
  });
});

describe('parseQemuImgInfo', () => {
  it('reads a qcow2 image', () => {
    expect(parseQemuImgInfo(QCOW2_INFO)).toEqual({
      filename: 'x.qcow2',
      format: 'qcow2',
      virtualSize: 1073741824,
      actualSize: 200704,
      clusterSize: 65536,
      dirty: false,
    });
  });

  it('reads an overlay and prefers the full backing file name', () => {
    expect(parseQemuImgInfo(OVERLAY_INFO)).toEqual({
      filename: '/var/lib/virtfleet/disks/vm1.qcow2',
      format: 'qcow2',
      virtualSize: 10737418240,
      actualSize: 196608,
      clusterSize: 65536,
      dirty: false,
      backingFile: '/var/lib/virtfleet/disks/base.qcow2',
      backingFormat: 'qcow2',
    });
  });

  it('falls back to backing-filename when there is no full one', () => {
    const j = { 'virtual-size': 1, filename: 'o.qcow2', format: 'qcow2', 'backing-filename': 'base.qcow2' };
    expect(parseQemuImgInfo(JSON.stringify(j)).backingFile).toBe('base.qcow2');
  });

  it('reads internal snapshots with their date in ISO form', () => {
    expect(parseQemuImgInfo(SNAPSHOT_INFO).snapshots).toEqual([
      { id: '1', name: 'before-upgrade', vmStateSize: 0, date: '2023-11-14T22:13:20.000Z' },
      { id: '2', name: 'running', vmStateSize: 52428800, date: '2023-11-14T23:13:20.000Z' },
    ]);
  });

  it('reads a raw image, which has no cluster size', () => {
    const raw = '{"virtual-size": 536870912, "filename": "d2.raw", "format": "raw", "actual-size": 4096, "dirty-flag": false}';
    const info = parseQemuImgInfo(raw);
    expect(info).toEqual({ filename: 'd2.raw', format: 'raw', virtualSize: 536870912, actualSize: 4096, dirty: false });
    expect(info).not.toHaveProperty('clusterSize');
    expect(info).not.toHaveProperty('backingFile');
    expect(info).not.toHaveProperty('snapshots');
  });

  it('takes a missing actual-size as 0', () => {
    expect(parseQemuImgInfo('{"virtual-size": 1, "filename": "f", "format": "raw"}').actualSize).toBe(0);
  });

  it('fits the diskInfo contract once name and path are added', () => {
    for (const json of [QCOW2_INFO, OVERLAY_INFO, SNAPSHOT_INFO]) {
      const parsed = diskInfo.safeParse({ name: 'd1', path: '/srv/disks/d1.qcow2', ...parseQemuImgInfo(json) });
      expect(parsed.error).toBeUndefined();
    }
  });

  it('throws on output that is not JSON', () => {
    expect(() => parseQemuImgInfo("qemu-img: Could not open 'x': No such file or directory")).toThrow(SyntaxError);
    expect(() => parseQemuImgInfo('')).toThrow(SyntaxError);
  });

  it('throws on JSON without the required fields', () => {
    expect(() => parseQemuImgInfo('{"filename": "x.qcow2", "format": "qcow2"}')).toThrow(/virtual-size/);
    expect(() => parseQemuImgInfo('[]')).toThrow();
  });

  it('parses what a runner returned for qemuImgInfo', async () => {
    const runner = new FakeRunner().on(['prlimit', '--as=1073741824', '--cpu=30', '--', 'qemu-img', 'info'], {
      stdout: QCOW2_INFO,
    });
    const r = await runner.run(qemuImgInfo({ path: '/srv/disks/x.qcow2', format: 'qcow2' }));
    expect(parseQemuImgInfo(r.stdout).virtualSize).toBe(1073741824);
  });
});

describe('parseQemuImgVersion', () => {
  it('reads the version from qemu-img --version', () => {
    const out = 'qemu-img version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n';
    expect(parseQemuImgVersion(out)).toBe('7.2.22');
  });

  it('reads a version without a distribution suffix', () => {
    expect(parseQemuImgVersion('qemu-img version 9.1.0\n')).toBe('9.1.0');
  });

  it('returns undefined for other output', () => {
    expect(parseQemuImgVersion('')).toBeUndefined();
    expect(parseQemuImgVersion('sh: 1: qemu-img: not found')).toBeUndefined();
  });
});
