import type { Command } from '@virtfleet/exec';
import { defaultBridgeName, parseCidr, SAFE_NAME_PATTERN, type NetworkSpec } from '@virtfleet/contracts';
import { virsh } from './virsh';
import { VIRSH_TIMEOUT_MS, VirshParseError } from './virsh-domain';
import { checkPath, checkUuid, UnsafeValueError } from './virt-install';

// libvirt networks and VM NICs. The XML is written here from validated fields only, never taken
// from a caller, so a network can hold nothing we did not mean (no <dns> forwarders, no hooks).
// Facts measured on libvirt 9.0.

// net-start of a NAT network starts dnsmasq and writes firewall rules; a busy libvirtd adds to it.
export const VIRSH_NET_TIMEOUT_MS = 60_000;

// Every value goes through here: single-quoted attributes as libvirt writes them, so ' matters too.
function esc(value: string): string {
  const map: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
  return value.replace(/[&<>"']/g, (c) => map[c] ?? c);
}

function attrs(values: Readonly<Record<string, string | undefined>>): string {
  return Object.entries(values)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}='${esc(v)}'`)
    .join('');
}

/**
 * libvirt network XML for a validated NetworkSpec. nat and isolated: libvirt creates the bridge
 * and serves DHCP on it when a range is given; bridge and ovs: the host bridge must exist already.
 */
export function networkXml(spec: NetworkSpec): string {
  const out = ['<network>', `  <name>${esc(spec.name)}</name>`];
  if (spec.kind === 'bridge' || spec.kind === 'ovs') {
    out.push(`  <forward mode='bridge'/>`, `  <bridge${attrs({ name: spec.bridge })}/>`);
    // Without it libvirt would plug guests into the OVS bridge as if it were a Linux bridge, and fail.
    if (spec.kind === 'ovs') out.push(`  <virtualport type='openvswitch'/>`);
  } else {
    // The contract checked the CIDR; this guards the builder against an unchecked caller.
    const subnet = parseCidr(spec.cidr);
    if (!subnet) throw new UnsafeValueError('cidr', 'must be an IPv4 host address with a /8 to /30 prefix');
    if (spec.kind === 'nat') {
      const dev = spec.forwardDev;
      // libvirt itself adds <interface dev=…/> under a forward dev (net-dumpxml shows it); writing it
      // ourselves keeps our XML equal to what libvirt stores.
      if (dev === undefined) out.push(`  <forward mode='nat'/>`);
      else out.push(`  <forward mode='nat'${attrs({ dev })}>`, `    <interface${attrs({ dev })}/>`, '  </forward>');
    }
    out.push(`  <bridge${attrs({ name: spec.bridge ?? defaultBridgeName(spec.name) })} stp='on' delay='0'/>`);
    const ip = `  <ip${attrs({ address: subnet.address, netmask: subnet.netmask })}`;
    if (spec.dhcp) {
      out.push(`${ip}>`, '    <dhcp>', `      <range${attrs({ start: spec.dhcp.start, end: spec.dhcp.end })}/>`, '    </dhcp>', '  </ip>');
    } else {
      out.push(`${ip}/>`);
    }
  }
  out.push('</network>');
  return `${out.join('\n')}\n`;
}

export interface InterfaceXmlSpec {
  /** A libvirt network (type='network'); give this or bridge. */
  readonly network?: string;
  /** A host bridge (type='bridge'). */
  readonly bridge?: string;
  readonly model: string;
  /** Always given: detach finds the NIC by it, and a redelivered attach must find the one it made. */
  readonly mac: string;
  /** A host bridge that is an OVS bridge; a network of kind ovs adds it by itself. */
  readonly virtualport?: 'openvswitch';
}

/** `<interface>` XML for virsh attach-device / detach-device. */
export function interfaceXml(nic: InterfaceXmlSpec): string {
  if (!nic.network === !nic.bridge) throw new UnsafeValueError('nic', 'give exactly one of network or bridge');
  const source = nic.network ? { type: 'network', attr: { network: nic.network } } : { type: 'bridge', attr: { bridge: nic.bridge } };
  const out = [
    `<interface${attrs({ type: source.type })}>`,
    `  <mac${attrs({ address: nic.mac })}/>`,
    `  <source${attrs(source.attr)}/>`,
    ...(nic.virtualport ? [`  <virtualport${attrs({ type: nic.virtualport })}/>`] : []),
    `  <model${attrs({ type: nic.model })}/>`,
    '</interface>',
  ];
  return `${out.join('\n')}\n`;
}

// ---- virsh argv ----

// The same names the contract takes; anything else never reaches virsh.
function checkNetworkName(name: unknown): string {
  if (typeof name !== 'string' || !SAFE_NAME_PATTERN.test(name)) throw new UnsafeValueError('network', `must match ${SAFE_NAME_PATTERN.source}`);
  return name;
}

// --network NAME: a name is never read as an option, and virsh looks it up as name or UUID.
function onNetwork(uri: string, action: string, name: string, ...rest: string[]): Command {
  return { ...virsh(uri, action, '--network', checkNetworkName(name), ...rest), timeoutMs: VIRSH_NET_TIMEOUT_MS };
}

/**
 * Define (or redefine) a network from an XML file. validate: check it against libvirt's schema
 * (else an unknown element is dropped silently); our own XML needs it less than a domain's.
 */
export function virshNetDefine(uri: string, xmlPath: string, opts: { validate?: boolean } = {}): Command {
  const args = ['net-define', '--file', checkPath('xmlPath', xmlPath)];
  if (opts.validate) args.push('--validate');
  return { ...virsh(uri, ...args), timeoutMs: VIRSH_NET_TIMEOUT_MS };
}

export function virshNetStart(uri: string, name: string): Command {
  return onNetwork(uri, 'net-start', name);
}

/** Stops the network; its definition stays. Guests on it lose their link. */
export function virshNetDestroy(uri: string, name: string): Command {
  return onNetwork(uri, 'net-destroy', name);
}

/** An active network stays up as a transient one: destroy it first. */
export function virshNetUndefine(uri: string, name: string): Command {
  return onNetwork(uri, 'net-undefine', name);
}

export function virshNetAutostart(uri: string, name: string, enabled: boolean): Command {
  return enabled ? onNetwork(uri, 'net-autostart', name) : onNetwork(uri, 'net-autostart', name, '--disable');
}

/** inactive: the persistent definition (what the next net-start gets), not the running one. */
export function virshNetDumpXml(uri: string, name: string, opts: { inactive?: boolean } = {}): Command {
  return onNetwork(uri, 'net-dumpxml', name, ...(opts.inactive ? ['--inactive'] : []));
}

export function virshNetInfo(uri: string, name: string): Command {
  return onNetwork(uri, 'net-info', name);
}

/** Where a device change applies. Neither would mean virsh's --current, which depends on the state. */
export interface DeviceTarget {
  readonly live: boolean;
  readonly config: boolean;
}

function deviceCommand(uri: string, action: string, uuid: string, xmlPath: string, target: DeviceTarget): Command {
  if (!target.live && !target.config) throw new UnsafeValueError('live/config', 'at least one of live or config must be true');
  const args = [action, '--domain', checkUuid('uuid', uuid), '--file', checkPath('xmlPath', xmlPath)];
  if (target.live) args.push('--live');
  if (target.config) args.push('--config');
  return { ...virsh(uri, ...args), timeoutMs: VIRSH_TIMEOUT_MS };
}

/** Adds the device in the XML file (an <interface> from interfaceXml) to the domain. */
export function virshAttachDevice(uri: string, uuid: string, xmlPath: string, target: DeviceTarget): Command {
  return deviceCommand(uri, 'attach-device', uuid, xmlPath, target);
}

/** Removes the device the XML file matches (an interface by its MAC). */
export function virshDetachDevice(uri: string, uuid: string, xmlPath: string, target: DeviceTarget): Command {
  return deviceCommand(uri, 'detach-device', uuid, xmlPath, target);
}

// ---- parsers ----

export interface NetInfo {
  readonly name: string;
  readonly uuid?: string;
  readonly active: boolean;
  readonly persistent: boolean;
  readonly autostart: boolean;
  /** Absent when libvirt reports none. */
  readonly bridge?: string;
}

/** `net-info`: "Key:<spaces>Value" lines; Active, Persistent and Autostart are yes or no. */
export function parseNetInfo(stdout: string): NetInfo {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line.trim());
    if (m?.[1]) kv.set(m[1], (m[2] ?? '').trim());
  }
  const need = (key: string): string => {
    const v = kv.get(key);
    if (!v) throw new VirshParseError(`net-info (no ${key})`, stdout);
    return v;
  };
  const yesNo = (key: string): boolean => {
    const v = need(key);
    if (v !== 'yes' && v !== 'no') throw new VirshParseError(`net-info (${key}: ${v})`, stdout);
    return v === 'yes';
  };
  const uuid = kv.get('UUID');
  const bridge = kv.get('Bridge');
  return {
    name: need('Name'),
    ...(uuid ? { uuid } : {}),
    active: yesNo('Active'),
    persistent: yesNo('Persistent'),
    autostart: yesNo('Autostart'),
    ...(bridge ? { bridge } : {}),
  };
}
