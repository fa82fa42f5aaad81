import type { Command } from '@virtfleet/exec';

export function virsh(uri: string, ...args: string[]): Command {
  return { cmd: 'virsh', args: ['-q', '-c', uri, ...args] };
}

export interface VirshVersion {
  libvirt?: string;
  hypervisor?: string;
  hypervisorVersion?: string;
}

/**
 * `virsh version` →
 *   Compiled against library: libvirt 9.0.0
 *   Using library: libvirt 9.0.0
 *   Using API: QEMU 9.0.0
 *   Running hypervisor: QEMU 7.2.22
 */
export function parseVirshVersion(stdout: string): VirshVersion {
  const lib = /Using library: libvirt (\S+)/.exec(stdout)?.[1];
  const hv = /Running hypervisor: (\S+) (\S+)/.exec(stdout);
  return {
    ...(lib ? { libvirt: lib } : {}),
    ...(hv?.[1] ? { hypervisor: hv[1] } : {}),
    ...(hv?.[2] ? { hypervisorVersion: hv[2] } : {}),
  };
}

export function virtInstallVersion(): Command {
  return { cmd: 'virt-install', args: ['--version'] };
}

/** `virt-install --osinfo list`: one OS per line, aliases after commas ("debian11, debianbullseye"). */
export function virtInstallOsinfoList(): Command {
  return { cmd: 'virt-install', args: ['--osinfo', 'list'] };
}

// Tool failures that say "not now" rather than "never": the job is retried with backoff.
const TRANSIENT = [
  /Failed to connect socket to/i, // libvirtd (or virtlogd) not running / restarting
  /failed to connect to the hypervisor/i,
  /Cannot recv data|End of file while reading data|Connection reset by peer/i,
  /cannot acquire state change lock/i,
  /Timed out during operation/i,
  /Failed to get "?(write|shared "?write)"? lock/i, // an image another process holds for a moment
  /Resource temporarily unavailable/i,
];

/** Whether a tool's stderr says the failure may pass by itself (libvirtd down, lock contention). */
export function isTransientFailure(stderr: string): boolean {
  return TRANSIENT.some((re) => re.test(stderr));
}

/**
 * A persistent, autostarted dir pool over one of our roots. virt-install otherwise creates one
 * by itself, named after the folder, for every disk or ISO folder no pool covers yet.
 */
export function ensureDirPoolCommands(uri: string, name: string, dir: string): Command[] {
  return [
    virsh(uri, 'pool-define-as', '--name', name, '--type', 'dir', '--target', dir),
    virsh(uri, 'pool-start', name),
    virsh(uri, 'pool-autostart', name),
  ];
}
