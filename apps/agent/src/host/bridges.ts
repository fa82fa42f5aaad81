import { access } from 'node:fs/promises';
import { ovsBrExists } from '@virtfleet/libvirt';
import type { JobContext } from '../job-context';
import { JobFailure } from '../job-failure';

/** What a host interface name is: a Linux bridge, an Open vSwitch bridge, something else, or nothing. */
export type BridgeKind = 'linux' | 'ovs' | 'other' | 'none';

const exists = (path: string) => access(path).then(() => true, () => false);

/**
 * A Linux bridge has /sys/class/net/NAME/bridge; an OVS bridge is a plain device there (its
 * internal port) that ovsdb knows. ovs-vsctl is asked only when the kernel cannot tell.
 */
export async function bridgeKind(ctx: JobContext, name: string): Promise<BridgeKind> {
  if (!(await exists(`/sys/class/net/${name}`))) return 'none';
  if (await exists(`/sys/class/net/${name}/bridge`)) return 'linux';
  const res = await ctx.run(ovsBrExists(name), { allowFailure: true });
  if (res.exitCode === 0) return 'ovs';
  if (res.exitCode === 2 || res.spawnError) return 'other';
  throw new JobFailure('ovs_unavailable', `${name} may be an Open vSwitch bridge, but ovs-vsctl failed: ${(res.stderr || '').trim().split('\n').pop() ?? ''}`);
}

/** The bridge a NIC or network names must be there, and of the kind asked for (a clear error otherwise). */
export async function requireBridge(ctx: JobContext, name: string, want: 'linux' | 'ovs' | 'any'): Promise<'linux' | 'ovs'> {
  const kind = await bridgeKind(ctx, name);
  if (kind === 'none') {
    const how = want === 'ovs' ? `ovs-vsctl add-br ${name}` : `ip link add ${name} type bridge, or an ifcfg-${name} file as the operation guide does`;
    throw new JobFailure('bridge_not_found', `there is no bridge ${name} on this host: create it first (${how})`, { bridge: name });
  }
  if (kind === 'other') throw new JobFailure('bridge_not_found', `${name} on this host is not a bridge (neither a Linux nor an Open vSwitch bridge)`, { bridge: name });
  if (want !== 'any' && kind !== want) {
    throw new JobFailure('bridge_kind_mismatch', `${name} is ${kind === 'ovs' ? 'an Open vSwitch' : 'a Linux'} bridge: use a network of kind ${kind === 'ovs' ? 'ovs' : 'bridge'}`, { bridge: name, kind });
  }
  return kind;
}
