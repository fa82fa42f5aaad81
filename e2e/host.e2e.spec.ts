import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeCommandRunner } from '@virtfleet/exec';
import { REPO_ROOT, testServices, Fleet } from '@virtfleet/testing';

interface Check {
  id: string;
  status: 'pass' | 'warn' | 'fail';
  message: string;
  fix?: string;
}

interface Facts {
  virtType: string;
  cpu: { vmx: boolean; svm: boolean; count: number };
  kvm: { device: boolean; usable: boolean; probe: string };
  libvirt: { reachable: boolean; uri: string };
  versions: Record<string, string>;
  collectedAt: string;
}

describe('the host as the fleet sees it', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ name: 'e2e-host' });
  }, 120_000);
  afterAll(() => fleet?.stop(), 120_000); // the agent and the API get their grace periods

  it('is online with facts that tell the truth about KVM', async () => {
    const { items } = await fleet.get<{ items: Array<{ id: string; state: string; facts: Facts }> }>('/v1/hosts');
    const host = items.find((h) => h.id === fleet.hostId);
    if (!host) throw new Error('the fleet does not list its host');
    expect(host.state).toBe('online');
    const f = host.facts;
    expect(f.virtType).toBe(f.kvm.usable ? 'kvm' : 'qemu');
    expect(f.kvm.probe.length).toBeGreaterThan(0);
    // Without vmx/svm no KVM guest can run (this machine: PVM-backed /dev/kvm): TCG it is.
    if (!f.cpu.vmx && !f.cpu.svm) expect(f.kvm.usable).toBe(false);
    expect(f.libvirt).toMatchObject({ reachable: true, uri: 'qemu:///system' });
    expect(f.versions).toMatchObject({ libvirt: expect.any(String), qemu: expect.any(String), qemuImg: expect.any(String) });
  });

  it('refresh-host collects the facts again, probes KVM again, and updates the host', async () => {
    const before = await fleet.get<{ facts: Facts }>(`/v1/hosts/${fleet.hostId}`);
    const job = await fleet.run('refresh-host', {});
    expect(job.state).toBe('succeeded');
    const facts = job.result as unknown as Facts;
    expect(facts.virtType).toBe(facts.kvm.usable ? 'kvm' : 'qemu');
    expect(facts.collectedAt > before.facts.collectedAt).toBe(true);
    const after = await fleet.get<{ facts: Facts }>(`/v1/hosts/${fleet.hostId}`);
    expect(after.facts.collectedAt).toBe(facts.collectedAt);
    const logs = await fleet.get<{ items: Array<{ argv: string[] }> }>(`/v1/jobs/${job.id}/logs`);
    const programs = logs.items.map((l) => l.argv[0]);
    expect(programs).toEqual(expect.arrayContaining(['virsh', 'qemu-img', 'virt-install']));
    if (facts.kvm.device) expect(programs).toContain('qemu-system-x86_64');
  });

  it('virtfleet-agent doctor tells the truth about this host, and a 0700 storage root fails with its fix', async () => {
    const closed = await mkdtemp(join(testServices().dir, 'closed-')); // mkdtemp makes it 0700
    const root = join(closed, 'store');
    await mkdir(root);
    const runner = new NodeCommandRunner({ baseEnv: { ...process.env, VIRTFLEET_STORAGE_ROOT: root } });
    const r = await runner.run({ cmd: 'node', args: [join(REPO_ROOT, 'dist/apps/agent/src/main.js'), 'doctor', '--json'] }, { timeoutMs: 120_000 });
    expect(r.exitCode).toBe(1);
    const checks = new Map((JSON.parse(r.stdout) as { checks: Check[] }).checks.map((c) => [c.id, c]));
    expect(checks.get('libvirtd')?.status).toBe('pass');
    expect(checks.get('storage-root')).toMatchObject({ status: 'fail', fix: `chmod o+x ${closed}` });
    const facts = (await fleet.get<{ facts: Facts }>(`/v1/hosts/${fleet.hostId}`)).facts;
    if (!facts.cpu.vmx && !facts.cpu.svm) expect(checks.get('cpu-virtualization')?.status).toBe('warn');
    if (!facts.kvm.usable) expect(checks.get('kvm')).toMatchObject({ status: 'warn', message: expect.stringContaining('TCG') });
  });

  it('the host shows the doctor report its agent sent', async () => {
    const host = await fleet.get<{ doctor: { checks: Check[] } | null }>(`/v1/hosts/${fleet.hostId}`);
    expect(host.doctor?.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['kvm', 'libvirtd', 'storage-root', 'qemu-img']));
    expect(host.doctor?.checks.find((c) => c.id === 'storage-root')?.status).toBe('pass');
  });
});
