import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertSucceeded, NodeCommandRunner } from '@virtfleet/exec';
import { guestfsEnv } from '@virtfleet/libvirt';
import { Fleet } from '@virtfleet/testing';

/** The bare libguestfs tools on the host, as an operator runs them here (no usable KVM: force_tcg). */
const runner = new NodeCommandRunner({ baseEnv: process.env });
const guestfs = async (cmd: string, ...args: string[]) =>
  assertSucceeded(await runner.run({ cmd, args, env: guestfsEnv(undefined) }, { timeoutMs: 240_000 })).stdout;

// libguestfs under TCG: every job boots a small appliance VM (25–60 s here). One call per job type.
const GUESTFS_JOB_S = 240;

describe('guest files end to end (libguestfs, TCG): read, write, replace, disk usage, filesystems', () => {
  let fleet: Fleet;
  const disk = { name: 'guestdata', format: 'qcow2' };

  beforeAll(async () => {
    fleet = await Fleet.start({ name: 'e2e-guest-files' });
    const content = join(fleet.dir, 'content');
    await mkdir(join(content, 'etc'), { recursive: true });
    await writeFile(join(content, 'etc/app.conf'), 'mode=blue\nworkers=2\n');
    // A test disk with a real ext4 filesystem (no partition table: the filesystem is /dev/sda).
    await guestfs('virt-make-fs', '--format=qcow2', '--type=ext4', '--size=+40M', content, join(fleet.storeRoot, 'guestdata.qcow2'));
  }, 300_000);
  afterAll(() => fleet?.stop(), 60_000);

  const run = (type: string, payload: Record<string, unknown>) => fleet.run(type, payload, GUESTFS_JOB_S);

  it('read-guest-file returns the file; write-guest-file replaces text and writes a new file; reads show the change', async () => {
    const read = await run('read-guest-file', { disk, mount: '/dev/sda', path: '/etc/app.conf' });
    expect(read.state).toBe('succeeded');
    expect(read.result).toMatchObject({ path: '/etc/app.conf', encoding: 'utf8', content: 'mode=blue\nworkers=2\n', truncated: false });

    const edit = await run('write-guest-file', { disk, mount: '/dev/sda', path: '/etc/app.conf', replace: { find: 'mode=blue', with: 'mode=green' } });
    expect(edit.state).toBe('succeeded');
    expect(edit.result).toMatchObject({ written: true, replacements: 1 });

    const again = await run('read-guest-file', { disk, mount: '/dev/sda', path: '/etc/app.conf' });
    expect(again.result).toMatchObject({ content: 'mode=green\nworkers=2\n' });
    // The same change seen with the bare tool on the host.
    expect(await guestfs('virt-cat', '--format=qcow2', '-a', join(fleet.storeRoot, 'guestdata.qcow2'), '-m', '/dev/sda', '/etc/app.conf')).toBe('mode=green\nworkers=2\n');
  }, 900_000);

  it('guest-disk-usage and list-guest-filesystems return the real figures', async () => {
    const df = await run('guest-disk-usage', { disk });
    expect(df.state).toBe('succeeded');
    const fs = (df.result as { filesystems: Array<{ device: string; sizeBytes: number; usedBytes: number }> }).filesystems;
    expect(fs).toHaveLength(1);
    expect(fs[0]?.device).toBe('/dev/sda');
    expect(fs[0]?.sizeBytes).toBeGreaterThan(30 * 1024 ** 2);
    expect(fs[0]?.usedBytes).toBeGreaterThan(0);

    const list = await run('list-guest-filesystems', { disk });
    expect(list.state).toBe('succeeded');
    expect((list.result as { entries: Array<{ name: string; vfs?: string }> }).entries).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: '/dev/sda', vfs: 'ext4' })]),
    );
  }, 600_000);

  it('guest paths that escape are 400 and reach no host', async () => {
    for (const path of ['../../etc/shadow', 'etc/passwd', '/etc/../shadow', '/a\u0000b']) {
      const r = await fleet.post('/v1/jobs', { type: 'read-guest-file', hostId: fleet.hostId, payload: { disk, path } });
      expect(r.status).toBe(400);
    }
    const r = await fleet.post('/v1/jobs', { type: 'read-guest-file', hostId: fleet.hostId, payload: { disk: { name: '/dev/sda' }, path: '/x' } });
    expect(r.status).toBe(400);
  });
});
