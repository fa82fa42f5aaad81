import { z } from 'zod';
import { defineJob } from '../define-job';
import { networkInventory } from '../inventory';
import { safeName } from '../names';
import { vmNicSpec } from './create-vm.job';
import { bridgeName, macAddress, vmLockKey, vmRef, vmResult } from './vm-common';

// libvirt networks (the operation guide's "configure KVM networking") and NICs on VMs. The
// network XML is ours, built from these fields only (libs/libvirt network-xml.ts).

/** Every job on one libvirt network of a host takes this lock key. */
export function networkLockKey(name: string): string {
  return `net:${name}`;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export interface Ipv4Subnet {
  /** The host's own address on the network (the gateway and DHCP server). */
  address: string;
  prefix: number;
  netmask: string;
  network: string;
  broadcast: string;
}

/** "10.213.0.1/24" → its parts; undefined for anything that is not an IPv4 host address with a /8–/30 prefix. */
export function parseCidr(cidr: string): Ipv4Subnet | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix < 8 || prefix > 30) return undefined;
  const ip = ipv4ToInt(octets.join('.'));
  const size = 2 ** (32 - prefix);
  const network = Math.floor(ip / size) * size;
  const broadcast = network + size - 1;
  if (ip === network || ip === broadcast) return undefined;
  return {
    address: intToIpv4(ip),
    prefix,
    netmask: intToIpv4(2 ** 32 - size),
    network: intToIpv4(network),
    broadcast: intToIpv4(broadcast),
  };
}

/** Whether an address lies strictly inside the subnet (not its network or broadcast address). */
export function inSubnet(ip: string, subnet: Ipv4Subnet): boolean {
  const n = ipv4ToInt(ip);
  return n > ipv4ToInt(subnet.network) && n < ipv4ToInt(subnet.broadcast);
}

const ipv4 = z.ipv4();
const cidr = z.string().refine((s) => parseCidr(s) !== undefined, {
  message: 'must be the host address and prefix, such as 10.213.0.1/24 (IPv4, /8 to /30, not the network or broadcast address)',
});
const dhcpRange = z.object({ start: ipv4, end: ipv4 }).strict();

/** NAT and isolated networks: libvirt makes the bridge and serves DHCP on it. */
const routedFields = {
  name: safeName,
  /** The bridge libvirt creates (≤ 15 characters); default virbr-<name> cut to 15. */
  bridge: bridgeName.optional(),
  /** This host's address on the network with its prefix: 10.213.0.1/24 (the guide's natbr0: 192.168.122.1, 255.255.255.0). */
  cidr,
  /** DHCP range inside the subnet; none: no DHCP server. */
  dhcp: dhcpRange.optional(),
};

export const networkSpec = z
  .discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('nat'),
        ...routedFields,
        /** NAT only out of this host interface (libvirt forward dev); default: every interface. */
        forwardDev: bridgeName.optional(),
      })
      .strict(),
    z.object({ kind: z.literal('isolated'), ...routedFields }).strict(),
    /** An existing host Linux bridge (the guide's br1): guests sit on the host's LAN. */
    z.object({ kind: z.literal('bridge'), name: safeName, bridge: bridgeName }).strict(),
    /** An existing Open vSwitch bridge: every interface on it gets <virtualport type='openvswitch'/>. */
    z.object({ kind: z.literal('ovs'), name: safeName, bridge: bridgeName }).strict(),
  ])
  .superRefine((n, ctx) => {
    if (n.kind !== 'nat' && n.kind !== 'isolated') return;
    const subnet = parseCidr(n.cidr);
    if (!subnet || !n.dhcp) return;
    for (const key of ['start', 'end'] as const) {
      if (!inSubnet(n.dhcp[key], subnet)) {
        ctx.addIssue({ code: 'custom', path: ['dhcp', key], message: `${n.dhcp[key]} is not inside ${subnet.network}/${subnet.prefix}` });
      }
    }
    if (ipv4ToInt(n.dhcp.start) > ipv4ToInt(n.dhcp.end)) ctx.addIssue({ code: 'custom', path: ['dhcp'], message: 'start must not be after end' });
    const own = ipv4ToInt(subnet.address);
    if (own >= ipv4ToInt(n.dhcp.start) && own <= ipv4ToInt(n.dhcp.end)) {
      ctx.addIssue({ code: 'custom', path: ['dhcp'], message: `the range holds the host's own address ${subnet.address}` });
    }
  });
export type NetworkSpec = z.output<typeof networkSpec>;

/** The bridge a NAT or isolated network gets when none is named: virbr-<name>, at most 15 characters. */
export function defaultBridgeName(network: string): string {
  return `virbr-${network}`.slice(0, 15).replace(/[^A-Za-z0-9_.-]/g, '-');
}

const networkResult = z.object({ network: networkInventory, takenAt: z.iso.datetime() });
const onNetwork = z.object({ name: safeName }).strict();
const lockKey = (p: { name: string } | { network: { name: string } }) => networkLockKey('network' in p ? p.network.name : p.name);

export const defineNetworkJob = defineJob({
  name: 'define-network',
  summary: 'Define a libvirt network from validated fields (nat, isolated, bridge, ovs), then start and autostart it as asked (virsh net-define, net-start, net-autostart).',
  payload: z
    .object({
      network: networkSpec,
      start: z.boolean().default(true),
      autostart: z.boolean().default(true),
    })
    .strict(),
  result: networkResult.extend({
    /** false: a network with this name and the same definition existed already. */
    created: z.boolean(),
    /** nat: IPv4 forwarding was off and starting the network turned it on (libvirt does; it stays on). */
    ipForwardingEnabled: z.boolean().optional(),
  }),
  timeoutMs: 120_000,
  attempts: 3,
  lockKey,
});

export const startNetworkJob = defineJob({
  name: 'start-network',
  summary: 'Start a network (virsh net-start); an active one is left as it is.',
  payload: onNetwork,
  result: networkResult,
  timeoutMs: 120_000,
  attempts: 3,
  lockKey,
});

export const stopNetworkJob = defineJob({
  name: 'stop-network',
  summary: 'Stop a network (virsh net-destroy); its definition stays. Running VMs on it lose their link.',
  payload: onNetwork,
  result: networkResult,
  timeoutMs: 120_000,
  attempts: 3,
  lockKey,
});

export const setNetworkAutostartJob = defineJob({
  name: 'set-network-autostart',
  summary: 'Start the network with libvirtd, or not (virsh net-autostart [--disable]).',
  payload: z.object({ name: safeName, enabled: z.boolean() }).strict(),
  result: networkResult,
  timeoutMs: 60_000,
  attempts: 3,
  lockKey,
});

export const undefineNetworkJob = defineJob({
  name: 'undefine-network',
  summary: 'Stop and undefine a network (virsh net-destroy, net-undefine); refused while a running VM uses it unless forced.',
  payload: z.object({ name: safeName, force: z.boolean().default(false) }).strict(),
  result: z.object({
    /** false: there was no such network (already gone). */
    undefined: z.boolean(),
    /** Running VMs that were on it (force). */
    vmsAffected: z.array(z.string()),
  }),
  timeoutMs: 120_000,
  attempts: 3,
  lockKey,
});

/** Where an interface change applies: the running domain, its saved config, or both. */
const when = {
  /** Change the running domain (default: when it runs). */
  live: z.boolean().optional(),
  /** Change the persistent config (default: true). */
  config: z.boolean().default(true),
};

export const attachInterfaceJob = defineJob({
  name: 'attach-interface',
  summary: 'Add a NIC to a VM on a network or host bridge (virsh attach-device of our interface XML; OVS bridges get their virtualport).',
  payload: z
    .object({
      vm: vmRef,
      /** network or bridge, model (default virtio), mac (the API picks one when none is given, so a redelivered job finds its NIC). */
      nic: vmNicSpec,
      ...when,
    })
    .strict(),
  result: vmResult.extend({ mac: z.string(), attached: z.boolean(), live: z.boolean(), config: z.boolean() }),
  timeoutMs: 120_000,
  attempts: 3,
  lockKey: (p) => vmLockKey(p.vm.name),
});

export const detachInterfaceJob = defineJob({
  name: 'detach-interface',
  summary: 'Remove a VM NIC by its MAC (virsh detach-device); one already gone is not an error.',
  payload: z.object({ vm: vmRef, mac: macAddress, ...when }).strict(),
  result: vmResult.extend({ mac: z.string(), detached: z.boolean(), live: z.boolean(), config: z.boolean() }),
  timeoutMs: 120_000,
  attempts: 3,
  lockKey: (p) => vmLockKey(p.vm.name),
});

