import type { Command } from '@virtfleet/exec';
import { GUEST_DEVICE_PATTERN, guestPathProblem, type DiskFormat, type GuestFilesystemEntry, type GuestFilesystemUsage } from '@virtfleet/contracts';

// libguestfs tools (the operation guide's virt-cat / virt-df / virt-filesystems, and guestfish for
// what must be exact: bounded binary reads and whole-file uploads). Every value is an argv
// element of its own; each image's format is pinned (--format before its -a) so libguestfs never
// probes a header. virt-edit is not used at all: its -e takes a Perl expression, that is code.

/** Images added one by one with their format, or a libvirt domain (its disks as its XML gives them). */
export type GuestfsSource =
  | { readonly kind: 'images'; readonly images: ReadonlyArray<{ readonly path: string; readonly format: DiskFormat }> }
  | { readonly kind: 'domain'; readonly uri: string; readonly uuid: string };

export class GuestfsArgError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field} ${message}`);
    this.name = 'GuestfsArgError';
  }
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const FORMATS: ReadonlySet<string> = new Set<DiskFormat>(['qcow2', 'raw']);
const MODE = /^0?[0-7]{3,4}$/;

/**
 * LIBGUESTFS_BACKEND_SETTINGS=force_tcg where KVM is not usable: libguestfs would see /dev/kvm,
 * run -cpu host, and QEMU aborts (reference §10).
 */
export function guestfsEnv(virtType: string | undefined): Record<string, string> {
  return virtType === 'kvm' ? {} : { LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };
}

function sourceArgs(src: GuestfsSource): string[] {
  if (src.kind === 'domain') {
    if (!UUID.test(src.uuid)) throw new GuestfsArgError('uuid', `is not a UUID: ${src.uuid}`);
    if (!src.uri || src.uri.startsWith('-')) throw new GuestfsArgError('uri', `is not a libvirt URI: ${src.uri}`);
    return ['-c', src.uri, '-d', src.uuid];
  }
  if (src.images.length === 0) throw new GuestfsArgError('images', 'is empty');
  return src.images.flatMap((img) => {
    if (!FORMATS.has(img.format)) throw new GuestfsArgError('format', `is not qcow2 or raw: ${img.format}`);
    checkHostPath('image', img.path);
    return [`--format=${img.format}`, '-a', img.path];
  });
}

function checkHostPath(field: string, path: string): void {
  // eslint-disable-next-line no-control-regex
  if (!path.startsWith('/') || /[\u0000-\u001f\u007f]/.test(path)) throw new GuestfsArgError(field, `must be an absolute host path: ${path}`);
}

function checkGuestPath(path: string): string {
  const problem = guestPathProblem(path);
  if (problem) throw new GuestfsArgError('path', `${problem}: ${JSON.stringify(path)}`);
  return path;
}

/** -m DEVICE (mounted at /), or inspection (-i) when no device is given. */
function mountArgs(mount: string | undefined, inspect: '-i' | 'none'): string[] {
  if (mount === undefined) return inspect === '-i' ? ['-i'] : [];
  if (!GUEST_DEVICE_PATTERN.test(mount)) throw new GuestfsArgError('mount', `is not a device name: ${mount}`);
  return ['-m', mount];
}

export interface GuestFileSpec {
  readonly source: GuestfsSource;
  /** Filesystem mounted at "/"; without it libguestfs looks for an operating system. */
  readonly mount?: string | undefined;
  readonly path: string;
}

/** virt-cat: the file on stdout (text only: the runner decodes stdout as UTF-8). */
export function virtCat(spec: GuestFileSpec): Command {
  return { cmd: 'virt-cat', args: [...sourceArgs(spec.source), ...mountArgs(spec.mount, 'none'), '--', checkGuestPath(spec.path)] };
}

/**
 * One read-only guestfish call: the file's size on stdout, then at most maxBytes of it into a
 * local file (byte-exact, unlike stdout; a larger file is never copied whole to the host).
 */
export function guestfishReadFile(spec: GuestFileSpec & { readonly maxBytes: number; readonly localFile: string }): Command {
  const path = checkGuestPath(spec.path);
  checkHostPath('localFile', spec.localFile);
  if (!Number.isSafeInteger(spec.maxBytes) || spec.maxBytes < 1) throw new GuestfsArgError('maxBytes', `must be a positive integer: ${spec.maxBytes}`);
  return {
    cmd: 'guestfish',
    args: [
      '--ro',
      ...sourceArgs(spec.source),
      ...mountArgs(spec.mount, '-i'),
      '--',
      'filesize', path,
      ':', 'download-offset', path, spec.localFile, '0', String(spec.maxBytes),
    ],
  };
}

/**
 * One read-write guestfish call that replaces the whole file with a local one (upload truncates
 * in place: an existing file keeps its owner and mode), after mkdir -p of its folder if asked,
 * then chmod if a mode is given.
 */
export function guestfishUploadFile(
  spec: GuestFileSpec & { readonly localFile: string; readonly mode?: string | undefined; readonly createParents?: boolean },
): Command {
  const path = checkGuestPath(spec.path);
  checkHostPath('localFile', spec.localFile);
  const steps: string[][] = [];
  const parent = path.slice(0, path.lastIndexOf('/'));
  if (spec.createParents && parent) steps.push(['mkdir-p', parent]);
  steps.push(['upload', spec.localFile, path]);
  if (spec.mode !== undefined) steps.push(['chmod', octalMode(spec.mode), path]);
  return {
    cmd: 'guestfish',
    args: ['--rw', ...sourceArgs(spec.source), ...mountArgs(spec.mount, '-i'), '--', ...steps.flatMap((s, i) => (i ? [':', ...s] : s))],
  };
}

/** guestfish reads integers with C's base-0 rules: a leading 0 makes 644 octal. */
function octalMode(mode: string): string {
  if (!MODE.test(mode)) throw new GuestfsArgError('mode', `is not an octal mode: ${mode}`);
  return mode.startsWith('0') ? mode : `0${mode}`;
}

export function virtDf(source: GuestfsSource): Command {
  return { cmd: 'virt-df', args: [...sourceArgs(source), '--csv'] };
}

export function virtFilesystems(source: GuestfsSource): Command {
  return {
    cmd: 'virt-filesystems',
    args: [...sourceArgs(source), '--long', '--parts', '--blkdevs', '--filesystems', '--uuid', '--csv'],
  };
}

// ---- parsers ----

/** RFC 4180 CSV as libguestfs prints it (fields with "," or quotes are quoted, quotes doubled). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = '';
  };
  const endRow = () => {
    endField();
    rows.push(row);
    row = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (quoted) {
      field += c;
    } else if (c === ',') {
      endField();
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length) endRow();
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

/** Rows as records keyed by the header line's names. */
function csvRecords(text: string, required: readonly string[], tool: string): Array<Record<string, string>> {
  const [header, ...rows] = parseCsv(text);
  if (!header || required.some((h) => !header.includes(h))) {
    throw new Error(`${tool} printed no CSV header with ${required.join(', ')}: ${text.slice(0, 200)}`);
  }
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

function nonNegativeInt(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`${what} is not a number: ${JSON.stringify(value)}`);
  return Number(value);
}

/** virt-df --csv: VirtualMachine,Filesystem,1K-blocks,Used,Available,Use% (sizes in KiB). */
export function parseVirtDfCsv(stdout: string): GuestFilesystemUsage[] {
  const need = ['VirtualMachine', 'Filesystem', '1K-blocks', 'Used', 'Available', 'Use%'];
  return csvRecords(stdout, need, 'virt-df').map((r) => ({
    source: r['VirtualMachine'] ?? '',
    device: r['Filesystem'] ?? '',
    sizeBytes: nonNegativeInt(r['1K-blocks'] ?? '', '1K-blocks') * 1024,
    usedBytes: nonNegativeInt(r['Used'] ?? '', 'Used') * 1024,
    availableBytes: nonNegativeInt(r['Available'] ?? '', 'Available') * 1024,
    usePercent: Number.parseFloat((r['Use%'] ?? '').replace('%', '')) || 0,
  }));
}

/** virt-filesystems --long --csv: Name,Type,VFS,Label,MBR,Size,Parent[,UUID]; empty cells are left out. */
export function parseVirtFilesystemsCsv(stdout: string): GuestFilesystemEntry[] {
  return csvRecords(stdout, ['Name', 'Type'], 'virt-filesystems').map((r) => {
    const opt = (key: string) => (r[key] ? r[key] : undefined);
    const size = opt('Size');
    const entry: GuestFilesystemEntry = { name: r['Name'] ?? '', type: r['Type'] ?? '' };
    const extra = { vfs: opt('VFS'), label: opt('Label'), mbr: opt('MBR'), parent: opt('Parent'), uuid: opt('UUID') };
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) Object.assign(entry, { [k]: v });
    if (size !== undefined) entry.sizeBytes = nonNegativeInt(size, 'Size');
    return entry;
  });
}

/** The size guestfishReadFile's first step prints. */
export function parseGuestfishFilesize(stdout: string): number {
  const first = stdout.split('\n', 1)[0]?.trim() ?? '';
  return nonNegativeInt(first, 'guestfish filesize');
}

export type GuestfsErrorKind = 'no_os' | 'not_found' | 'not_a_file' | 'mount_failed' | 'disk_in_use' | 'other';

/** What went wrong, from a libguestfs tool's stderr. */
export function classifyGuestfsError(stderr: string): GuestfsErrorKind {
  if (/no operating system was found|no operating system could be detected/i.test(stderr)) return 'no_os';
  if (/Failed to get .*"write" lock|Is another process using the image/i.test(stderr)) return 'disk_in_use';
  if (/could not be mounted|mount(_options)?: .*(No such file or directory|not a block device|wrong fs type|special device)/i.test(stderr)) return 'mount_failed';
  if (/Is a directory|not a regular file/i.test(stderr)) return 'not_a_file';
  if (/No such file or directory/i.test(stderr)) return 'not_found';
  return 'other';
}
