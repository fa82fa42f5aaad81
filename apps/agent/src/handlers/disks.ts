import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diskSizeBytes, type DiskFormat, type DiskInfo, type JobPayload, type JobResult, type StoreDisk } from '@virtfleet/contracts';
import { assertSucceeded } from '@virtfleet/exec';
import {
  collectInventory,
  parseConvertProgress,
  qemuImgConvert,
  qemuImgCreate,
  qemuImgResize,
  type QemuImgInfo,
  readDomain,
  virshDefine,
  virshDumpXml,
} from '@virtfleet/libvirt';
import type { JobContext } from '../job-context';
import { JobFailure } from '../job-failure';
import type { StorageRoot } from '../storage/storage-root';

const OTHER_FORMAT: Record<DiskFormat, DiskFormat> = { qcow2: 'raw', raw: 'qcow2' };

/**
 * Checks an image before any qemu-img call reads it (DESIGN.md: the untrusted image guard).
 * Throws a JobFailure saying why an image is refused.
 */
export type ImageGuard = (ctx: JobContext, path: string, format: DiskFormat) => Promise<{ info: QemuImgInfo }>;

export interface DiskHandlerDeps {
  store: StorageRoot;
  uri: string;
  guard: ImageGuard;
  /** This host's limit on a disk's virtual size (the guard refuses larger images too). */
  maxImageBytes: number;
  /** The store root's disks as the storage scan reads them (for overlays of a disk). */
  storeDisks: () => Promise<StoreDisk[]>;
}

/** Disks in the store root, named by clients: <root>/<name>.<format>. */
export class DiskHandlers {
  private readonly store: StorageRoot;

  constructor(private readonly d: DiskHandlerDeps) {
    this.store = d.store;
  }

  /** Idempotent: a redelivered create finds the disk it made (same format and size) and reports it. */
  readonly createDisk = async (p: JobPayload<'create-disk'>, ctx: JobContext): Promise<JobResult<'create-disk'>> => {
    const size = diskSizeBytes(p);
    this.refuseTooLarge(p.name, size);
    const path = this.store.diskPath(p.name, p.format);
    const other = this.store.diskPath(p.name, OTHER_FORMAT[p.format]);
    if (await this.store.exists(other)) {
      throw new JobFailure('disk_exists', `a disk named ${p.name} already exists as ${other}`);
    }
    const backing = p.backing ? await this.backingOf(ctx, p.backing, p.backingFormat) : undefined;
    if (await this.store.exists(path)) {
      const info = await this.info(ctx, p.name, path, p.format);
      if ((size !== undefined && info.virtualSize !== size) || (backing && info.backingFile !== backing.path)) {
        throw new JobFailure('disk_exists', `disk ${p.name} already exists with a different size or backing disk`, {
          virtualSize: info.virtualSize,
        });
      }
      return { ...info, created: false };
    }
    // Create under a temporary name and rename: a crash never leaves a half-made disk under the real name.
    const tmp = this.store.tempPath(p.name, p.format, ctx.jobId);
    try {
      await ctx.run(qemuImgCreate({ path: tmp, format: p.format, sizeBytes: size, backing }));
      await this.store.commit(tmp, path);
    } finally {
      await this.store.discard(tmp);
    }
    return { ...(await this.info(ctx, p.name, path, p.format)), created: true };
  };

  readonly inspectDisk = async (p: JobPayload<'inspect-disk'>, ctx: JobContext): Promise<JobResult<'inspect-disk'>> => {
    const format = p.format ?? (await this.formatOnDisk(p.name));
    const path = this.store.diskPath(p.name, format);
    if (!(await this.store.exists(path))) throw new JobFailure('disk_not_found', `no disk ${p.name} (${path}) on this host`);
    return this.info(ctx, p.name, path, format);
  };

  /**
   * Converts into a new disk with live progress; with attachTo, points the shut-off VM at it (the
   * operation guide's `virsh edit` of <driver type> and <source file>) and redefines the VM.
   */
  readonly convertDisk = async (p: JobPayload<'convert-disk'>, ctx: JobContext): Promise<JobResult<'convert-disk'>> => {
    const sourceFormat = p.sourceFormat ?? (await this.formatOnDisk(p.source));
    const source = this.store.diskPath(p.source, sourceFormat);
    if (!(await this.store.exists(source))) throw new JobFailure('disk_not_found', `no disk ${p.source} (${source}) on this host`);
    // A running VM fails the job before anything is touched.
    const vmXml = p.attachTo ? await this.shutOffVmUsing(ctx, p.attachTo.uuid, p.attachTo.name, source) : undefined;
    // qemu-img cannot read an image a running domain holds (its lock): say so now, not after retries.
    await this.refuseInUse(ctx, source, 'running');
    if (p.deleteSource) await this.refuseInUse(ctx, source, 'any', p.attachTo?.uuid);
    const target = this.store.diskPath(p.target, p.format);
    if (await this.store.exists(this.store.diskPath(p.target, OTHER_FORMAT[p.format]))) {
      throw new JobFailure('disk_exists', `a disk named ${p.target} already exists in the other format`);
    }
    const mine = (await this.store.ownerOf(target)) === ctx.jobId;
    if ((await this.store.exists(target)) && !mine) throw new JobFailure('disk_exists', `disk ${p.target} already exists (${target})`);
    await this.d.guard(ctx, source, sourceFormat);
    if (!(await this.store.exists(target))) {
      const tmp = this.store.tempPath(p.target, p.format, ctx.jobId);
      try {
        await ctx.run(qemuImgConvert({ source, sourceFormat, target: tmp, format: p.format, compress: p.compress }), {
          onStdout: (chunk) => {
            const pct = parseConvertProgress(chunk);
            if (pct !== undefined) ctx.progress(pct * (p.attachTo ? 0.95 : 1));
          },
        });
        await this.store.setOwner(target, ctx.jobId);
        await this.store.commit(tmp, target);
      } finally {
        await this.store.discard(tmp);
      }
    }
    const swapped = p.attachTo && vmXml ? await this.swap(ctx, p.attachTo.uuid, p.attachTo.name, vmXml, source, target, p.format) : undefined;
    await this.store.clearOwner(target);
    if (p.deleteSource) await rm(source, { force: true });
    return { ...(await this.info(ctx, p.target, target, p.format)), converted: true, sourceDeleted: p.deleteSource, ...(swapped ? { swapped } : {}) };
  };

  readonly resizeDisk = async (p: JobPayload<'resize-disk'>, ctx: JobContext): Promise<JobResult<'resize-disk'>> => {
    const format = p.format ?? (await this.formatOnDisk(p.name));
    const path = this.store.diskPath(p.name, format);
    if (!(await this.store.exists(path))) throw new JobFailure('disk_not_found', `no disk ${p.name} (${path}) on this host`);
    const before = await this.info(ctx, p.name, path, format);
    const size = diskSizeBytes(p) ?? before.virtualSize;
    this.refuseTooLarge(p.name, size);
    if (size < before.virtualSize && !p.allowShrink) {
      throw new JobFailure('shrink_refused', `${p.name} is ${before.virtualSize} bytes: shrinking to ${size} cuts data off its end; pass allowShrink to do it anyway`);
    }
    await this.refuseInUse(ctx, path, 'running');
    if (size !== before.virtualSize) await ctx.run(qemuImgResize({ path, format, sizeBytes: size, shrink: size < before.virtualSize }));
    return { ...(await this.info(ctx, p.name, path, format)), previousVirtualSize: before.virtualSize };
  };

  readonly deleteDisk = async (p: JobPayload<'delete-disk'>, ctx: JobContext): Promise<JobResult<'delete-disk'>> => {
    const format = p.format ?? (await this.formatOnDisk(p.name));
    const path = this.store.diskPath(p.name, format);
    if (!(await this.store.exists(path))) return { name: p.name, path, deleted: false };
    await this.refuseInUse(ctx, path, 'any');
    const overlays = (await this.d.storeDisks()).filter((d) => d.backingFile === path).map((d) => d.name);
    if (overlays.length) {
      throw new JobFailure('disk_in_use', `${p.name} is the backing disk of ${overlays.join(', ')}: delete those first`, { overlays });
    }
    await rm(path, { force: true });
    return { name: p.name, path, deleted: true };
  };

  /** Fails when a domain on the host (a running one, or any) has this file as a disk. */
  private async refuseInUse(ctx: JobContext, path: string, which: 'running' | 'any', except?: string): Promise<void> {
    const { domains } = await collectInventory((cmd) => ctx.run(cmd, { allowFailure: true, quiet: true }), this.d.uri);
    const users = domains
      .filter((d) => d.uuid !== except && (which === 'any' || d.state !== 'shutoff') && d.disks.some((x) => x.source === path))
      .map((d) => d.name);
    if (users.length) {
      const what = which === 'running' ? `in use by running VM(s) ${users.join(', ')}: shut them down first` : `a disk of ${users.join(', ')}: remove it from the VM first`;
      throw new JobFailure('disk_in_use', `${path} is ${what}`, { vms: users });
    }
  }

  private refuseTooLarge(name: string, size: number | undefined): void {
    if (size !== undefined && size > this.d.maxImageBytes) {
      throw new JobFailure('disk_too_large', `${name}: ${size} bytes is above this host's limit of ${this.d.maxImageBytes} (VIRTFLEET_MAX_IMAGE_SIZE_GIB)`);
    }
  }

  private async backingOf(ctx: JobContext, name: string, format: DiskFormat | undefined): Promise<{ path: string; format: DiskFormat }> {
    const fmt = format ?? (await this.formatOnDisk(name));
    const path = this.store.diskPath(name, fmt);
    if (!(await this.store.exists(path))) throw new JobFailure('disk_not_found', `no backing disk ${name} (${path}) on this host`);
    await this.d.guard(ctx, path, fmt);
    return { path, format: fmt };
  }

  /** The VM's saved XML, when it is shut off and one of its disks is `source`. */
  private async shutOffVmUsing(ctx: JobContext, uuid: string, name: string, source: string): Promise<string> {
    const dom = await readDomain((cmd) => ctx.run(cmd, { allowFailure: true }), this.d.uri, { uuid });
    if (!dom) throw new JobFailure('vm_not_found', `no domain ${name} (${uuid}) on this host`);
    if (dom.state !== 'shutoff') {
      throw new JobFailure('vm_running', `${name} is ${dom.state}: shut it down first — its disk is swapped only while it is off (nothing was changed)`);
    }
    if (!dom.disks.some((d) => d.source === source)) throw new JobFailure('disk_not_attached', `${name} does not use ${source}`);
    return assertSucceeded(await ctx.run(virshDumpXml(this.d.uri, uuid, { inactive: true }))).stdout;
  }

  /** Rewrites the one <disk> whose source is the old file: its <driver type> and <source file>. */
  private async swap(ctx: JobContext, uuid: string, name: string, xml: string, oldPath: string, newPath: string, format: DiskFormat) {
    const edited = swapDiskSource(xml, oldPath, newPath, format);
    const dir = join(this.store.root, '.define');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${uuid}.xml`);
    await writeFile(file, edited.xml, { mode: 0o600 });
    try {
      await ctx.run(virshDefine(this.d.uri, file));
    } finally {
      await rm(file, { force: true });
    }
    ctx.progress(100);
    return { vm: name, target: edited.target, oldSource: oldPath };
  }

  private async formatOnDisk(name: string): Promise<DiskFormat> {
    const raw = await this.store.exists(this.store.diskPath(name, 'raw'));
    const qcow2 = await this.store.exists(this.store.diskPath(name, 'qcow2'));
    if (raw && qcow2) throw new JobFailure('disk_ambiguous', `both ${name}.qcow2 and ${name}.raw exist: give the format`);
    return raw ? 'raw' : 'qcow2';
  }

  /** The guard's one pinned `qemu-img info -U` (shared: a running domain holds the write lock) is the answer. */
  private async info(ctx: JobContext, name: string, path: string, format: DiskFormat): Promise<DiskInfo> {
    const { info } = await this.d.guard(ctx, path, format);
    return {
      name,
      path,
      format,
      virtualSize: info.virtualSize,
      actualSize: info.actualSize,
      ...(info.clusterSize !== undefined ? { clusterSize: info.clusterSize } : {}),
      ...(info.dirty !== undefined ? { dirty: info.dirty } : {}),
      ...(info.backingFile ? { backingFile: info.backingFile } : {}),
      ...(info.backingFormat ? { backingFormat: info.backingFormat } : {}),
      ...(info.snapshots ? { snapshots: info.snapshots } : {}),
    };
  }
}

/**
 * The domain XML with the disk whose <source file> is `oldPath` pointed at `newPath`, its
 * <driver type> set to `format`. Exactly one such disk must exist.
 */
export function swapDiskSource(xml: string, oldPath: string, newPath: string, format: DiskFormat): { xml: string; target: string } {
  const disks = [...xml.matchAll(/<disk\b[\s\S]*?<\/disk>/g)];
  const quoted = (s: string) => [`'${xmlEscape(s)}'`, `"${xmlEscape(s)}"`];
  const hits = disks.filter((m) => quoted(oldPath).some((q) => m[0].includes(`file=${q}`)));
  if (hits.length !== 1 || hits[0]?.index === undefined) {
    throw new JobFailure('disk_not_attached', `expected one disk with source ${oldPath} in the domain XML, found ${hits.length}`);
  }
  const hit = hits[0];
  const block = hit[0];
  let edited = block;
  for (const q of quoted(oldPath)) edited = edited.split(`file=${q}`).join(`file='${xmlEscape(newPath)}'`);
  edited = /<driver\b[^>]*\btype=['"][^'"]*['"]/.test(edited)
    ? edited.replace(/(<driver\b[^>]*\btype=)['"][^'"]*['"]/, `$1'${format}'`)
    : edited.replace(/<driver\b/, `<driver type='${format}'`);
  if (!/<driver\b/.test(edited)) edited = edited.replace(/(<disk\b[^>]*>)/, `$1<driver name='qemu' type='${format}'/>`);
  const target = /<target\b[^>]*\bdev=['"]([^'"]+)['"]/.exec(edited)?.[1] ?? '';
  return { xml: xml.slice(0, hit.index) + edited + xml.slice(hit.index + block.length), target };
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}
