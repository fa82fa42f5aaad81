import { createHash, randomUUID } from 'node:crypto';
import { lstat, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GUEST_FILE_MAX_BYTES, type DiskFormat, type DomainInventory, type JobPayload, type JobResult } from '@virtfleet/contracts';
import { assertSucceeded, type Command, type CommandResult } from '@virtfleet/exec';
import {
  classifyGuestfsError,
  collectInventory,
  guestfishReadFile,
  guestfishUploadFile,
  guestfsEnv,
  parseGuestfishFilesize,
  parseVirtDfCsv,
  parseVirtFilesystemsCsv,
  readDomain,
  virtDf,
  virtFilesystems,
  type GuestfsSource,
} from '@virtfleet/libvirt';
import type { JobContext } from '../job-context';
import { JobFailure } from '../job-failure';
import type { StorageRoot } from '../storage/storage-root';

/** How the handlers see libvirt's domains (readDomain and collectInventory on a real host). */
export interface GuestDomains {
  read(ctx: JobContext, uuid: string): Promise<DomainInventory | null>;
  all(ctx: JobContext): Promise<DomainInventory[]>;
}

export function libvirtGuestDomains(uri: string): GuestDomains {
  const run = (ctx: JobContext) => (cmd: Command) => ctx.run(cmd, { allowFailure: true });
  return {
    read: (ctx, uuid) => readDomain(run(ctx), uri, { uuid }),
    all: async (ctx) => (await collectInventory(run(ctx), uri)).domains,
  };
}

export interface GuestFileHandlerDeps {
  store: StorageRoot;
  /** kvm where the host can; anything else runs libguestfs's appliance under TCG (force_tcg). */
  virtType: () => string | undefined;
  domains: GuestDomains;
  /**
   * The untrusted-image guard (issue 6), run on every image before libguestfs opens it: QEMU
   * would follow a backing file or an external data file to any host file and show it as guest data.
   */
  checkImage: (ctx: JobContext, path: string, format: DiskFormat) => Promise<unknown>;
  /** Limit of one libguestfs call (12–45 s under TCG, more on a busy host). */
  toolTimeoutMs?: number;
}

type Target = { vm?: { uuid: string; name: string } | undefined; disk?: { name: string; format?: DiskFormat | undefined } | undefined };
type Access = 'read' | 'write';

interface Image {
  path: string;
  format: DiskFormat;
}

interface ResolvedTarget {
  source: GuestfsSource;
  what: string;
}

const TMP_DIR = '.guestfs-tmp';
const DEFAULT_TOOL_TIMEOUT_MS = 150_000;

/**
 * Files inside guests, through libguestfs. Reads are read-only (--ro, a running VM is read as
 * its disk is); writes only touch a shut-off VM or a disk no active VM uses, and never run
 * code from the request: whole-file upload, or a literal replace done here.
 */
export class GuestFileHandlers {
  constructor(private readonly d: GuestFileHandlerDeps) {}

  readonly readGuestFile = async (p: JobPayload<'read-guest-file'>, ctx: JobContext): Promise<JobResult<'read-guest-file'>> => {
    const target = await this.resolve(ctx, p, 'read');
    const { size, bytes } = await this.readBytes(ctx, target, p.mount, p.path, p.maxBytes);
    return { path: p.path, size, truncated: size > bytes.length, ...encode(bytes), sha256: sha256(bytes) };
  };

  readonly writeGuestFile = async (p: JobPayload<'write-guest-file'>, ctx: JobContext): Promise<JobResult<'write-guest-file'>> => {
    const target = await this.resolve(ctx, p, 'write');
    if (p.replace) {
      const { size, bytes } = await this.readBytes(ctx, target, p.mount, p.path, GUEST_FILE_MAX_BYTES);
      if (size > bytes.length) throw new JobFailure('guest_file_too_large', `${p.path} is ${size} bytes: replace reads at most ${GUEST_FILE_MAX_BYTES}`);
      const edit = replaceLiteral(bytes, p.replace);
      if (edit.replacements === 0) return { path: p.path, written: false, size: bytes.length, sha256: sha256(bytes), replacements: 0 };
      await this.upload(ctx, target, p, edit.bytes);
      return { path: p.path, written: true, size: edit.bytes.length, sha256: sha256(edit.bytes), replacements: edit.replacements };
    }
    const bytes = Buffer.from(p.content ?? '', p.encoding);
    await this.upload(ctx, target, p, bytes);
    return { path: p.path, written: true, size: bytes.length, sha256: sha256(bytes) };
  };

  readonly guestDiskUsage = async (p: JobPayload<'guest-disk-usage'>, ctx: JobContext): Promise<JobResult<'guest-disk-usage'>> => {
    const target = await this.resolve(ctx, p, 'read');
    const res = await this.guestfs(ctx, target, virtDf(target.source), '');
    return { filesystems: parseVirtDfCsv(res.stdout) };
  };

  readonly listGuestFilesystems = async (p: JobPayload<'list-guest-filesystems'>, ctx: JobContext): Promise<JobResult<'list-guest-filesystems'>> => {
    const target = await this.resolve(ctx, p, 'read');
    const res = await this.guestfs(ctx, target, virtFilesystems(target.source), '');
    return { entries: parseVirtFilesystemsCsv(res.stdout) };
  };

  // ---- targets ----

  private async resolve(ctx: JobContext, p: Target, access: Access): Promise<ResolvedTarget> {
    const { images, what } = p.vm ? await this.vmImages(ctx, p.vm.uuid, access) : await this.diskImage(p.disk);
    if (access === 'write') await this.refuseActiveUsers(ctx, images);
    for (const img of images) await this.d.checkImage(ctx, img.path, img.format);
    return { source: { kind: 'images', images }, what };
  }

  private async diskImage(disk: Target['disk']): Promise<{ images: Image[]; what: string }> {
    if (!disk) throw new JobFailure('payload_invalid', 'give a vm or a disk');
    const format = disk.format ?? (await this.formatOnDisk(disk.name));
    const path = this.d.store.diskPath(disk.name, format);
    if (!(await this.d.store.exists(path))) throw new JobFailure('disk_not_found', `no disk ${disk.name} (${path}) on this host`);
    // A disk in use by a running VM shows up in refuseActiveUsers for writes; a read is --ro anyway.
    return { images: [{ path, format }], what: `disk ${disk.name}` };
  }

  private async formatOnDisk(name: string): Promise<DiskFormat> {
    const raw = await this.d.store.exists(this.d.store.diskPath(name, 'raw'));
    const qcow2 = await this.d.store.exists(this.d.store.diskPath(name, 'qcow2'));
    if (raw && qcow2) throw new JobFailure('disk_ambiguous', `both ${name}.qcow2 and ${name}.raw exist: give the format`);
    return raw ? 'raw' : 'qcow2';
  }

  /**
   * A VM's disks in their XML order (libguestfs names them /dev/sda, /dev/sdb … in that order;
   * CD-ROMs are left out). Each must be a file of ours with a format we pin.
   */
  private async vmImages(ctx: JobContext, uuid: string, access: Access): Promise<{ images: Image[]; what: string }> {
    const dom = await this.d.domains.read(ctx, uuid);
    if (!dom) throw new JobFailure('vm_not_found', `no domain with UUID ${uuid} on this host`);
    if (access === 'write' && dom.state !== 'shutoff') {
      throw new JobFailure('vm_not_shut_off', `${dom.name} is ${dom.state}: guest files are only written while the VM is shut off`);
    }
    const images: Image[] = [];
    for (const disk of dom.disks.filter((x) => x.device === 'disk')) {
      const where = `${dom.name}'s disk ${disk.target}`;
      if (disk.type !== 'file' || !disk.source) throw new JobFailure('guest_disk_refused', `${where} is not a file (${disk.type})`);
      if (disk.format !== 'qcow2' && disk.format !== 'raw') throw new JobFailure('guest_disk_refused', `${where} has format ${disk.format ?? '(none)'}, not qcow2 or raw`);
      if (!(await this.d.store.exists(disk.source).catch(() => false))) {
        throw new JobFailure('guest_disk_refused', `${where} (${disk.source}) is not a file inside the storage root`);
      }
      images.push({ path: disk.source, format: disk.format });
    }
    if (images.length === 0) throw new JobFailure('vm_has_no_disks', `${dom.name} has no disks`);
    return { images, what: `VM ${dom.name}` };
  }

  /** Two writers on one image corrupt it: no active domain may use a disk we write. */
  private async refuseActiveUsers(ctx: JobContext, images: Image[]): Promise<void> {
    const mine = new Set(await Promise.all(images.map((i) => realOrResolved(i.path))));
    for (const dom of await this.d.domains.all(ctx)) {
      if (dom.state === 'shutoff') continue;
      for (const disk of dom.disks) {
        if (disk.source && mine.has(await realOrResolved(disk.source))) {
          throw new JobFailure('disk_in_use', `${disk.source} is used by ${dom.name}, which is ${dom.state}: shut it off first`);
        }
      }
    }
  }

  // ---- libguestfs calls ----

  private async readBytes(ctx: JobContext, target: ResolvedTarget, mount: string | undefined, path: string, maxBytes: number) {
    return this.withTempFile(Buffer.alloc(0), async (localFile) => {
      const res = await this.guestfs(ctx, target, guestfishReadFile({ source: target.source, mount, path, maxBytes, localFile }), path);
      return { size: parseGuestfishFilesize(res.stdout), bytes: await readFile(localFile) };
    });
  }

  private async upload(ctx: JobContext, target: ResolvedTarget, p: JobPayload<'write-guest-file'>, bytes: Buffer): Promise<void> {
    await this.withTempFile(bytes, async (localFile) => {
      const cmd = guestfishUploadFile({ source: target.source, mount: p.mount, path: p.path, localFile, mode: p.mode, createParents: p.createParents });
      await this.guestfs(ctx, target, cmd, p.path);
    });
  }

  /** Runs one libguestfs tool and turns its known failures into clear job errors. */
  private async guestfs(ctx: JobContext, target: ResolvedTarget, cmd: Command, path: string): Promise<CommandResult> {
    const res = await ctx.run({ ...cmd, env: guestfsEnv(this.d.virtType()) }, {
      allowFailure: true,
      timeoutMs: this.d.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
    });
    if (res.exitCode === 0 || res.timedOut || res.aborted) return assertSucceeded(res);
    const failure = failureOf(classifyGuestfsError(res.stderr), target.what, path);
    if (failure) throw failure;
    return assertSucceeded(res);
  }

  /**
   * A private file (0600, a fresh name, O_EXCL) in the store root's hidden folder: guestfish
   * runs as the agent's user and must not be pointed at anything else.
   */
  private async withTempFile<T>(content: Buffer, use: (path: string) => Promise<T>): Promise<T> {
    const dir = join(this.d.store.root, TMP_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const st = await lstat(dir);
    if (!st.isDirectory()) throw new JobFailure('storage_refused', `${dir} is not a folder`);
    const file = join(dir, randomUUID());
    await writeFile(file, content, { mode: 0o600, flag: 'wx' });
    try {
      return await use(file);
    } finally {
      await rm(file, { force: true });
    }
  }
}

function failureOf(kind: ReturnType<typeof classifyGuestfsError>, what: string, path: string): JobFailure | undefined {
  switch (kind) {
    case 'no_os':
      return new JobFailure('guest_os_not_found', `no operating system found on ${what}: give mount (a device list-guest-filesystems shows, e.g. /dev/sda1)`);
    case 'not_found':
      return new JobFailure('guest_file_not_found', `${path} does not exist on ${what} (or the mount device does not)`);
    case 'not_a_file':
      return new JobFailure('guest_not_a_file', `${path} on ${what} is not a regular file`);
    case 'mount_failed':
      return new JobFailure('guest_mount_failed', `the mount device could not be mounted on ${what}: see list-guest-filesystems`);
    case 'disk_in_use':
      return new JobFailure('disk_in_use', `a disk of ${what} is locked by another process (a running VM?)`);
    default:
      return undefined;
  }
}

async function realOrResolved(path: string): Promise<string> {
  return realpath(path).catch(() => resolve(path));
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** utf8 for valid UTF-8 without NUL bytes; base64 for anything else (a cut multi-byte character too). */
export function encode(bytes: Buffer): { encoding: 'utf8' | 'base64'; content: string } {
  if (!bytes.includes(0)) {
    try {
      return { encoding: 'utf8', content: UTF8.decode(bytes) };
    } catch {
      // not UTF-8: binary
    }
  }
  return { encoding: 'base64', content: bytes.toString('base64') };
}

/**
 * A literal replace, byte for byte. Without `all` the text must occur exactly once. A text that
 * is gone while its replacement is there counts as done (0 replacements): a redelivered job
 * finds its own earlier write.
 */
export function replaceLiteral(bytes: Buffer, r: { find: string; with: string; all: boolean }): { bytes: Buffer; replacements: number } {
  const find = Buffer.from(r.find, 'utf8');
  const repl = Buffer.from(r.with, 'utf8');
  const hits: number[] = [];
  for (let i = bytes.indexOf(find); i >= 0; i = bytes.indexOf(find, i + find.length)) hits.push(i);
  if (hits.length === 0) {
    if (repl.length > 0 && bytes.includes(repl)) return { bytes, replacements: 0 };
    throw new JobFailure('guest_text_not_found', `the text to replace does not occur in the file`);
  }
  if (!r.all && hits.length > 1) {
    throw new JobFailure('guest_text_ambiguous', `the text to replace occurs ${hits.length} times: make it unique or pass all: true`);
  }
  const parts: Buffer[] = [];
  let from = 0;
  for (const at of hits) {
    parts.push(bytes.subarray(from, at), repl);
    from = at + find.length;
  }
  parts.push(bytes.subarray(from));
  return { bytes: Buffer.concat(parts), replacements: hits.length };
}
