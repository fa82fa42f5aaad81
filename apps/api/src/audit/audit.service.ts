import { Injectable, Logger } from '@nestjs/common';
import type { Prisma } from '@prisma/client';
import type { Principal } from '../auth/tokens';
import { PrismaService } from '../db/prisma.service';

/** How a principal is named in the audit log and on the jobs it submits. */
export function actorOf(p: Principal | undefined): string {
  if (!p) return 'anonymous';
  return p.kind === 'agent' ? `host:${p.hostId}` : `token:${p.tokenId}`;
}

/** Who did what: every change made through the API is one row. */
@Injectable()
export class AuditService {
  private readonly log = new Logger('Audit');

  constructor(private readonly db: PrismaService) {}

  async record(actor: string, action: string, target?: string, details?: Record<string, unknown>): Promise<void> {
    try {
      await this.db.auditEvent.create({
        data: { actor, action, target: target ?? null, ...(details ? { details: details as Prisma.InputJsonValue } : {}) },
      });
    } catch (err) {
      // The change itself happened; a lost audit row is logged loudly rather than undoing it.
      const job = target?.startsWith('job:') ? { jobId: target.slice(4) } : {};
      this.log.error({ msg: `audit row lost (${actor} ${action} ${target ?? ''}): ${(err as Error).message}`, ...job });
    }
  }

  async list(q: {
    limit: number;
    before?: bigint | undefined;
    actor?: string | undefined;
    action?: string | undefined;
    target?: string | undefined;
    since?: Date | undefined;
    until?: Date | undefined;
  }) {
    const rows = await this.db.auditEvent.findMany({
      where: {
        ...(q.before ? { id: { lt: q.before } } : {}),
        ...(q.actor ? { actor: q.actor } : {}),
        ...(q.action ? { action: q.action } : {}),
        ...(q.target ? { target: q.target } : {}),
        ...(q.since || q.until ? { at: { ...(q.since ? { gte: q.since } : {}), ...(q.until ? { lt: q.until } : {}) } } : {}),
      },
      orderBy: { id: 'desc' },
      take: q.limit + 1,
    });
    const items = rows.slice(0, q.limit).map((r) => ({
      id: r.id.toString(),
      at: r.at.toISOString(),
      actor: r.actor,
      action: r.action,
      target: r.target,
      details: r.details,
    }));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > q.limit && last ? last.id : null };
  }
}
