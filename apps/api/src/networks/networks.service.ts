import { Injectable } from '@nestjs/common';
import type { Host, Job } from '@prisma/client';
import { networkSpec, type NetworkInventory } from '@virtfleet/contracts';
import { z } from 'zod';
import { ApiError } from '../common/api-error';
import { PrismaService } from '../db/prisma.service';
import { JobsService, submitJobBody } from '../jobs/jobs.service';

/** POST /v1/networks: a network on one host, or on every host whose labels match (one job each). */
export const defineNetworkBody = z
  .object({
    hostId: z.uuid().optional(),
    hostSelector: z.record(z.string(), z.string()).optional(),
    network: networkSpec,
    start: z.boolean().default(true),
    autostart: z.boolean().default(true),
    expiresInSeconds: submitJobBody.shape.expiresInSeconds,
  })
  .strict()
  .refine((b) => (b.hostId === undefined) !== (b.hostSelector === undefined), { message: 'give exactly one of hostId or hostSelector' });
export type DefineNetworkBody = z.infer<typeof defineNetworkBody>;

export const listNetworksQuery = z.object({ hostId: z.uuid().optional(), name: z.string().max(64).optional() });

import { NETWORK_ACTIONS, type NetworkAction } from '@virtfleet/contracts';
export { NETWORK_ACTIONS, type NetworkAction };

/** A network as the API shows it: the host's report of it, with the host named. */
export type NetworkView = NetworkInventory & { hostId: string; hostName: string };

/**
 * libvirt networks live on hosts: the list is what each host's agent last reported (its full
 * inventory, sent again by every network job before it ends), and every change is a job on that
 * host's queue.
 */
@Injectable()
export class NetworksService {
  constructor(
    private readonly db: PrismaService,
    private readonly jobs: JobsService,
  ) {}

  async list(q: z.infer<typeof listNetworksQuery>): Promise<NetworkView[]> {
    const hosts = await this.db.host.findMany({ where: { state: { not: 'revoked' }, ...(q.hostId ? { id: q.hostId } : {}) }, orderBy: { name: 'asc' } });
    return hosts.flatMap((h) => networksOf(h).filter((n) => !q.name || n.name === q.name));
  }

  async get(hostId: string, name: string): Promise<NetworkView> {
    const host = await this.db.host.findUnique({ where: { id: hostId } });
    if (!host) throw new ApiError(404, 'host_not_found', `no host ${hostId}`);
    const net = networksOf(host).find((n) => n.name === name);
    if (!net) throw new ApiError(404, 'network_not_found', `host ${host.name} has no network ${name}`);
    return net;
  }

  /** define-network on one host; with a selector, one child job per matching host under a parent job. */
  async define(body: DefineNetworkBody, idempotencyKey: string | undefined, actor: string): Promise<{ job: Job; replayed: boolean }> {
    const payload = { network: body.network, start: body.start, autostart: body.autostart };
    const job = (hostId: string) => ({ type: 'define-network', hostId, payload, ...(body.expiresInSeconds ? { expiresInSeconds: body.expiresInSeconds } : {}) });
    if (body.hostId) return this.jobs.submit(job(body.hostId), idempotencyKey, actor);
    const selector = body.hostSelector ?? {};
    const hosts = (await this.db.host.findMany({ where: { state: { not: 'revoked' } }, orderBy: { name: 'asc' } })).filter((h) =>
      Object.entries(selector).every(([k, v]) => (h.labels as Record<string, unknown>)[k] === v),
    );
    const first = hosts[0];
    if (!first) throw new ApiError(409, 'no_host_matches', `no host has the labels ${JSON.stringify(selector)}`);
    const parent = { type: 'define-network', hostId: first.id, payload: { network: body.network.name, hosts: hosts.map((h) => h.name), hostSelector: selector } };
    const { job: made, replayed } = await this.jobs.submitGroup(parent, hosts.map((h) => job(h.id)), { key: idempotencyKey, clientRequest: body }, actor);
    return { job: made, replayed };
  }

  async action(hostId: string, name: string, action: NetworkAction, body: Record<string, unknown>, idempotencyKey: string | undefined, actor: string) {
    await this.get(hostId, name);
    return this.jobs.submit({ type: NETWORK_ACTIONS[action], hostId, payload: { ...body, name } }, idempotencyKey, actor);
  }

  async undefine(hostId: string, name: string, force: boolean, idempotencyKey: string | undefined, actor: string) {
    await this.get(hostId, name);
    return this.jobs.submit({ type: 'undefine-network', hostId, payload: { name, force } }, idempotencyKey, actor);
  }
}

function networksOf(host: Host): NetworkView[] {
  const nets = Array.isArray(host.networks) ? (host.networks as unknown as NetworkInventory[]) : [];
  return nets.map((n) => ({ ...n, hostId: host.id, hostName: host.name })).sort((a, b) => a.name.localeCompare(b.name));
}
