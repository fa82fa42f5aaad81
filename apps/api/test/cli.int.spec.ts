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
  });

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
  });

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
  });

  it('vms: ls and show by name, power actions become their jobs, an unknown VM is exit 4', async () => {
    const host = await api.host('cli-h4');
    const uuid = '8f2b6a4e-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
    const domain = {
      uuid,
      name: 'cli-vm1',
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
      snapshots: [],
      xml: "<domain type='qemu'><name>cli-vm1</name></domain>",
    };
    await api.call('POST', '/v1/agent/inventory', { token: host.agentToken, body: { kind: 'full', takenAt: new Date().toISOString(), domains: [domain], networks: [], pools: [] } });
    const vm = (await api.call<{ items: Array<{ id: string }> }>('GET', `/v1/vms?hostId=${host.id}`)).body.items[0];
    await api.call('POST', `/v1/vms/${vm?.id ?? ''}/adopt`);

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
  });
});
