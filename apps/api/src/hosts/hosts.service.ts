import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Prisma, type Host } from '@prisma/client';
import { hostName, type Heartbeat, type HeartbeatAnswer } from '@virtfleet/contracts';
import { z } from 'zod';
import { hashToken, newToken } from '../auth/tokens';
import { ApiError } from '../common/api-error';
import { Periodic } from '../common/periodic';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PrismaService } from '../db/prisma.service';

export const createHostBody = z.object({
  name: hostName,
  labels: z.record(z.string().regex(/^[a-z0-9][a-z0-9._/-]{0,62}$/), z.string().max(63)).default({}),
});
export type CreateHostBody = z.infer<typeof createHostBody>;

@Injectable()
export class HostsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Hosts');
  private readonly liveness: Periodic;

  constructor(
    private readonly db: PrismaService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {
    this.liveness = new Periodic(
      Math.max(250, config.heartbeatIntervalMs / 2),
      () => this.markOffline(),
      (err) => this.log.warn(`liveness sweep failed: ${err.message}`),
    );
  }

  onApplicationBootstrap(): void {
    this.liveness.start();
  }

  onApplicationShutdown(): void {
    this.liveness.stop();
  }

  list(): Promise<Host[]> {
    return this.db.host.findMany({ orderBy: { name: 'asc' } });
  }

  async get(id: string): Promise<Host> {
    const host = await this.db.host.findUnique({ where: { id } });
    if (!host) throw new ApiError(404, 'host_not_found', `no host ${id}`);
    return host;
  }

  /** Registers a host and hands out its agent token (shown once; only the hash is kept). */
  async create(body: CreateHostBody): Promise<{ host: Host; agentToken: string }> {
    const agentToken = newToken('agent');
    try {
      const host = await this.db.host.create({
        data: { name: body.name, labels: body.labels, agentTokenHash: hashToken(agentToken) },
      });
      return { host, agentToken };
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw new ApiError(409, 'host_exists', `a host named ${body.name} exists`);
      }
      throw err;
    }
  }

  /** Records the heartbeat; answers the running jobs of this host that were asked to cancel. */
  async heartbeat(hostId: string, hb: Heartbeat): Promise<HeartbeatAnswer> {
    await this.db.host.update({
      where: { id: hostId },
      data: { lastHeartbeatAt: new Date(), state: 'online', ...(hb.facts ? { facts: hb.facts } : {}) },
      select: { id: true },
    });
    const cancel = await this.db.job.findMany({
      where: { hostId, state: 'running', cancelRequestedAt: { not: null } },
      select: { id: true },
    });
    return { cancel: cancel.map((j) => j.id) };
  }

  /** A host that missed its heartbeats is offline; its next heartbeat brings it back. */
  private async markOffline(): Promise<void> {
    const before = new Date(Date.now() - this.config.offlineAfterMs);
    const n = await this.db.host.updateMany({
      where: { state: 'online', OR: [{ lastHeartbeatAt: null }, { lastHeartbeatAt: { lt: before } }] },
      data: { state: 'offline' },
    });
    if (n.count) this.log.warn(`${n.count} host(s) went offline (no heartbeat for ${this.config.offlineAfterMs} ms)`);
  }
}
