import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandFailedError, FakeRunner, type FakeOutcome } from '@virtfleet/exec';
import type { DiskFormat } from '@virtfleet/contracts';
import {
  guardImage,
  HEADER_PROBE_BYTES,
  ImageRefusedError,
  parseQcow2Header,
  parseVmdkDescriptor,
  probeHeaderFormats,
  readFileHeader,
  type GuardImageOptions,
} from './image-guard';

const TiB = 1024 ** 4;
const ROOT = '/kvm/store';

/** A qcow2 header as qemu-img 7.2 writes it (docs/interop/qcow2.txt), with the fields the guard judges. */
function qcow2Header(o: { version?: number; size?: number; backing?: string; backingFormat?: string; dataFile?: string; dataFileBit?: boolean } = {}): Buffer {
  const version = o.version ?? 3;
  const headerLength = version >= 3 ? 112 : 72;
  const buf = Buffer.alloc(4096);
  buf.write('QFI\xfb', 0, 'latin1');
  buf.writeUInt32BE(version, 4);
  buf.writeUInt32BE(16, 20); // cluster_bits
  buf.writeBigUInt64BE(BigInt(o.size ?? 1024 ** 3), 24);
  if (version >= 3) {
    buf.writeBigUInt64BE(o.dataFileBit || o.dataFile ? 4n : 0n, 72);
    buf.writeUInt32BE(4, 96);
    buf.writeUInt32BE(headerLength, 100);
  }
  let at = headerLength;
  const ext = (type: number, text: string) => {
    buf.writeUInt32BE(type, at);
    buf.writeUInt32BE(Buffer.byteLength(text), at + 4);
    buf.write(text, at + 8);
    at += 8 + Math.ceil(Buffer.byteLength(text) / 8) * 8;
  };
  if (o.backingFormat) ext(0xe2792aca, o.backingFormat);
  if (o.dataFile) ext(0x44415441, o.dataFile);
  if (o.backing) {
    buf.writeBigUInt64BE(2048n, 8);
    buf.writeUInt32BE(Buffer.byteLength(o.backing), 16);
    buf.write(o.backing, 2048);
  }
  return buf;
}

const text = (s: string) => Buffer.from(s, 'latin1');
const zeros = () => Buffer.alloc(HEADER_PROBE_BYTES);
function at(offset: number, bytes: number[]): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from(bytes).copy(b, offset);
  return b;
}

// qemu-img 7.2 `create -f vmdk -o subformat=monolithicFlat fl.vmdk 1M`, extent edited to a host file
const FLAT_DESCRIPTOR = `# Disk DescriptorFile
version=1
CID=98b60b96
parentCID=ffffffff
createType="monolithicFlat"

# Extent description
RW 2048 FLAT "/etc/passwd" 0

# The Disk Data Base
#DDB

ddb.virtualHWVersion = "4"
ddb.adapterType = "ide"
`;

// qemu-img 7.2 `info --output=json -f qcow2` of a fresh 1 MiB qcow2
function infoJson(extra: Record<string, unknown> = {}, data: Record<string, unknown> = {}): string {
  return JSON.stringify({
    'virtual-size': 1048576,
    filename: `${ROOT}/x.qcow2`,
    'cluster-size': 65536,
    format: 'qcow2',
    'actual-size': 200704,
    'format-specific': { type: 'qcow2', data: { compat: '1.1', 'compression-type': 'zlib', 'lazy-refcounts': false, 'refcount-bits': 16, corrupt: false, 'extended-l2': false, ...data } },
    'dirty-flag': false,
    ...extra,
  });
}
const RAW_INFO = JSON.stringify({ 'virtual-size': 65536, filename: `${ROOT}/x.img`, format: 'raw', 'actual-size': 65536, 'dirty-flag': false });

function setup(header: Buffer, claimed: DiskFormat, outcome: FakeOutcome = { stdout: claimed === 'raw' ? RAW_INFO : infoJson() }, over: Partial<GuardImageOptions> = {}) {
  const fake = new FakeRunner().on('prlimit', outcome);
  const opts: GuardImageOptions = {
    path: `${ROOT}/x.${claimed === 'raw' ? 'img' : 'qcow2'}`,
    claimed,
    roots: [ROOT, '/kvm/iso'],
    maxVirtualSizeBytes: 64 * TiB,
    readHeader: async () => header,
    run: (cmd) => fake.run(cmd),
    ...over,
  };
  return { fake, opts };
}

async function refusal(p: Promise<unknown>): Promise<ImageRefusedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ImageRefusedError)) throw new Error(`expected an ImageRefusedError, got ${String(err)}`);
  return err;
}

describe('probeHeaderFormats', () => {
  it.each([
    ['qcow2', qcow2Header()],
    ['qcow', text('QFI\xfb\0\0\0\x01')],
    ['qed', text('QED\0\x01\0\0\0')],
    ['vmdk', text('KDMV\x01\0\0\0')],
    ['vmdk', text('COWD\x01\0\0\0')],
    ['vmdk', text(FLAT_DESCRIPTOR)],
    ['vmdk', text('# any comment\n\nversion=1\nCID=1\n')],
    ['vdi', at(64, [0x7f, 0x10, 0xda, 0xbe])],
    ['vhdx', text('vhdxfileQ\0E\0M\0U\0')],
    ['vpc', text('conectix\0\0\0\x02')],
    ['luks', text('LUKS\xba\xbe\0\x01')],
    ['luks', text('SKUL\xba\xbe\0\x02')],
    ['parallels', text('WithoutFreeSpace\x02\0\0\0')],
    ['parallels', text('WithouFreSpacExt\x02\0\0\0')],
    ['bochs', text('Bochs Virtual HD Image\0\0')],
    ['cloop', text('#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n')],
    ['cow', text('OOOM\0\0\0\x02')],
  ])('finds %s', (name, buf) => {
    expect(probeHeaderFormats(buf)).toEqual([name]);
  });

  it('finds nothing in zeros, an MBR, plain text or an empty buffer', () => {
    expect(probeHeaderFormats(zeros())).toEqual([]);
    expect(probeHeaderFormats(at(510, [0x55, 0xaa]))).toEqual([]);
    expect(probeHeaderFormats(text('# just a comment\nhello\n'))).toEqual([]);
    expect(probeHeaderFormats(Buffer.alloc(0))).toEqual([]);
  });

  it('finds both formats of a polyglot (qcow2 magic with a VDI signature at 64)', () => {
    const buf = qcow2Header();
    buf.writeUInt32LE(0xbeda107f, 64);
    expect(probeHeaderFormats(buf)).toEqual(['qcow2', 'vdi']);
  });
});

describe('parseVmdkDescriptor', () => {
  it('reads the createType and a FLAT extent', () => {
    expect(parseVmdkDescriptor(FLAT_DESCRIPTOR)).toEqual({
      version: 1,
      createType: 'monolithicFlat',
      extents: [{ access: 'RW', sectors: 2048, type: 'FLAT', file: '/etc/passwd', offset: 0 }],
    });
  });

  it('reads ZERO extents (no file), VMFS extents and the parent hint', () => {
    const d = parseVmdkDescriptor('version=1\r\ncreateType="vmfs"\r\nparentFileNameHint="/srv/base.vmdk"\r\nRW 100 ZERO\r\nRDONLY 200 VMFS "/dev/sda"\r\n');
    expect(d.parentFileNameHint).toBe('/srv/base.vmdk');
    expect(d.extents).toEqual([
      { access: 'RW', sectors: 100, type: 'ZERO' },
      { access: 'RDONLY', sectors: 200, type: 'VMFS', file: '/dev/sda' },
    ]);
  });
});

describe('parseQcow2Header', () => {
  it('reads size, backing file and format, and the data file', () => {
    expect(parseQcow2Header(qcow2Header({ size: 100 * TiB, backing: '/etc/passwd', backingFormat: 'raw', dataFile: '/tmp/d.raw' }))).toEqual({
      version: 3,
      virtualSize: 100 * TiB,
      backingFile: '/etc/passwd',
      backingFormat: 'raw',
      externalDataFile: true,
      dataFile: '/tmp/d.raw',
    });
  });

  it('reads a version 2 header and a data-file bit without a name', () => {
    expect(parseQcow2Header(qcow2Header({ version: 2 }))).toEqual({ version: 2, virtualSize: 1024 ** 3, externalDataFile: false });
    expect(parseQcow2Header(qcow2Header({ dataFileBit: true }))?.externalDataFile).toBe(true);
  });

  it('leaves out a backing name beyond the bytes read, and is undefined for other data', () => {
    expect(parseQcow2Header(qcow2Header({ backing: '/etc/passwd' }).subarray(0, 1024))?.backingFile).toBeUndefined();
    expect(parseQcow2Header(zeros())).toBeUndefined();
  });
});

describe('guardImage: refused by the header, before qemu-img runs', () => {
  it.each<[string, Buffer, DiskFormat, string, RegExp]>([
    ['a qcow2 header claimed raw', qcow2Header(), 'raw', 'image_format_mismatch', /claimed raw but carries a qcow2 header/],
    ['a VMDK claimed raw', text('KDMV\x01\0\0\0'), 'raw', 'image_format_mismatch', /vmdk header/],
    ['zeros claimed qcow2', zeros(), 'qcow2', 'image_format_mismatch', /not a qcow2 header/],
    ['a qcow v1 claimed qcow2', text('QFI\xfb\0\0\0\x01'), 'qcow2', 'image_format_mismatch', /a qcow header/],
    ['a flat VMDK descriptor', text(FLAT_DESCRIPTOR), 'raw', 'image_vmdk_extent', /monolithicFlat.*"\/etc\/passwd" \(FLAT extent\)/],
    ['a flat VMDK descriptor claimed qcow2', text(FLAT_DESCRIPTOR), 'qcow2', 'image_vmdk_extent', /\/etc\/passwd/],
    ['a VMDK descriptor with a parent', text('version=1\nparentFileNameHint="/etc/shadow"\nRW 1 ZERO\n'), 'raw', 'image_vmdk_extent', /"\/etc\/shadow" \(parent disk\)/],
    ['a VMDK descriptor of ZERO extents only', text('version=1\nRW 1 ZERO\n'), 'raw', 'image_format_mismatch', /vmdk/],
    ['a backing file outside the roots', qcow2Header({ backing: '/etc/passwd', backingFormat: 'raw' }), 'qcow2', 'image_backing_outside_roots', /backing file \/etc\/passwd, outside the storage roots/],
    ['a relative backing file climbing out', qcow2Header({ backing: '../../etc/passwd', backingFormat: 'raw' }), 'qcow2', 'image_backing_outside_roots', /\/etc\/passwd/],
    ['a backing root prefix that is no folder', qcow2Header({ backing: '/kvm/store-evil/b.qcow2', backingFormat: 'qcow2' }), 'qcow2', 'image_backing_outside_roots', /store-evil/],
    ['a json: backing', qcow2Header({ backing: 'json:{"file.filename":"/etc/passwd"}', backingFormat: 'raw' }), 'qcow2', 'image_backing_outside_roots', /protocol or option string/],
    ['an nbd: backing', qcow2Header({ backing: 'nbd://10.0.0.1/x', backingFormat: 'raw' }), 'qcow2', 'image_backing_outside_roots', /protocol/],
    ['a backing file without format', qcow2Header({ backing: 'base.qcow2' }), 'qcow2', 'image_backing_format_missing', /would probe/],
    ['a vmdk backing format', qcow2Header({ backing: 'base.vmdk', backingFormat: 'vmdk' }), 'qcow2', 'image_backing_format_unsupported', /vmdk/],
    ['an external data file', qcow2Header({ dataFile: '/dev/sda' }), 'qcow2', 'image_data_file', /"\/dev\/sda"/],
    ['a data-file bit without a name', qcow2Header({ dataFileBit: true }), 'qcow2', 'image_data_file', /external data file/],
    ['a 100 TiB virtual size', qcow2Header({ size: 100 * TiB }), 'qcow2', 'image_too_large', /100 TiB, above this host's limit of 64 TiB/],
  ])('%s', async (_name, header, claimed, code, why) => {
    const { fake, opts } = setup(header, claimed);
    const err = await refusal(guardImage(opts));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(why);
    expect(err.path).toBe(opts.path);
    expect(fake.calls).toEqual([]);
  });

  it('refuses a polyglot as ambiguous', async () => {
    const header = qcow2Header();
    header.writeUInt32LE(0xbeda107f, 64);
    const { fake, opts } = setup(header, 'qcow2');
    const err = await refusal(guardImage(opts));
    expect(err.code).toBe('image_ambiguous');
    expect(err.message).toMatch(/several image formats \(qcow2, vdi\)/);
    expect(fake.calls).toEqual([]);
  });

  it('refuses a .dmg name (QEMU finds dmg by name, not header)', async () => {
    const { opts } = setup(zeros(), 'raw', undefined, { path: `${ROOT}/x.dmg` });
    expect((await refusal(guardImage(opts))).message).toMatch(/carries a dmg header/);
  });

  it('throws for a relative root before reading anything', async () => {
    const readHeader = jest.fn(async () => zeros());
    const { opts } = setup(zeros(), 'raw', undefined, { roots: ['kvm/store'], readHeader });
    await expect(guardImage(opts)).rejects.toThrow(/not an absolute path/);
    expect(readHeader).not.toHaveBeenCalled();
  });
});

describe('guardImage: accepted images and the qemu-img pass', () => {
  it('accepts raw zeros with one pinned, limited qemu-img info', async () => {
    const readHeader = jest.fn(async () => zeros());
    const { fake, opts } = setup(zeros(), 'raw', undefined, { readHeader });
    const g = await guardImage(opts);
    expect(g).toMatchObject({ format: 'raw', virtualSize: 65536, actualSize: 65536 });
    expect(g.backingFile).toBeUndefined();
    expect(readHeader).toHaveBeenCalledWith(`${ROOT}/x.img`, HEADER_PROBE_BYTES);
    expect(fake.calls).toEqual([['prlimit', '--as=1073741824', '--cpu=30', '--', 'qemu-img', 'info', '--output=json', '-f', 'raw', `${ROOT}/x.img`]]);
  });

  it('passes -U when asked', async () => {
    const { fake, opts } = setup(qcow2Header(), 'qcow2', undefined, { forceShare: true });
    await guardImage(opts);
    expect(fake.calls[0]).toContain('-U');
  });

  it('accepts an overlay on a base in the roots, resolving a relative name against the image folder', async () => {
    const info = infoJson({ 'backing-filename': 'base.qcow2', 'full-backing-filename': `${ROOT}/base.qcow2`, 'backing-filename-format': 'qcow2' });
    const { opts } = setup(qcow2Header({ backing: 'base.qcow2', backingFormat: 'qcow2' }), 'qcow2', { stdout: info });
    const g = await guardImage(opts);
    expect(g).toMatchObject({ format: 'qcow2', virtualSize: 1048576, actualSize: 200704, backingFile: `${ROOT}/base.qcow2`, backingFormat: 'qcow2' });
    expect(g.info.backingFile).toBe(`${ROOT}/base.qcow2`);
  });

  // The header pass saw nothing (a name beyond the bytes read); qemu-img's answer is judged again.
  it.each<[string, string, string, RegExp]>([
    ['a backing file', infoJson({ 'backing-filename': '/etc/passwd', 'full-backing-filename': '/etc/passwd', 'backing-filename-format': 'raw' }), 'image_backing_outside_roots', /qemu-img info names backing file \/etc\/passwd/],
    ['a relative backing-filename', infoJson({ 'backing-filename': '../../../etc/passwd', 'backing-filename-format': 'raw' }), 'image_backing_outside_roots', /\/etc\/passwd/],
    ['a full-backing-filename differing from backing-filename', infoJson({ 'backing-filename': 'base.qcow2', 'full-backing-filename': '/etc/passwd', 'backing-filename-format': 'raw' }), 'image_backing_outside_roots', /\/etc\/passwd/],
    ['no backing format', infoJson({ 'backing-filename': 'base.qcow2', 'full-backing-filename': `${ROOT}/base.qcow2` }), 'image_backing_format_missing', /without its format/],
    ['a data file', infoJson({}, { 'data-file': 'data.raw', 'data-file-raw': false }), 'image_data_file', /"data.raw"/],
    ['a huge size', infoJson({ 'virtual-size': 100 * TiB }), 'image_too_large', /100 TiB/],
    ['another format', RAW_INFO, 'image_format_mismatch', /qemu-img read it as raw/],
  ])('refuses %s qemu-img reports', async (_name, stdout, code, why) => {
    const { fake, opts } = setup(qcow2Header(), 'qcow2', { stdout });
    const err = await refusal(guardImage(opts));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(why);
    expect(fake.calls).toHaveLength(1);
  });

  it('refuses an image qemu-img cannot read, with its reason', async () => {
    const { opts } = setup(qcow2Header(), 'qcow2', { exitCode: 1, stderr: "qemu-img: Could not open 'x': Unsupported qcow2 version 4\n" });
    const err = await refusal(guardImage(opts));
    expect(err.code).toBe('image_unreadable');
    expect(err.message).toMatch(/Unsupported qcow2 version 4/);
    expect(err.cause).toBeInstanceOf(CommandFailedError);
  });

  it('refuses an image whose qemu-img was killed by its limits', async () => {
    const { opts } = setup(qcow2Header(), 'qcow2', { exitCode: null, signal: 'SIGXCPU' });
    expect((await refusal(guardImage(opts))).message).toMatch(/killed by SIGXCPU/);
  });

  it('rethrows a qemu-img that could not start: the host, not the image, is at fault', async () => {
    const { opts } = setup(qcow2Header(), 'qcow2', { spawnError: 'ENOENT: spawn prlimit ENOENT' });
    await expect(guardImage(opts)).rejects.toBeInstanceOf(CommandFailedError);
  });
});

describe('readFileHeader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'image-guard-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads at most the bytes asked for', async () => {
    await writeFile(join(dir, 'a.img'), Buffer.alloc(100, 7));
    expect(await readFileHeader(join(dir, 'a.img'), 10)).toEqual(Buffer.alloc(10, 7));
    expect(await readFileHeader(join(dir, 'a.img'), 1000)).toHaveLength(100);
  });

  it('refuses a symlink and a device', async () => {
    await symlink('/etc/passwd', join(dir, 'link.img'));
    expect((await refusal(readFileHeader(join(dir, 'link.img'), 10))).code).toBe('image_not_a_file');
    expect((await refusal(readFileHeader('/dev/null', 10))).message).toMatch(/not a regular file/);
  });
});
