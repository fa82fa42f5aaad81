import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeCommandRunner } from '@virtfleet/exec';
import { REPO_ROOT } from '@virtfleet/testing';
import { ApiHarness } from './harness';

// The built `virtfleet` CLI (npm test builds dist/ before Jest runs) against a real API: login,
// tables and --json, a job, and the exit codes that tell the outcomes apart.

const BIN = join(REPO_ROOT, 'apps/cli/bin/virtfleet.js');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

describe('the virtfleet CLI against the API', () => {
  let api: ApiHarness;
  let home: string;
  beforeAll(async () => {
    api = await ApiHarness.start();
    home = await mkdtemp(join(tmpdir(), 'vfcli-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
    await api.close();
  }, 60_000);

  async function cli(args: string[], env: Record<string, string> = {}): Promise<Ran> {
    // A clean environment: no VIRTFLEET_URL/TOKEN from the machine, its own config folder.
    const runner = new NodeCommandRunner({ baseEnv: { PATH: process.env['PATH'], HOME: home, XDG_CONFIG_HOME: join(home, 'config') } });
    const res = await runner.run({ cmd: process.execPath, args: [BIN, ...args], env, timeoutMs: 30_000 });
    return { code: res.exitCode ?? -1, stdout: res.stdout, stderr: res.stderr };
  }

  it('login stores the URL and token (mode 0600) after checking them; later commands use them', async () => {
    const bad = await cli(['login', '--url', api.url, '--token', 'vft_wrong']);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain('unauthorized');
    const ok = await cli(['login', '--url', api.url, '--token', api.adminToken]);
    expect(ok).toMatchObject({ code: 0 });
    const file = join(home, 'config', 'virtfleet', 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ url: api.url, token: api.adminToken });

    await api.host('cli-h1');
    const table = await cli(['hosts', 'ls']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/NAME[\s\S]*cli-h1/);
    const json = await cli(['--json', 'hosts', 'ls']);
    expect((JSON.parse(json.stdout) as Array<{ name: string }>).map((h) => h.name)).toContain('cli-h1');
  }, 30_000);

  it('disks create submits the job; jobs show and ls find it; a taken name is an API error (exit 4)', async () => {
    const host = await api.host('cli-h2');
    const made = await cli(['--json', 'disks', 'create', 'cli-d1', '--size', '1G', '--host', host.id]);
    expect(made.code).toBe(0);
    const job = JSON.parse(made.stdout) as { id: string; type: string; payload: Record<string, unknown> };
    expect(job).toMatchObject({ type: 'create-disk', payload: { name: 'cli-d1', sizeMiB: 1024, format: 'qcow2' } });
    const shown = await cli(['jobs', 'show', job.id]);
    expect(shown.stdout).toMatch(/type\s+create-disk/);
    const listed = await cli(['--json', 'jobs', 'ls', '--host', host.id]);
    expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((j) => j.id)).toEqual([job.id]);
    const again = await cli(['disks', 'create', 'cli-d1', '--size', '1G', '--host', host.id]);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('disk_exists');
  }, 30_000);

  it('usage errors exit 2, an unreachable API 3 with a hint, a --wait that gives up 5', async () => {
    expect((await cli(['disks', 'create', 'x', '--size', 'lots'])).code).toBe(2);
    expect((await cli(['no-such-command'])).code).toBe(2);
    const noCreds = await cli(['hosts', 'ls'], { XDG_CONFIG_HOME: join(home, 'empty') });
    expect(noCreds.code).toBe(2);
    expect(noCreds.stderr).toContain('virtfleet login');
    // A port nobody listens on: taken and freed again.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const down = await cli(['--url', `http://127.0.0.1:${port}`, '--token', 'x', 'hosts', 'ls']);
    expect(down.code).toBe(3);
    expect(down.stderr.trim().split('\n')).toHaveLength(2);
    expect(down.stderr).toContain('cannot reach the virtfleet API');
    // No agent serves this host: the job stays queued and --wait gives up.
    const host = await api.host('cli-h3');
    const waited = await cli(['disks', 'create', 'cli-d2', '--size', '64M', '--host', host.id, '--wait', '--timeout', '1']);
    expect(waited.code).toBe(5);
    expect(waited.stderr).toContain('still queued');
    expect((await cli(['--help'])).stdout).toContain('Exit codes');
  }, 30_000);

  const nat9 = { name: 'nat9', active: true, autostart: true, persistent: true, bridge: 'virbr9', forward: 'nat', cidr: '10.213.9.1/24' };

  /** A running domain reported by a fake host's inventory, adopted: a managed VM whose jobs nobody runs. */
  async function adoptedVm(hostName: string, name: string, uuid: string) {
    const host = await api.host(hostName);
    const domain = {
      uuid,
      name,
      state: 'running',
      persistent: true,
      autostart: false,
      vcpus: 1,
      maxVcpus: 2,
      memoryMiB: 256,
      maxMemoryMiB: 512,
      disks: [],
      interfaces: [{ type: 'network', mac: '52:54:00:00:00:42', network: 'nat0', addresses: ['10.213.5.42'] }],
      graphics: [],
      snapshots: [{ name: 'snap1', current: true, state: 'running' }],
      xml: `<domain type='qemu'><name>${name}</name></domain>`,
    };
    await api.call('POST', '/v1/agent/inventory', { token: host.agentToken, body: { kind: 'full', takenAt: new Date().toISOString(), domains: [domain], networks: [nat9], pools: [] } });
    const vm = (await api.call<{ items: Array<{ id: string }> }>('GET', `/v1/vms?hostId=${host.id}`)).body.items[0];
    await api.call('POST', `/v1/vms/${vm?.id ?? ''}/adopt`);
    return { host, vmId: vm?.id ?? '' };
  }

  it('vms: ls and show by name, power actions become their jobs, an unknown VM is exit 4', async () => {
    const uuid = '8f2b6a4e-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
    const { host } = await adoptedVm('cli-h4', 'cli-vm1', uuid);

    const table = await cli(['vms', 'ls', '--host', host.id]);
    expect(table.stdout).toMatch(/cli-vm1[\s\S]*running[\s\S]*10\.213\.5\.42/);
    const shown = await cli(['--json', 'vms', 'show', 'cli-vm1']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ uuid, name: 'cli-vm1', state: 'running' });
    const start = await cli(['--json', 'vms', 'start', 'cli-vm1']);
    expect(JSON.parse(start.stdout)).toMatchObject({ type: 'start-vm', payload: { vm: { uuid, name: 'cli-vm1' } } });
    const stop = await cli(['--json', 'vms', 'shutdown', 'cli-vm1', '--grace', '30', '--force']);
    expect(JSON.parse(stop.stdout)).toMatchObject({ type: 'shutdown-vm', payload: { timeoutSeconds: 30, force: true } });
    expect((await cli(['vms', 'shutdown', 'cli-vm1', '--grace', 'soon'])).code).toBe(2);
    const missing = await cli(['vms', 'start', 'no-such-vm']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('no VM no-such-vm');
  }, 30_000);

  it('every VM, snapshot, network, disk, host and token command becomes the job or call it names', async () => {
    const uuid = '4d1c7a52-9e3b-4f6a-8c2d-1b0e9f8a7c61';
    const { host, vmId } = await adoptedVm('cli-h5', 'cli-vm2', uuid);
    const json = async (args: string[]) => {
      const r = await cli(['--json', ...args]);
      if (r.code !== 0) throw new Error(`virtfleet ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const vm = { uuid, name: 'cli-vm2' };
    expect(await json(['vms', 'set-vcpus', 'cli-vm2', '2', '--maximum', '4'])).toMatchObject({ type: 'set-vcpus', payload: { vm, vcpus: 2, maxVcpus: 4 } });
    expect(await json(['vms', 'set-memory', 'cli-vm2', '1G', '--maximum', '2048'])).toMatchObject({ type: 'set-memory', payload: { memoryMiB: 1024, maxMemoryMiB: 2048 } });
    expect(await json(['vms', 'autostart', 'cli-vm2', '--disable'])).toMatchObject({ type: 'set-autostart', payload: { enabled: false } });
    expect(await json(['vms', 'clone', 'cli-vm2', 'cli-vm2b', '--nonsparse'])).toMatchObject({ type: 'clone-vm', payload: { name: 'cli-vm2b', sparse: false } });
    expect(await json(['vms', 'attach-interface', 'cli-vm2', '--bridge', 'br0', '--no-live'])).toMatchObject({
      type: 'attach-interface',
      payload: { nic: { bridge: 'br0', model: 'virtio' }, live: false, config: true },
    });
    expect(await json(['vms', 'detach-interface', 'cli-vm2', '52:54:00:00:00:42'])).toMatchObject({ type: 'detach-interface', payload: { mac: '52:54:00:00:00:42' } });
    expect(await json(['vms', 'undefine', 'cli-vm2', '--remove-storage', '--delete-snapshots'])).toMatchObject({
      type: 'undefine-vm',
      payload: { removeStorage: true, deleteSnapshots: true },
    });
    expect((await cli(['vms', 'xml', 'cli-vm2'])).stdout).toContain('<name>cli-vm2</name>');
    expect((await cli(['vms', 'clone', 'cli-vm2'])).code).toBe(2);

    const snaps = await cli(['snapshots', 'ls', 'cli-vm2']);
    expect(snaps.stdout).toMatch(/snap1[\s\S]*yes/);
    expect(await json(['snapshots', 'create', 'cli-vm2', 'before', '--description', 'a test'])).toMatchObject({
      type: 'create-snapshot',
      payload: { vm, name: 'before', description: 'a test' },
    });
    expect(await json(['snapshots', 'revert', 'cli-vm2', 'snap1'])).toMatchObject({ type: 'revert-snapshot', payload: { name: 'snap1' } });
    expect(await json(['snapshots', 'rm', 'cli-vm2', 'snap1'])).toMatchObject({ type: 'delete-snapshot', payload: { name: 'snap1' } });

    expect(await json(['networks', 'create', 'nat9', '--cidr', '10.213.9.1/24', '--dhcp', '10.213.9.10-10.213.9.20', '--host', 'cli-h5'])).toMatchObject({
      type: 'define-network',
      hostId: host.id,
      payload: { network: { kind: 'nat', name: 'nat9', cidr: '10.213.9.1/24', dhcp: { start: '10.213.9.10', end: '10.213.9.20' } }, start: true, autostart: true },
    });
    expect(await json(['networks', 'stop', 'nat9', '--host', host.id])).toMatchObject({ type: 'stop-network', payload: { name: 'nat9' } });
    expect(await json(['networks', 'autostart', 'nat9', '--disable', '--host', 'cli-h5'])).toMatchObject({ type: 'set-network-autostart', payload: { enabled: false } });
    expect(await json(['networks', 'rm', 'nat9', '--force', '--host', 'cli-h5'])).toMatchObject({ type: 'undefine-network', payload: { name: 'nat9', force: true } });
    const noCidr = await cli(['networks', 'create', 'nat8', '--host', 'cli-h5']);
    expect(noCidr).toMatchObject({ code: 2 });

    // Disks by name: a disk row the host's storage report made.
    await api.call('POST', '/v1/agent/inventory', {
      token: host.agentToken,
      body: { kind: 'storage', takenAt: new Date().toISOString(), disks: [{ name: 'cli-d9', format: 'qcow2', path: '/srv/store/cli-d9.qcow2', virtualSize: 1024 ** 3, actualSize: 196_608 }], isos: [] },
    });
    expect(await json(['disks', 'resize', 'cli-d9', '--size', '+1G', '--host', 'cli-h5'])).toMatchObject({ type: 'resize-disk', payload: { name: 'cli-d9', sizeMiB: 2048 } });
    expect(await json(['disks', 'convert', 'cli-d9', 'cli-d9r', '--format', 'raw'])).toMatchObject({ type: 'convert-disk', payload: { source: 'cli-d9', target: 'cli-d9r', format: 'raw' } });
    expect(await json(['disks', 'inspect', 'cli-d9'])).toMatchObject({ type: 'inspect-disk' });
    expect(await json(['disks', 'rm', 'cli-d9'])).toMatchObject({ type: 'delete-disk', payload: { name: 'cli-d9' } });

    expect(await json(['hosts', 'maintenance', 'cli-h5'])).toMatchObject({ name: 'cli-h5', maintenance: true });
    expect((await cli(['hosts', 'maintenance', 'cli-h5', '--off'])).stdout).toContain('maintenance off');
    expect(await json(['hosts', 'join-token', '--ttl', '600'])).toMatchObject({ token: expect.any(String) });

    const token = await json(['tokens', 'create', 'cli-reader', '--scope', 'read']);
    expect(token).toMatchObject({ name: 'cli-reader', scopes: ['read'], token: expect.any(String) });
    expect((await cli(['tokens', 'ls'])).stdout).toContain('cli-reader');
    expect((await cli(['--token', String(token['token']), 'whoami'])).stdout).toMatch(/^name\s+cli-reader\nid\s+\S+\nscopes\s+read\n$/);
    const denied = await cli(['--token', String(token['token']), 'vms', 'start', 'cli-vm2']);
    expect(denied.code).toBe(4);
    expect(denied.stderr).toContain('forbidden');
    expect((await cli(['tokens', 'revoke', 'cli-reader'])).code).toBe(0);
    expect((await cli(['--token', String(token['token']), 'hosts', 'ls'])).code).toBe(4);

    // Completion asks the API for names.
    const names = await cli(['__complete', '--', 'vms', 'start', 'cli-vm']);
    expect(names.stdout.split('\n')).toContain('cli-vm2');
    expect((await cli(['completion', 'bash'])).stdout).toContain('complete -o default -F _virtfleet virtfleet');
    void vmId;
  }, 90_000);
});
