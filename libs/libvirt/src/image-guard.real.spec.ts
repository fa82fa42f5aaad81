import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argvOf, assertSucceeded, NodeCommandRunner, type Command } from '@virtfleet/exec';
import type { DiskFormat } from '@virtfleet/contracts';
import { guardImage, ImageRefusedError, readFileHeader, type GuardedImage } from './image-guard';

// Issue 6, acceptance 3: hostile images made by the real qemu-img 7.2 on this machine, each
// refused with the reason, and those the header gives away refused before qemu-img runs on them.

const TiB = 1024 ** 4;
const runner = new NodeCommandRunner({ baseEnv: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
let dir: string;
let store: string;

async function qemuImg(...args: string[]): Promise<void> {
  assertSucceeded(await runner.run({ cmd: 'qemu-img', args }, { timeoutMs: 10_000 }));
}

/** Guards with the real qemu-img through a recording runner; `headerBytes` cuts the header pass short. */
async function guard(name: string, claimed: DiskFormat, headerBytes?: number) {
  const calls: Command[] = [];
  const promise = guardImage({
    path: join(store, name),
    claimed,
    roots: [store],
    maxVirtualSizeBytes: 64 * TiB,
    readHeader: (p, n) => readFileHeader(p, headerBytes ?? n),
    run: (cmd) => {
      calls.push(cmd);
      return runner.run(cmd, { timeoutMs: 10_000 });
    },
  });
  const outcome = await promise.then(
    (image): { image: GuardedImage } | { error: unknown } => ({ image }),
    (error: unknown) => ({ error }),
  );
  return { outcome, calls };
}

async function refused(name: string, claimed: DiskFormat, headerBytes?: number) {
  const { outcome, calls } = await guard(name, claimed, headerBytes);
  if (!('error' in outcome) || !(outcome.error instanceof ImageRefusedError)) throw new Error(`${name} was not refused`);
  return { err: outcome.error, calls };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-guard-real-'));
  store = join(dir, 'store');
  await mkdir(store);
  const s = (n: string) => join(store, n);
  await qemuImg('create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', s('backing-passwd.qcow2'));
  await qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'outside.data')}`, s('data-file.qcow2'), '1M');
  await qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', s('flat.vmdk'), '1M');
  const descriptor = await readFile(s('flat.vmdk'), 'latin1');
  await writeFile(s('flat.vmdk'), descriptor.replace(/"flat-flat\.vmdk"/, '"/etc/passwd"'), 'latin1');
  await qemuImg('create', '-q', '-f', 'qcow2', s('qcow2-as-raw.img'), '1M');
  await qemuImg('create', '-q', '-f', 'qcow2', s('big.qcow2'), '100T');
  await qemuImg('create', '-q', '-f', 'qcow2', s('plain.qcow2'), '1M');
  await qemuImg('create', '-q', '-f', 'raw', s('zeros.img'), '1M');
  await qemuImg('create', '-q', '-f', 'qcow2', '-b', 'plain.qcow2', '-F', 'qcow2', s('overlay.qcow2'));
  await qemuImg('create', '-q', '-f', 'qcow2', join(dir, 'outside.qcow2'), '1M');
  await qemuImg('create', '-q', '-f', 'qcow2', '-b', '../outside.qcow2', '-F', 'qcow2', s('overlay-escape.qcow2'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('hostile images are refused before qemu-img reads them', () => {
  it.each<[string, DiskFormat, string, RegExp]>([
    ['backing-passwd.qcow2', 'qcow2', 'image_backing_outside_roots', /backing file \/etc\/passwd, outside the storage roots/],
    ['data-file.qcow2', 'qcow2', 'image_data_file', /external data file ".*outside\.data"/],
    ['flat.vmdk', 'raw', 'image_vmdk_extent', /createType monolithicFlat.*"\/etc\/passwd" \(FLAT extent\)/],
    ['flat.vmdk', 'qcow2', 'image_vmdk_extent', /\/etc\/passwd/],
    ['qcow2-as-raw.img', 'raw', 'image_format_mismatch', /claimed raw but carries a qcow2 header/],
    ['big.qcow2', 'qcow2', 'image_too_large', /100 TiB, above this host's limit of 64 TiB/],
    ['overlay-escape.qcow2', 'qcow2', 'image_backing_outside_roots', /outside\.qcow2, outside the storage roots/],
  ])('%s claimed %s', async (name, claimed, code, why) => {
    const { err, calls } = await refused(name, claimed);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(why);
    expect(calls).toEqual([]);
  });
});

// With only the magic and version read, the header pass learns nothing; qemu-img's JSON must
// then give each image away by itself.
describe('second line: the pinned, limited qemu-img info refuses them too', () => {
  it.each<[string, string, RegExp]>([
    ['backing-passwd.qcow2', 'image_backing_outside_roots', /qemu-img info names backing file \/etc\/passwd/],
    ['data-file.qcow2', 'image_data_file', /qemu-img info names an external data file/],
    ['big.qcow2', 'image_too_large', /qemu-img info gives a virtual size of 100 TiB/],
    ['overlay-escape.qcow2', 'image_backing_outside_roots', /outside\.qcow2/],
  ])('%s', async (name, code, why) => {
    const { err, calls } = await refused(name, 'qcow2', 8);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(why);
    expect(calls.map(argvOf)).toEqual([['prlimit', '--as=1073741824', '--cpu=30', '--', 'qemu-img', 'info', '--output=json', '-f', 'qcow2', join(store, name)]]);
  });
});

describe('good images are accepted', () => {
  it('a plain qcow2', async () => {
    const { outcome, calls } = await guard('plain.qcow2', 'qcow2');
    expect(outcome).toMatchObject({ image: { format: 'qcow2', virtualSize: 1024 ** 2 } });
    expect(calls).toHaveLength(1);
  });

  it('a raw file of zeros', async () => {
    const { outcome } = await guard('zeros.img', 'raw');
    expect(outcome).toMatchObject({ image: { format: 'raw', virtualSize: 1024 ** 2 } });
  });

  it('an overlay on a base inside the root, made with -F', async () => {
    const { outcome } = await guard('overlay.qcow2', 'qcow2');
    expect(outcome).toMatchObject({ image: { format: 'qcow2', backingFile: join(store, 'plain.qcow2'), backingFormat: 'qcow2' } });
  });
});

describe('the header probe knows what the real qemu-img writes', () => {
  it.each(['qcow', 'qed', 'vdi', 'vhdx', 'vpc', 'vmdk', 'parallels'])('%s, claimed raw or qcow2, is refused unread', async (format) => {
    await qemuImg('create', '-q', '-f', format, join(store, `probe.${format}`), '1M');
    for (const claimed of ['raw', 'qcow2'] as const) {
      const { err, calls } = await refused(`probe.${format}`, claimed);
      expect(err.code).toBe('image_format_mismatch');
      expect(err.message).toContain(`${format} header`);
      expect(calls).toEqual([]);
    }
  });
});
