import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PrismaService } from '../db/prisma.service';
import { jobLine, type JobRef } from '../common/logger';
import { Periodic } from '../common/periodic';
import { signBody } from './signature';

const LEASE_MS = 60_000;
const MAX_BACKOFF_MS = 3_600_000;

/**
 * Sends due webhook deliveries: signed POSTs, retried with exponential backoff until a 2xx or
 * the attempts run out. A delivery is leased before it is sent, so two API replicas never send
 * the same attempt twice; a replica that dies mid-send leaves a lease that simply expires.
 */
@Injectable()
export class WebhookSender implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Webhooks');
  private readonly loop: Periodic;

  constructor(
    private readonly db: PrismaService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {
    this.loop = new Periodic(config.webhooks.intervalMs, () => this.sendDue(), (err) => this.log.warn(`webhook pass failed: ${err.message}`));
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  onApplicationShutdown(): void {
    this.loop.stop();
  }

  /** Look for due deliveries now (called when a job ends). */
  kick(): void {
    this.loop.run();
  }

  private async sendDue(): Promise<void> {
    const due = await this.db.webhookDelivery.findMany({
      where: { state: 'pending', nextAttemptAt: { lte: new Date() } },
      orderBy: { nextAttemptAt: 'asc' },
      take: 50,
      include: { webhook: { select: { url: true, secret: true } } },
    });
    await Promise.all(
      due.map(async (d) => {
        const leased = await this.db.webhookDelivery.updateMany({
          where: { id: d.id, state: 'pending', nextAttemptAt: d.nextAttemptAt },
          data: { nextAttemptAt: new Date(Date.now() + LEASE_MS) },
        });
        if (!leased.count) return; // another replica has it
        const body = JSON.stringify(d.body);
        const attempts = d.attempts + 1;
        let status: number | null = null;
        let error: string | null = null;
        try {
          const res = await fetch(d.webhook.url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'user-agent': 'virtfleet-webhooks/1',
              'x-virtfleet-event': d.event,
              'x-virtfleet-delivery': d.id,
              'x-virtfleet-signature': signBody(d.webhook.secret, body),
            },
            body,
            signal: AbortSignal.timeout(10_000),
            redirect: 'manual',
          });
          status = res.status;
          await res.arrayBuffer().catch(() => undefined);
          if (!res.ok) error = `answered ${res.status}`;
        } catch (err) {
          error = (err as Error).message;
        }
        if (!error) {
          await this.db.webhookDelivery.update({
            where: { id: d.id },
            data: { state: 'succeeded', attempts, lastStatus: status, lastError: null, deliveredAt: new Date() },
          });
          return;
        }
        const giveUp = attempts >= this.config.webhooks.maxAttempts;
        const delay = Math.min(this.config.webhooks.backoffMs * 2 ** (attempts - 1), MAX_BACKOFF_MS);
        await this.db.webhookDelivery.update({
          where: { id: d.id },
          data: {
            state: giveUp ? 'failed' : 'pending',
            attempts,
            lastStatus: status,
            lastError: error.slice(0, 500),
            nextAttemptAt: new Date(Date.now() + delay),
          },
        });
        if (giveUp) {
          // The job the event is about (the body holds its view: hostId, requestId).
          const job = { ...(d.body as { job?: JobRef } | null)?.job, id: d.jobId };
          this.log.warn(jobLine(job, `webhook delivery ${d.id} to ${d.webhook.url} failed after ${attempts} attempts: ${error}`, { deliveryId: d.id, event: d.event }));
        }
      }),
    );
  }
}
