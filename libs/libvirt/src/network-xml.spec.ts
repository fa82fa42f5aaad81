import { argvOf } from '@virtfleet/exec';
import { networkSpec, type NetworkSpec } from '@virtfleet/contracts';
import { childElement, childElements, childText, parseXml, type XmlElement } from './domain-xml';
import { parseNetworkXml } from './inventory';
import {
  interfaceXml,
  networkXml,
  parseNetInfo,
  VIRSH_NET_TIMEOUT_MS,
  virshAttachDevice,
  virshDetachDevice,
  virshNetAutostart,
  virshNetDefine,
  virshNetDestroy,
  virshNetDumpXml,
  virshNetInfo,
  virshNetStart,
  virshNetUndefine,
} from './network-xml';
import { VIRSH_TIMEOUT_MS, VirshParseError } from './virsh-domain';
import { UnsafeValueError } from './virt-install';

const URI = 'qemu:///system';
const U = '92d1a097-3e99-4188-9c8f-18d9a4da8bb4';
const V = ['virsh', '-q', '-c', URI];

// Specs go through the contract, as the agent gets them.
const spec = (input: unknown): NetworkSpec => networkSpec.parse(input);
const only = (el: XmlElement | undefined, name: string): XmlElement => {
  const found = childElements(el, name);
  expect(found).toHaveLength(1);
  return found[0] as XmlElement;
};
const names = (el: XmlElement) => el.children.map((c) => c.name);

describe('networkXml', () => {
  it('nat: forward, bridge with STP, address and DHCP range', () => {
    const xml = networkXml(spec({ kind: 'nat', name: 'lab', cidr: '10.213.0.1/24', dhcp: { start: '10.213.0.100', end: '10.213.0.200' } }));
    const net = parseXml(xml);
    expect(net.name).toBe('network');
    expect(names(net)).toEqual(['name', 'forward', 'bridge', 'ip']);
    expect(childText(net, 'name')).toBe('lab');
    const forward = only(net, 'forward');
    expect(forward.attrs).toEqual({ mode: 'nat' });
    expect(forward.children).toEqual([]);
    expect(only(net, 'bridge').attrs).toEqual({ name: 'virbr-lab', stp: 'on', delay: '0' });
    const ip = only(net, 'ip');
    expect(ip.attrs).toEqual({ address: '10.213.0.1', netmask: '255.255.255.0' });
    expect(only(only(ip, 'dhcp'), 'range').attrs).toEqual({ start: '10.213.0.100', end: '10.213.0.200' });
  });

  it('nat with a forward dev: dev on <forward> and an <interface> inside, as libvirt stores it', () => {
    const net = parseXml(networkXml(spec({ kind: 'nat', name: 'out', cidr: '192.168.50.1/25', bridge: 'natbr0', forwardDev: 'eth0' })));
    const forward = only(net, 'forward');
    expect(forward.attrs).toEqual({ mode: 'nat', dev: 'eth0' });
    expect(only(forward, 'interface').attrs).toEqual({ dev: 'eth0' });
    expect(only(net, 'bridge').attrs['name']).toBe('natbr0');
    const ip = only(net, 'ip');
    expect(ip.attrs).toEqual({ address: '192.168.50.1', netmask: '255.255.255.128' });
    expect(childElement(ip, 'dhcp')).toBeUndefined();
  });

  it('isolated: no <forward>', () => {
    const net = parseXml(networkXml(spec({ kind: 'isolated', name: 'backplane', cidr: '172.16.0.1/16', dhcp: { start: '172.16.1.1', end: '172.16.1.9' } })));
    expect(names(net)).toEqual(['name', 'bridge', 'ip']);
    expect(only(net, 'bridge').attrs).toEqual({ name: 'virbr-backplane', stp: 'on', delay: '0' });
    expect(only(net, 'ip').attrs).toEqual({ address: '172.16.0.1', netmask: '255.255.0.0' });
    expect(only(only(only(net, 'ip'), 'dhcp'), 'range').attrs).toEqual({ start: '172.16.1.1', end: '172.16.1.9' });
  });

  it('bridge: forward mode bridge onto the host bridge, nothing else', () => {
    const net = parseXml(networkXml(spec({ kind: 'bridge', name: 'lan', bridge: 'br1' })));
    expect(names(net)).toEqual(['name', 'forward', 'bridge']);
    expect(only(net, 'forward').attrs).toEqual({ mode: 'bridge' });
    expect(only(net, 'bridge').attrs).toEqual({ name: 'br1' });
  });

  it('ovs: like bridge plus an openvswitch virtualport', () => {
    const net = parseXml(networkXml(spec({ kind: 'ovs', name: 'ovs-lan', bridge: 'ovsbr0' })));
    expect(names(net)).toEqual(['name', 'forward', 'bridge', 'virtualport']);
    expect(only(net, 'forward').attrs).toEqual({ mode: 'bridge' });
    expect(only(net, 'bridge').attrs).toEqual({ name: 'ovsbr0' });
    expect(only(net, 'virtualport').attrs).toEqual({ type: 'openvswitch' });
  });

  it('cuts the default bridge name to 15 characters', () => {
    const net = parseXml(networkXml(spec({ kind: 'isolated', name: 'a-very-long-network-name', cidr: '10.0.0.1/24' })));
    expect(only(net, 'bridge').attrs['name']).toBe('virbr-a-very-lo');
  });

  it.each([
    ['nat', { kind: 'nat', name: 'lab', cidr: '10.213.0.1/24', dhcp: { start: '10.213.0.2', end: '10.213.0.254' } }, 'nat', 'virbr-lab', undefined, '10.213.0.1/24'],
    ['nat dev', { kind: 'nat', name: 'out', cidr: '192.168.50.1/25', bridge: 'natbr0', forwardDev: 'eth0' }, 'nat', 'natbr0', undefined, '192.168.50.1/25'],
    ['isolated', { kind: 'isolated', name: 'iso', cidr: '172.16.0.1/16' }, 'isolated', 'virbr-iso', undefined, '172.16.0.1/16'],
    ['bridge', { kind: 'bridge', name: 'lan', bridge: 'br1' }, 'bridge', 'br1', undefined, undefined],
    ['ovs', { kind: 'ovs', name: 'ovs-lan', bridge: 'ovsbr0' }, 'bridge', 'ovsbr0', 'openvswitch', undefined],
  ])('parseNetworkXml reads back %s', (_label, input, forward, bridge, virtualport, cidr) => {
    const s = spec(input);
    const xml = networkXml(s);
    const facts = parseNetworkXml(xml);
    expect(facts.name).toBe(s.name);
    expect(facts.forward).toBe(forward);
    expect(facts.bridge).toBe(bridge);
    expect(facts.virtualport).toBe(virtualport);
    expect(facts.cidr).toBe(cidr);
    expect(facts.xml).toBe(xml);
  });

  it('escapes every value: & and quotes never break out of text or attributes', () => {
    // Not valid for the contract; the builder escapes whatever it is given.
    const evil = `a&b'c"<d>`;
    const attrEvil = `br'/><x y='1`;
    const nat = { kind: 'nat', name: evil, bridge: attrEvil, forwardDev: attrEvil, cidr: '10.0.0.1/24', dhcp: { start: attrEvil, end: '10.0.0.9' } } as NetworkSpec;
    const net = parseXml(networkXml(nat));
    expect(names(net)).toEqual(['name', 'forward', 'bridge', 'ip']);
    expect(childText(net, 'name')).toBe(evil);
    expect(only(net, 'forward').attrs).toEqual({ mode: 'nat', dev: attrEvil });
    expect(only(only(net, 'forward'), 'interface').attrs).toEqual({ dev: attrEvil });
    expect(only(net, 'bridge').attrs).toEqual({ name: attrEvil, stp: 'on', delay: '0' });
    expect(only(only(only(net, 'ip'), 'dhcp'), 'range').attrs).toEqual({ start: attrEvil, end: '10.0.0.9' });

    const ovs = parseXml(networkXml({ kind: 'ovs', name: evil, bridge: attrEvil } as NetworkSpec));
    expect(names(ovs)).toEqual(['name', 'forward', 'bridge', 'virtualport']);
    expect(only(ovs, 'bridge').attrs).toEqual({ name: attrEvil });
  });

  it('throws on a CIDR parseCidr refuses', () => {
    for (const cidr of ['10.0.0.0/24', '10.0.0.1', '10.0.0.1/31', "10.0.0.1/24'"]) {
      expect(() => networkXml({ kind: 'isolated', name: 'x', cidr } as NetworkSpec)).toThrow(UnsafeValueError);
    }
  });
});

describe('interfaceXml', () => {
  const MAC = '52:54:00:12:34:56';

  it('on a libvirt network', () => {
    const iface = parseXml(interfaceXml({ network: 'lab', model: 'virtio', mac: MAC }));
    expect(iface.name).toBe('interface');
    expect(iface.attrs).toEqual({ type: 'network' });
    expect(names(iface)).toEqual(['mac', 'source', 'model']);
    expect(only(iface, 'mac').attrs).toEqual({ address: MAC });
    expect(only(iface, 'source').attrs).toEqual({ network: 'lab' });
    expect(only(iface, 'model').attrs).toEqual({ type: 'virtio' });
  });

  it('on a host bridge, with the OVS virtualport before the model', () => {
    const iface = parseXml(interfaceXml({ bridge: 'ovsbr0', model: 'e1000e', mac: MAC, virtualport: 'openvswitch' }));
    expect(iface.attrs).toEqual({ type: 'bridge' });
    expect(names(iface)).toEqual(['mac', 'source', 'virtualport', 'model']);
    expect(only(iface, 'source').attrs).toEqual({ bridge: 'ovsbr0' });
    expect(only(iface, 'virtualport').attrs).toEqual({ type: 'openvswitch' });
    expect(only(iface, 'model').attrs).toEqual({ type: 'e1000e' });
  });

  it('needs exactly one of network or bridge', () => {
    expect(() => interfaceXml({ model: 'virtio', mac: MAC })).toThrow(UnsafeValueError);
    expect(() => interfaceXml({ network: 'lab', bridge: 'br1', model: 'virtio', mac: MAC })).toThrow(UnsafeValueError);
  });

  it('escapes every value', () => {
    const evil = `x'/><source bridge='br0`;
    const iface = parseXml(interfaceXml({ network: evil, model: `v&'"`, mac: evil }));
    expect(names(iface)).toEqual(['mac', 'source', 'model']);
    expect(only(iface, 'source').attrs).toEqual({ network: evil });
    expect(only(iface, 'mac').attrs).toEqual({ address: evil });
    expect(only(iface, 'model').attrs).toEqual({ type: `v&'"` });
  });
});

describe('virsh network and device builders', () => {
  it.each([
    ['net-define', virshNetDefine(URI, '/var/lib/virtfleet/tmp/lab.xml'), ['net-define', '--file', '/var/lib/virtfleet/tmp/lab.xml']],
    ['net-define --validate', virshNetDefine(URI, '/x/lab.xml', { validate: true }), ['net-define', '--file', '/x/lab.xml', '--validate']],
    ['net-start', virshNetStart(URI, 'lab'), ['net-start', '--network', 'lab']],
    ['net-destroy', virshNetDestroy(URI, 'lab'), ['net-destroy', '--network', 'lab']],
    ['net-undefine', virshNetUndefine(URI, 'lab'), ['net-undefine', '--network', 'lab']],
    ['net-autostart', virshNetAutostart(URI, 'lab', true), ['net-autostart', '--network', 'lab']],
    ['net-autostart --disable', virshNetAutostart(URI, 'lab', false), ['net-autostart', '--network', 'lab', '--disable']],
    ['net-dumpxml', virshNetDumpXml(URI, 'default'), ['net-dumpxml', '--network', 'default']],
    ['net-dumpxml --inactive', virshNetDumpXml(URI, 'default', { inactive: true }), ['net-dumpxml', '--network', 'default', '--inactive']],
    ['net-info', virshNetInfo(URI, 'default'), ['net-info', '--network', 'default']],
  ])('%s', (_label, command, args) => {
    expect(argvOf(command)).toEqual([...V, ...args]);
    expect(command.timeoutMs).toBe(VIRSH_NET_TIMEOUT_MS);
  });

  it.each([
    ['attach live+config', virshAttachDevice(URI, U, '/t/nic.xml', { live: true, config: true }), ['attach-device', '--domain', U, '--file', '/t/nic.xml', '--live', '--config']],
    ['attach config', virshAttachDevice(URI, U, '/t/nic.xml', { live: false, config: true }), ['attach-device', '--domain', U, '--file', '/t/nic.xml', '--config']],
    ['attach live', virshAttachDevice(URI, U, '/t/nic.xml', { live: true, config: false }), ['attach-device', '--domain', U, '--file', '/t/nic.xml', '--live']],
    ['detach live+config', virshDetachDevice(URI, U, '/t/nic.xml', { live: true, config: true }), ['detach-device', '--domain', U, '--file', '/t/nic.xml', '--live', '--config']],
    ['detach config', virshDetachDevice(URI, U, '/t/nic.xml', { live: false, config: true }), ['detach-device', '--domain', U, '--file', '/t/nic.xml', '--config']],
  ])('%s', (_label, command, args) => {
    expect(argvOf(command)).toEqual([...V, ...args]);
    expect(command.timeoutMs).toBe(VIRSH_TIMEOUT_MS);
  });

  it('refuses a device change that applies nowhere (virsh would pick --current)', () => {
    expect(() => virshAttachDevice(URI, U, '/t/nic.xml', { live: false, config: false })).toThrow(UnsafeValueError);
    expect(() => virshDetachDevice(URI, U, '/t/nic.xml', { live: false, config: false })).toThrow(UnsafeValueError);
  });

  it.each(['--inactive', '-c', '', 'a b', 'lab;rm', "lab'", 'a'.repeat(65), '.hidden'])('refuses the network name %j', (name) => {
    expect(() => virshNetStart(URI, name)).toThrow(UnsafeValueError);
    expect(() => virshNetDestroy(URI, name)).toThrow(UnsafeValueError);
    expect(() => virshNetUndefine(URI, name)).toThrow(UnsafeValueError);
    expect(() => virshNetAutostart(URI, name, false)).toThrow(UnsafeValueError);
    expect(() => virshNetDumpXml(URI, name)).toThrow(UnsafeValueError);
    expect(() => virshNetInfo(URI, name)).toThrow(UnsafeValueError);
  });

  it.each(['lab.xml', '/t/../etc/lab.xml', '/t//lab.xml', '/t/a,b.xml', '--file'])('refuses the XML path %j', (path) => {
    expect(() => virshNetDefine(URI, path)).toThrow(UnsafeValueError);
    expect(() => virshAttachDevice(URI, U, path, { live: true, config: true })).toThrow(UnsafeValueError);
    expect(() => virshDetachDevice(URI, U, path, { live: true, config: true })).toThrow(UnsafeValueError);
  });

  it('refuses a domain that is not a UUID', () => {
    expect(() => virshAttachDevice(URI, 'web-1', '/t/nic.xml', { live: true, config: true })).toThrow(UnsafeValueError);
    expect(() => virshDetachDevice(URI, '--all', '/t/nic.xml', { live: true, config: true })).toThrow(UnsafeValueError);
  });
});

describe('parseNetInfo', () => {
  // `virsh -q net-info default` on libvirt 9.0 (an inactive NAT network).
  const SAMPLE = `Name:           default
UUID:           6c8b4b5e-3c0a-4a4e-9d36-2f0f8f1f0a11
Active:         no
Persistent:     yes
Autostart:      no
Bridge:         virbr0

`;

  it('reads the sample', () => {
    expect(parseNetInfo(SAMPLE)).toEqual({
      name: 'default',
      uuid: '6c8b4b5e-3c0a-4a4e-9d36-2f0f8f1f0a11',
      active: false,
      persistent: true,
      autostart: false,
      bridge: 'virbr0',
    });
  });

  it('an active autostarted network without a bridge line', () => {
    const out = 'Name:           lan\nUUID:           6c8b4b5e-3c0a-4a4e-9d36-2f0f8f1f0a12\nActive:         yes\nPersistent:     yes\nAutostart:      yes\n';
    expect(parseNetInfo(out)).toEqual({ name: 'lan', uuid: '6c8b4b5e-3c0a-4a4e-9d36-2f0f8f1f0a12', active: true, persistent: true, autostart: true });
  });

  it('throws on output that is not net-info', () => {
    expect(() => parseNetInfo('')).toThrow(VirshParseError);
    expect(() => parseNetInfo(SAMPLE.replace('Active:         no', 'Active:         maybe'))).toThrow(VirshParseError);
    expect(() => parseNetInfo(SAMPLE.replace(/^Autostart.*$/m, ''))).toThrow(VirshParseError);
  });
});
