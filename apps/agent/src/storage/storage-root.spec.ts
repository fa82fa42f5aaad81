import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobFailure } from '../job-failure';
import { StorageRoot } from './storage-root';

describe('StorageRoot', () => {
  let dir: string;
  let root: string;
  let store: StorageRoot;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vf-agent-store-'));
    root = join(dir, 'store');
    store = new StorageRoot(root);
    await store.ensure();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('ensure() creates the root and is idempotent', async () => {
    await store.ensure();
    expect(await readdir(root)).toEqual([]);
  });

  it('builds <root>/<name>.<format> and a hidden per-job temp path beside it', () => {
    expect(store.diskPath('d1', 'qcow2')).toBe(`${root}/d1.qcow2`);
    expect(store.diskPath('vm-01.boot', 'raw')).toBe(`${root}/vm-01.boot.raw`);
    expect(store.tempPath('d1', 'qcow2', 'job-7')).toBe(`${root}/.d1.qcow2.job-7.tmp`);
  });

  it.each(['../etc/passwd', 'a/b', '-f', '.hidden', '', 'x,y=z'])('diskPath refuses the name %j', (name) => {
    expect(() => store.diskPath(name, 'qcow2')).toThrow(JobFailure);
    expect(() => store.diskPath(name, 'qcow2')).toThrow(expect.objectContaining({ code: 'disk_name_invalid' }));
  });

  it('exists() is false for a missing disk', async () => {
    await expect(store.exists(store.diskPath('d1', 'qcow2'))).resolves.toBe(false);
  });

  it('exists() is true for a regular file inside the root', async () => {
    await writeFile(join(root, 'd1.qcow2'), '');
    await expect(store.exists(store.diskPath('d1', 'qcow2'))).resolves.toBe(true);
  });

  it('refuses a symlink inside the root that points outside it', async () => {
    await writeFile(join(dir, 'secret'), 'not a disk');
    await symlink(join(dir, 'secret'), join(root, 'd1.qcow2'));

    await expect(store.exists(store.diskPath('d1', 'qcow2'))).rejects.toMatchObject({
      name: 'JobFailure',
      code: 'disk_path_refused',
    });
  });

  it('refuses a symlink even when it points inside the root', async () => {
    await writeFile(join(root, 'real.qcow2'), '');
    await symlink(join(root, 'real.qcow2'), join(root, 'd1.qcow2'));

    await expect(store.exists(store.diskPath('d1', 'qcow2'))).rejects.toMatchObject({ code: 'disk_path_refused' });
  });

  it('refuses a directory named like a disk', async () => {
    await mkdir(join(root, 'd1.raw'));

    await expect(store.exists(store.diskPath('d1', 'raw'))).rejects.toMatchObject({ code: 'disk_path_refused' });
  });

  it('refuses a regular file outside the root', async () => {
    await writeFile(join(dir, 'outside.qcow2'), '');

    await expect(store.exists(join(dir, 'outside.qcow2'))).rejects.toMatchObject({ code: 'disk_path_refused' });
  });

  it('accepts files when the root itself is reached through a symlink', async () => {
    const linked = new StorageRoot(join(dir, 'store-link'));
    await symlink(root, join(dir, 'store-link'));
    await linked.ensure();
    await writeFile(join(root, 'd1.qcow2'), '');

    await expect(linked.exists(linked.diskPath('d1', 'qcow2'))).resolves.toBe(true);
  });

  it('commit() moves the temp file into place and discard() removes a leftover quietly', async () => {
    const tmp = store.tempPath('d1', 'qcow2', 'j1');
    await writeFile(tmp, 'image');

    await store.commit(tmp, store.diskPath('d1', 'qcow2'));
    await store.discard(tmp);
    await store.discard(join(root, 'never-there'));

    expect(await readdir(root)).toEqual(['d1.qcow2']);
  });
});
