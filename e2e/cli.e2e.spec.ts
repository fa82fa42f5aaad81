import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeCommandRunner } from '@virtfleet/exec';
import { REPO_ROOT, guestFixtures, waitFor, type GuestFixtures, Fleet, onHost, removeDomains, TINY_KERNEL_BOOT } from '@virtfleet/testing';

// Issue 9, acceptance 1: the built `virtfleet` CLI drives a real fleet (API, agent, libvirtd
// under TCG, qemu-img) the way an operator does: disks, the tiny VM from virt-install-like
// flags, its power, size, snapshots, console, clone and removal, a network, and `jobs watch`
// under a pseudo-terminal (util-linux `script`), where it draws its progress bar.

const BIN = join(REPO_ROOT, 'apps/cli/bin/virtfleet.js');
const PREFIX = `vfcli${process.pid}-`;
const NET = `${PREFIX}iso`;
const SUBNET = `10.214.${process.pid % 200}`;
const virsh = (...args: string[]) => onHost('virsh', '-q', ...args).then((s) => s.trim());

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

describe('the virtfleet CLI on a real fleet (libvirtd, TCG)', () => {
  let fleet: Fleet;
  let fx: GuestFixtures;
  let home: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    fx = await guestFixtures();
    fleet = await Fleet.start({ name: 'e2e-cli', agentEnv: { VIRTFLEET_ISO_ROOT: fx.dir, VIRTFLEET_INVENTORY_INTERVAL_MS: '2000' } });
    home = await mkdtemp(join(tmpdir(), 'vfcli-e2e-'));
    env = { PATH: process.env['PATH'] ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config'), VIRTFLEET_URL: fleet.url, VIRTFLEET_TOKEN: fleet.token };
  }, 180_000);

  afterAll(async () => {
    await removeDomains(PREFIX);
    await virsh('net-destroy', NET).catch(() => undefined);
    await virsh('net-undefine', NET).catch(() => undefined);
    await fleet?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  }, 120_000);

  async function cli(args: string[], timeoutMs = 180_000): Promise<Ran> {
    const runner = new NodeCommandRunner({ baseEnv: env });
    const res = await runner.run({ cmd: process.execPath, args: [BIN, ...args], timeoutMs });
    return { code: res.exitCode ?? -1, stdout: res.stdout, stderr: res.stderr };
  }
  /** A command that must work; its stdout (parsed with --json). */
  async function ok(args: string[]): Promise<string> {
    const r = await cli(args);
    if (r.code !== 0) throw new Error(`virtfleet ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }
  const json = async <T = Record<string, unknown>>(args: string[]): Promise<T> => JSON.parse(await ok(['--json', ...args])) as T;
  const store = (file: string) => join(fleet.storeRoot, file);

  it('disks: create, inspect, resize by +size, convert with --wait, jobs logs, rm — as qemu-img sees them', async () => {
    const d = `${PREFIX}d1`;
    expect(await ok(['disks', 'create', d, '--size', '64M', '--wait'])).toMatch(/create-disk job \S+ succeeded/);
    expect(JSON.parse(await onHost('qemu-img', 'info', '--output=json', store(`${d}.qcow2`)))).toMatchObject({ format: 'qcow2', 'virtual-size': 64 * 1024 ** 2 });
    expect(await json(['disks', 'inspect', d, '--wait'])).toMatchObject({ state: 'succeeded', result: { virtualSize: 64 * 1024 ** 2 } });
    await waitFor('the disk in the list', async () => (await ok(['disks', 'ls', '--name', d])).includes(d), { timeoutMs: 20_000 });

    const grown = await json<{ id: string; state: string }>(['disks', 'resize', d, '--size', '+64M', '--wait']);
    expect(grown.state).toBe('succeeded');
    expect(JSON.parse(await onHost('qemu-img', 'info', '--output=json', store(`${d}.qcow2`)))).toMatchObject({ 'virtual-size': 128 * 1024 ** 2 });
    const logs = await ok(['jobs', 'logs', grown.id]);
    expect(logs).toMatch(/\$ qemu-img resize .*\n\s+exit 0/);

    expect(await json(['disks', 'convert', d, `${d}r`, '--format', 'raw', '--wait'])).toMatchObject({ state: 'succeeded', progress: 100 });
    expect(existsSync(store(`${d}r.raw`))).toBe(true);
    for (const name of [d, `${d}r`]) expect(await json(['disks', 'rm', name, '--wait'])).toMatchObject({ state: 'succeeded' });
    expect(existsSync(store(`${d}.qcow2`))).toBe(false);
  }, 180_000);

  it('jobs watch under a pseudo-terminal draws the progress bar to 100 %; piped, it prints only the outcome', async () => {
    const d = `${PREFIX}d2`;
    await ok(['disks', 'create', d, '--size', '256M', '--format', 'raw', '--wait']);
    await onHost('qemu-io', '-f', 'raw', '-c', 'write -P 0x5a 0 256M', store(`${d}.raw`));
    await waitFor('the disk in the list', async () => (await ok(['disks', 'ls', '--name', d])).includes(d), { timeoutMs: 20_000 });
    const job = await json<{ id: string }>(['disks', 'convert', d, `${d}q`, '--format', 'qcow2', '--compress']);

    // util-linux script(1) runs the CLI on a pty: stdout and stderr are terminals there.
    const quoted = [process.execPath, BIN, 'jobs', 'watch', job.id].map((a) => `'${a}'`).join(' ');
    const pty = await new NodeCommandRunner({ baseEnv: { ...env, TERM: 'xterm' } }).run({ cmd: 'script', args: ['-qefc', quoted, '/dev/null'], timeoutMs: 180_000 });
    expect(pty.exitCode).toBe(0);
    expect(pty.stdout).toMatch(/convert-disk [█░]+ 100% \| succeeded/);
    expect(pty.stdout).toContain(`convert-disk job ${job.id} succeeded`);

    const piped = await cli(['jobs', 'watch', job.id]);
    expect(piped).toMatchObject({ code: 0, stderr: '' });
    expect(piped.stdout).toBe(`convert-disk job ${job.id} succeeded\n`);
    for (const name of [d, `${d}q`]) await ok(['disks', 'rm', name, '--wait']);
  }, 180_000);

  it('vms: the tiny VM from virt-install flags, then show, xml, console, set-vcpus/-memory, autostart, snapshots, power, clone and undefine', async () => {
    const name = `${PREFIX}tiny`;
    const created = await json<{ state: string; result: Record<string, unknown> }>([
      'vms',
      'create',
      '--name',
      name,
      '--memory',
      '256',
      '--vcpus',
      '1,maxvcpus=2',
      '--disk',
      'size=1,format=qcow2',
      '--boot',
      `kernel=${TINY_KERNEL_BOOT.kernel},initrd=${TINY_KERNEL_BOOT.initrd},kernel_args=${TINY_KERNEL_BOOT.cmdline}`,
      '--wait-for',
      'guest-ready',
      '--ready-marker',
      fx.readyMarker,
      '--wait',
    ]);
    expect(created).toMatchObject({ state: 'succeeded', result: { created: true, virtType: 'qemu' } });
    expect(await virsh('domstate', name)).toBe('running');
    expect(await ok(['vms', 'show', name])).toMatch(/state\s+running/);
    expect(await ok(['vms', 'xml', name])).toContain(`<name>${name}</name>`);

    // The console: the boot so far, then a command typed through stdin; SIGTERM (or SIGINT) leaves.
    // Typed input is held until the console is attached, so it can be given up front.
    let seen = '';
    const leave = new AbortController();
    const con = new NodeCommandRunner({ baseEnv: env }).run(
      { cmd: process.execPath, args: [BIN, 'vms', 'console', name], input: '\necho cli-$((6*7))\n' },
      { onStdout: (s) => (seen += s), signal: leave.signal },
    );
    await waitFor('the boot so far and the guest shell’s answer, through the CLI', async () => seen.includes(fx.readyMarker) && seen.includes('cli-42'), {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    leave.abort(); // SIGTERM: the CLI closes the socket and exits 0
    expect(await con).toMatchObject({ exitCode: 0, stderr: '' });

    expect(await json(['snapshots', 'create', name, 'first', '--wait'])).toMatchObject({ state: 'succeeded' });
    expect(await virsh('snapshot-list', name, '--name')).toBe('first');
    expect(await ok(['snapshots', 'ls', name])).toMatch(/first/);
    expect(await json(['vms', 'destroy', name, '--wait'])).toMatchObject({ state: 'succeeded' });
    expect(await json(['snapshots', 'revert', name, 'first', '--wait'])).toMatchObject({ state: 'succeeded' });
    expect(await virsh('domstate', name)).toBe('running');
    expect(await json(['snapshots', 'rm', name, 'first', '--wait'])).toMatchObject({ state: 'succeeded' });
    expect(await virsh('snapshot-list', name, '--name')).toBe('');

    expect(await json(['vms', 'set-vcpus', name, '2', '--wait'])).toMatchObject({ state: 'succeeded' });
    expect(await json(['vms', 'set-memory', name, '--maximum', '384M', '--wait'])).toMatchObject({ state: 'succeeded' });
    expect(await json(['vms', 'autostart', name, '--wait'])).toMatchObject({ state: 'succeeded' });
    expect(await virsh('dominfo', name)).toMatch(/Autostart:\s+enable/);

    expect(await json(['vms', 'shutdown', name, '--grace', '5', '--force', '--wait'])).toMatchObject({ state: 'succeeded' });
    expect(await virsh('domstate', name)).toBe('shut off');
    const clone = `${PREFIX}copy`;
    expect(await json(['vms', 'clone', name, clone, '--wait'])).toMatchObject({ state: 'succeeded' });
    expect(await virsh('domstate', clone)).toBe('shut off');

    // A job that fails exits 1 with its code and message on stderr: this revert has no snapshot.
    const failed = await cli(['snapshots', 'revert', name, 'no-such-snapshot', '--wait']);
    expect(failed).toMatchObject({ code: 1, stdout: '' });
    expect(failed.stderr).toMatch(/^virtfleet: revert-snapshot job \S+ failed: \w+: .*no-such-snapshot/);

    for (const vm of [clone, name]) expect(await json(['vms', 'undefine', vm, '--remove-storage', '--wait'])).toMatchObject({ state: 'succeeded' });
    expect((await virsh('list', '--all', '--name')).split('\n')).not.toContain(name);
    expect(existsSync(store(`${name}.qcow2`))).toBe(false);
  }, 420_000);

  it('networks: create an isolated network with DHCP, ls, stop, start, autostart --disable, rm — as virsh net-list shows them', async () => {
    const netRow = async () => (await virsh('net-list', '--all')).split('\n').find((l) => l.trim().startsWith(`${NET} `))?.trim().split(/\s+/);
    expect(await json(['networks', 'create', NET, '--kind', 'isolated', '--cidr', `${SUBNET}.1/24`, '--dhcp', `${SUBNET}.10-${SUBNET}.20`, '--wait'])).toMatchObject({
      state: 'succeeded',
    });
    expect(await netRow()).toEqual([NET, 'active', 'yes', 'yes']);
    await waitFor('the network in the list', async () => (await ok(['networks', 'ls'])).includes(NET), { timeoutMs: 20_000 });
    await ok(['networks', 'stop', NET, '--wait']);
    expect((await netRow())?.[1]).toBe('inactive');
    await ok(['networks', 'start', NET, '--wait']);
    await ok(['networks', 'autostart', NET, '--disable', '--wait']);
    expect(await netRow()).toEqual([NET, 'active', 'no', 'yes']);
    await ok(['networks', 'rm', NET, '--wait']);
    expect(await netRow()).toBeUndefined();
  }, 180_000);
});
