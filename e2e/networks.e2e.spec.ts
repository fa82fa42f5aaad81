import { join } from 'node:path';
import { guestFixtures, REPO_ROOT, waitFor, type GuestFixtures, Fleet, onHost, removeDomains, TINY_KERNEL_BOOT } from '@virtfleet/testing';

// Issue 8: libvirt networks and NICs through the API on the real libvirtd (TCG), each step
// checked with virsh, ip and bridge on the host. Every address is in 10.213.0.0/16 on bridges
// with no uplink: the NAT network forwards only to an empty bridge the test makes.

interface NetworkBody {
  name: string;
  hostId: string;
  active: boolean;
  autostart: boolean;
  persistent: boolean;
  bridge?: string;
  forward?: string;
  cidr?: string;
  leases?: Array<{ mac: string; ip: string }>;
}

interface VmBody {
  id: string;
  name: string;
  uuid: string;
  interfaces: Array<{ mac?: string; network?: string; bridge?: string; addresses?: string[] }>;
}

const ID = process.pid % 50;
const PREFIX = `vfnet${process.pid}-`;
const NAT = `${PREFIX}nat`;
const ISO = `${PREFIX}iso`;
const BRNET = `${PREFIX}br`;
const UPLINK = `vfu${process.pid % 100000}`; // the NAT network's only way out: an empty bridge
const LAN = `vfl${process.pid % 100000}`; // a host Linux bridge, as the operation guide's br1
const NAT_BRIDGE = `vfn${process.pid % 100000}`;
const ISO_BRIDGE = `vfi${process.pid % 100000}`;
const NAT_NET = `10.213.${100 + ID * 2}`;
const OVS = `vfo${process.pid % 100000}`; // an Open vSwitch bridge (userspace datapath: no kernel module here)
const OVSNET = `${PREFIX}ovs`;
const ovsScript = (verb: string) => onHost('bash', join(REPO_ROOT, 'scripts/ovs.sh'), verb);
const ISO_NET = `10.213.${101 + ID * 2}`;

const virsh = (...args: string[]) => onHost('virsh', '-q', ...args).then((s) => s.trim());
/** `virsh net-list --all` as rows: name → [state, autostart, persistent]. */
async function netList(): Promise<Map<string, string[]>> {
  const rows = (await virsh('net-list', '--all')).split('\n').map((l) => l.trim().split(/\s+/));
  return new Map(rows.filter((r) => r[0]).map((r) => [r[0] ?? '', r.slice(1)]));
}
/** `virsh domiflist` MACs, live or of the saved config. */
async function macs(vm: string, inactive = false): Promise<string[]> {
  const out = await virsh('domiflist', vm, ...(inactive ? ['--inactive'] : []));
  return out.split('\n').map((l) => l.trim().split(/\s+/)[4] ?? '').filter(Boolean);
}

describe('networks and NICs end to end on the real libvirtd (TCG)', () => {
  let fleet: Fleet;
  let fx: GuestFixtures;
  let ovsWasUp = false;

  beforeAll(async () => {
    fx = await guestFixtures();
    fleet = await Fleet.start({ name: 'e2e-networks', agentEnv: { VIRTFLEET_ISO_ROOT: fx.dir, VIRTFLEET_INVENTORY_INTERVAL_MS: '2000' } });
    for (const br of [UPLINK, LAN]) await onHost('ip', 'link', 'add', br, 'type', 'bridge').catch(() => undefined);
    await onHost('ip', 'link', 'set', LAN, 'up');
  }, 180_000);

  afterAll(async () => {
    await onHost('ovs-vsctl', '--if-exists', 'del-br', OVS).catch(() => undefined);
    if (!ovsWasUp) await ovsScript('stop').catch(() => undefined);
    await removeDomains(PREFIX);
    for (const n of [...(await netList()).keys()].filter((n) => n.startsWith(PREFIX))) {
      await onHost('virsh', 'net-destroy', n).catch(() => undefined);
      await onHost('virsh', 'net-undefine', n).catch(() => undefined);
    }
    for (const br of [UPLINK, LAN]) await onHost('ip', 'link', 'del', br).catch(() => undefined);
    await fleet?.stop();
  }, 120_000);

  const kernelBoot = TINY_KERNEL_BOOT;

  const accepted = (r: { status: number; body: Record<string, unknown> }, what: string, waitSeconds = 120) => fleet.accepted(r, what, waitSeconds);
  const succeeded = async (r: Promise<{ status: number; body: Record<string, unknown> }>, what: string) => {
    const job = await accepted(await r, what);
    if (job.state !== 'succeeded') throw new Error(`${what}: ${job.state} ${JSON.stringify(job.error)}`);
    return job;
  };
  const networkPath = (name: string) => `/v1/hosts/${fleet.hostId}/networks/${name}`;
  const action = (name: string, act: string, body: unknown = {}) => succeeded(fleet.post(`${networkPath(name)}/actions/${act}`, body), `${act} ${name}`);
  async function del(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(new URL(path, fleet.url), { method: 'DELETE', headers: { authorization: `Bearer ${fleet.token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const listed = async (name: string) => (await fleet.get<{ items: NetworkBody[] }>(`/v1/networks?hostId=${fleet.hostId}&name=${name}`)).items[0];
  async function vmNamed(name: string): Promise<VmBody> {
    const vm = (await fleet.get<{ items: VmBody[] }>(`/v1/vms?hostId=${fleet.hostId}&name=${encodeURIComponent(name)}`)).items.find((v) => v.name === name);
    if (!vm) throw new Error(`no VM ${name}`);
    return vm;
  }

  it('NAT and isolated networks: defined, started, autostarted, listed, stopped and undefined, as virsh sees them', async () => {
    const nat = {
      kind: 'nat',
      name: NAT,
      bridge: NAT_BRIDGE,
      cidr: `${NAT_NET}.1/24`,
      dhcp: { start: `${NAT_NET}.100`, end: `${NAT_NET}.200` },
      forwardDev: UPLINK,
    };
    const iso = { kind: 'isolated', name: ISO, bridge: ISO_BRIDGE, cidr: `${ISO_NET}.1/24`, dhcp: { start: `${ISO_NET}.10`, end: `${ISO_NET}.20` } };
    const natJob = await succeeded(fleet.post('/v1/networks', { hostId: fleet.hostId, network: nat }), 'define nat');
    expect(natJob.result).toMatchObject({ created: true, network: { name: NAT, active: true, autostart: true, forward: 'nat', cidr: `${NAT_NET}.1/24` } });
    expect(typeof (natJob.result as { ipForwardingEnabled?: boolean }).ipForwardingEnabled).toBe('boolean');
    // A running NAT network means forwarding is on, and the host's facts say so.
    expect((await onHost('cat', '/proc/sys/net/ipv4/ip_forward')).trim()).toBe('1');
    await waitFor('the host facts to show IP forwarding', async () => (await fleet.get<{ facts: { ipForwarding?: boolean } }>(`/v1/hosts/${fleet.hostId}`)).facts.ipForwarding === true, {
      timeoutMs: 15_000,
      intervalMs: 250,
    });
    await succeeded(fleet.post('/v1/networks', { hostId: fleet.hostId, network: iso }), 'define isolated');
    // The same request again is not an error: the network is there as asked.
    const again = await succeeded(fleet.post('/v1/networks', { hostId: fleet.hostId, network: iso }), 'define isolated again');
    expect(again.result).toMatchObject({ created: false });
    const clash = await accepted(await fleet.post('/v1/networks', { hostId: fleet.hostId, network: { ...iso, cidr: `${ISO_NET}.2/24` } }), 'clash');
    expect(clash.error).toMatchObject({ code: 'network_exists' });

    let rows = await netList();
    expect(rows.get(NAT)).toEqual(['active', 'yes', 'yes']);
    expect(rows.get(ISO)).toEqual(['active', 'yes', 'yes']);
    const natXml = await virsh('net-dumpxml', NAT);
    expect(natXml).toMatch(/<forward dev='[^']+' mode='nat'>|<forward mode='nat' dev='[^']+'>/);
    expect(natXml).toContain(`<bridge name='${NAT_BRIDGE}'`);
    expect(natXml).toContain(`<ip address='${NAT_NET}.1' netmask='255.255.255.0'>`);
    expect(natXml).toContain(`<range start='${NAT_NET}.100' end='${NAT_NET}.200'/>`);
    const isoXml = await virsh('net-dumpxml', ISO);
    expect(isoXml).not.toContain('<forward');
    expect(await listed(NAT)).toMatchObject({ active: true, autostart: true, persistent: true, forward: 'nat', bridge: NAT_BRIDGE });
    expect(await listed(ISO)).toMatchObject({ active: true, autostart: true, persistent: true, forward: 'isolated', bridge: ISO_BRIDGE });

    await action(ISO, 'stop');
    await action(ISO, 'set-autostart', { enabled: false });
    rows = await netList();
    expect(rows.get(ISO)).toEqual(['inactive', 'no', 'yes']);
    expect(await listed(ISO)).toMatchObject({ active: false, autostart: false });
    await action(ISO, 'start');
    expect((await netList()).get(ISO)?.[0]).toBe('active');

    const gone = await succeeded(del(networkPath(ISO)), 'undefine isolated');
    expect(gone.result).toMatchObject({ undefined: true });
    expect((await netList()).has(ISO)).toBe(false);
    expect(await listed(ISO)).toBeUndefined();
  }, 300_000);

  it('bad network requests are a 400 and make no job', async () => {
    const before = (await fleet.get<{ items: unknown[] }>(`/v1/jobs?hostId=${fleet.hostId}&type=define-network&limit=500`)).items.length;
    const base = { kind: 'nat', name: `${PREFIX}bad`, cidr: '10.213.250.1/24' };
    const bad = [
      { ...base, cidr: '10.213.250.0/24' }, // the network address
      { ...base, cidr: '10.213.250.255/24' }, // the broadcast address
      { ...base, cidr: '300.1.1.1/24' },
      { ...base, cidr: '10.213.250.1/33' },
      { ...base, cidr: 'abc' },
      { ...base, dhcp: { start: '10.213.251.10', end: '10.213.251.20' } }, // outside the subnet
      { ...base, dhcp: { start: '10.213.250.20', end: '10.213.250.10' } }, // backwards
      { ...base, dhcp: { start: '10.213.250.1', end: '10.213.250.20' } }, // holds the host's own address
      { ...base, bridge: 'a-bridge-name-too-long' },
      { ...base, bridge: 'br;rm' },
      { kind: 'bridge', name: `${PREFIX}bad`, bridge: '-br0' },
      { kind: 'ovs', name: `${PREFIX}bad`, bridge: 'br0', cidr: '10.213.250.1/24' },
      { kind: 'nat', name: '../x', cidr: '10.213.250.1/24' },
    ];
    for (const network of bad) {
      const r = await fleet.post('/v1/networks', { hostId: fleet.hostId, network });
      expect([JSON.stringify(network), r.status]).toEqual([JSON.stringify(network), 400]);
    }
    expect((await fleet.post('/v1/networks', { network: base })).status).toBe(400); // no host
    const after = (await fleet.get<{ items: unknown[] }>(`/v1/jobs?hostId=${fleet.hostId}&type=define-network&limit=500`)).items.length;
    expect(after).toBe(before);
  });

  it('the tiny guest on the NAT network gets a DHCP lease, and the API shows its address', async () => {
    const name = `${PREFIX}dhcp`;
    const job = await succeeded(
      fleet.post('/v1/vms', {
        hostId: fleet.hostId,
        name,
        memoryMiB: 256,
        vcpus: 1,
        install: kernelBoot,
        networks: [{ network: NAT }],
        waitFor: 'guest-ready',
        readyMarker: 'TINYGUEST-DHCP',
        readyTimeoutSeconds: 120,
      }),
      'create-vm',
    );
    expect((job.result as { ready: { sign: string } }).ready.sign).toMatch(/TINYGUEST-DHCP|DHCP lease/);
    const vm = await vmNamed(name);
    const mac = vm.interfaces[0]?.mac ?? '';
    const lease = await waitFor('a lease in virsh net-dhcp-leases', async () => (await virsh('net-dhcp-leases', NAT)).split('\n').find((l) => l.includes(mac)), { timeoutMs: 60_000, intervalMs: 500 });
    const ip = /(\d+\.\d+\.\d+\.\d+)\//.exec(lease)?.[1];
    expect(ip?.startsWith(`${NAT_NET}.`)).toBe(true);
    // The next inventory carries the lease to the VM's interface and the network's lease list.
    await waitFor('the API to show the address', async () => (await vmNamed(name)).interfaces[0]?.addresses?.includes(ip ?? '') === true, { timeoutMs: 30_000, intervalMs: 500 });
    await waitFor('the network to list the lease', async () => (await listed(NAT))?.leases?.some((l) => l.mac === mac && l.ip === ip) === true, { timeoutMs: 30_000, intervalMs: 500 });

    // A running VM on it: undefine is refused unless forced.
    const refused = await accepted(await del(networkPath(NAT)), 'undefine nat');
    expect(refused.error).toMatchObject({ code: 'network_in_use' });
    expect(String((refused.error as { message: string }).message)).toContain(name);
    expect((await netList()).get(NAT)?.[0]).toBe('active');
  }, 300_000);

  it('a Linux bridge network: a VM on it is a port of the host bridge; a missing bridge is a clear error', async () => {
    await succeeded(fleet.post('/v1/networks', { hostId: fleet.hostId, network: { kind: 'bridge', name: BRNET, bridge: LAN } }), 'define bridge net');
    expect(await virsh('net-dumpxml', BRNET)).toContain("<forward mode='bridge'/>");
    const missing = await accepted(await fleet.post('/v1/networks', { hostId: fleet.hostId, network: { kind: 'bridge', name: `${PREFIX}nobr`, bridge: 'vfnosuchbr0' } }), 'missing bridge');
    expect(missing.state).toBe('failed');
    expect(missing.error).toMatchObject({ code: 'bridge_not_found' });
    expect(String((missing.error as { message: string }).message)).toContain('there is no bridge vfnosuchbr0 on this host');
    expect((await netList()).has(`${PREFIX}nobr`)).toBe(false);

    const name = `${PREFIX}lan`;
    await succeeded(
      fleet.post('/v1/vms', { hostId: fleet.hostId, name, memoryMiB: 128, vcpus: 1, install: kernelBoot, networks: [{ network: BRNET }] }),
      'create-vm on the bridge network',
    );
    const vm = await vmNamed(name);
    const vnet = (await virsh('domiflist', name)).split('\n')[0]?.trim().split(/\s+/)[0] ?? '';
    expect(await onHost('bridge', 'link', 'show', 'dev', vnet)).toContain(`master ${LAN}`);
    expect(vm.interfaces[0]).toMatchObject({ network: BRNET });
  }, 300_000);

  it('attach-interface and detach-interface change virsh domiflist live and in the saved config as asked', async () => {
    const name = `${PREFIX}lan`;
    const vm = await vmNamed(name);
    const [first] = await macs(name);
    // Live and config (the default for a running VM): a NIC on the NAT network.
    const both = await succeeded(fleet.post(`/v1/vms/${vm.id}/interfaces`, { network: NAT }), 'attach both');
    const mac1 = String((both.result as { mac: string }).mac);
    expect(both.result).toMatchObject({ attached: true, live: true, config: true });
    expect(await macs(name)).toEqual([first, mac1]);
    expect(await macs(name, true)).toEqual([first, mac1]);
    // Live only, on the host bridge, with a MAC of our choosing.
    const mac2 = '52:54:00:e8:00:02';
    const liveOnly = await succeeded(fleet.post(`/v1/vms/${vm.id}/interfaces`, { bridge: LAN, mac: mac2, config: false }), 'attach live');
    expect(liveOnly.result).toMatchObject({ mac: mac2, attached: true, live: true, config: false });
    expect(await macs(name)).toContain(mac2);
    expect(await macs(name, true)).not.toContain(mac2);
    // The same attach again changes nothing.
    const repeat = await succeeded(fleet.post(`/v1/vms/${vm.id}/interfaces`, { bridge: LAN, mac: mac2, config: false }), 'attach again');
    expect(repeat.result).toMatchObject({ attached: false });
    // The API's VM row follows.
    expect((await vmNamed(name)).interfaces.map((i) => i.mac)).toEqual(expect.arrayContaining([mac1, mac2]));

    // Config only: mac1 leaves the saved definition, stays in the running domain.
    const cfg = await succeeded(del(`/v1/vms/${vm.id}/interfaces/${mac1}?live=false`), 'detach config');
    expect(cfg.result).toMatchObject({ detached: true, live: false, config: true });
    expect(await macs(name, true)).toEqual([first]);
    expect(await macs(name)).toContain(mac1);
    // Live: the guest is asked to release the device; wait for libvirt to report it gone.
    await succeeded(del(`/v1/vms/${vm.id}/interfaces/${mac2}`), 'detach live');
    await waitFor('the live NIC to go', async () => !(await macs(name)).includes(mac2), { timeoutMs: 30_000, intervalMs: 250 });
    const gone = await succeeded(del(`/v1/vms/${vm.id}/interfaces/52:54:00:e8:00:09`), 'detach unknown');
    expect(gone.result).toMatchObject({ detached: false });
  }, 300_000);

  it("Open vSwitch: a network on an OVS bridge, and NICs on it or on the bridge itself, get <virtualport type='openvswitch'/> and become OVS ports", async () => {
    ovsWasUp = await ovsScript('status').then(() => true, () => false);
    await ovsScript('start');
    await onHost('ovs-vsctl', '--may-exist', 'add-br', OVS, '--', 'set', 'bridge', OVS, 'datapath_type=netdev');
    await onHost('ip', 'link', 'set', OVS, 'up');

    await succeeded(fleet.post('/v1/networks', { hostId: fleet.hostId, network: { kind: 'ovs', name: OVSNET, bridge: OVS } }), 'define ovs net');
    expect(await virsh('net-dumpxml', OVSNET)).toContain("<virtualport type='openvswitch'/>");
    expect(await listed(OVSNET)).toMatchObject({ forward: 'bridge', virtualport: 'openvswitch', bridge: OVS, active: true });
    // The kinds must match the bridge: a Linux bridge is not an OVS one, and the other way round.
    const wrong = await accepted(await fleet.post('/v1/networks', { hostId: fleet.hostId, network: { kind: 'ovs', name: `${PREFIX}wrong`, bridge: LAN } }), 'ovs on a linux bridge');
    expect(wrong.error).toMatchObject({ code: 'bridge_kind_mismatch' });

    // One VM on the OVS network, one with a NIC straight on the OVS bridge (the operation guide's
    // br0 case: without the virtualport element libvirt fails "Unable to add bridge br0 port vnetN:
    // Operation not supported"), and a NIC attached live to the bridge.
    const onNet = `${PREFIX}ovsnet`;
    const onBridge = `${PREFIX}ovsbr`;
    await succeeded(fleet.post('/v1/vms', { hostId: fleet.hostId, name: onNet, memoryMiB: 128, vcpus: 1, install: kernelBoot, networks: [{ network: OVSNET }] }), 'vm on ovs net');
    await succeeded(fleet.post('/v1/vms', { hostId: fleet.hostId, name: onBridge, memoryMiB: 128, vcpus: 1, install: kernelBoot, networks: [{ bridge: OVS }] }), 'vm on ovs bridge');
    const vm = await vmNamed(onBridge);
    const attached = await succeeded(fleet.post(`/v1/vms/${vm.id}/interfaces`, { bridge: OVS }), 'attach to ovs bridge');
    expect(attached.result).toMatchObject({ attached: true, live: true, config: true });

    const ports = (await onHost('ovs-vsctl', 'list-ports', OVS)).split('\n').map((l) => l.trim()).filter(Boolean);
    for (const name of [onNet, onBridge]) {
      const live = await virsh('dumpxml', name);
      const nics = [...live.matchAll(/<interface type='(?:bridge|network)'>[\s\S]*?<\/interface>/g)].map((m) => m[0]);
      expect(nics.length).toBeGreaterThan(0);
      for (const nic of nics) {
        expect(nic).toMatch(/<virtualport type='openvswitch'>/);
        expect(ports).toContain(/<target dev='([^']+)'/.exec(nic)?.[1]);
      }
    }
    expect(await onHost('ovs-vsctl', 'show')).toContain(`Bridge ${OVS}`);
    expect(ports.length).toBe(3);
  }, 300_000);

  it('the NAT network is stopped and, with force while VMs still use it, undefined', async () => {
    await action(NAT, 'stop');
    expect((await netList()).get(NAT)?.[0]).toBe('inactive');
    expect(await listed(NAT)).toMatchObject({ active: false, persistent: true });
    const gone = await succeeded(del(`${networkPath(NAT)}?force=true`), 'undefine nat with force');
    expect(gone.result).toMatchObject({ undefined: true });
    expect((await netList()).has(NAT)).toBe(false);
    expect(await listed(NAT)).toBeUndefined();
  }, 120_000);
});
