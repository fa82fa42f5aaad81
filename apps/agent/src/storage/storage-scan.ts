import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SAFE_NAME_PATTERN, type DiskFormat, type IsoFile, type StoreDisk } from '@virtfleet/contracts';
import type { CommandRunner } from '@virtfleet/exec';
import { guardImage, ImageRefusedError, readFileHeader } from '@virtfleet/libvirt';

const DISK_FILE = /^(.+)\.(qcow2|raw)$/;

/**
 * What the store root and the iso root hold, for GET /v1/disks and /v1/isos. Every disk goes
 * through the image guard (header probe, one pinned qemu-img info under limits); a file is read
 * again only when its size or mtime changed.
 */
export class StorageScanner {
  private readonly cache = new Map<string, { key: string; disk: StoreDisk }>();

  constructor(private readonly o: { storeRoot: string; isoRoot: string; runner: CommandRunner; maxImageBytes: number }) {}

  async scan(): Promise<{ disks: StoreDisk[]; isos: IsoFile[] }> {
    return { disks: await this.disks(), isos: await this.isos() };
  }

  private async disks(): Promise<StoreDisk[]> {
    const out: StoreDisk[] = [];
    const seen = new Set<string>();
    for (const file of await readdir(this.o.storeRoot).catch(() => [])) {
      const m = DISK_FILE.exec(file);
      if (!m?.[1] || !SAFE_NAME_PATTERN.test(m[1])) continue;
      const path = join(this.o.storeRoot, file);
      const st = await lstat(path).catch(() => null);
      if (!st?.isFile()) continue;
      seen.add(path);
      const key = `${st.size}:${st.mtimeMs}`;
      const cached = this.cache.get(path);
      const disk = cached?.key === key ? cached.disk : await this.read(m[1], m[2] as DiskFormat, path, st.size);
      this.cache.set(path, { key, disk });
      out.push(disk);
    }
    for (const path of this.cache.keys()) if (!seen.has(path)) this.cache.delete(path);
    return out;
  }

  private async read(name: string, format: DiskFormat, path: string, size: number): Promise<StoreDisk> {
    try {
      const g = await guardImage({
        path,
        claimed: format,
        roots: [this.o.storeRoot],
        maxVirtualSizeBytes: this.o.maxImageBytes,
        readHeader: readFileHeader,
        run: (cmd) => this.o.runner.run(cmd),
        forceShare: true,
      });
      return {
        name,
        format,
        path,
        virtualSize: g.virtualSize,
        actualSize: g.actualSize,
        ...(g.backingFile ? { backingFile: g.backingFile } : {}),
        ...(g.backingFormat ? { backingFormat: g.backingFormat } : {}),
      };
    } catch (err) {
      const refused = err instanceof ImageRefusedError ? err.message : `unreadable: ${(err as Error).message}`;
      return { name, format, path, virtualSize: 0, actualSize: size, refused };
    }
  }

  private async isos(): Promise<IsoFile[]> {
    const out: IsoFile[] = [];
    for (const file of await readdir(this.o.isoRoot).catch(() => [])) {
      if (!SAFE_NAME_PATTERN.test(file)) continue;
      const st = await lstat(join(this.o.isoRoot, file)).catch(() => null);
      if (st?.isFile()) out.push({ name: file, sizeBytes: st.size, modifiedAt: st.mtime.toISOString() });
    }
    return out;
  }
}
