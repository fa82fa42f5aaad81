import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Host } from '@prisma/client';
import type { Heartbeat, HeartbeatAnswer } from '@virtfleet/contracts';
import { labelConditions } from '../common/labels';
import { ApiError } from '../common/api-error';
import { Periodic } from '../common/periodic';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PgService, utc } from '../db/pg.service';
import { PrismaService } from '../db/prisma.service';

@Injectable()
export class HostsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Hosts');
  private readonly liveness: Periodic;

  constructor(
    private readonly db: PrismaService,
    private readonly pg: PgService,
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
  // Every host, every few seconds: one prepared statement (pg.service.ts says why not Prisma).
  async heartbeat(hostId: string, hb: Heartbeat): Promise<HeartbeatAnswer> {
    const now = utc(new Date());
    const cancel = await this.pg.rows<{ id: string }>({
      name: 'host-heartbeat',
      text: `WITH beat AS (
               UPDATE "Host" SET "lastHeartbeatAt" = $2::timestamp(3), "state" = 'online', "updatedAt" = $2::timestamp(3),
                 "facts" = COALESCE($3::jsonb, "facts"), "doctor" = COALESCE($4::jsonb, "doctor")
               WHERE "id" = $1::uuid AND "state" <> 'revoked')
             SELECT "id"::text AS "id" FROM "Job" WHERE "hostId" = $1::uuid AND "state" = 'running' AND "cancelRequestedAt" IS NOT NULL`,
      values: [hostId, now, hb.facts ? JSON.stringify(hb.facts) : null, hb.doctor ? JSON.stringify(hb.doctor) : null],
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
