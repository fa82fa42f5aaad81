import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { z } from 'zod';
import { CommandFailedError, type Command, type CommandResult } from '@virtfleet/exec';
import type { DiskFormat } from '@virtfleet/contracts';
import { parseQemuImgInfo, qemuImgInfo, type QemuImgInfo } from './qemu-img';

// Issue 6, "untrusted image guard": an image from outside is looked at in two passes. The first
// reads its first bytes in-process, so a hostile header (a qcow2 disguised as raw, a VMDK
// descriptor naming /etc/shadow, a backing file outside our roots) is refused before any
// qemu-img opens it. The second is the one `qemu-img info` with the format pinned and under
// prlimit, whose answer is checked again, since QEMU's reading of the header is the one that counts.

/** Bytes the guard reads: more than QEMU's 512-byte probe, enough for a VMDK descriptor and qcow2 extensions. */
export const HEADER_PROBE_BYTES = 64 * 1024;

export type ImageRefusalCode =
  | 'image_not_a_file'
  | 'image_format_mismatch'
  | 'image_ambiguous'
  | 'image_vmdk_extent'
  | 'image_backing_outside_roots'
  | 'image_backing_format_missing'
  | 'image_backing_format_unsupported'
  | 'image_data_file'
  | 'image_too_large'
  | 'image_unreadable';

export class ImageRefusedError extends Error {
  constructor(
    readonly code: ImageRefusalCode,
    readonly path: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`image ${path} refused: ${reason}`, options);
    this.name = 'ImageRefusedError';
  }
}

export interface GuardImageOptions {
  readonly path: string;
  readonly claimed: DiskFormat;
  /** Absolute storage roots; a backing file must lie inside one of them. */
  readonly roots: readonly string[];
  readonly maxVirtualSizeBytes: number;
  readonly readHeader: (path: string, bytes: number) => Promise<Buffer>;
  readonly run: (cmd: Command) => Promise<CommandResult>;
  /** qemu-img info -U: a running domain holds the write lock. */
  readonly forceShare?: boolean;
}

export interface GuardedImage {
  readonly format: DiskFormat;
  readonly virtualSize: number;
  readonly actualSize: number;
  /** Absolute, normalised; the caller still checks its realpath. */
  readonly backingFile?: string;
  readonly backingFormat?: DiskFormat;
  readonly info: QemuImgInfo;
}

export async function guardImage(opts: GuardImageOptions): Promise<GuardedImage> {
  assertAbsoluteRoots(opts.roots);
  const header = (await opts.readHeader(opts.path, HEADER_PROBE_BYTES)).subarray(0, HEADER_PROBE_BYTES);
  checkHeaderFormat(opts.path, opts.claimed, header);
  const qcow2 = opts.claimed === 'qcow2' ? parseQcow2Header(header) : undefined;
  if (qcow2) checkFacts(opts, 'its qcow2 header', qcow2Facts(qcow2));
  const { info, facts } = await inspect(opts);
  if (info.format !== opts.claimed) {
    refuse(opts.path, 'image_format_mismatch', `qemu-img read it as ${info.format}, not the claimed ${opts.claimed}`);
  }
  const backing = checkFacts(opts, 'qemu-img info', facts);
  return {
    format: opts.claimed,
    virtualSize: info.virtualSize,
    actualSize: info.actualSize,
    ...backing,
    info,
  };
}

/**
 * Reads the first bytes of a regular file; a symlink (O_NOFOLLOW, last component only) or a device is
 * refused. O_NONBLOCK so that opening a FIFO cannot hang before fstat refuses it.
 */
export async function readFileHeader(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP') refuse(path, 'image_not_a_file', 'it is a symbolic link');
    throw err;
  });
  try {
    if (!(await fh.stat()).isFile()) refuse(path, 'image_not_a_file', 'it is not a regular file (a device, a folder or a pipe)');
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------- header probing

const QCOW_MAGIC = 'QFI\xfb';
const VDI_SIGNATURE = 0xbeda107f;
const CLOOP_MAGIC = '#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0';

function hasText(buf: Buffer, offset: number, text: string): boolean {
  return buf.length >= offset + text.length && buf.toString('latin1', offset, offset + text.length) === text;
}

function qcowVersion(buf: Buffer): number | undefined {
  return buf.length >= 8 ? buf.readUInt32BE(4) : undefined;
}

// Each probe copies QEMU 7.2's (block/*.c *_probe) or libvirt's; the guard errs towards matching
// more, never less: a false match only refuses an image, a missed one lets QEMU reinterpret it.
const PROBES: ReadonlyArray<readonly [string, (buf: Buffer) => boolean]> = [
  ['qcow2', (b) => hasText(b, 0, QCOW_MAGIC) && qcowVersion(b) !== 1],
  ['qcow', (b) => hasText(b, 0, QCOW_MAGIC) && qcowVersion(b) === 1],
  ['qed', (b) => hasText(b, 0, 'QED\0')],
  ['vmdk', (b) => hasText(b, 0, 'KDMV') || hasText(b, 0, 'COWD') || isVmdkDescriptor(b)],
  ['vdi', (b) => b.length >= 68 && b.readUInt32LE(64) === VDI_SIGNATURE],
  ['vhdx', (b) => hasText(b, 0, 'vhdxfile')],
  ['vpc', (b) => hasText(b, 0, 'conectix')],
  ['luks', (b) => hasText(b, 0, 'LUKS\xba\xbe') || hasText(b, 0, 'SKUL\xba\xbe')],
  ['parallels', (b) => hasText(b, 0, 'WithoutFreeSpace') || hasText(b, 0, 'WithouFreSpacExt')],
  ['bochs', (b) => hasText(b, 0, 'Bochs Virtual HD Image')],
  ['cloop', (b) => hasText(b, 0, CLOOP_MAGIC)],
  ['cow', (b) => hasText(b, 0, 'OOOM')], // UML COW (libvirt probes it): it has a backing file too
];

/** The image formats whose signature the first bytes carry (none: plain raw data). */
export function probeHeaderFormats(buf: Buffer): string[] {
  return PROBES.filter(([, matches]) => matches(buf)).map(([name]) => name);
}

/** QEMU's vmdk_probe: after '#' comment lines and blank lines, `version=1|2|3` opens a descriptor. */
function isVmdkDescriptor(buf: Buffer): boolean {
  const text = buf.toString('latin1', 0, Math.min(buf.length, 4096));
  if (text.startsWith('# Disk DescriptorFile')) return true;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    if (/^ *\r?$/.test(line)) continue;
    return /^version=[123]\r?$/.test(line);
  }
  return false;
}

function checkHeaderFormat(path: string, claimed: DiskFormat, header: Buffer): void {
  const formats = probeHeaderFormats(header);
  if (formats.includes('vmdk')) checkVmdkDescriptor(path, header);
  // QEMU identifies dmg by its name and a trailer, not by the first bytes.
  if (path.toLowerCase().endsWith('.dmg')) formats.push('dmg');
  if (formats.length > 1) {
    refuse(path, 'image_ambiguous', `its first bytes match several image formats (${formats.join(', ')}): tools would disagree on what it is`);
  }
  const [found] = formats;
  if (claimed === 'raw' && found !== undefined) {
    refuse(
      path,
      'image_format_mismatch',
      `it was claimed raw but carries a ${found} header: anything that probes it (libvirt, QEMU) would read it as ${found} and follow the files its header names`,
    );
  }
  if (claimed === 'qcow2' && found !== 'qcow2') {
    refuse(path, 'image_format_mismatch', `it was claimed qcow2 but its header is ${found === undefined ? 'not a qcow2 header' : `a ${found} header`}`);
  }
}

// ---------------------------------------------------------------- VMDK descriptors

export interface VmdkExtent {
  readonly access: string;
  readonly sectors: number;
  /** FLAT, SPARSE, ZERO, VMFS, VMFSSPARSE, VMFSRDM, VMFSRAW, SESPARSE … */
  readonly type: string;
  readonly file?: string;
  readonly offset?: number;
}

export interface VmdkDescriptor {
  readonly version?: number;
  readonly createType?: string;
  readonly parentFileNameHint?: string;
  readonly extents: readonly VmdkExtent[];
}

const EXTENT_LINE = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Za-z]+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?/i;
const KEY_LINE = /^([A-Za-z.]+)\s*=\s*"?([^"]*)"?\s*$/;

export function parseVmdkDescriptor(text: string): VmdkDescriptor {
  const keys = new Map<string, string>();
  const extents: VmdkExtent[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const extent = EXTENT_LINE.exec(line);
    if (extent) extents.push(toExtent(extent));
    const key = extent ? null : KEY_LINE.exec(line);
    if (key?.[1] && key[2] !== undefined) keys.set(key[1], key[2]);
  }
  const version = keys.get('version');
  return {
    ...(version !== undefined && /^\d+$/.test(version) ? { version: Number(version) } : {}),
    ...optional('createType', keys.get('createType')),
    ...optional('parentFileNameHint', keys.get('parentFileNameHint')),
    extents,
  };
}

function toExtent(m: RegExpExecArray): VmdkExtent {
  return {
    access: (m[1] ?? '').toUpperCase(),
    sectors: Number(m[2]),
    type: (m[3] ?? '').toUpperCase(),
    ...optional('file', m[4]),
    ...(m[5] !== undefined ? { offset: Number(m[5]) } : {}),
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

// In a text descriptor every extent file is another host file QEMU would open read-write as the
// disk (monolithicFlat: `RW 2048 FLAT "/etc/shadow" 0`), and parentFileNameHint is a backing file.
function checkVmdkDescriptor(path: string, header: Buffer): void {
  if (hasText(header, 0, 'KDMV') || hasText(header, 0, 'COWD')) return; // binary sparse: extents live inside it
  const desc = parseVmdkDescriptor(header.toString('latin1'));
  const files = desc.extents.flatMap((e) => (e.file !== undefined ? [`"${e.file}" (${e.type} extent)`] : []));
  if (desc.parentFileNameHint !== undefined) files.push(`"${desc.parentFileNameHint}" (parent disk)`);
  if (files.length === 0) return;
  refuse(
    path,
    'image_vmdk_extent',
    `it is a VMDK descriptor${desc.createType ? ` (createType ${desc.createType})` : ''} that points at host files ${files.join(', ')}: QEMU would use those files as the disk`,
  );
}

// ---------------------------------------------------------------- qcow2 header

export interface Qcow2Header {
  readonly version: number;
  readonly virtualSize: number;
  /** Set when the name lies within the bytes read; qemu-img info checks it in any case. */
  readonly backingFile?: string;
  readonly backingFormat?: string;
  readonly externalDataFile: boolean;
  readonly dataFile?: string;
}

const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_DATA_FILE = 0x44415441;
const INCOMPAT_DATA_FILE = 1n << 2n;

/** The fields of a qcow2 header the guard judges (docs/interop/qcow2.txt); undefined when it is no qcow2 header. */
export function parseQcow2Header(buf: Buffer): Qcow2Header | undefined {
  if (!hasText(buf, 0, QCOW_MAGIC) || buf.length < 32) return undefined;
  const version = buf.readUInt32BE(4);
  const ext = readExtensions(buf, version);
  const incompat = version >= 3 && buf.length >= 80 ? buf.readBigUInt64BE(72) : 0n;
  const backingFile = readBackingName(buf);
  return {
    version,
    virtualSize: Number(buf.readBigUInt64BE(24)),
    ...optional('backingFile', backingFile),
    ...optional('backingFormat', ext.get(EXT_BACKING_FORMAT)),
    externalDataFile: (incompat & INCOMPAT_DATA_FILE) !== 0n || ext.has(EXT_DATA_FILE),
    ...optional('dataFile', ext.get(EXT_DATA_FILE)),
  };
}

function readBackingName(buf: Buffer): string | undefined {
  const offset = Number(buf.readBigUInt64BE(8));
  const size = buf.readUInt32BE(16);
  if (offset === 0 || size === 0 || offset + size > buf.length) return undefined;
  return buf.toString('utf8', offset, offset + size);
}

function readExtensions(buf: Buffer, version: number): Map<number, string> {
  const found = new Map<number, string>();
  let at = version >= 3 && buf.length >= 104 ? buf.readUInt32BE(100) : 72;
  while (at >= 72 && at + 8 <= buf.length) {
    const type = buf.readUInt32BE(at);
    const length = buf.readUInt32BE(at + 4);
    if (type === EXT_END) break;
    if (at + 8 + length <= buf.length) found.set(type, buf.toString('utf8', at + 8, at + 8 + length));
    at += 8 + Math.ceil(length / 8) * 8;
  }
  return found;
}

// ---------------------------------------------------------------- qemu-img info

/** What either pass learnt about the image, judged by the same rules. */
interface ImageFacts {
  readonly virtualSize?: number;
  /** The names as the image states them, relative ones against the image's folder. */
  readonly backingNames: readonly string[];
  readonly backingFormat?: string;
  /** true when an external data file is flagged but its name was not read. */
  readonly dataFile?: string | true;
}

function qcow2Facts(h: Qcow2Header): ImageFacts {
  return {
    virtualSize: h.virtualSize,
    backingNames: h.backingFile !== undefined ? [h.backingFile] : [],
    ...optional('backingFormat', h.backingFormat),
    ...(h.externalDataFile ? { dataFile: h.dataFile ?? true } : {}),
  };
}

const infoExtras = z.object({
  'backing-filename': z.string().optional(),
  'full-backing-filename': z.string().optional(),
  'backing-filename-format': z.string().optional(),
  'format-specific': z.object({ data: z.object({ 'data-file': z.string().optional() }).optional() }).optional(),
});

async function inspect(opts: GuardImageOptions): Promise<{ info: QemuImgInfo; facts: ImageFacts }> {
  const cmd = qemuImgInfo({ path: opts.path, format: opts.claimed, ...(opts.forceShare ? { forceShare: true } : {}) });
  const result = await opts.run(cmd);
  if (result.spawnError) throw new CommandFailedError(result); // the host's fault, not the image's
  if (result.exitCode !== 0 || result.timedOut || result.aborted) {
    const failure = new CommandFailedError(result);
    refuse(opts.path, 'image_unreadable', `qemu-img info (under resource limits) could not read it: ${failure.message}`, failure);
  }
  const extras = infoExtras.parse(JSON.parse(result.stdout));
  const dataFile = extras['format-specific']?.data?.['data-file'];
  const names = [extras['full-backing-filename'], extras['backing-filename']].filter((n): n is string => n !== undefined);
  const info = parseQemuImgInfo(result.stdout);
  const facts: ImageFacts = {
    virtualSize: info.virtualSize,
    backingNames: names,
    ...optional('backingFormat', extras['backing-filename-format']),
    ...optional('dataFile', dataFile),
  };
  return { info, facts };
}

// ---------------------------------------------------------------- the rules

function checkFacts(opts: GuardImageOptions, source: string, facts: ImageFacts): { backingFile?: string; backingFormat?: DiskFormat } {
  if (facts.dataFile !== undefined) {
    const name = facts.dataFile === true ? '' : ` "${facts.dataFile}"`;
    refuse(opts.path, 'image_data_file', `${source} names an external data file${name}: the guest's data would live in a host file outside our control`);
  }
  if (facts.virtualSize !== undefined && facts.virtualSize > opts.maxVirtualSizeBytes) {
    refuse(
      opts.path,
      'image_too_large',
      `${source} gives a virtual size of ${showBytes(facts.virtualSize)}, above this host's limit of ${showBytes(opts.maxVirtualSizeBytes)}`,
    );
  }
  if (facts.backingNames.length === 0) return {};
  const resolved = facts.backingNames.map((name) => checkBackingName(opts, source, name));
  return { backingFile: resolved[0], backingFormat: checkBackingFormat(opts, source, facts.backingFormat) };
}

function checkBackingName(opts: GuardImageOptions, source: string, name: string): string {
  // QEMU reads "nbd:…", "json:{…}", "file:…" as a protocol or options, not as a file name.
  if (/^[^/]*:/.test(name)) {
    refuse(opts.path, 'image_backing_outside_roots', `${source} names backing "${name}", a protocol or option string rather than a file in the storage roots`);
  }
  const absolute = resolve(dirname(opts.path), name);
  if (!opts.roots.some((root) => isInside(root, absolute))) {
    const roots = opts.roots.length ? opts.roots.join(', ') : 'none configured';
    refuse(opts.path, 'image_backing_outside_roots', `${source} names backing file ${absolute}, outside the storage roots (${roots})`);
  }
  return absolute;
}

function checkBackingFormat(opts: GuardImageOptions, source: string, format: string | undefined): DiskFormat {
  if (format === undefined) {
    refuse(opts.path, 'image_backing_format_missing', `${source} names a backing file without its format: QEMU would probe the backing file's format`);
  }
  if (format !== 'qcow2' && format !== 'raw') {
    refuse(opts.path, 'image_backing_format_unsupported', `${source} gives the backing file format ${format}; only qcow2 and raw are accepted`);
  }
  return format;
}

function isInside(root: string, absolute: string): boolean {
  const r = resolve(root);
  return absolute.startsWith(r.endsWith(sep) ? r : r + sep);
}

function assertAbsoluteRoots(roots: readonly string[]): void {
  const relative = roots.find((r) => !isAbsolute(r));
  if (relative !== undefined) throw new Error(`storage root ${relative} is not an absolute path`);
}

function showBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${Number(value.toFixed(2))} ${units[unit]}`;
}

function refuse(path: string, code: ImageRefusalCode, reason: string, cause?: unknown): never {
  throw new ImageRefusedError(code, path, reason, cause === undefined ? undefined : { cause });
}
