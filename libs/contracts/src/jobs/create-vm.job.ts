import { z } from 'zod';
import { defineJob } from '../define-job';
import { safeName } from '../names';
import { diskFormat } from './disk-common';
import { bridgeName, cpuset, macAddress, osVariant, quotedArg, vmLockKey, vmResult, vncPassword } from './vm-common';

// create-vm: virt-install with its range of install sources, made a fleet job. Every string is
// checked here (API) and again in the agent before it reaches virt-install's argv.

const urlPattern = /^(https?|ftp|nfs):\/\/[A-Za-z0-9._~:/?#@!&+;%-]+$/;

function isLocalUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return true;
  }
  return host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1' || host === '0.0.0.0' || /^169\.254\./.test(host) || /^fe80:/.test(host);
}

export const installSource = z.discriminatedUnion('kind', [
  /** Boot the first disk as it is (virt-install --import). */
  z.object({ kind: z.literal('import') }).strict(),
  /** An ISO from the host's iso root (--cdrom). */
  z.object({ kind: z.literal('cdrom'), iso: safeName }).strict(),
  /** An install tree URL or an ISO from the iso root (--location), with --extra-args. */
  z
    .object({
      kind: z.literal('location'),
      iso: safeName.optional(),
      url: z
        .string()
        .max(1024)
        .regex(urlPattern, 'must be an http(s), ftp or nfs URL without quotes, commas or spaces')
        // The host fetches the kernel from it: not the host itself or link-local metadata services.
        .refine((u) => !isLocalUrl(u), 'may not point at the host itself or a link-local address')
        .optional(),
      extraArgs: quotedArg.optional(),
    })
    .strict()
    .refine((s) => (s.iso === undefined) !== (s.url === undefined), { message: 'give exactly one of iso or url', path: ['iso'] }),
  /** Network boot (--pxe). */
  z.object({ kind: z.literal('pxe') }).strict(),
  /** Direct kernel boot: kernel and initrd files from the iso root, and a command line. */
  z.object({ kind: z.literal('kernel'), kernel: safeName, initrd: safeName.optional(), cmdline: quotedArg.optional() }).strict(),
]);
export type InstallSource = z.infer<typeof installSource>;

export const diskBus = z.enum(['virtio', 'sata', 'scsi', 'ide', 'usb']);
export const vmDiskSpec = z
  .object({
    /** A disk in the host's store root: made when sizeGiB is given, else it must exist. */
    name: safeName,
    sizeGiB: z.number().int().positive().max(64 * 1024).optional(),
    format: diskFormat.default('qcow2'),
    bus: diskBus.default('virtio'),
  })
  .strict();
export type VmDiskSpec = z.infer<typeof vmDiskSpec>;

export const nicModel = z.enum(['virtio', 'e1000', 'e1000e', 'rtl8139']);
export const vmNicSpec = z
  .object({
    network: safeName.optional(),
    bridge: bridgeName.optional(),
    model: nicModel.default('virtio'),
    mac: macAddress.optional(),
  })
  .strict()
  .refine((n) => (n.network === undefined) !== (n.bridge === undefined), {
    message: 'give exactly one of network (a libvirt network) or bridge (a host bridge)',
    path: ['network'],
  });
export type VmNicSpec = z.infer<typeof vmNicSpec>;

const ipAddress = z.union([z.ipv4(), z.ipv6()]);
export const graphicsSpec = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z
    .object({
      type: z.literal('vnc'),
      /** DESIGN.md: 127.0.0.1 unless asked otherwise; all addresses only with a password. */
      listen: ipAddress.default('127.0.0.1'),
      /** Omit for autoport. */
      port: z.number().int().min(5900).max(65535).optional(),
      password: vncPassword.optional(),
    })
    .strict()
    .refine((g) => !['0.0.0.0', '::'].includes(g.listen) || g.password !== undefined, {
      message: 'listening on all addresses needs a password',
      path: ['listen'],
    }),
]);
export type GraphicsSpec = z.infer<typeof graphicsSpec>;

export const bootDevice = z.enum(['hd', 'cdrom', 'network']);
export const labelMap = z.record(
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/, 'label keys are 1-63 letters, digits or _./-, starting with a letter or digit'),
  // eslint-disable-next-line no-control-regex
  z.string().max(255).regex(/^[^\u0000-\u001f\u007f]*$/, 'label values may not hold control characters'),
);

export const createVmPayload = z
  .object({
    name: safeName,
    /** libvirt UUID; the API fills one in so that a redelivered job finds its own domain. */
    uuid: z.uuid().optional(),
    memoryMiB: z.number().int().min(16).max(4 * 1024 * 1024),
    maxMemoryMiB: z.number().int().min(16).max(4 * 1024 * 1024).optional(),
    vcpus: z.number().int().min(1).max(512),
    maxVcpus: z.number().int().min(1).max(512).optional(),
    cpuset: cpuset.optional(),
    install: installSource,
    disks: z.array(vmDiskSpec).max(16).default([]),
    networks: z.array(vmNicSpec).max(16).default([]),
    graphics: graphicsSpec.default({ type: 'none' }),
    /** A serial console logged to a file on the host (virsh console, guest-ready markers). */
    serial: z.boolean().default(true),
    /** osinfo short id; unknown to this host's osinfo-db → generic (said in the result). */
    osVariant: osVariant.default('generic'),
    boot: z.array(bootDevice).max(3).optional(),
    autostart: z.boolean().default(false),
    /** When the job ends: domain defined and started (running), or the guest showing life. */
    waitFor: z.enum(['running', 'guest-ready']).default('running'),
    /** guest-ready: this text on the serial console, or a DHCP lease on one of its networks. */
    readyMarker: z.string().min(1).max(200).default('login:'),
    readyTimeoutSeconds: z.number().int().min(1).max(3600).default(300),
    labels: labelMap.default({}),
  })
  .strict()
  .refine((p) => p.maxMemoryMiB === undefined || p.maxMemoryMiB >= p.memoryMiB, {
    message: 'maxMemoryMiB must be at least memoryMiB',
    path: ['maxMemoryMiB'],
  })
  .refine((p) => p.maxVcpus === undefined || p.maxVcpus >= p.vcpus, { message: 'maxVcpus must be at least vcpus', path: ['maxVcpus'] })
  .refine((p) => p.install.kind !== 'import' || p.disks.length > 0, { message: 'import needs a disk to boot', path: ['disks'] })
  .refine((p) => new Set(p.disks.map((d) => d.name)).size === p.disks.length, { message: 'disk names must differ', path: ['disks'] })
  .refine((p) => p.install.kind !== 'pxe' || p.networks.length > 0, { message: 'pxe needs a network to boot from', path: ['networks'] })
  .refine((p) => p.waitFor !== 'guest-ready' || p.serial || p.networks.some((n) => n.network), {
    message: 'guest-ready needs a serial console or a libvirt network to watch',
    path: ['waitFor'],
  });
export type CreateVmPayload = z.output<typeof createVmPayload>;

export const createVmJob = defineJob({
  name: 'create-vm',
  summary: 'Create a VM with virt-install (import, cdrom, location, pxe or direct kernel boot) and start it.',
  payload: createVmPayload,
  result: vmResult.extend({
    created: z.boolean(),
    virtType: z.string(),
    osVariant: z.string(),
    /** Disks this job made (it removes them again if it fails). */
    disksCreated: z.array(z.string()),
    /** guest-ready: seconds from start to the first sign of life, and which sign. */
    ready: z.object({ afterMs: z.number().int(), sign: z.string() }).optional(),
    warnings: z.array(z.string()),
  }),
  timeoutMs: 3_900_000,
  attempts: 3,
  lockKey: (p) => vmLockKey(p.name),
});
