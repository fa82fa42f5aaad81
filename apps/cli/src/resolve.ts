import type { VirtfleetClient } from '@virtfleet/sdk';
import { CliError, EXIT } from './exit-codes';

// Names people type, turned into the ids the API routes take.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A host by name or id. */
export async function resolveHost(vf: VirtfleetClient, ref: string) {
  const all = await vf.hosts.list();
  const host = all.find((h) => h.id === ref || h.name === ref);
  if (!host) throw new CliError(EXIT.apiError, `no host ${ref}`, 'virtfleet hosts ls lists them');
  return host;
}

/** A host id from --host (name or id); undefined stays undefined (the API picks or refuses). */
export async function hostIdOf(vf: VirtfleetClient, ref: string | undefined): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  if (UUID.test(ref)) return ref;
  return (await resolveHost(vf, ref)).id;
}

/** The one host a per-host command means: --host, or the only online host. */
export async function oneHostId(vf: VirtfleetClient, ref: string | undefined): Promise<string> {
  if (ref !== undefined) return (await hostIdOf(vf, ref)) as string;
  const online = (await vf.hosts.list()).filter((h) => h.state === 'online');
  if (online.length === 1) return (online[0] as (typeof online)[number]).id;
  throw new CliError(EXIT.usage, `--host is needed: ${online.length} hosts are online`, 'virtfleet hosts ls lists them');
}

/** A VM by name or id (names are unique per host; one matching on two hosts needs its id). */
export async function resolveVm(vf: VirtfleetClient, ref: string) {
  if (UUID.test(ref)) return vf.vms.get(ref);
  const page = await vf.vms.list({ name: ref, limit: 500 });
  const found = page.items.filter((v) => v.name === ref);
  if (found.length === 0) throw new CliError(EXIT.apiError, `no VM ${ref}`, 'virtfleet vms ls lists them');
  if (found.length > 1) throw new CliError(EXIT.usage, `${found.length} VMs are named ${ref} (on different hosts): give its id`);
  return found[0] as (typeof found)[number];
}

/** A disk by name or id (--host picks among hosts that each have one of that name). */
export async function resolveDisk(vf: VirtfleetClient, ref: string, hostRef?: string) {
  if (UUID.test(ref)) return vf.disks.get(ref);
  const hostId = await hostIdOf(vf, hostRef);
  const page = await vf.disks.list({ name: ref, limit: 500, ...(hostId ? { hostId } : {}) });
  const found = page.items.filter((d) => d.name === ref);
  if (found.length === 0) throw new CliError(EXIT.apiError, `no disk ${ref}`, 'virtfleet disks ls lists them');
  if (found.length > 1) throw new CliError(EXIT.usage, `${found.length} disks are named ${ref} (on different hosts): give --host or its id`);
  return found[0] as (typeof found)[number];
}
