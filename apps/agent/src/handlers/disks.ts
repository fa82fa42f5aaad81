import { diskSizeBytes, type DiskFormat, type DiskInfo, type JobPayload, type JobResult } from '@virtfleet/contracts';
import { assertSucceeded } from '@virtfleet/exec';
import { parseQemuImgInfo, qemuImgCreate, qemuImgInfo } from '@virtfleet/libvirt';
import type { JobContext } from '../job-context';
import { JobFailure } from '../job-failure';
import type { StorageRoot } from '../storage/storage-root';

const OTHER_FORMAT: Record<DiskFormat, DiskFormat> = { qcow2: 'raw', raw: 'qcow2' };

export class DiskHandlers {
  constructor(private readonly store: StorageRoot) {}

  /** Idempotent: a redelivered create finds the disk it made (same format and size) and reports it. */
  readonly createDisk = async (p: JobPayload<'create-disk'>, ctx: JobContext): Promise<JobResult<'create-disk'>> => {
    const size = diskSizeBytes(p);
    const path = this.store.diskPath(p.name, p.format);
    const other = this.store.diskPath(p.name, OTHER_FORMAT[p.format]);
    if (await this.store.exists(other)) {
      throw new JobFailure('disk_exists', `a disk named ${p.name} already exists as ${other}`);
    }
    if (await this.store.exists(path)) {
      const info = await this.info(ctx, p.name, path, p.format);
      if (info.virtualSize !== size) {
        throw new JobFailure('disk_exists', `disk ${p.name} already exists with a different size (${info.virtualSize} bytes)`, {
          virtualSize: info.virtualSize,
        });
      }
      return { ...info, created: false };
    }
    // Create under a temporary name and rename: a crash never leaves a half-made disk under the real name.
    const tmp = this.store.tempPath(p.name, p.format, ctx.jobId);
    try {
      await ctx.run(qemuImgCreate({ path: tmp, format: p.format, sizeBytes: size }));
      await this.store.commit(tmp, path);
    } finally {
      await this.store.discard(tmp);
    }
    return { ...(await this.info(ctx, p.name, path, p.format)), created: true };
  };

  readonly inspectDisk = async (p: JobPayload<'inspect-disk'>, ctx: JobContext): Promise<JobResult<'inspect-disk'>> => {
    const format = p.format ?? (await this.formatOnDisk(p.name));
    const path = this.store.diskPath(p.name, format);
    await this.store.exists(path); // refuses symlinks and escapes; a missing file is qemu-img's to report
    return this.info(ctx, p.name, path, format);
  };

  private async formatOnDisk(name: string): Promise<DiskFormat> {
    const raw = await this.store.exists(this.store.diskPath(name, 'raw'));
    const qcow2 = await this.store.exists(this.store.diskPath(name, 'qcow2'));
    if (raw && qcow2) throw new JobFailure('disk_ambiguous', `both ${name}.qcow2 and ${name}.raw exist: give the format`);
    return raw ? 'raw' : 'qcow2';
  }

  private async info(ctx: JobContext, name: string, path: string, format: DiskFormat): Promise<DiskInfo> {
    let res = await ctx.run(qemuImgInfo({ path, format }), { allowFailure: true });
    // A running domain holds the image's write lock: read the header in shared mode instead.
    if (res.exitCode !== 0 && /Failed to get shared "write" lock/.test(res.stderr)) {
      res = await ctx.run(qemuImgInfo({ path, format, forceShare: true }), { allowFailure: true });
    }
    const info = parseQemuImgInfo(assertSucceeded(res).stdout);
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
