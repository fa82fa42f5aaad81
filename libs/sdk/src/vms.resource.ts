import type { DomainSnapshot, JobPayloadInput, PowerState } from '@virtfleet/contracts';
import type { CallOptions, Http } from './http';
import type { Job, LeafJob } from './job';
import { labelSelector, type LabelSelector } from './labels';
import { pages, type ListFilter } from './paging';
import type { Labels, Page, PlacementDecision, Vm } from './views';

import { VM_ACTIONS, type VmAction } from '@virtfleet/contracts';
export { VM_ACTIONS, type VmAction };
export type VmActionJobType<A extends VmAction> = (typeof VM_ACTIONS)[A];
/** An action's body: its job's payload without `vm` (the route names the VM). */
export type VmActionBody<A extends VmAction> = NoFields<Omit<JobPayloadInput<VmActionJobType<A>>, 'vm'>>;

/** A body type without fields refuses any (`{}` would take every object). */
export type NoFields<B> = [keyof B] extends [never] ? Record<string, never> : B;

/** The body argument is optional where every field of it is. */
export type BodyArgs<B, O> = Record<never, never> extends B ? [body?: B, opts?: O] : [body: B, opts?: O];

/** Where the API may place a VM (create-vm's own options, besides its payload). */
export interface Placement {
  /** This host; without it the API picks the online host out of maintenance with most room that fits. */
  hostId?: string;
  /** Only hosts with these labels. */
  hostSelector?: Labels;
}

/** Job options the routes that take them accept in the body. */
export interface JobLimits {
  /** A job that has not started by then never starts (timed_out, code "expired"). */
  expiresInSeconds?: number;
  /** A tighter run-time limit than the job type's own. */
  timeoutSeconds?: number;
}

/** POST /v1/vms: the create-vm payload, plus where it may go. */
export type CreateVmBody = JobPayloadInput<'create-vm'> & Placement & JobLimits;

/** POST /v1/vms/define: domain XML (name and UUID come from it; the API adds a missing UUID). */
export interface DefineVmBody {
  xml: JobPayloadInput<'define-vm'>['xml'];
  hostId?: string;
}

type CloneOptions = Omit<JobPayloadInput<'clone-vm'>, 'source' | 'name' | 'uuid' | 'disks'>;
/** How the clones are named: exactly one of name (one clone), autoClone or namePattern ("web-{n}", with count). */
type CloneNaming =
  | { name: string; autoClone?: false; namePattern?: never; count?: 1 }
  | { autoClone: true; name?: never; namePattern?: never; count?: number }
  | { namePattern: string; name?: never; autoClone?: false; count?: number; startIndex?: number };
/** POST /v1/vms/:id/clone (apps/api/src/vms/clone-plan.ts cloneVmBody): clone-vm's options, the source being the route's VM. */
export type CloneVmBody = CloneOptions &
  CloneNaming &
  JobLimits & {
    /** One clone only: the clone's disk names by target. */
    disks?: JobPayloadInput<'clone-vm'>['disks'];
    /** Read-only disks (install media) to copy too instead of sharing (virt-clone --force-copy). */
    forceCopy?: string[];
  };

type AttachPayload = JobPayloadInput<'attach-interface'>;
/** POST /v1/vms/:id/interfaces: the NIC (network or bridge, model, mac) and where it applies. */
export type AttachInterfaceBody = AttachPayload['nic'] & Pick<AttachPayload, 'live' | 'config'>;
export type DetachInterfaceOptions = Pick<JobPayloadInput<'detach-interface'>, 'live' | 'config'> & CallOptions;
export type CreateSnapshotBody = Omit<JobPayloadInput<'create-snapshot'>, 'vm'>;
export type UndefineVmOptions = Omit<JobPayloadInput<'undefine-vm'>, 'vm'> & CallOptions;

export interface VmFilter extends ListFilter {
  hostId?: string;
  state?: PowerState;
  status?: Vm['status'];
  /** Names containing this text. */
  name?: string;
  /** All must match: { zone: 'a' } or "zone=a,tier=web". */
  label?: LabelSelector;
}

const enc = encodeURIComponent;

/** VMs: /v1/vms… */
export class VmsResource {
  constructor(private readonly http: Http) {}

  /** GET /v1/vms: one page, newest first, as the hosts last reported them. */
  list(filter: VmFilter = {}, opts: { signal?: AbortSignal } = {}): Promise<Page<Vm>> {
    return this.http.json('GET', '/v1/vms', { query: { ...filter, label: labelSelector(filter.label) }, signal: opts.signal });
  }

  iterate(filter: VmFilter = {}, opts: { signal?: AbortSignal } = {}): AsyncGenerator<Vm> {
    return pages((cursor) => this.list({ ...filter, cursor }, opts), filter.cursor);
  }

  get(id: string, opts: { signal?: AbortSignal } = {}): Promise<Vm> {
    return this.http.json('GET', `/v1/vms/${enc(id)}`, { signal: opts.signal });
  }

  /** GET /v1/vms/:id/xml: the domain XML as last reported (404 vm_xml_unknown before the first report). */
  xml(id: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
    return this.http.text('GET', `/v1/vms/${enc(id)}/xml`, { accept: 'application/xml', signal: opts.signal });
  }

  /** POST /v1/vms: job create-vm, placed on hostId or where it fits best (409 no_host_fits with per-host reasons). */
  create(body: CreateVmBody, opts: CallOptions = {}): Promise<LeafJob<'create-vm'>> {
    return this.http.json('POST', '/v1/vms', { body, ...opts });
  }

  /** POST /v1/vms?dryRun=true: where create would place the VM, and why; nothing is done. */
  async place(body: CreateVmBody, opts: { signal?: AbortSignal } = {}): Promise<PlacementDecision> {
    return (await this.http.json<{ placement: PlacementDecision }>('POST', '/v1/vms', { query: { dryRun: true }, body, signal: opts.signal })).placement;
  }

  /** POST /v1/vms/define: job define-vm from domain XML that passes the allowlist (400 domain_xml_refused otherwise). */
  define(body: DefineVmBody, opts: CallOptions = {}): Promise<LeafJob<'define-vm'>> {
    return this.http.json('POST', '/v1/vms/define', { body, ...opts });
  }

  /** POST /v1/vms/:id/actions/:action: the action's job, its body typed from that job's payload. */
  action<A extends VmAction>(id: string, action: A, ...[body, opts]: BodyArgs<VmActionBody<A>, CallOptions>): Promise<LeafJob<VmActionJobType<A>>> {
    return this.http.json('POST', `/v1/vms/${enc(id)}/actions/${enc(action)}`, { body: body ?? {}, ...opts });
  }

  /** DELETE /v1/vms/:id: job undefine-vm (a VM with snapshots needs deleteSnapshots: 409 vm_has_snapshots). */
  undefine(id: string, opts: UndefineVmOptions = {}): Promise<LeafJob<'undefine-vm'>> {
    const { removeStorage, deleteSnapshots, ...call } = opts;
    return this.http.json('DELETE', `/v1/vms/${enc(id)}`, { query: { removeStorage, deleteSnapshots }, ...call });
  }

  /** POST /v1/vms/:id/clone: job clone-vm; with count above 1, a parent job (group: true) over one child per clone. */
  clone(id: string, body: CloneVmBody, opts: CallOptions = {}): Promise<Job<'clone-vm'>> {
    return this.http.json('POST', `/v1/vms/${enc(id)}/clone`, { body, ...opts });
  }

  /** POST /v1/vms/:id/interfaces: job attach-interface (the API picks the MAC when none is given). */
  attachInterface(id: string, body: AttachInterfaceBody, opts: CallOptions = {}): Promise<LeafJob<'attach-interface'>> {
    return this.http.json('POST', `/v1/vms/${enc(id)}/interfaces`, { body, ...opts });
  }

  /** DELETE /v1/vms/:id/interfaces/:mac: job detach-interface. */
  detachInterface(id: string, mac: string, opts: DetachInterfaceOptions = {}): Promise<LeafJob<'detach-interface'>> {
    const { live, config, ...call } = opts;
    return this.http.json('DELETE', `/v1/vms/${enc(id)}/interfaces/${enc(mac)}`, { query: { live, config }, ...call });
  }

  /** GET /v1/vms/:id/snapshots: as the host last reported them. */
  async snapshots(id: string, opts: { signal?: AbortSignal } = {}): Promise<DomainSnapshot[]> {
    return (await this.http.json<{ items: DomainSnapshot[] }>('GET', `/v1/vms/${enc(id)}/snapshots`, { signal: opts.signal })).items;
  }

  /** POST /v1/vms/:id/snapshots: job create-snapshot (unnamed: the API names it, epoch seconds). */
  createSnapshot(id: string, body: CreateSnapshotBody = {}, opts: CallOptions = {}): Promise<LeafJob<'create-snapshot'>> {
    return this.http.json('POST', `/v1/vms/${enc(id)}/snapshots`, { body, ...opts });
  }

  /** POST /v1/vms/:id/snapshots/:name/revert: job revert-snapshot. */
  revertSnapshot(id: string, name: string, opts: CallOptions = {}): Promise<LeafJob<'revert-snapshot'>> {
    return this.http.json('POST', `/v1/vms/${enc(id)}/snapshots/${enc(name)}/revert`, opts);
  }

  /** DELETE /v1/vms/:id/snapshots/:name: job delete-snapshot. */
  deleteSnapshot(id: string, name: string, opts: CallOptions = {}): Promise<LeafJob<'delete-snapshot'>> {
    return this.http.json('DELETE', `/v1/vms/${enc(id)}/snapshots/${enc(name)}`, opts);
  }

  /** POST /v1/vms/:id/adopt: take over an unmanaged domain (409 vm_not_unmanaged otherwise). */
  adopt(id: string, opts: { signal?: AbortSignal } = {}): Promise<Vm> {
    return this.http.json('POST', `/v1/vms/${enc(id)}/adopt`, { signal: opts.signal });
  }

  /** PATCH /v1/vms/:id: its labels (API-side only), replaced by these. */
  patch(id: string, body: { labels: Labels }, opts: { signal?: AbortSignal } = {}): Promise<Vm> {
    return this.http.json('PATCH', `/v1/vms/${enc(id)}`, { body, signal: opts.signal });
  }

  /**
   * GET /v1/vms/:id/console is a WebSocket (operate scope): its URL and the headers to open it
   * with, for a WebSocket client of your choice (`new WebSocket(url, { headers })` with the ws package).
   */
  console(id: string): { url: string; headers: Record<string, string> } {
    return { url: this.http.url(`/v1/vms/${enc(id)}/console`).replace(/^http/, 'ws'), headers: this.http.authHeaders() };
  }
}
