import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiskJob, inspectDiskJob, type JobPayloadInput, type JobReport } from '@virtfleet/contracts';
import { assertSucceeded, CommandFailedError, FakeRunner, type FakeOutcome } from '@virtfleet/exec';
import { parseQemuImgInfo, qemuImgInfo } from '@virtfleet/libvirt';
import { JobContext } from '../job-context';
import { JobFailure } from '../job-failure';
import { StorageRoot } from '../storage/storage-root';
import { DiskHandlers, type ImageGuard } from './disks';

const GiB = 1024 ** 3;

function infoJson(path: string, format: string, virtualSize: number, extra: Record<string, unknown> = {}): FakeOutcome {
  return {
    stdout: JSON.stringify({
      'virtual-size': virtualSize,
      filename: path,
      'cluster-size': 65536,
      format,
      'actual-size': 200704,
      'dirty-flag': false,
      ...extra,
    }),
  };
}

describe('DiskHandlers', () => {
  let dir: string;
  let root: string;
  let store: StorageRoot;
  let disks: DiskHandlers;
  let runner: FakeRunner;
  let reports: JobReport[];
  let jobId: string;
  let ctx: JobContext;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vf-agent-disks-'));
    root = join(dir, 'store');
    store = new StorageRoot(root);
    await store.ensure();
    // The guard's header probe has its own tests (libs/libvirt image-guard); here its qemu-img info is what counts.
    const guard: ImageGuard = async (c, path, format) => ({
      info: parseQemuImgInfo(assertSucceeded(await c.run(qemuImgInfo({ path, format, forceShare: true }))).stdout),
    });
    disks = new DiskHandlers({ store, uri: 'test:///default', guard, maxImageBytes: 64 * 1024 ** 4, storeDisks: async () => [] });
    runner = new FakeRunner();
    reports = [];
    jobId = randomUUID();
    ctx = new JobContext(jobId, 1, new AbortController().signal, runner, {
      report: async (r) => {
        reports.push(r);
        return 'applied';
      },
    });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  // The handlers get payloads the agent parsed with the job's schema; so do the tests.
  const createDisk = (input: JobPayloadInput<'create-disk'>) => disks.createDisk(createDiskJob.payload.parse(input), ctx);
  const inspectDisk = (input: JobPayloadInput<'inspect-disk'>) => disks.inspectDisk(inspectDiskJob.payload.parse(input), ctx);

  /** A qemu-img create that really makes the file it is asked for (argv[5]). */
  function createWrites(outcome: FakeOutcome = {}) {
    runner.on(['qemu-img', 'create'], async (argv) => {
      const path = argv[5];
      if (!path) throw new Error(`no path in ${argv.join(' ')}`);
      await writeFile(path, 'QFI\xfb');
      return outcome;
    });
  }

  /** Every read is shared (-U): a running domain holds the image's write lock. */
  function infoArgv(path: string, format: string) {
    return ['prlimit', '--as=1073741824', '--cpu=30', '--', 'qemu-img', 'info', '--output=json', '-f', format, '-U', path];
  }

  describe('create-disk', () => {
    it('refuses a size above the host limit before any tool runs', async () => {
      const small = new DiskHandlers({ store, uri: 'test:///default', guard: async () => Promise.reject(new Error('not reached')), maxImageBytes: GiB, storeDisks: async () => [] });
      const err = await small.createDisk(createDiskJob.payload.parse({ name: 'huge', sizeGiB: 2 }), ctx).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'disk_too_large' });
      expect(runner.calls).toEqual([]);
    });

    it('creates under a temp name, renames into place and reads the header back', async () => {
      const path = `${root}/d1.qcow2`;
      createWrites();
      runner.on(['prlimit'], infoJson(path, 'qcow2', GiB));

      const result = await createDisk({ name: 'd1', sizeGiB: 1 });

      expect(runner.calls).toEqual([
        ['qemu-img', 'create', '-q', '-f', 'qcow2', `${root}/.d1.qcow2.${jobId}.tmp`, '1073741824'],
        infoArgv(path, 'qcow2'),
      ]);
      expect(result).toEqual({
        name: 'd1',
        path,
        format: 'qcow2',
        virtualSize: GiB,
        actualSize: 200704,
        clusterSize: 65536,
        dirty: false,
        created: true,
      });
      expect(createDiskJob.result.parse(result)).toEqual(result);
      expect(await readdir(root)).toEqual(['d1.qcow2']);
      expect(await readFile(path, 'utf8')).toBe('QFI\xfb');
      expect(reports.map((r) => (r.kind === 'command' ? r.command.seq : -1))).toEqual([0, 1]);
    });

    it('creates a raw disk sized in MiB', async () => {
      const path = `${root}/d2.raw`;
      createWrites();
      runner.on(['prlimit'], infoJson(path, 'raw', 512 * 1024 ** 2));

      const result = await createDisk({ name: 'd2', format: 'raw', sizeMiB: 512 });

      expect(runner.calls).toEqual([
        ['qemu-img', 'create', '-q', '-f', 'raw', `${root}/.d2.raw.${jobId}.tmp`, '536870912'],
        infoArgv(path, 'raw'),
      ]);
      expect(result).toMatchObject({ path, format: 'raw', virtualSize: 536870912, created: true });
    });

    it('is idempotent: a redelivered create finds its disk and only reads it', async () => {
      const path = `${root}/d1.qcow2`;
      createWrites();
      runner.on(['prlimit'], infoJson(path, 'qcow2', GiB));
      await createDisk({ name: 'd1', sizeGiB: 1 });
      runner.calls.length = 0;

      const again = await createDisk({ name: 'd1', sizeGiB: 1 });

      expect(runner.calls).toEqual([infoArgv(path, 'qcow2')]);
      expect(again).toMatchObject({ name: 'd1', path, virtualSize: GiB, created: false });
      expect(await readdir(root)).toEqual(['d1.qcow2']);
    });

    it('refuses a disk that exists with a different size', async () => {
      const path = `${root}/d1.qcow2`;
      await writeFile(path, '');
      runner.on(['prlimit'], infoJson(path, 'qcow2', 2 * GiB));

      const err = await createDisk({ name: 'd1', sizeGiB: 1 }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(JobFailure);
      expect(err).toMatchObject({ code: 'disk_exists', details: { virtualSize: 2 * GiB } });
      expect(runner.calls).toEqual([infoArgv(path, 'qcow2')]);
    });

    it('refuses a qcow2 disk when <name>.raw exists, without running anything', async () => {
      await writeFile(`${root}/d1.raw`, '');

      await expect(createDisk({ name: 'd1', sizeGiB: 1 })).rejects.toMatchObject({ name: 'JobFailure', code: 'disk_exists' });

      expect(runner.calls).toEqual([]);
      expect(await readdir(root)).toEqual(['d1.raw']);
    });

    it('refuses when the disk path is a symlink', async () => {
      await writeFile(join(dir, 'elsewhere'), '');
      await symlink(join(dir, 'elsewhere'), `${root}/d1.qcow2`);

      await expect(createDisk({ name: 'd1', sizeGiB: 1 })).rejects.toMatchObject({ code: 'disk_path_refused' });
      expect(runner.calls).toEqual([]);
    });

    it('leaves no temp file and throws CommandFailedError when qemu-img create fails', async () => {
      const stderr = `qemu-img: ${root}/.d1.qcow2.${jobId}.tmp: Could not resize file: No space left on device\n`;
      createWrites({ exitCode: 1, stderr }); // a half-written file is left by the tool

      const err = await createDisk({ name: 'd1', sizeGiB: 1 }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(CommandFailedError);
      expect(err).toMatchObject({
        exitCode: 1,
        argv: ['qemu-img', 'create', '-q', '-f', 'qcow2', `${root}/.d1.qcow2.${jobId}.tmp`, '1073741824'],
        stderrTail: stderr,
      });
      expect(runner.calls).toHaveLength(1);
      expect(await readdir(root)).toEqual([]);
    });

    it('never replaces a disk that appeared while qemu-img create ran', async () => {
      const path = `${root}/d1.qcow2`;
      runner.on(['qemu-img', 'create'], async (argv) => {
        await writeFile(argv[5] ?? '', 'new empty image');
        await writeFile(path, "somebody else's data"); // another job finished first
        return {};
      });
      runner.on(['prlimit'], infoJson(path, 'qcow2', GiB));

      await expect(createDisk({ name: 'd1', sizeGiB: 1 })).rejects.toMatchObject({ code: 'disk_exists' });
      expect(await readFile(path, 'utf8')).toBe("somebody else's data");
    });
  });

  describe('inspect-disk', () => {
    it('takes the format from the file that exists', async () => {
      const path = `${root}/d1.raw`;
      await writeFile(path, '');
      runner.on(['prlimit'], infoJson(path, 'raw', 10 * GiB, { 'cluster-size': undefined }));

      const result = await inspectDisk({ name: 'd1' });

      expect(runner.calls).toEqual([infoArgv(path, 'raw')]);
      expect(result).toEqual({ name: 'd1', path, format: 'raw', virtualSize: 10 * GiB, actualSize: 200704, dirty: false });
      expect(inspectDiskJob.result.parse(result)).toEqual(result);
    });

    it('uses the format given in the payload', async () => {
      const path = `${root}/d1.qcow2`;
      await writeFile(path, '');
      await writeFile(`${root}/d1.raw`, '');
      runner.on(['prlimit'], infoJson(path, 'qcow2', GiB));

      await expect(inspectDisk({ name: 'd1', format: 'qcow2' })).resolves.toMatchObject({ format: 'qcow2', path });
      expect(runner.calls).toEqual([infoArgv(path, 'qcow2')]);
    });

    it('reports backing file and snapshots from the header', async () => {
      const path = `${root}/d1.qcow2`;
      await writeFile(path, '');
      runner.on(
        ['prlimit'],
        infoJson(path, 'qcow2', GiB, {
          'backing-filename': 'base.qcow2',
          'full-backing-filename': `${root}/base.qcow2`,
          'backing-filename-format': 'qcow2',
          snapshots: [{ id: '1', name: 'clean', 'vm-state-size': 0, 'date-sec': 1700000000, 'date-nsec': 0, 'vm-clock-sec': 0, 'vm-clock-nsec': 0, icount: 0 }],
        }),
      );

      const result = await inspectDisk({ name: 'd1' });

      expect(result).toMatchObject({
        backingFile: `${root}/base.qcow2`,
        backingFormat: 'qcow2',
        snapshots: [{ id: '1', name: 'clean', vmStateSize: 0, date: '2023-11-14T22:13:20.000Z' }],
      });
      expect(inspectDiskJob.result.parse(result)).toEqual(result);
    });

    it('refuses to guess when both <name>.qcow2 and <name>.raw exist', async () => {
      await writeFile(`${root}/d1.qcow2`, '');
      await writeFile(`${root}/d1.raw`, '');

      await expect(inspectDisk({ name: 'd1' })).rejects.toMatchObject({ name: 'JobFailure', code: 'disk_ambiguous' });
      expect(runner.calls).toEqual([]);
    });

    it('a disk that does not exist is disk_not_found, and no tool runs', async () => {
      const err = await inspectDisk({ name: 'd9' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'disk_not_found' });
      expect(runner.calls).toEqual([]);
    });


    it('refuses a symlinked disk before running qemu-img', async () => {
      await writeFile(join(dir, 'host-secret'), '');
      await symlink(join(dir, 'host-secret'), `${root}/d1.qcow2`);

      await expect(inspectDisk({ name: 'd1', format: 'qcow2' })).rejects.toMatchObject({ code: 'disk_path_refused' });
      expect(runner.calls).toEqual([]);
    });
  });
});
