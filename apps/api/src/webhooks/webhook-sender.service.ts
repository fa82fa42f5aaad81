import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PrismaService } from '../db/prisma.service';
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
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private again = false;

  constructor(
    private readonly db: PrismaService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.kick(), this.config.webhooks.intervalMs);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Look for due deliveries now (called when a job ends). */
  kick(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    void this.sendDue()
      .catch((err: Error) => this.log.warn(`webhook pass failed: ${err.message}`))
      .finally(() => {
        this.busy = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
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
        if (giveUp) this.log.warn(`webhook delivery ${d.id} to ${d.webhook.url} failed after ${attempts} attempts: ${error}`);
      }),
    );
  }
}
