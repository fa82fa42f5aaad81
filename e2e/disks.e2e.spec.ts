import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Fleet, onHost } from '@virtfleet/testing';

interface LogItem {
  argv: string[];
  exitCode: number | null;
}

describe('disks end to end: API → PostgreSQL → Redis → agent → qemu-img → API', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ name: 'e2e-disks' });
  }, 120_000);
  afterAll(() => fleet?.stop(), 120_000); // the agent and the API get their grace periods

  it('create-disk makes a real qcow2 in the storage root and logs the qemu-img argv', async () => {
    const job = await fleet.run('create-disk', { name: 'd1', sizeGiB: 1, format: 'qcow2' });
    expect(job.state).toBe('succeeded');
    expect(job.result).toMatchObject({ name: 'd1', format: 'qcow2', virtualSize: 1024 ** 3, created: true });
    const path = join(fleet.storeRoot, 'd1.qcow2');
    expect(job.result?.['path']).toBe(path);

    const info = JSON.parse(await onHost('qemu-img', 'info', '--output=json', '-f', 'qcow2', path)) as Record<string, unknown>;
    expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 1024 ** 3 });

    const logs = await fleet.get<{ items: LogItem[] }>(`/v1/jobs/${job.id}/logs`);
    const create = logs.items.find((l) => l.argv[0] === 'qemu-img' && l.argv[1] === 'create');
    expect(create).toMatchObject({ exitCode: 0, argv: expect.arrayContaining(['-f', 'qcow2', String(1024 ** 3)]) });
  });

  it('inspect-disk reads the header with the format pinned, and finds a raw disk by its file', async () => {
    const made = await fleet.run('create-disk', { name: 'r1', sizeMiB: 64, format: 'raw' });
    expect(made.state).toBe('succeeded');
    const job = await fleet.run('inspect-disk', { name: 'r1' });
    expect(job.state).toBe('succeeded');
    expect(job.result).toMatchObject({ name: 'r1', format: 'raw', virtualSize: 64 * 1024 ** 2 });
    const logs = await fleet.get<{ items: LogItem[] }>(`/v1/jobs/${job.id}/logs`);
    expect(logs.items[0]?.argv).toEqual([
      'prlimit', '--as=1073741824', '--cpu=30', '--',
      'qemu-img', 'info', '--output=json', '-f', 'raw', '-U', join(fleet.storeRoot, 'r1.raw'),
    ]);
    expect(logs.items[0]?.exitCode).toBe(0);
  });

  it('a failing tool ends the job failed with the command, exit code and stderr tail', async () => {
    // A qcow2 magic with nothing sane behind it: the header probe lets it through, qemu-img refuses it.
    const path = join(fleet.storeRoot, 'broken.qcow2');
    await writeFile(path, Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb]), Buffer.alloc(508)]));
    const job = await fleet.run('inspect-disk', { name: 'broken', format: 'qcow2' });
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'image_unreadable', exitCode: 1 });
    expect(job.error?.command).toEqual(expect.arrayContaining(['qemu-img', 'info', path]));
    expect(job.error?.stderrTail).toMatch(/qcow2/i);
  });

  it('a disk name that could escape the root never reaches the host', async () => {
    for (const name of ['../x', 'a;b', '-f', 'x,y=z']) {
      const r = await fleet.post('/v1/jobs', { type: 'create-disk', hostId: fleet.hostId, payload: { name, sizeGiB: 1 } });
      expect(r.status).toBe(400);
    }
    expect(existsSync(join(fleet.storeRoot, '..', 'x.qcow2'))).toBe(false);
  });
});
