import type { Command } from '@virtfleet/exec';

export interface CpuInfo {
  model: string;
  count: number;
  vmx: boolean;
  svm: boolean;
}

/** /proc/cpuinfo → model, logical CPU count, hardware virtualization flags. */
export function parseCpuInfo(text: string): CpuInfo {
  let count = 0;
  let model = 'unknown';
  let vmx = false;
  let svm = false;
  for (const line of text.split('\n')) {
    const m = /^([^:]+?)\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value = ''] = m;
    if (key === 'processor') count++;
    else if (key === 'model name' && model === 'unknown') model = value.trim();
    else if (key === 'flags') {
      const flags = value.split(/\s+/);
      vmx ||= flags.includes('vmx');
      svm ||= flags.includes('svm');
    }
  }
  return { model, count, vmx, svm };
}

/** /proc/meminfo → bytes. */
export function parseMemInfo(text: string): { totalBytes: number; availableBytes: number } {
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { totalBytes: kib('MemTotal'), availableBytes: kib('MemAvailable') };
}

// The KVM probe boots a real Linux kernel under KVM with the CPU model virt-install picks for
// --virt-type kvm (host-passthrough). /dev/kvm existing, or libvirt advertising kvm, proves
// nothing: on a PVM-backed /dev/kvm QEMU aborts (MSR 0x10a) or the kernel never gets past the
// decompressor (../shared/reference/libvirt-host.md §2). With no initrd the kernel panics at
// the root mount; reaching that panic proves KVM ran a 64-bit guest kernel end to end.
export const KVM_PROBE_MARKER = /Kernel panic - not syncing|VFS: (Cannot open root device|Unable to mount root)/;

export function kvmProbeCommand(kernel: string): Command {
  return {
    cmd: 'qemu-system-x86_64',
    args: [
      '-accel', 'kvm', '-cpu', 'host', '-machine', 'q35', '-m', '256', '-smp', '1',
      '-display', 'none', '-nodefaults', '-no-reboot', '-no-user-config',
      '-kernel', kernel, '-append', 'console=ttyS0 panic=-1 loglevel=4',
      '-serial', 'stdio',
    ],
  };
}

/** Without a kernel to boot: does QEMU at least bring up a -cpu host vCPU under KVM (SeaBIOS)? */
export function kvmFirmwareProbeCommand(): Command {
  return {
    cmd: 'qemu-system-x86_64',
    args: ['-accel', 'kvm', '-cpu', 'host', '-machine', 'q35', '-m', '64', '-display', 'none', '-nodefaults', '-no-user-config', '-serial', 'stdio'],
  };
}

/** `ovs-vsctl br-exists NAME`: exit 0 yes, 2 no, anything else (no ovsdb-server) unknown. */
export function ovsBrExists(name: string): Command {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(name)) throw new Error(`invalid bridge name ${JSON.stringify(name)}`);
  return { cmd: 'ovs-vsctl', args: ['--timeout=5', 'br-exists', name], timeoutMs: 10_000 };
}
