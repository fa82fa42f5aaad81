import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Prisma, Webhook, WebhookDelivery } from '@prisma/client';
import { z } from 'zod';
import { ApiError } from '../common/api-error';
import { PrismaService } from '../db/prisma.service';
import type { JobView } from '../jobs/job.view';

export const WEBHOOK_EVENTS = ['job.finished'] as const;
type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
const CACHE_MS = 2_000;

export const createWebhookBody = z.object({
  url: z.url({ protocol: /^https?$/ }),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).default(['job.finished']),
  hostId: z.uuid().optional(),
  jobType: z.string().optional(),
});
export type CreateWebhookBody = z.infer<typeof createWebhookBody>;

export function webhookView(w: Webhook) {
  return { id: w.id, url: w.url, events: w.events, hostId: w.hostId, jobType: w.jobType, createdAt: w.createdAt.toISOString() };
}

export function deliveryView(d: WebhookDelivery) {
  return {
    id: d.id,
    event: d.event,
    jobId: d.jobId,
    state: d.state,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    nextAttemptAt: d.state === 'pending' ? d.nextAttemptAt.toISOString() : null,
    createdAt: d.createdAt.toISOString(),
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
  };
}

@Injectable()
export class WebhooksService {
  private cache: { hooks: Webhook[]; until: number } | undefined;

  constructor(private readonly db: PrismaService) {}

  /** The secret is answered once; receivers verify X-Virtfleet-Signature with it. */
  async create(body: CreateWebhookBody): Promise<{ webhook: Webhook; secret: string }> {
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const webhook = await this.db.webhook.create({
      data: { url: body.url, events: body.events, hostId: body.hostId ?? null, jobType: body.jobType ?? null, secret },
    });
    this.cache = undefined;
    return { webhook, secret };
  }

  list(): Promise<Webhook[]> {
    return this.db.webhook.findMany({ orderBy: { createdAt: 'asc' } });
  }

  async remove(id: string): Promise<void> {
    const n = await this.db.webhook.deleteMany({ where: { id } });
    this.cache = undefined;
    if (!n.count) throw new ApiError(404, 'webhook_not_found', `no webhook ${id}`);
  }

  async deliveries(id: string): Promise<WebhookDelivery[]> {
    if (!(await this.db.webhook.findUnique({ where: { id }, select: { id: true } }))) {
      throw new ApiError(404, 'webhook_not_found', `no webhook ${id}`);
    }
    return this.db.webhookDelivery.findMany({ where: { webhookId: id }, orderBy: { createdAt: 'desc' }, take: 500 });
  }

  /**
   * Webhooks that want this event about this job. The list is cached for a few seconds (it is read
   * on every job end); a webhook made on another replica is seen within that time.
   */
  async matching(event: WebhookEvent, job: { hostId: string; type: string }): Promise<Webhook[]> {
    if (!this.cache || this.cache.until < Date.now()) {
      this.cache = { hooks: await this.db.webhook.findMany(), until: Date.now() + CACHE_MS };
    }
    return this.cache.hooks.filter(
      (h) => h.events.includes(event) && (!h.hostId || h.hostId === job.hostId) && (!h.jobType || h.jobType === job.type),
    );
  }

  /** In the transaction that ends the job: one delivery per matching webhook (an outbox). */
  async enqueue(tx: Prisma.TransactionClient, hooks: Webhook[], event: WebhookEvent, job: JobView): Promise<void> {
    if (!hooks.length) return;
    const body = { event, job } as unknown as Prisma.InputJsonValue;
    await tx.webhookDelivery.createMany({ data: hooks.map((h) => ({ webhookId: h.id, event, jobId: job.id, body })) });
  }
}
