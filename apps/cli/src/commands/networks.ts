import { Option, type Command } from 'commander';
import type { Ctx, WaitFlags } from '../context';
import { waitable } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { printTable } from '../output';
import { parseLabels } from '../labels';
import { hostIdOf, oneHostId } from '../resolve';

interface CreateFlags extends WaitFlags {
  kind: 'nat' | 'isolated' | 'bridge' | 'ovs';
  cidr?: string;
  dhcp?: string;
  bridge?: string;
  forwardDev?: string;
  start: boolean;
  autostart: boolean;
  host?: string;
  hostSelector?: string;
}

/** The network spec the flags describe (define-network's schema checks the rest at the API). */
export function networkSpecOf(name: string, o: CreateFlags) {
  if (o.kind === 'bridge' || o.kind === 'ovs') {
    if (!o.bridge) throw new CliError(EXIT.usage, `a ${o.kind} network needs --bridge (the existing host bridge)`);
    if (o.cidr || o.dhcp || o.forwardDev) throw new CliError(EXIT.usage, `--cidr, --dhcp and --forward-dev are for nat and isolated networks, not ${o.kind}`);
    return { kind: o.kind, name, bridge: o.bridge };
  }
  if (!o.cidr) throw new CliError(EXIT.usage, `a ${o.kind} network needs --cidr, the host's address on it (10.213.0.1/24)`);
  let dhcp: { start: string; end: string } | undefined;
  if (o.dhcp) {
    const [start, end, extra] = o.dhcp.split(/[-,]/).map((s) => s.trim());
    if (!start || !end || extra !== undefined) throw new CliError(EXIT.usage, `--dhcp ${JSON.stringify(o.dhcp)}: give the range as START-END (10.213.0.100-10.213.0.200)`);
    dhcp = { start, end };
  }
  if (o.forwardDev && o.kind !== 'nat') throw new CliError(EXIT.usage, '--forward-dev is for nat networks');
  return { kind: o.kind, name, cidr: o.cidr, ...(o.bridge ? { bridge: o.bridge } : {}), ...(dhcp ? { dhcp } : {}), ...(o.forwardDev ? { forwardDev: o.forwardDev } : {}) };
}

export function registerNetworks(program: Command, ctx: Ctx): void {
  const networks = program.command('networks').description('libvirt networks on the hosts (virsh net-*)');
  networks
    .command('ls')
    .description('Every host’s networks as its agent last reported them, with DHCP leases (virsh net-list --all)')
    .option('--host <host>', 'one host’s networks (name or id)')
    .option('--leases', 'one row per DHCP lease instead (virsh net-dhcp-leases)')
    .addHelpText('after', '\nExamples:\n  virtfleet networks ls\n  virtfleet networks ls --host kvm01 --leases')
    .action(async (o: { host?: string; leases?: boolean }) => {
      const items = await ctx.call(async (vf) => {
        const hostId = await hostIdOf(vf, o.host);
        return vf.networks.list(hostId ? { hostId } : {});
      });
      if (o.leases) {
        const rows = items.flatMap((n) => (n.leases ?? []).map((l) => ({ ...l, network: n.name, host: n.hostName })));
        return printTable(ctx.out(), rows, [
          ['HOST', (r) => r.host],
          ['NETWORK', (r) => r.network],
          ['MAC', (r) => r.mac],
          ['IP', (r) => r.ip],
          ['HOSTNAME', (r) => r.hostname],
          ['EXPIRES', (r) => r.expiry],
        ]);
      }
      printTable(ctx.out(), items, [
        ['HOST', (n) => n.hostName],
        ['NAME', (n) => n.name],
        ['STATE', (n) => (n.active ? 'active' : 'inactive')],
        ['AUTOSTART', (n) => (n.autostart ? 'yes' : 'no')],
        ['FORWARD', (n) => (n.virtualport === 'openvswitch' ? 'ovs' : n.forward)],
        ['BRIDGE', (n) => n.bridge],
        ['ADDRESS', (n) => n.cidr],
        ['LEASES', (n) => n.leases?.length ?? 0],
      ]);
    });
  waitable(
    networks
      .command('create <name>')
      .description('Define a network (virsh net-define of XML built from these flags), start it and mark it autostart')
      .addOption(new Option('--kind <kind>', 'nat: libvirt’s bridge with NAT out; isolated: no way out; bridge/ovs: an existing host bridge').choices(['nat', 'isolated', 'bridge', 'ovs']).default('nat'))
      .option('--cidr <address/prefix>', 'nat/isolated: the host’s address on it, 10.213.0.1/24')
      .option('--dhcp <start-end>', 'nat/isolated: a DHCP range inside it, 10.213.0.100-10.213.0.200')
      .option('--bridge <name>', 'bridge/ovs: the host bridge (br0); nat/isolated: the bridge libvirt makes (default virbr-<name>)')
      .option('--forward-dev <dev>', 'nat: NAT out of this host interface only')
      .option('--no-start', 'define it only')
      .option('--no-autostart', 'do not start it with libvirtd')
      .option('--host <host>', 'the host (name or id); needed when more than one is online')
      .option('--host-selector <k=v,…>', 'on every host with these labels instead (a parent job with one child per host)'),
  )
    .addHelpText(
      'after',
      `
Examples (the operation guide’s natbr0 network, and its br1 bridge):
  virtfleet networks create nat0 --cidr 192.168.122.1/24 --dhcp 192.168.122.2-192.168.122.254 --wait
  virtfleet networks create lan --kind bridge --bridge br1 --host kvm01 --wait
  virtfleet networks create ovs0 --kind ovs --bridge ovsbr0 --host-selector rack=r3`,
    )
    .action(async (name: string, o: CreateFlags) => {
      if (o.host && o.hostSelector) throw new CliError(EXIT.usage, 'give --host or --host-selector, not both');
      const network = networkSpecOf(name, o);
      await ctx.submit(o, async (vf) => {
        const where = o.hostSelector ? { hostSelector: parseLabels(o.hostSelector, '--host-selector') } : { hostId: await oneHostId(vf, o.host) };
        return vf.networks.define({ network, start: o.start, autostart: o.autostart, ...where });
      });
    });
  const action = (verb: 'start' | 'stop', what: string, example: string) =>
    waitable(networks.command(`${verb} <name>`).description(what).option('--host <host>', 'the host (name or id); needed when more than one is online'))
      .addHelpText('after', `\nExample:\n  ${example}`)
      .action(async (name: string, o: { host?: string } & WaitFlags) => {
        await ctx.submit(o, async (vf) => vf.networks.action(await oneHostId(vf, o.host), name, verb));
      });
  action('start', 'Start a defined network (virsh net-start)', 'virtfleet networks start nat0 --wait');
  action('stop', 'Stop a network (virsh net-destroy): its guests lose the link', 'virtfleet networks stop nat0 --host kvm01 --wait');
  waitable(
    networks
      .command('autostart <name>')
      .description('Start the network with libvirtd (virsh net-autostart), or not (--disable)')
      .option('--disable', 'do not start it with libvirtd')
      .option('--host <host>', 'the host (name or id); needed when more than one is online'),
  )
    .addHelpText('after', '\nExamples:\n  virtfleet networks autostart nat0\n  virtfleet networks autostart nat0 --disable')
    .action(async (name: string, o: { disable?: boolean; host?: string } & WaitFlags) => {
      await ctx.submit(o, async (vf) => vf.networks.action(await oneHostId(vf, o.host), name, 'set-autostart', { enabled: !o.disable }));
    });
  waitable(
    networks
      .command('rm <name>')
      .description('Stop and undefine a network (virsh net-destroy, net-undefine); refused while running VMs use it')
      .option('--force', 'even while running VMs use it')
      .option('--host <host>', 'the host (name or id); needed when more than one is online'),
  )
    .addHelpText('after', '\nExample:\n  virtfleet networks rm nat0 --wait')
    .action(async (name: string, o: { force?: boolean; host?: string } & WaitFlags) => {
      await ctx.submit(o, async (vf) => vf.networks.undefine(await oneHostId(vf, o.host), name, o.force ? { force: true } : {}));
    });
}

