import { access, constants } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { NodeCommandRunner, CommandFailedError } from '@virtfleet/exec';
import { REPO_ROOT } from './paths';
import { parseEnvLines } from './services';

/** The tiny-guest fixtures that VM end-to-end tests boot (built by scripts/guest-fixtures.sh). */
export interface GuestFixtures {
  /** Folder holding everything below (0755, files 0644: QEMU reads them as uid libvirt-qemu). */
  dir: string;
  /** Version of the kernel the fixtures were built from, e.g. 6.1.0-56-amd64. */
  kernelVersion: string;
  /** Uncompressed kernel (ELF with a PVH note): boots ~3 s faster than vmlinuz under TCG. */
  vmlinux: string;
  /** The same kernel as a bzImage. */
  vmlinuz: string;
  /** busybox initramfs: READY marker on ttyS0, ACPI power button -> poweroff -f, udhcpc on eth0. */
  initrd: string;
  /**
   * Self-booting syslinux disk (FAT p1 + ext4 p2) for `--import` without `--boot`. A template:
   * copy it (or put a qcow2 overlay on it) before use, never boot it directly.
   */
  bootDisk: string;
  /** Blank 1 GiB qcow2, a disk with no OS (ACPI shutdown is ignored: use destroy). Copy it before use. */
  emptyDisk: string;
  /** isolinux-bootable ISO of the tiny guest, for `virt-install --cdrom` (boots to the READY marker). */
  cdromIso: string;
  /**
   * Install tree ISO (`.treeinfo` + images/pxeboot/{vmlinuz,initrd.img}) for
   * `virt-install --location <iso> --extra-args "console=ttyS0 …"`. virt-install also attaches it as a
   * CD-ROM, so it auto-creates an autostarted storage pool named after `dir` (see treeDir).
   */
  treeIso: string;
  /** The same install tree as a folder: `--location <dir>` attaches no CD-ROM and creates no pool. */
  treeDir: string;
  /** Printed on ttyS0 once the guest is up (wait for it before `virsh shutdown`). */
  readyMarker: 'TINYGUEST-READY';
  /** Printed on ttyS0 when eth0 got a DHCP lease: `TINYGUEST-DHCP eth0 <ip>`. */
  dhcpMarker: 'TINYGUEST-DHCP';
  /** Kernel arguments for direct kernel boot (`--boot kernel=…,initrd=…,kernel_args=…`). */
  cmdline: 'console=ttyS0 quiet panic=-1';
}

export const GUEST_FIXTURES_SH = resolve(REPO_ROOT, 'scripts/guest-fixtures.sh');
/** Where the fixtures live unless VIRTFLEET_FIXTURES_DIR says otherwise. */
export const DEFAULT_FIXTURES_DIR = '/var/lib/virtfleet/fixtures';

const runner = new NodeCommandRunner({ baseEnv: process.env });
const cache = new Map<string, Promise<GuestFixtures>>();

/**
 * Builds the guest fixtures if needed and returns their absolute paths. The script runs at most once
 * per process and folder; across processes (parallel Jest workers) it serialises on the lock file
 * `<dir>/.lock` (flock), so only the first builds and the others find its cached output (~50 ms).
 */
export function guestFixtures(dir: string = process.env['VIRTFLEET_FIXTURES_DIR'] || DEFAULT_FIXTURES_DIR): Promise<GuestFixtures> {
  const abs = resolve(dir);
  let p = cache.get(abs);
  if (!p) {
    p = build(abs);
    p.catch(() => cache.delete(abs)); // a failed build is retried by the next caller
    cache.set(abs, p);
  }
  return p;
}

async function build(dir: string): Promise<GuestFixtures> {
  // First run on a machine: ~4 s, plus `apt-get download busybox-static`; later runs only check.
  const r = await runner.run({ cmd: 'bash', args: [GUEST_FIXTURES_SH, '--out', dir] }, { timeoutMs: 900_000 });
  if (r.exitCode !== 0 || r.timedOut || r.aborted) {
    throw new Error(`guest-fixtures.sh --out ${dir} failed: ${new CommandFailedError(r).message}\n${r.stderr}`);
  }
  const env = parseEnvLines(r.stdout);
  const f: GuestFixtures = {
    dir,
    kernelVersion: env['FIXTURES_KERNEL_VERSION'] ?? '',
    vmlinux: join(dir, 'vmlinux'),
    vmlinuz: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initramfs.gz'),
    bootDisk: join(dir, 'bootdisk.qcow2'),
    emptyDisk: join(dir, 'empty-1g.qcow2'),
    cdromIso: join(dir, 'tiny-cdrom.iso'),
    treeIso: join(dir, 'tiny-tree.iso'),
    treeDir: join(dir, 'tiny-tree'),
    readyMarker: 'TINYGUEST-READY',
    dhcpMarker: 'TINYGUEST-DHCP',
    cmdline: 'console=ttyS0 quiet panic=-1',
  };
  const files = [f.vmlinux, f.vmlinuz, f.initrd, f.bootDisk, f.emptyDisk, f.cdromIso, f.treeIso, join(f.treeDir, '.treeinfo')];
  for (const file of files) {
    await access(file, constants.R_OK).catch(() => {
      throw new Error(`guest-fixtures.sh succeeded but ${file} is missing`);
    });
  }
  return f;
}
