import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostFacts } from '@virtfleet/contracts';
import { FakeRunner, type CommandResult, type FakeOutcome, type RunOptions } from '@virtfleet/exec';
import { HostFactsCollector, type Exec, type HostFactsOptions } from './host-facts';

// The probe only runs where /dev/kvm exists; without it the verdict is "no device" and nothing runs.
const HAS_KVM = existsSync('/dev/kvm');
const withKvm = HAS_KVM ? it : it.skip;

type Respond = Parameters<FakeRunner['on']>[1];

const KERNEL = '/boot/vmlinuz-probe-test';
const PROBE_ARGV = [
  'qemu-system-x86_64',
  '-accel', 'kvm', '-cpu', 'host', '-machine', 'q35', '-m', '256', '-smp', '1',
  '-display', 'none', '-nodefaults', '-no-reboot', '-no-user-config',
  '-kernel', KERNEL, '-append', 'console=ttyS0 panic=-1 loglevel=4',
  '-serial', 'stdio',
];
const VIRSH_ARGV = ['virsh', '-q', '-c', 'qemu:///system', 'version'];
const VIRT_INSTALL_ARGV = ['virt-install', '--version'];
const QEMU_IMG_ARGV = ['qemu-img', '--version'];

const VIRSH_VERSION =
  'Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.22\n';
const QEMU_IMG_VERSION =
  'qemu-img version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n';
const MSR_ABORT: FakeOutcome = {
  exitCode: 134,
  stderr:
    "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3049: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n",
};

/** A guest kernel that boots under KVM: it prints, panics at the root mount, and runs until killed. */
const bootsToPanic: Respond = (_argv, options) => {
  options.onStdout?.('Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC\n');
  options.onStdout?.('VFS: Cannot open root device "(null)" or unknown-block(0,0): error -6\nKernel panic - not ');
  options.onStdout?.('syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n');
  return new Promise<FakeOutcome>((resolve, reject) => {
    const signal = options.signal;
    if (!signal) return reject(new Error('the probe passed no abort signal'));
    const killed = () => resolve({ exitCode: null, signal: 'SIGTERM' });
    if (signal.aborted) killed();
    else signal.addEventListener('abort', killed, { once: true });
  });
};

function options(over: Partial<HostFactsOptions> = {}): HostFactsOptions {
  return {
    libvirtUri: 'qemu:///system',
    storageRoot: '/',
    kvmProbeKernel: KERNEL,
    kvmProbeTimeoutMs: 25_000,
    agentVersion: '0.1.0-test',
    ...over,
  };
}

function hostRunner(probe: Respond): FakeRunner {
  return new FakeRunner()
    .on('qemu-system-x86_64', probe)
    .on('virsh', { stdout: VIRSH_VERSION })
    .on('virt-install', { stdout: '4.1.0\n' })
    .on(['qemu-img', '--version'], { stdout: QEMU_IMG_VERSION });
}

const execOf =
  (runner: FakeRunner): Exec =>
  (cmd, opts) =>
    runner.run(cmd, opts);

describe('HostFactsCollector.probeKvm', () => {
  withKvm('finds KVM usable when the guest kernel reaches its root-mount panic, and stops the guest', async () => {
    const seen: RunOptions[] = [];
    const runner = new FakeRunner().on('qemu-system-x86_64', (argv, opts) => {
      seen.push(opts);
      return bootsToPanic(argv, opts);
    });

    const verdict = await new HostFactsCollector(options()).probeKvm(execOf(runner));

    expect(runner.calls).toEqual([PROBE_ARGV]);
    expect(seen[0]?.timeoutMs).toBe(25_000);
    expect(seen[0]?.signal?.aborted).toBe(true);
    expect(verdict).toEqual({ device: true, usable: true, probe: expect.stringMatching(/^kernel \/boot\/vmlinuz-probe-test booted under kvm in \d+\.\d\ds$/) });
  });

  withKvm('finds KVM unusable when QEMU aborts on the MSR write (PVM-backed /dev/kvm)', async () => {
    const runner = new FakeRunner().on('qemu-system-x86_64', MSR_ABORT);

    const verdict = await new HostFactsCollector(options()).probeKvm(execOf(runner));

    expect(runner.calls).toEqual([PROBE_ARGV]);
    expect(verdict.device).toBe(true);
    expect(verdict.usable).toBe(false);
    expect(verdict.probe).toContain('MSR');
    expect(verdict.probe).toMatch(/^kvm probe failed after \d+\.\d\ds: qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69$/);
  });

  withKvm('finds KVM unusable when the kernel never gets that far before the time limit', async () => {
    const calls: string[][] = [];
    const exec: Exec = async (cmd, opts) => {
      calls.push([cmd.cmd, ...cmd.args]);
      opts?.onStdout?.('Probing EDD (edd=off to disable)... ok\n');
      const res: CommandResult = {
        argv: [cmd.cmd, ...cmd.args],
        exitCode: null,
        signal: 'SIGTERM',
        stdout: 'Probing EDD (edd=off to disable)... ok\n',
        stderr: '',
        startedAt: new Date(),
        durationMs: 3000,
        timedOut: true,
        aborted: false,
      };
      return res;
    };

    const verdict = await new HostFactsCollector(options({ kvmProbeTimeoutMs: 3000 })).probeKvm(exec);

    expect(calls).toEqual([PROBE_ARGV]);
    expect(verdict).toEqual({ device: true, usable: false, probe: expect.stringMatching(/: no boot within 3s$/) });
  });

  withKvm('finds KVM unusable when QEMU exits without printing why', async () => {
    const runner = new FakeRunner().on('qemu-system-x86_64', { exitCode: 1 });

    const verdict = await new HostFactsCollector(options()).probeKvm(execOf(runner));

    expect(verdict).toEqual({ device: true, usable: false, probe: expect.stringMatching(/: exit 1$/) });
  });

  (HAS_KVM ? it.skip : it)('without /dev/kvm runs nothing and answers TCG', async () => {
    const runner = new FakeRunner();

    const verdict = await new HostFactsCollector(options()).probeKvm(execOf(runner));

    expect(runner.calls).toEqual([]);
    expect(verdict).toEqual({ device: false, usable: false, probe: 'no /dev/kvm: guests run under TCG' });
  });
});

describe('HostFactsCollector.collect', () => {
  let storageRoot: string;
  beforeEach(async () => {
    storageRoot = await mkdtemp(join(tmpdir(), 'vf-agent-facts-'));
  });
  afterEach(() => rm(storageRoot, { recursive: true, force: true }));

  it('runs the version commands and parses them into valid host facts', async () => {
    const runner = hostRunner(MSR_ABORT);

    const facts = await new HostFactsCollector(options({ storageRoot })).collect(execOf(runner));

    expect(runner.calls).toEqual([...(HAS_KVM ? [PROBE_ARGV] : []), VIRSH_ARGV, VIRT_INSTALL_ARGV, QEMU_IMG_ARGV]);
    expect(hostFacts.parse(facts)).toEqual(facts);
    expect(facts.libvirt).toEqual({ uri: 'qemu:///system', reachable: true });
    expect(facts.versions).toEqual({ libvirt: '9.0.0', qemu: '7.2.22', virtInstall: '4.1.0', qemuImg: '7.2.22', agent: '0.1.0-test' });
    expect(facts.storage.root).toBe(storageRoot);
    expect(facts.storage.totalBytes).toBeGreaterThan(0);
    expect(facts.storage.freeBytes).toBeLessThanOrEqual(facts.storage.totalBytes);
    expect(facts.cpu.count).toBeGreaterThan(0);
    expect(facts.memory.totalBytes).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(facts.collectedAt))).toBe(false);
  });

  it('has guests run under TCG (virtType qemu) when KVM is not usable', async () => {
    const facts = await new HostFactsCollector(options({ storageRoot })).collect(execOf(hostRunner(MSR_ABORT)));

    expect(facts.kvm.usable).toBe(false);
    expect(facts.virtType).toBe('qemu');
  });

  withKvm('has guests run under KVM when the probe boots', async () => {
    const facts = await new HostFactsCollector(options({ storageRoot })).collect(execOf(hostRunner(bootsToPanic)));

    expect(facts.kvm).toMatchObject({ device: true, usable: true });
    expect(facts.virtType).toBe('kvm');
  });

  it('reports libvirt unreachable with the last line virsh printed, and leaves out what it could not learn', async () => {
    const runner = hostRunner(MSR_ABORT)
      .on('virsh', {
        exitCode: 1,
        stderr:
          "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory\n",
      })
      .on('virt-install', { spawnError: 'ENOENT: spawn virt-install ENOENT' });

    const facts = await new HostFactsCollector(options({ storageRoot })).collect(execOf(runner));

    expect(runner.calls).toContainEqual(VIRSH_ARGV);
    expect(facts.libvirt).toEqual({
      uri: 'qemu:///system',
      reachable: false,
      error: "error: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory",
    });
    expect(facts.versions).toEqual({ qemuImg: '7.2.22', agent: '0.1.0-test' });
    expect(hostFacts.parse(facts)).toEqual(facts);
  });

  it('names the spawn error when virsh cannot be started', async () => {
    const runner = hostRunner(MSR_ABORT).on('virsh', { spawnError: 'ENOENT: spawn virsh ENOENT' });

    const facts = await new HostFactsCollector(options({ storageRoot })).collect(execOf(runner));

    expect(facts.libvirt).toEqual({ uri: 'qemu:///system', reachable: false, error: 'ENOENT: spawn virsh ENOENT' });
  });

  it('uses the configured libvirt URI', async () => {
    const runner = hostRunner(MSR_ABORT);

    const facts = await new HostFactsCollector(options({ storageRoot, libvirtUri: 'qemu+ssh://root@kvm1/system' })).collect(
      execOf(runner),
    );

    expect(runner.calls).toContainEqual(['virsh', '-q', '-c', 'qemu+ssh://root@kvm1/system', 'version']);
    expect(facts.libvirt.uri).toBe('qemu+ssh://root@kvm1/system');
  });

  withKvm('keeps the KVM verdict between collections unless asked to probe again', async () => {
    const runner = hostRunner(MSR_ABORT);
    const collector = new HostFactsCollector(options({ storageRoot }));
    const probes = () => runner.calls.filter((argv) => argv[0] === 'qemu-system-x86_64').length;

    const first = await collector.collect(execOf(runner));
    const second = await collector.collect(execOf(runner));
    expect(probes()).toBe(1);
    expect(second.kvm).toEqual(first.kvm);

    runner.on('qemu-system-x86_64', bootsToPanic); // the host changed: only a reprobe notices
    const cached = await collector.collect(execOf(runner), { reprobeKvm: false });
    expect(probes()).toBe(1);
    expect(cached.virtType).toBe('qemu');

    const reprobed = await collector.collect(execOf(runner), { reprobeKvm: true });
    expect(probes()).toBe(2);
    expect(reprobed.kvm.usable).toBe(true);
    expect(reprobed.virtType).toBe('kvm');
  });
});
