import { NodeCommandRunner, type Command } from '@virtfleet/exec';
import { UnsafeValueError } from './virt-install';
import { virsh } from './virsh';
import { defaultSnapshotName, snapshotCreateAsArgs, snapshotNamedArgs } from './virsh-snapshot';

const U = '92d1a097-3e99-4188-9c8f-18d9a4da8bb4';
// The one domain of libvirt's test driver.
const TEST_URI = 'test:///default';
const TEST_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';

const PATH = process.env['PATH'] ?? '/usr/bin:/bin';
const runner = new NodeCommandRunner({ baseEnv: { PATH } });
const realRun = (cmd: Command) => runner.run(cmd);
// The words as virsh takes them in argv form (a job quotes each one into its batch: actOnDomain).
const create = (uri: string, uuid: string, name: string, description?: string) => virsh(uri, ...snapshotCreateAsArgs(uuid, name, description));
const named = (verb: 'snapshot-revert' | 'snapshot-delete', uri: string, uuid: string, name: string) => virsh(uri, ...snapshotNamedArgs(verb, uuid, name));

describe('snapshot words', () => {
  it.each([
    ['create', snapshotCreateAsArgs(U, 's-run1'), ['snapshot-create-as', '--domain', U, '--name', 's-run1']],
    [
      'create with a description',
      snapshotCreateAsArgs(U, 's-off1', 'before the upgrade'),
      ['snapshot-create-as', '--domain', U, '--name', 's-off1', '--description', 'before the upgrade'],
    ],
    ['create with an empty description', snapshotCreateAsArgs(U, '1795618441', ''), ['snapshot-create-as', '--domain', U, '--name', '1795618441']],
    ['revert', snapshotNamedArgs('snapshot-revert', U, 's-run1'), ['snapshot-revert', '--domain', U, '--snapshotname', 's-run1']],
    ['delete', snapshotNamedArgs('snapshot-delete', U, 's-run1'), ['snapshot-delete', '--domain', U, '--snapshotname', 's-run1']],
  ])('%s', (_label, words, expected) => {
    expect(words).toEqual(expected);
  });

  it('keeps a description with shell and virsh syntax as one word', () => {
    const text = `--name x; snapshot-delete 'a' "b" $(id) # c`;
    expect(snapshotCreateAsArgs(U, 's1', text).slice(-2)).toEqual(['--description', text]);
  });

  it.each(['', '-rf', '.hidden', 'a/b', 'a b', "it's", 'x'.repeat(65), 'a;b', 'a\nb'])('refuses the snapshot name %#', (name) => {
    expect(() => snapshotCreateAsArgs(U, name)).toThrow(UnsafeValueError);
    expect(() => snapshotNamedArgs('snapshot-revert', U, name)).toThrow(UnsafeValueError);
    expect(() => snapshotNamedArgs('snapshot-delete', U, name)).toThrow(UnsafeValueError);
  });

  it.each([
    ['a newline', 'two\nlines'],
    ['a tab', 'tab\there'],
    ['a NUL', 'nul\u0000'],
    ['1001 characters', 'x'.repeat(1001)],
  ])('refuses a description with %s', (_label, text) => {
    expect(() => snapshotCreateAsArgs(U, 's1', text)).toThrow(UnsafeValueError);
  });

  it('refuses a domain that is not a UUID', () => {
    expect(() => snapshotNamedArgs('snapshot-revert', 'web-1', 's1')).toThrow(UnsafeValueError);
  });
});

describe('with real virsh (test driver)', () => {
  it('hands virsh the description as one value, even one that looks like options', async () => {
    // --print-xml shows what would be created without creating it (the test driver forgets
    // everything between connections anyway).
    const text = `--name evil; snapshot-delete --current 'q' "dq" & <x>`;
    const cmd = create(TEST_URI, TEST_UUID, 's1', text);
    const res = await realRun({ ...cmd, args: [...cmd.args, '--print-xml'] });
    expect(res.stderr).toBe('');
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('<name>s1</name>');
    expect(res.stdout).toContain('<description>--name evil; snapshot-delete --current &apos;q&apos; &quot;dq&quot; &amp; &lt;x&gt;</description>');
  });

  it('creates on a running domain, prints nothing under -q', async () => {
    const res = await realRun(create(TEST_URI, TEST_UUID, 's1', '-starts with a dash'));
    expect({ exitCode: res.exitCode, stdout: res.stdout, stderr: res.stderr }).toEqual({ exitCode: 0, stdout: '', stderr: '' });
  });

  // the words actOnDomain (inventory.ts) reads as "nothing to do"
  it('says "snapshot not found" for an unknown name', async () => {
    for (const cmd of [named('snapshot-revert', TEST_URI, TEST_UUID, 'nosuch'), named('snapshot-delete', TEST_URI, TEST_UUID, 'nosuch')]) {
      const res = await realRun(cmd);
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toContain("error: Domain snapshot not found: no domain snapshot with matching name 'nosuch'\n");
    }
  });

  it('says "failed to get domain" for an unknown domain', async () => {
    const res = await realRun(named('snapshot-delete', TEST_URI, U, 's1'));
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain(`error: failed to get domain '${U}'`);
  });
});

describe('defaultSnapshotName', () => {
  it('is epoch seconds, as virsh snapshot-create names them', () => {
    expect(defaultSnapshotName(new Date('2026-11-25T12:00:00.999Z'))).toBe('1795608000');
  });
});
