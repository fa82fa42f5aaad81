import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { hostName } from '@virtfleet/contracts';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { TokenService } from '../auth/token.service';
import { hashToken, newToken } from '../auth/tokens';
import { ApiError } from '../common/api-error';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PrismaService } from '../db/prisma.service';
import { RedisAcl } from '../queue/redis-acl.service';

export const labels = z.record(z.string().regex(/^[a-z0-9][a-z0-9._/-]{0,62}$/), z.string().max(63)).default({});

export const joinTokenBody = z.object({ ttlSeconds: z.number().int().min(60).max(30 * 86_400).optional() });

export const enrollBody = z.object({
  joinToken: z.string().min(20),
  name: hostName,
  labels,
});
export type EnrollBody = z.infer<typeof enrollBody>;

export interface Enrolled {
  hostId: string;
  name: string;
  agentToken: string;
  redisUrl: string;
}

/**
 * Hosts join with a one-time, expiring join token and receive credentials of their own: an
 * agent API token and a Redis user limited to their own queue. Enrolling a known name again
 * rotates both; revoking deletes the Redis user and invalidates the token.
 */
@Injectable()
export class EnrollmentService {
  constructor(
    private readonly db: PrismaService,
    private readonly acl: RedisAcl,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async joinToken(actor: string, ttlSeconds?: number): Promise<{ id: string; token: string; expiresAt: string }> {
    const token = `vfj_${newToken('api').slice(4)}`;
    const expiresAt = new Date(Date.now() + (ttlSeconds ?? this.config.joinTokenTtlSeconds) * 1000);
    const row = await this.db.joinToken.create({ data: { tokenHash: hashToken(token), expiresAt, createdBy: actor } });
    await this.audit.record(actor, 'join-token.create', `join-token:${row.id}`, { expiresAt: expiresAt.toISOString() });
    return { id: row.id, token, expiresAt: expiresAt.toISOString() };
  }

  async enroll(body: EnrollBody): Promise<Enrolled> {
    const join = await this.db.joinToken.findUnique({ where: { tokenHash: hashToken(body.joinToken) } });
    if (!join || join.usedAt || join.expiresAt < new Date()) {
      throw new ApiError(401, 'join_token_invalid', 'the join token is unknown, used already, or expired: make a new one (POST /v1/hosts/join-tokens)');
    }
    const existing = await this.db.host.findUnique({ where: { name: body.name }, select: { id: true } });
    const hostId = existing?.id ?? randomUUID();
    // The Redis user first: if Redis is down nothing is consumed and the same token can be tried again.
    const redis = await this.acl.rotate(hostId).catch((err: Error) => {
      throw new ApiError(503, 'redis_unavailable', `cannot create the host's Redis user: ${err.message}`);
    });
    const agentToken = newToken('agent');
    const creds = {
      agentTokenHash: hashToken(agentToken),
      redisUser: RedisAcl.userOf(hostId),
      redisPasswordHash: redis.passwordHash,
      labels: body.labels,
      enrolledAt: new Date(),
      state: 'offline' as const,
    };
    await this.db.$transaction(async (tx) => {
      const used = await tx.joinToken.updateMany({ where: { id: join.id, usedAt: null }, data: { usedAt: new Date(), hostId } });
      if (!used.count) throw new ApiError(401, 'join_token_invalid', 'the join token was used by another enrollment just now');
      await tx.host.upsert({ where: { id: hostId }, create: { id: hostId, name: body.name, ...creds }, update: creds });
    });
    this.tokens.forget();
    await this.audit.record(`join-token:${join.id}`, existing ? 'host.re-enroll' : 'host.enroll', `host:${hostId}`, { name: body.name });
    return { hostId, name: body.name, agentToken, redisUrl: redis.redisUrl };
  }

  /** The host's agent token stops working and its Redis user is deleted; its history stays. */
  async revoke(hostId: string, actor: string): Promise<void> {
    const host = await this.db.host.findUnique({ where: { id: hostId }, select: { id: true } });
    if (!host) throw new ApiError(404, 'host_not_found', `no host ${hostId}`);
    await this.acl.remove(hostId).catch((err: Error) => {
      throw new ApiError(503, 'redis_unavailable', `cannot delete the host's Redis user: ${err.message}`);
    });
    await this.db.host.update({
      where: { id: hostId },
      // An unguessable hash nobody holds the token for.
      data: { state: 'revoked', agentTokenHash: hashToken(newToken('agent')), redisPasswordHash: null },
    });
    this.tokens.forget();
    await this.audit.record(actor, 'host.revoke', `host:${hostId}`);
  }
}
