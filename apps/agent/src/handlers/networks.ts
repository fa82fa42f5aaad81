import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DomainInventory, JobPayload, JobResult, NetworkInventory, NetworkSpec } from '@virtfleet/contracts';
import { defaultBridgeName, parseCidr } from '@virtfleet/contracts';
import { assertSucceeded } from '@virtfleet/exec';
import {
  collectInventory,
  interfaceXml,
  networkXml,
  parseDomainXml,
  parseNetInfo,
  parseNetworkXml,
  virshAttachDevice,
  virshDetachInterface,
  virshDumpXml,
  virshNetAutostart,
  virshNetDefine,
  virshNetDestroy,
  virshNetDumpXml,
  virshNetInfo,
  virshNetStart,
  virshNetUndefine,
  netDhcpLeases,
  parseDhcpLeases,
} from '@virtfleet/libvirt';
import { requireBridge } from '../host/bridges';
import type { JobContext } from '../job-context';
import { JobFailure } from '../job-failure';
import type { VmHandlers } from './vms';

export interface NetworkHandlerDeps {
  uri: string;
  /** A private folder for the XML files virsh reads (net-define, attach-device). */
  workDir: string;
  vms: VmHandlers;
  /** Where IPv4 forwarding is read (a test may point it elsewhere). */
  ipForwardFile?: string;
  publishDomain: (domain: DomainInventory, takenAt: string) => Promise<void>;
  /** A full inventory to the API, so the host's network list is right before the job ends. */
  publishNetworks: () => Promise<void>;
}

/**
 * libvirt networks and NICs. The network XML is generated from validated fields only; a name
 * that exists with the same definition is success (created: false), so every job is safe to
 * deliver again. Interfaces are found by MAC (the API picks one when the client did not).
 */
export class NetworkHandlers {
  constructor(private readonly d: NetworkHandlerDeps) {}

  readonly defineNetwork = async (p: JobPayload<'define-network'>, ctx: JobContext): Promise<JobResult<'define-network'>> => {
    const spec = p.network;
    const xml = networkXml(spec);
    const existing = await this.read(ctx, spec.name);
    if (existing && !sameDefinition(existing, spec)) {
      throw new JobFailure(
        'network_exists',
        `a network named ${spec.name} already exists on this host with another definition (forward ${existing.forward ?? '?'}, bridge ${existing.bridge ?? '?'}${existing.cidr ? `, ${existing.cidr}` : ''})`,
        { network: existing.name },
      );
    }
    if (spec.kind === 'bridge') await requireBridge(ctx, spec.bridge, 'linux');
    if (spec.kind === 'ovs') await requireBridge(ctx, spec.bridge, 'ovs');
    if (!existing) await this.withXmlFile(xml, (file) => ctx.run(virshNetDefine(this.d.uri, file)));
    const forwardBefore = spec.kind === 'nat' ? await this.ipForward() : undefined;
    try {
      if (p.start && !existing?.active) await ctx.run(virshNetStart(this.d.uri, spec.name));
      if (p.autostart && !existing?.autostart) await ctx.run(virshNetAutostart(this.d.uri, spec.name, true));
    } catch (err) {
      // A network this job defined but could not start (a bridge or subnet in use …) is not left behind.
      if (!existing) await ctx.cleanup(virshNetUndefine(this.d.uri, spec.name));
      throw err;
    }
    const forwardAfter = spec.kind === 'nat' ? await this.ipForward() : undefined;
    await this.d.publishNetworks();
    return {
      network: await this.mustRead(ctx, spec.name),
      takenAt: new Date().toISOString(),
      created: !existing,
      ...(forwardBefore !== undefined ? { ipForwardingEnabled: forwardBefore === false && forwardAfter === true } : {}),
    };
  };

  readonly startNetwork = (p: JobPayload<'start-network'>, ctx: JobContext) =>
    this.change(ctx, p.name, async (net) => {
      if (!net.active) await ctx.run(virshNetStart(this.d.uri, net.name));
    });

  readonly stopNetwork = (p: JobPayload<'stop-network'>, ctx: JobContext) =>
    this.change(ctx, p.name, async (net) => {
      if (net.active) await ctx.run(virshNetDestroy(this.d.uri, net.name));
    });

  readonly setNetworkAutostart = (p: JobPayload<'set-network-autostart'>, ctx: JobContext) =>
    this.change(ctx, p.name, async (net) => {
      if (!net.persistent) throw new JobFailure('network_transient', `${net.name} is transient (not defined): it cannot start with libvirtd`);
      if (net.autostart !== p.enabled) await ctx.run(virshNetAutostart(this.d.uri, net.name, p.enabled));
    });

  /** net-destroy and net-undefine; running VMs on the network refuse it unless forced (they would lose their link). */
  readonly undefineNetwork = async (p: JobPayload<'undefine-network'>, ctx: JobContext): Promise<JobResult<'undefine-network'>> => {
    const net = await this.read(ctx, p.name);
    if (!net) return { undefined: false, vmsAffected: [] };
    const { domains } = await collectInventory((cmd) => ctx.run(cmd, { allowFailure: true, quiet: true }), this.d.uri);
    const users = domains.filter((d) => d.state !== 'shutoff' && d.interfaces.some((i) => i.network === net.name)).map((d) => d.name);
    if (users.length && !p.force) {
      throw new JobFailure('network_in_use', `running VM(s) ${users.join(', ')} use network ${net.name}: shut them down or move their NICs first, or pass force`, {
        vms: users,
      });
    }
    if (net.active) await ctx.run(virshNetDestroy(this.d.uri, net.name));
    if (net.persistent) await ctx.run(virshNetUndefine(this.d.uri, net.name));
    await this.d.publishNetworks();
    return { undefined: true, vmsAffected: users };
  };

  /** Adds a NIC live and/or in the config; an interface with the MAC already there is left as it is. */
  readonly attachInterface = async (p: JobPayload<'attach-interface'>, ctx: JobContext): Promise<JobResult<'attach-interface'>> => {
    const mac = p.nic.mac;
    if (!mac) throw new JobFailure('payload_invalid', 'attach-interface needs a MAC (the API picks one)');
    const dom = await this.d.vms.mustFind(ctx, p.vm.uuid);
    const where = this.where(dom, p);
    const has = await this.macsOf(ctx, dom);
    const live = where.live && !has.live.includes(mac);
    const config = where.config && !has.config.includes(mac);
    // An OVS bridge needs the virtualport element (else: "Unable to add bridge … port vnetN: Operation not supported").
    const kind = p.nic.bridge ? await requireBridge(ctx, p.nic.bridge, 'any') : undefined;
    if (live || config) {
      const xml = interfaceXml({ ...p.nic, mac, ...(kind === 'ovs' ? { virtualport: 'openvswitch' as const } : {}) });
      await this.withXmlFile(xml, (file) => ctx.run(virshAttachDevice(this.d.uri, dom.uuid, file, { live, config })));
    }
    return { ...(await this.publish(ctx, dom.uuid)), mac, attached: live || config, live: where.live, config: where.config };
  };

  /** Removes the NIC with this MAC live and/or from the config; one already gone is not an error. */
  readonly detachInterface = async (p: JobPayload<'detach-interface'>, ctx: JobContext): Promise<JobResult<'detach-interface'>> => {
    const dom = await this.d.vms.mustFind(ctx, p.vm.uuid);
    const where = this.where(dom, p);
    const has = await this.macsOf(ctx, dom);
    const live = where.live && has.live.includes(p.mac);
    const config = where.config && has.config.includes(p.mac);
    if (live || config) {
      const type = [...dom.interfaces, ...has.configInterfaces].find((i) => i.mac === p.mac)?.type ?? 'network';
      await ctx.run(virshDetachInterface(this.d.uri, dom.uuid, type, p.mac, { live, config }));
    }
    return { ...(await this.publish(ctx, dom.uuid)), mac: p.mac, detached: live || config, live: where.live, config: where.config };
  };

  // ---- helpers ----

  /** live: as asked, else when the domain runs (a shut-off one cannot change live); config: as asked. */
  private where(dom: DomainInventory, p: { live?: boolean | undefined; config: boolean }): { live: boolean; config: boolean } {
    const active = dom.state === 'running' || dom.state === 'paused';
    if (p.live && !active) throw new JobFailure('vm_not_running', `${dom.name} is ${dom.state}: there is no running domain to change live (leave live out, or config only)`);
    const live = p.live ?? active;
    if (!live && !p.config) throw new JobFailure('payload_invalid', 'nothing to change: live and config are both false');
    if (!dom.persistent && p.config) throw new JobFailure('vm_transient', `${dom.name} is transient: it has no saved config (pass config: false)`);
    return { live, config: p.config };
  }

  /** The MACs of the running domain and of its saved config. */
  private async macsOf(ctx: JobContext, dom: DomainInventory) {
    const active = dom.state === 'running' || dom.state === 'paused';
    const inactive = dom.persistent
      ? parseDomainXml(assertSucceeded(await ctx.run(virshDumpXml(this.d.uri, dom.uuid, { inactive: true }), { quiet: true })).stdout)
      : undefined;
    const configInterfaces = inactive?.interfaces ?? [];
    return {
      live: active ? dom.interfaces.flatMap((i) => (i.mac ? [i.mac] : [])) : [],
      config: configInterfaces.flatMap((i) => (i.mac ? [i.mac] : [])),
      configInterfaces,
    };
  }

  private async publish(ctx: JobContext, uuid: string) {
    const read = await this.d.vms.snapshot(ctx, uuid);
    await this.d.publishDomain(read.domain, read.takenAt);
    return read;
  }

  private async change(ctx: JobContext, name: string, act: (net: NetworkInventory) => Promise<void>) {
    await act(await this.mustRead(ctx, name));
    const network = await this.mustRead(ctx, name);
    await this.d.publishNetworks();
    return { network, takenAt: new Date().toISOString() };
  }

  /** The network as libvirt has it (net-info, its saved XML, leases when active), or null. */
  private async read(ctx: JobContext, name: string): Promise<NetworkInventory | null> {
    const info = await ctx.run(virshNetInfo(this.d.uri, name), { allowFailure: true, quiet: true });
    if (info.exitCode !== 0) {
      if (/network not found|no network with matching name/i.test(info.stderr)) return null;
      assertSucceeded(info);
    }
    const state = parseNetInfo(info.stdout);
    const xml = assertSucceeded(await ctx.run(virshNetDumpXml(this.d.uri, name, { inactive: state.persistent }), { quiet: true })).stdout;
    const leases = state.active ? await ctx.run(netDhcpLeases(this.d.uri, name), { allowFailure: true, quiet: true }) : undefined;
    return {
      ...parseNetworkXml(xml),
      active: state.active,
      autostart: state.autostart,
      persistent: state.persistent,
      ...(leases?.exitCode === 0
        ? { leases: parseDhcpLeases(leases.stdout).map(({ mac, ip, hostname, expiry }) => ({ mac, ip, expiry, ...(hostname ? { hostname } : {}) })) }
        : {}),
    };
  }

  private async mustRead(ctx: JobContext, name: string): Promise<NetworkInventory> {
    const net = await this.read(ctx, name);
    if (!net) throw new JobFailure('network_not_found', `no network ${name} on this host`);
    return net;
  }

  private async withXmlFile<T>(xml: string, use: (file: string) => Promise<T>): Promise<T> {
    await mkdir(this.d.workDir, { recursive: true, mode: 0o700 });
    const file = join(this.d.workDir, `${randomUUID()}.xml`);
    await writeFile(file, xml, { mode: 0o600 });
    try {
      return await use(file);
    } finally {
      await rm(file, { force: true });
    }
  }

  /** /proc/sys/net/ipv4/ip_forward: true when on; undefined when it cannot be read. */
  private async ipForward(): Promise<boolean | undefined> {
    const text = await readFile(this.d.ipForwardFile ?? '/proc/sys/net/ipv4/ip_forward', 'utf8').catch(() => undefined);
    return text === undefined ? undefined : text.trim() === '1';
  }
}

/** Whether an existing network is the one this spec describes (kind, bridge, address): a repeat, not a clash. */
function sameDefinition(net: NetworkInventory, spec: NetworkSpec): boolean {
  const forward = { nat: 'nat', isolated: 'isolated', bridge: 'bridge', ovs: 'bridge' }[spec.kind];
  const bridge = spec.kind === 'nat' || spec.kind === 'isolated' ? (spec.bridge ?? defaultBridgeName(spec.name)) : spec.bridge;
  const cidr = spec.kind === 'nat' || spec.kind === 'isolated' ? parseCidr(spec.cidr) : undefined;
  return (
    net.forward === forward &&
    net.bridge === bridge &&
    (net.virtualport === 'openvswitch') === (spec.kind === 'ovs') &&
    (cidr ? net.cidr === `${cidr.address}/${cidr.prefix}` : true)
  );
}

