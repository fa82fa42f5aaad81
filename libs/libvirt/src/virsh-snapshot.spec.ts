import { argvOf, NodeCommandRunner, type Command } from '@virtfleet/exec';
import { UnsafeValueError } from './virt-install';
import {
  classifySnapshotError,
  defaultSnapshotName,
  SNAPSHOT_TIMEOUT_MS,
  snapshotCreateAsArgs,
  snapshotNamedArgs,
  virshSnapshotCreateAs,
  virshSnapshotDelete,
  virshSnapshotRevert,
} from './virsh-snapshot';

const URI = 'qemu:///system';
const U = '92d1a097-3e99-4188-9c8f-18d9a4da8bb4';
const V = ['virsh', '-q', '-c', URI];
// The one domain of libvirt's test driver.
const TEST_URI = 'test:///default';
const TEST_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';

const PATH = process.env['PATH'] ?? '/usr/bin:/bin';
const runner = new NodeCommandRunner({ baseEnv: { PATH } });
const realRun = (cmd: Command) => runner.run(cmd);

describe('snapshot builders', () => {
  it.each([
    ['create', virshSnapshotCreateAs(URI, U, 's-run1'), ['snapshot-create-as', '--domain', U, '--name', 's-run1']],
    [
      'create with a description',
      virshSnapshotCreateAs(URI, U, 's-off1', 'before the upgrade'),
      ['snapshot-create-as', '--domain', U, '--name', 's-off1', '--description', 'before the upgrade'],
    ],
    ['create with an empty description', virshSnapshotCreateAs(URI, U, '1795618441', ''), ['snapshot-create-as', '--domain', U, '--name', '1795618441']],
    ['revert', virshSnapshotRevert(URI, U, 's-run1'), ['snapshot-revert', '--domain', U, '--snapshotname', 's-run1']],
    ['delete', virshSnapshotDelete(URI, U, 's-run1'), ['snapshot-delete', '--domain', U, '--snapshotname', 's-run1']],
  ])('%s', (_label, cmd, args) => {
    expect(argvOf(cmd)).toEqual([...V, ...args]);
    expect(cmd.timeoutMs).toBe(SNAPSHOT_TIMEOUT_MS);
  });

  it('keeps a description with shell and virsh syntax as one argv element', () => {
    const text = `--name x; snapshot-delete 'a' "b" $(id) # c`;
    expect(argvOf(virshSnapshotCreateAs(URI, U, 's1', text)).slice(-2)).toEqual(['--description', text]);
  });

  it.each(['', '-rf', '.hidden', 'a/b', 'a b', "it's", 'x'.repeat(65), 'a;b', 'a\nb'])('refuses the snapshot name %#', (name) => {
    expect(() => virshSnapshotCreateAs(URI, U, name)).toThrow(UnsafeValueError);
    expect(() => virshSnapshotRevert(URI, U, name)).toThrow(UnsafeValueError);
    expect(() => virshSnapshotDelete(URI, U, name)).toThrow(UnsafeValueError);
  });

  it.each([
    ['a newline', 'two\nlines'],
    ['a tab', 'tab\there'],
    ['a NUL', 'nul\u0000'],
    ['1001 characters', 'x'.repeat(1001)],
  ])('refuses a description with %s', (_label, text) => {
    expect(() => virshSnapshotCreateAs(URI, U, 's1', text)).toThrow(UnsafeValueError);
  });

  it('refuses a domain that is not a UUID', () => {
    expect(() => virshSnapshotRevert(URI, 'web-1', 's1')).toThrow(UnsafeValueError);
  });

  it('gives the same checked words for a virsh batch (inventory.ts actOnDomain quotes each one)', () => {
    expect(snapshotCreateAsArgs(U, 's1', 'd')).toEqual(argvOf(virshSnapshotCreateAs(URI, U, 's1', 'd')).slice(V.length));
    expect(snapshotNamedArgs('snapshot-delete', U, 's1')).toEqual(argvOf(virshSnapshotDelete(URI, U, 's1')).slice(V.length));
    expect(() => snapshotNamedArgs('snapshot-revert', U, "a' ; b")).toThrow(UnsafeValueError);
    expect(() => snapshotCreateAsArgs(U, 's1', 'two\nlines')).toThrow(UnsafeValueError);
  });
});

describe('with real virsh (test driver)', () => {
  it('hands virsh the description as one value, even one that looks like options', async () => {
    // --print-xml shows what would be created without creating it (the test driver forgets
    // everything between connections anyway).
    const text = `--name evil; snapshot-delete --current 'q' "dq" & <x>`;
    const cmd = virshSnapshotCreateAs(TEST_URI, TEST_UUID, 's1', text);
    const res = await realRun({ ...cmd, args: [...cmd.args, '--print-xml'] });
    expect(res.stderr).toBe('');
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('<name>s1</name>');
    expect(res.stdout).toContain('<description>--name evil; snapshot-delete --current &apos;q&apos; &quot;dq&quot; &amp; &lt;x&gt;</description>');
  });

  it('creates on a running domain, prints nothing under -q', async () => {
    const res = await realRun(virshSnapshotCreateAs(TEST_URI, TEST_UUID, 's1', '-starts with a dash'));
    expect({ exitCode: res.exitCode, stdout: res.stdout, stderr: res.stderr }).toEqual({ exitCode: 0, stdout: '', stderr: '' });
  });

  it('says "snapshot not found" for an unknown name', async () => {
    for (const cmd of [virshSnapshotRevert(TEST_URI, TEST_UUID, 'nosuch'), virshSnapshotDelete(TEST_URI, TEST_UUID, 'nosuch')]) {
      const res = await realRun(cmd);
      expect(res.exitCode).toBe(1);
      expect(classifySnapshotError(res.stderr)).toBe('snapshot_not_found');
    }
  });

  it('says "domain not found" for an unknown domain', async () => {
    const res = await realRun(virshSnapshotDelete(TEST_URI, U, 's1'));
    expect(res.exitCode).toBe(1);
    expect(classifySnapshotError(res.stderr)).toBe('domain_not_found');
  });
});

describe('classifySnapshotError', () => {
  it.each([
    ["error: Domain snapshot not found: no domain snapshot with matching name 'nosuch'\n", 'snapshot_not_found'],
    ['error: operation failed: domain moment s1 already exists\n', 'snapshot_exists'],
    ["error: failed to get domain '92d1a097-3e99-4188-9c8f-18d9a4da8bb4'\n", 'domain_not_found'],
    ['error: internal error: unable to execute QEMU command \'savevm\': Device vdb is not writable\n', 'other'],
  ])('%j → %s', (stderr, kind) => {
    expect(classifySnapshotError(stderr)).toBe(kind);
  });
});

describe('defaultSnapshotName', () => {
  it('is epoch seconds, as virsh snapshot-create names them', () => {
    expect(defaultSnapshotName(new Date('2026-11-25T12:00:00.999Z'))).toBe('1795608000');
  });
});
