import { link, lstat, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SAFE_NAME_PATTERN, type DiskFormat } from '@virtfleet/contracts';
import { JobFailure } from '../job-failure';

/**
 * The one folder disks live in. Clients name disks; the agent makes the paths
 * (<root>/<name>.<format>, the operation guide's /kvm/store/vm1.qcow2) and refuses anything
 * that escapes the root: symlinks, devices, other file types.
 */
export class StorageRoot {
  private realRoot: string | undefined;

  constructor(readonly root: string) {}

  async ensure(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o755 });
    this.realRoot = await realpath(this.root);
  }

  diskPath(name: string, format: DiskFormat): string {
    // Schemas checked the name already; this guards the path builder itself.
    if (!SAFE_NAME_PATTERN.test(name)) throw new JobFailure('disk_name_invalid', `invalid disk name ${JSON.stringify(name)}`);
    return join(this.root, `${name}.${format}`);
  }

  /** A file named by the client as it is (install media in the iso root: debian-12.iso, vmlinuz). */
  filePath(name: string): string {
    if (!SAFE_NAME_PATTERN.test(name)) throw new JobFailure('file_name_invalid', `invalid file name ${JSON.stringify(name)}`);
    return join(this.root, name);
  }

  /** Whether an absolute path lies inside this root (by its real path when it exists). */
  async contains(path: string): Promise<boolean> {
    const root = this.realRoot ?? (await realpath(this.root));
    const real = await realpath(path).catch(() => path);
    return real.startsWith(`${root}/`);
  }

  /** A private temporary path next to the final one, renamed into place when complete. */
  tempPath(name: string, format: DiskFormat, jobId: string): string {
    return join(this.root, `.${name}.${format}.${jobId}.tmp`);
  }

  /** false when absent; throws when present but not a plain file inside the root. */
  async exists(path: string): Promise<boolean> {
    let st;
    try {
      st = await lstat(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    if (!st.isFile()) {
      throw new JobFailure('disk_path_refused', `${path} is not a regular file (symlinks and devices are refused)`);
    }
    const real = await realpath(path);
    const root = this.realRoot ?? (await realpath(this.root));
    if (!real.startsWith(`${root}/`)) throw new JobFailure('disk_path_refused', `${path} resolves outside the storage root`);
    return true;
  }

  /** Moves a finished file into place; never replaces one that appeared meanwhile (disk_exists). */
  async commit(tempPath: string, finalPath: string): Promise<void> {
    try {
      await link(tempPath, finalPath); // unlike rename(2), link(2) refuses an existing target
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new JobFailure('disk_exists', `${finalPath} appeared while this job was creating it`);
      }
      throw e;
    }
    await rm(tempPath, { force: true });
  }

  async discard(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  /**
   * Which job or VM is making a file (a hidden note beside it, written before the file): a
   * redelivered job takes over what its earlier attempt made instead of failing "exists".
   */
  setOwner(path: string, owner: string): Promise<void> {
    return this.writeNote(basename(path), owner, 'owner');
  }

  ownerOf(path: string): Promise<string | undefined> {
    return this.readNote(basename(path), 'owner');
  }

  clearOwner(path: string): Promise<void> {
    return this.clearNote(basename(path), 'owner');
  }

  /** A job's note to its own later attempts (e.g. "the source VM was running: start it again"): <root>/.<key>.<kind>. */
  async writeNote(key: string, value: string, kind = 'note'): Promise<void> {
    await writeFile(this.notePath(key, kind), value, { mode: 0o600 });
  }

  async readNote(key: string, kind = 'note'): Promise<string | undefined> {
    return (await readFile(this.notePath(key, kind), 'utf8').catch(() => '')).trim() || undefined;
  }

  async clearNote(key: string, kind = 'note'): Promise<void> {
    await rm(this.notePath(key, kind), { force: true });
  }

  private notePath(key: string, kind: string): string {
    if (!key || key.includes('/') || key.startsWith('.')) throw new Error(`invalid note key ${JSON.stringify(key)}`);
    return join(this.root, `.${key}.${kind}`);
  }
}
