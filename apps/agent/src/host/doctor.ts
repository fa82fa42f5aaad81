import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DoctorCheck, DoctorReport, HostFacts } from '@virtfleet/contracts';
import type { Exec } from './host-facts';

/** What the checks look at, gathered from the host (kept apart so the checks are pure). */
export interface DoctorInput {
  facts: HostFacts;
  kvmModuleLoaded: boolean;
  libguestfsVersion?: string | undefined;
  /** Each folder from / down to the storage root (the root last), as stat(2) saw it; absent when missing. */
  storagePath: Array<{ path: string; mode: number; uid: number; gid: number } | undefined>;
  /** The user QEMU runs as under libvirt (Debian: libvirt-qemu), if it exists. */
  qemuUser?: { name: string; uid: number; gids: number[] } | undefined;
  ipForward?: boolean | undefined;
  selinux?: { enforcing: boolean; rootLabel?: string | undefined } | undefined;
  apparmor?: boolean | undefined;
}

const pass = (id: string, message: string): DoctorCheck => ({ id, status: 'pass', message });
const warn = (id: string, message: string, fix: string): DoctorCheck => ({ id, status: 'warn', message, fix });
const fail = (id: string, message: string, fix: string): DoctorCheck => ({ id, status: 'fail', message, fix });

/** The operation guide's install checks, done for the operator: each with a one-line fix. */
export function doctorChecks(i: DoctorInput): DoctorCheck[] {
  const f = i.facts;
  const checks: DoctorCheck[] = [];
  checks.push(
    f.cpu.vmx || f.cpu.svm
      ? pass('cpu-virtualization', `${f.cpu.model}, ${f.cpu.count} CPUs, ${f.cpu.vmx ? 'vmx' : 'svm'} present`)
      : warn('cpu-virtualization', `${f.cpu.model}, ${f.cpu.count} CPUs: no vmx/svm flags, so no hardware virtualization`, 'enable VT-x/AMD-V in the firmware (or nested virtualization on the hypervisor below); until then guests run under TCG'),
  );
  checks.push(
    i.kvmModuleLoaded
      ? pass('kvm-module', 'kvm module loaded')
      : warn('kvm-module', 'kvm module not loaded', 'modprobe kvm_intel (or kvm_amd)'),
  );
  checks.push(
    f.kvm.usable
      ? pass('kvm', `KVM usable: ${f.kvm.probe}`)
      : warn('kvm', `KVM not usable, guests run under TCG (--virt-type qemu), much slower: ${f.kvm.probe}`, f.kvm.device ? 'fix hardware virtualization (see cpu-virtualization); the agent re-probes on refresh-host' : 'load the kvm module so /dev/kvm exists'),
  );
  checks.push(
    f.libvirt.reachable
      ? pass('libvirtd', `libvirtd answers on ${f.libvirt.uri} (libvirt ${f.versions.libvirt ?? '?'}, QEMU ${f.versions.qemu ?? '?'})`)
      : fail('libvirtd', `libvirtd does not answer on ${f.libvirt.uri}: ${f.libvirt.error ?? 'unknown error'}`, 'systemctl start libvirtd (without systemd: tini -s -- libvirtd, and virtlogd the same way)'),
  );
  checks.push(
    f.versions.qemuImg
      ? pass('qemu-img', `qemu-img ${f.versions.qemuImg}`)
      : fail('qemu-img', 'qemu-img not found', 'apt-get install qemu-utils'),
  );
  checks.push(
    f.versions.virtInstall
      ? pass('virt-install', `virt-install ${f.versions.virtInstall}`)
      : fail('virt-install', 'virt-install not found', 'apt-get install virtinst'),
  );
  checks.push(
    i.libguestfsVersion
      ? pass('libguestfs', `libguestfs ${i.libguestfsVersion}`)
      : warn('libguestfs', 'libguestfs tools (virt-cat, virt-edit, virt-df) not found: guest file jobs will fail', 'apt-get install libguestfs-tools'),
  );
  checks.push(storageCheck(i));
  const free = f.storage.totalBytes ? f.storage.freeBytes / f.storage.totalBytes : 1;
  if (f.storage.totalBytes && free < 0.1) {
    checks.push(warn('storage-space', `${f.storage.root}: only ${(free * 100).toFixed(1)} % free (${gib(f.storage.freeBytes)} GiB)`, 'free space or move the storage root to a larger file system'));
  }
  if (i.ipForward !== undefined) {
    checks.push(
      i.ipForward
        ? pass('ip-forward', 'IPv4 forwarding on (NAT networks can route)')
        : warn('ip-forward', 'IPv4 forwarding off: guests on NAT networks cannot reach out', 'sysctl -w net.ipv4.ip_forward=1 (and set it in /etc/sysctl.conf)'),
    );
  }
  checks.push(selinuxCheck(i));
  checks.push(pass('apparmor', i.apparmor ? "AppArmor on: libvirt's per-guest profiles (virt-aa-helper) apply" : 'AppArmor off'));
  return checks;
}

function storageCheck(i: DoctorInput): DoctorCheck {
  const root = i.storagePath[i.storagePath.length - 1];
  const rootPath = i.facts.storage.root;
  if (!root) return fail('storage-root', `storage root ${rootPath} does not exist`, `mkdir -p ${rootPath}`);
  const u = i.qemuUser;
  if (!u) return warn('storage-root', `${rootPath} exists; no libvirt-qemu user here to check its access`, 'install libvirt-daemon-system');
  // QEMU (as libvirt-qemu) must search every folder on the way to its disks: the guide's chown trap.
  for (const dir of i.storagePath) {
    if (!dir) continue;
    const bit = dir.uid === u.uid ? 0o100 : u.gids.includes(dir.gid) ? 0o010 : 0o001;
    if (!(dir.mode & bit)) {
      return fail('storage-root', `${u.name} cannot enter ${dir.path} (mode ${(dir.mode & 0o777).toString(8)}), so QEMU cannot open disks in ${rootPath}`, `chmod o+x ${dir.path}`);
    }
  }
  return pass('storage-root', `${rootPath}: ${gib(i.facts.storage.freeBytes)} GiB free of ${gib(i.facts.storage.totalBytes)}; ${u.name} can reach it`);
}

function selinuxCheck(i: DoctorInput): DoctorCheck {
  const s = i.selinux;
  if (!s) return pass('selinux', 'SELinux not present');
  if (!s.enforcing) return pass('selinux', 'SELinux permissive');
  // We never ask anyone to turn SELinux off; we say which label will block QEMU.
  if (s.rootLabel && !/virt_image_t|svirt_image_t/.test(s.rootLabel)) {
    const root = i.facts.storage.root;
    return warn('selinux', `SELinux enforcing and ${root} is labelled ${s.rootLabel}: QEMU will be denied its disks`, `semanage fcontext -a -t virt_image_t '${root}(/.*)?' && restorecon -R ${root}`);
  }
  return pass('selinux', `SELinux enforcing; ${i.facts.storage.root} labelled ${s.rootLabel ?? '?'}`);
}

function gib(bytes: number): string {
  return (bytes / 1024 ** 3).toFixed(1);
}

/** Reads the host for the checks. */
export async function gatherDoctorInput(facts: HostFacts, exec: Exec): Promise<DoctorInput> {
  const root = resolve(facts.storage.root);
  const chain: string[] = [];
  for (let p = root; ; p = dirname(p)) {
    chain.unshift(p);
    if (p === dirname(p)) break;
  }
  const storagePath = await Promise.all(
    chain.map((path) => stat(path).then((s) => ({ path, mode: s.mode, uid: s.uid, gid: s.gid }), () => undefined)),
  );
  const guestfs = await exec({ cmd: 'virt-cat', args: ['--version'] }, { timeoutMs: 30_000 });
  const enforce = await readFile('/sys/fs/selinux/enforce', 'utf8').catch(() => undefined);
  const label = enforce !== undefined ? (await exec({ cmd: 'stat', args: ['-c', '%C', root] })).stdout.trim() : undefined;
  return {
    facts,
    kvmModuleLoaded: existsSync('/sys/module/kvm'),
    libguestfsVersion: guestfs.exitCode === 0 ? /(\d+\.\d+\.\d+)/.exec(guestfs.stdout)?.[1] : undefined,
    storagePath,
    qemuUser: await qemuUser(),
    ipForward: await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8').then((t) => t.trim() === '1', () => undefined),
    selinux: enforce !== undefined ? { enforcing: enforce.trim() === '1', rootLabel: label || undefined } : undefined,
    apparmor: await readFile('/sys/module/apparmor/parameters/enabled', 'utf8').then((t) => t.trim() === 'Y', () => false),
  };
}

async function qemuUser(): Promise<DoctorInput['qemuUser']> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const groups = await readFile('/etc/group', 'utf8').catch(() => '');
  for (const name of ['libvirt-qemu', 'qemu']) {
    const line = passwd.split('\n').find((l) => l.startsWith(`${name}:`));
    if (!line) continue;
    const [, , uid, gid] = line.split(':');
    const gids = [Number(gid)];
    for (const g of groups.split('\n')) {
      const [, , id, members] = g.split(':');
      if (members?.split(',').includes(name)) gids.push(Number(id));
    }
    return { name, uid: Number(uid), gids };
  }
  return undefined;
}

export function doctorReportOf(checks: DoctorCheck[]): DoctorReport {
  return { checks, ranAt: new Date().toISOString() };
}

/** Human output: one line per check, its fix under it. */
export function formatDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  return report.checks
    .map((c) => `${c.status.toUpperCase().padEnd(4)}  ${c.id.padEnd(width)}  ${c.message}${c.fix ? `\n      ${' '.repeat(width)}  fix: ${c.fix}` : ''}`)
    .join('\n');
}
