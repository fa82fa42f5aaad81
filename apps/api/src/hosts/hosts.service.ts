import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Host } from '@prisma/client';
import type { Heartbeat, HeartbeatAnswer } from '@virtfleet/contracts';
import { labelConditions } from '../common/labels';
import { ApiError } from '../common/api-error';
import { Periodic } from '../common/periodic';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PrismaService } from '../db/prisma.service';

@Injectable()
export class HostsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Hosts');
  private readonly liveness: Periodic;

  constructor(
    private readonly db: PrismaService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {
    this.liveness = new Periodic(
      Math.min(1_000, Math.max(100, config.heartbeatIntervalMs / 2)), // one cheap UPDATE: offline within a second of the 3rd miss
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

  /** Hosts by name; `label` (key=value[,key=value]) keeps those whose labels all match. */
  list(label?: string): Promise<Host[]> {
    const labels = labelConditions(label);
    return this.db.host.findMany({ where: labels.length ? { AND: labels } : {}, orderBy: { name: 'asc' } });
  }

  async get(id: string): Promise<Host> {
    const host = await this.db.host.findUnique({ where: { id } });
    if (!host) throw new ApiError(404, 'host_not_found', `no host ${id}`);
    return host;
  }

  async setMaintenance(id: string, enabled: boolean): Promise<Host> {
    const n = await this.db.host.updateManyAndReturn({ where: { id }, data: { maintenance: enabled } });
    if (!n[0]) throw new ApiError(404, 'host_not_found', `no host ${id}`);
    return n[0];
  }

  /** Records the heartbeat; answers the running jobs of this host that were asked to cancel. */
  async heartbeat(hostId: string, hb: Heartbeat): Promise<HeartbeatAnswer> {
    await this.db.host.updateMany({
      where: { id: hostId, state: { not: 'revoked' } },
      data: { lastHeartbeatAt: new Date(), state: 'online', ...(hb.facts ? { facts: hb.facts } : {}), ...(hb.doctor ? { doctor: hb.doctor } : {}) },
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
