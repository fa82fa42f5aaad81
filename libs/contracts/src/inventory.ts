import { z } from 'zod';

// What an agent tells the API about the libvirt objects on its host (POST /v1/agent/inventory):
// a full snapshot at start and every minute, and one domain at a time as libvirt events arrive.

/** libvirt's virDomainState, in words (virsh domstats state.state: 0…7). */
export const powerState = z.enum(['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended']);
export type PowerState = z.infer<typeof powerState>;
export const POWER_STATES_BY_NUMBER: readonly PowerState[] = powerState.options;

export const domainDisk = z.object({
  /** Guest device name: vda, sda, hdc … */
  target: z.string(),
  /** disk | cdrom | floppy | lun */
  device: z.string(),
  bus: z.string().optional(),
  /** file | block | network | volume … */
  type: z.string(),
  /** The host path (file or block), or the volume/network name. */
  source: z.string().optional(),
  /** qcow2 | raw … (driver type) */
  format: z.string().optional(),
  readonly: z.boolean().optional(),
  bootOrder: z.number().int().optional(),
});
export type DomainDisk = z.infer<typeof domainDisk>;

export const domainInterface = z.object({
  /** network | bridge | direct | user … */
  type: z.string(),
  mac: z.string().optional(),
  network: z.string().optional(),
  bridge: z.string().optional(),
  model: z.string().optional(),
  /** Host-side device (vnet0) while the domain runs. */
  target: z.string().optional(),
  virtualport: z.string().optional(),
  /** Guest addresses from the network's DHCP leases, when known. */
  addresses: z.array(z.string()).optional(),
});
export type DomainInterface = z.infer<typeof domainInterface>;

export const domainGraphics = z.object({
  type: z.string(),
  listen: z.string().optional(),
  port: z.number().int().optional(),
  autoport: z.boolean().optional(),
});

export const domainSnapshot = z.object({
  name: z.string(),
  createdAt: z.iso.datetime().optional(),
  /** The domain's state when the snapshot was taken (running, shutoff …). */
  state: z.string().optional(),
  parent: z.string().optional(),
  current: z.boolean(),
  description: z.string().optional(),
});
export type DomainSnapshot = z.infer<typeof domainSnapshot>;

// libvirt accepts any hex UUID (its test driver's own domain is not RFC-versioned): z.guid, not z.uuid.
export const domainInventory = z.object({
  uuid: z.guid(),
  /** libvirt's name; a domain defined by hand may have any name, so this is not a safeName. */
  name: z.string().min(1),
  state: powerState,
  /** virsh domstate --reason: booted, destroyed, shutdown, user … */
  reason: z.string().optional(),
  persistent: z.boolean(),
  autostart: z.boolean(),
  vcpus: z.number().int().nonnegative(),
  maxVcpus: z.number().int().nonnegative(),
  memoryMiB: z.number().int().nonnegative(),
  maxMemoryMiB: z.number().int().nonnegative(),
  /** kvm | qemu | test … */
  virtType: z.string().optional(),
  osType: z.string().optional(),
  disks: z.array(domainDisk),
  interfaces: z.array(domainInterface),
  graphics: z.array(domainGraphics).default([]),
  /** Where the serial console is logged (virtlogd), if it is. */
  serialLog: z.string().optional(),
  snapshots: z.array(domainSnapshot).default([]),
  /** virsh dumpxml, as libvirt gave it. */
  xml: z.string(),
});
export type DomainInventory = z.infer<typeof domainInventory>;

export const networkInventory = z.object({
  name: z.string(),
  uuid: z.string().optional(),
  active: z.boolean(),
  autostart: z.boolean(),
  persistent: z.boolean(),
  bridge: z.string().optional(),
  /** nat | route | bridge | open | isolated (no <forward>) … */
  forward: z.string().optional(),
  /** openvswitch for an Open vSwitch bridge network. */
  virtualport: z.string().optional(),
  /** The network's IPv4 address and prefix on this host (nat and isolated). */
  cidr: z.string().optional(),
  /** DHCP leases of an active network (virsh net-dhcp-leases). */
  leases: z.array(z.object({ mac: z.string(), ip: z.string(), hostname: z.string().optional(), expiry: z.string().optional() })).optional(),
  xml: z.string().optional(),
});
export type NetworkInventory = z.infer<typeof networkInventory>;

export const poolInventory = z.object({
  name: z.string(),
  active: z.boolean(),
  autostart: z.boolean(),
  persistent: z.boolean(),
  path: z.string().optional(),
  capacityBytes: z.number().optional(),
  availableBytes: z.number().optional(),
});
export type PoolInventory = z.infer<typeof poolInventory>;

/** A disk image the agent found in its store root (<name>.<format>). */
export const storeDisk = z.object({
  name: z.string(),
  format: z.enum(['qcow2', 'raw']),
  path: z.string(),
  virtualSize: z.number().int().nonnegative(),
  actualSize: z.number().int().nonnegative(),
  backingFile: z.string().optional(),
  backingFormat: z.string().optional(),
  /** Why the image guard refused it, if it did (it is listed, never used). */
  refused: z.string().optional(),
});
export type StoreDisk = z.infer<typeof storeDisk>;

/** A file in the agent's iso root (install media, kernels). */
export const isoFile = z.object({ name: z.string(), sizeBytes: z.number().int().nonnegative(), modifiedAt: z.iso.datetime() });
export type IsoFile = z.infer<typeof isoFile>;

const takenAt = z.iso.datetime();
export const inventoryReport = z.discriminatedUnion('kind', [
  /** Everything on the host: domains absent here are gone. */
  z.object({
    kind: z.literal('full'),
    takenAt,
    domains: z.array(domainInventory),
    networks: z.array(networkInventory),
    pools: z.array(poolInventory),
  }),
  /** One domain changed (a libvirt event). */
  z.object({ kind: z.literal('domain'), takenAt, domain: domainInventory }),
  /** What the store root and the iso root hold (a scan after each full inventory). */
  z.object({ kind: z.literal('storage'), takenAt, disks: z.array(storeDisk), isos: z.array(isoFile) }),
  /** A domain no longer exists (undefined while shut off, or a transient domain stopped). */
  z.object({ kind: z.literal('domain-gone'), takenAt, name: z.string(), uuid: z.guid().optional() }),
]);
export type InventoryReport = z.infer<typeof inventoryReport>;

/** What the API answers: how many VM rows it changed. */
export const inventoryAnswer = z.object({ changed: z.number().int().nonnegative() });
export type InventoryAnswer = z.infer<typeof inventoryAnswer>;
