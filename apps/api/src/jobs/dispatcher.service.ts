import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { jobCatalog, isJobType, type QueuedJobData } from '@virtfleet/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PrismaService } from '../db/prisma.service';
import { HostQueues } from '../queue/host-queues.service';

interface Dispatchable {
  id: string;
  type: string;
  hostId: string;
  payload: unknown;
}

/**
 * The outbox: a job is a PostgreSQL row first (state pending); this puts it on its host queue
 * with the row id as the BullMQ job id (so a second add is a no-op) and marks it queued.
 * The submit path calls dispatch() at once; a sweep picks up whatever that missed (Redis down,
 * API crash between commit and add).
 */
@Injectable()
export class Dispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Dispatcher');
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    private readonly db: PrismaService,
    private readonly queues: HostQueues,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.dispatchIntervalMs);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** true when the job is on its queue (or already past pending). */
  async dispatch(job: Dispatchable): Promise<boolean> {
    if (!isJobType(job.type)) return false;
    const data: QueuedJobData = { type: job.type, payload: job.payload };
    try {
      await this.queues.forHost(job.hostId).add(job.type, data, {
        jobId: job.id,
        attempts: jobCatalog[job.type].attempts,
        // History lives in PostgreSQL; Redis keeps only work in flight.
        removeOnComplete: true,
        removeOnFail: true,
      });
    } catch (err) {
      this.log.warn(`job ${job.id} stays pending: ${(err as Error).message}`);
      return false;
    }
    await this.db.job.updateMany({ where: { id: job.id, state: 'pending' }, data: { state: 'queued', queuedAt: new Date() } });
    return true;
  }

  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const pending = await this.db.job.findMany({
        where: { state: 'pending' },
        orderBy: { createdAt: 'asc' },
        take: 500,
        select: { id: true, type: true, hostId: true, payload: true },
      });
      for (const job of pending) if (!(await this.dispatch(job))) break;
    } catch (err) {
      this.log.warn(`outbox sweep failed: ${(err as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }
}
