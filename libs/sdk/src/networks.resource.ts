import type { JobPayloadInput } from '@virtfleet/contracts';
import type { CallOptions, Http } from './http';
import type { Job, LeafJob } from './job';
import type { Labels, Network } from './views';
import type { BodyArgs, NoFields } from './vms.resource';

import { NETWORK_ACTIONS, type NetworkAction } from '@virtfleet/contracts';
export { NETWORK_ACTIONS, type NetworkAction };
export type NetworkActionJobType<A extends NetworkAction> = (typeof NETWORK_ACTIONS)[A];
/** An action's body: its job's payload without `name` (the route names the network). */
export type NetworkActionBody<A extends NetworkAction> = NoFields<Omit<JobPayloadInput<NetworkActionJobType<A>>, 'name'>>;

/** POST /v1/networks: define-network's payload on one host, or on every host whose labels match. */
export type DefineNetworkBody = JobPayloadInput<'define-network'> &
  ({ hostId: string; hostSelector?: never } | { hostSelector: Labels; hostId?: never }) & {
    expiresInSeconds?: number;
  };

const enc = encodeURIComponent;

/** libvirt networks: they live on hosts, so one is named by its host and its name. */
export class NetworksResource {
  constructor(private readonly http: Http) {}

  /** GET /v1/networks: every host's networks as its agent last reported them (not paged). */
  async list(filter: { hostId?: string; name?: string } = {}, opts: { signal?: AbortSignal } = {}): Promise<Network[]> {
    return (await this.http.json<{ items: Network[] }>('GET', '/v1/networks', { query: { ...filter }, signal: opts.signal })).items;
  }

  /** GET /v1/hosts/:hostId/networks/:name (404 host_not_found, network_not_found). */
  get(hostId: string, name: string, opts: { signal?: AbortSignal } = {}): Promise<Network> {
    return this.http.json('GET', `/v1/hosts/${enc(hostId)}/networks/${enc(name)}`, { signal: opts.signal });
  }

  /** POST /v1/networks: job define-network; with hostSelector a parent job (group: true) over one child per host. */
  define(body: DefineNetworkBody, opts: CallOptions = {}): Promise<Job<'define-network'>> {
    return this.http.json('POST', '/v1/networks', { body, ...opts });
  }

  /** POST /v1/hosts/:hostId/networks/:name/actions/:action: start, stop, set-autostart {enabled}. */
  action<A extends NetworkAction>(
    hostId: string,
    name: string,
    action: A,
    ...[body, opts]: BodyArgs<NetworkActionBody<A>, CallOptions>
  ): Promise<LeafJob<NetworkActionJobType<A>>> {
    return this.http.json('POST', `/v1/hosts/${enc(hostId)}/networks/${enc(name)}/actions/${enc(action)}`, { body: body ?? {}, ...opts });
  }

  /** DELETE /v1/hosts/:hostId/networks/:name: job undefine-network (refused while running VMs use it, unless force). */
  undefine(hostId: string, name: string, opts: { force?: boolean } & CallOptions = {}): Promise<LeafJob<'undefine-network'>> {
    const { force, ...call } = opts;
    return this.http.json('DELETE', `/v1/hosts/${enc(hostId)}/networks/${enc(name)}`, { query: { force }, ...call });
  }
}
