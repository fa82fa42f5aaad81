import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refreshHostJob, type HostFacts, type JobReport } from '@virtfleet/contracts';
import { FakeRunner, type FakeOutcome } from '@virtfleet/exec';
import { HostFactsCollector } from '../host/host-facts';
import { JobContext } from '../job-context';
import { refreshHostHandler } from './host';

const withKvm = existsSync('/dev/kvm') ? it : it.skip;

describe('refresh-host handler', () => {
  let storageRoot: string;
  let runner: FakeRunner;
  let reports: JobReport[];
  let ctx: JobContext;
  let published: HostFacts[];
  let handler: ReturnType<typeof refreshHostHandler>;

  beforeEach(async () => {
    storageRoot = await mkdtemp(join(tmpdir(), 'vf-agent-refresh-'));
    runner = new FakeRunner()
      .on('qemu-system-x86_64', { exitCode: 134, stderr: 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\n' })
      .on('virsh', { exitCode: 1, stderr: 'error: failed to connect to the hypervisor\n' })
      .on('virt-install', { stdout: '4.1.0\n' })
      .on(['qemu-img', '--version'], { stdout: 'qemu-img version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n' });
    reports = [];
    ctx = new JobContext(randomUUID(), 1, new AbortController().signal, runner, {
      report: async (r) => {
        reports.push(r);
        return 'applied';
      },
    });
    published = [];
    const collector = new HostFactsCollector({
      libvirtUri: 'qemu:///system',
      storageRoot,
      kvmProbeKernel: '/boot/vmlinuz-probe-test',
      kvmProbeTimeoutMs: 25_000,
      agentVersion: '0.1.0-test',
    });
    handler = refreshHostHandler(collector, (f) => published.push(f));
  });
  afterEach(() => rm(storageRoot, { recursive: true, force: true }));

  it('collects facts through the job context, tolerating failing tools, and publishes them', async () => {
    const facts = await handler(refreshHostJob.payload.parse({}), ctx);

    expect(refreshHostJob.result.parse(facts)).toEqual(facts);
    expect(facts.libvirt).toEqual({ uri: 'qemu:///system', reachable: false, error: 'error: failed to connect to the hypervisor' });
    expect(facts.virtType).toBe('qemu');
    expect(published).toEqual([facts]);
    // every command the collector ran is in the job's log, failing ones included
    const logged = reports.flatMap((r) => (r.kind === 'command' ? [r.command.argv] : []));
    expect(logged).toHaveLength(runner.calls.length);
    expect(logged).toEqual(expect.arrayContaining(runner.calls));
  });

  withKvm('reprobes KVM by default, and the probe can stop the guest through the job context', async () => {
    await handler(refreshHostJob.payload.parse({ reprobeKvm: false }), ctx);
    await handler(refreshHostJob.payload.parse({ reprobeKvm: false }), ctx);
    const probes = () => runner.calls.filter((argv) => argv[0] === 'qemu-system-x86_64').length;
    expect(probes()).toBe(1);

    runner.on('qemu-system-x86_64', (_argv, options) => {
      options.onStdout?.('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n');
      return new Promise<FakeOutcome>((resolve) => {
        const killed = () => resolve({ exitCode: null, signal: 'SIGTERM' });
        if (options.signal?.aborted) killed();
        else options.signal?.addEventListener('abort', killed, { once: true });
      });
    });
    const facts = await handler(refreshHostJob.payload.parse({}), ctx);

    expect(probes()).toBe(2);
    expect(facts.kvm.usable).toBe(true);
    expect(facts.virtType).toBe('kvm');
  });

  it('neither succeeds nor publishes facts when the job is aborted while it collects', async () => {
    const job = new AbortController();
    const aborting = new JobContext(randomUUID(), 1, job.signal, runner, { report: async () => 'applied' });
    runner.on('virsh', () => {
      job.abort(new Error('job exceeded its 120s limit'));
      return { exitCode: null, signal: 'SIGTERM' };
    });

    await expect(handler(refreshHostJob.payload.parse({}), aborting)).rejects.toThrow();
    expect(published).toEqual([]);
  });

  it('does not cache a KVM verdict from a probe the job aborted', async () => {
    const job = new AbortController();
    const aborting = new JobContext(randomUUID(), 1, job.signal, runner, { report: async () => 'applied' });
    runner.on('qemu-system-x86_64', () => {
      job.abort(new Error('job exceeded its 120s limit'));
      return { exitCode: null, signal: 'SIGTERM' };
    });
    await handler(refreshHostJob.payload.parse({}), aborting).catch(() => undefined);
    runner.on('qemu-system-x86_64', { exitCode: 0 });
    runner.calls.length = 0;

    await handler(refreshHostJob.payload.parse({ reprobeKvm: false }), ctx);

    expect(runner.calls.filter((argv) => argv[0] === 'qemu-system-x86_64')).toHaveLength(existsSync('/dev/kvm') ? 1 : 0);
  });
});
