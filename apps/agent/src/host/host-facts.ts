import { existsSync } from 'node:fs';
import { readdir, readFile, statfs } from 'node:fs/promises';
import { hostname, machine, release } from 'node:os';
import type { Command, CommandResult } from '@virtfleet/exec';
import type { HostFacts } from '@virtfleet/contracts';
import {
  KVM_PROBE_MARKER,
  kvmFirmwareProbeCommand,
  kvmProbeCommand,
  parseCpuInfo,
  parseMemInfo,
  parseQemuImgVersion,
  parseVirshVersion,
  qemuImgVersion,
  virsh,
  virtInstallVersion,
} from '@virtfleet/libvirt';
import type { RunCommandOptions } from '../job-context';

/** Runs a command and resolves with its result whatever the exit code. */
export type Exec = (command: Command, opts?: RunCommandOptions) => Promise<CommandResult>;

export interface HostFactsOptions {
  libvirtUri: string;
  storageRoot: string;
  isoRoot?: string;
  consoleLogDir?: string;
  kvmProbeKernel?: string | undefined;
  kvmProbeTimeoutMs: number;
  agentVersion: string;
  /** Per-group job limits the API applies to this host (defineJob's concurrency). */
  concurrency?: HostFacts['concurrency'];
}

export interface KvmVerdict {
  device: boolean;
  usable: boolean;
  probe: string;
}

/** Gathers what the fleet needs to know about this host, and decides kvm vs TCG by probing. */
export class HostFactsCollector {
  private kvm: KvmVerdict | undefined;

  constructor(private readonly opts: HostFactsOptions) {}

  async collect(exec: Exec, { reprobeKvm = false } = {}): Promise<HostFacts> {
    if (!this.kvm || reprobeKvm) this.kvm = await this.probeKvm(exec);
    const [cpuinfo, meminfo, virshVer, viVer, imgVer, fs, ipForward] = await Promise.all([
      readFile('/proc/cpuinfo', 'utf8').catch(() => ''),
      readFile('/proc/meminfo', 'utf8').catch(() => ''),
      exec(virsh(this.opts.libvirtUri, 'version'), { timeoutMs: 30_000 }),
      exec(virtInstallVersion(), { timeoutMs: 30_000 }),
      exec(qemuImgVersion(), { timeoutMs: 10_000 }),
      statfs(this.opts.storageRoot).catch(() => undefined),
      readFile('/proc/sys/net/ipv4/ip_forward', 'utf8').catch(() => undefined),
    ]);
    const lv = parseVirshVersion(virshVer.stdout);
    const reachable = virshVer.exitCode === 0;
    const libvirtError = reachable ? undefined : (virshVer.stderr || virshVer.spawnError || 'virsh failed').trim().split('\n').pop();
    const qemuImg = parseQemuImgVersion(imgVer.stdout);
    return {
      hostname: hostname(),
      kernel: release(),
      arch: machine(),
      cpu: parseCpuInfo(cpuinfo),
      memory: parseMemInfo(meminfo),
      kvm: this.kvm,
      virtType: this.kvm.usable ? 'kvm' : 'qemu',
      libvirt: { uri: this.opts.libvirtUri, reachable, ...(libvirtError ? { error: libvirtError } : {}) },
      versions: {
        ...(lv.libvirt ? { libvirt: lv.libvirt } : {}),
        ...(lv.hypervisorVersion ? { qemu: lv.hypervisorVersion } : {}),
        ...(viVer.exitCode === 0 ? { virtInstall: viVer.stdout.trim() } : {}),
        ...(qemuImg ? { qemuImg } : {}),
        agent: this.opts.agentVersion,
      },
      storage: {
        root: this.opts.storageRoot,
        totalBytes: fs ? fs.blocks * fs.bsize : 0,
        freeBytes: fs ? fs.bavail * fs.bsize : 0,
        ...(this.opts.isoRoot ? { isoRoot: this.opts.isoRoot } : {}),
        ...(this.opts.consoleLogDir ? { consoleLogDir: this.opts.consoleLogDir } : {}),
      },
      ...(ipForward !== undefined ? { ipForwarding: ipForward.trim() === '1' } : {}),
      ...(this.opts.concurrency ? { concurrency: this.opts.concurrency } : {}),
      collectedAt: new Date().toISOString(),
    };
  }

  /**
   * KVM is usable only if a real guest kernel boots under it with -cpu host. Here (PVM-backed
   * /dev/kvm) QEMU aborts in 0.1 s; on a real KVM host the kernel reaches its root-mount panic in
   * about a second. Anything else (time-out, abort, no /dev/kvm) means TCG.
   */
  async probeKvm(exec: Exec): Promise<KvmVerdict> {
    if (!existsSync('/dev/kvm')) return { device: false, usable: false, probe: 'no /dev/kvm: guests run under TCG' };
    const kernel = this.opts.kvmProbeKernel ?? (await newestKernel());
    if (!kernel) return this.firmwareProbe(exec);
    const found = new AbortController();
    let seen = '';
    const t0 = Date.now();
    const res = await exec(kvmProbeCommand(kernel), {
      timeoutMs: this.opts.kvmProbeTimeoutMs,
      signal: found.signal,
      onStdout: (chunk) => {
        seen = (seen + chunk).slice(-4096);
        if (KVM_PROBE_MARKER.test(seen)) found.abort();
      },
    });
    const secs = ((Date.now() - t0) / 1000).toFixed(2);
    if (found.signal.aborted) return { device: true, usable: true, probe: `kernel ${kernel} booted under kvm in ${secs}s` };
    const why = firstLine(res.stderr) ?? (res.timedOut ? `no boot within ${this.opts.kvmProbeTimeoutMs / 1000}s` : `exit ${res.exitCode}`);
    return { device: true, usable: false, probe: `kvm probe failed after ${secs}s: ${why}` };
  }

  private async firmwareProbe(exec: Exec): Promise<KvmVerdict> {
    const res = await exec(kvmFirmwareProbeCommand(), { timeoutMs: 2_000 });
    if (!res.timedOut) {
      return { device: true, usable: false, probe: `kvm probe (firmware only, no kernel in /boot) failed: ${firstLine(res.stderr) ?? `exit ${res.exitCode}`}` };
    }
    const cpu = parseCpuInfo(await readFile('/proc/cpuinfo', 'utf8').catch(() => ''));
    const usable = cpu.vmx || cpu.svm;
    return {
      device: true,
      usable,
      probe: `firmware ran under kvm; no kernel in /boot to boot, so the verdict rests on the CPU flags (vmx/svm ${usable ? 'present' : 'absent'})`,
    };
  }
}

function firstLine(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.find((l) => /error|Assertion|failed/i.test(l)) ?? lines[0])?.slice(0, 200);
}

async function newestKernel(): Promise<string | undefined> {
  const names = await readdir('/boot').catch(() => [] as string[]);
  const kernels = names.filter((n) => n.startsWith('vmlinuz-')).sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  return kernels[0] ? `/boot/${kernels[0]}` : undefined;
}
