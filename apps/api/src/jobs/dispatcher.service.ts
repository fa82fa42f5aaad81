import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Job } from '@prisma/client';
import { jobCatalog, isJobType, type QueuedJobData } from '@virtfleet/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PrismaService } from '../db/prisma.service';
import { HostQueues } from '../queue/host-queues.service';
import { Periodic } from '../common/periodic';
import { JobEvents } from './job-events';
import { LIVE_STATES } from './job-lifecycle.service';

interface Dispatchable {
  id: string;
  type: string;
  hostId: string;
  payload: unknown;
  lockKey: string | null;
  seq: bigint;
  timeoutMs: number | null;
}

export interface DispatchOutcome {
  outcome: 'queued' | 'held' | 'failed';
  /** The row after it was marked queued. */
  job?: Job;
}

const SELECT = { id: true, type: true, hostId: true, payload: true, lockKey: true, seq: true, timeoutMs: true } as const;

/**
 * The outbox: a job is a PostgreSQL row first (state pending); this puts it on its host queue
 * with the row id as the BullMQ job id (so a second add is a no-op) and marks it queued.
 * The submit path calls dispatch() at once; a sweep picks up whatever that missed (Redis down,
 * API crash between commit and add).
 *
 * Order: a job with a lock key (what it touches: "disk:d1", "vm:web") is held pending while an
 * earlier job with the same key on the same host is still live, and goes out when that one ends.
 * So jobs on one thing run one at a time in submission order; other jobs run in parallel.
 */
@Injectable()
export class Dispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Dispatcher');
  private readonly loop: Periodic;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly db: PrismaService,
    private readonly queues: HostQueues,
    private readonly events: JobEvents,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.loop = new Periodic(config.dispatchIntervalMs, () => this.sweep(), (err) => this.log.warn(`outbox sweep failed: ${err.message}`));
  }

  onApplicationBootstrap(): void {
    this.loop.start();
    this.unsubscribe = this.events.subscribe((e) => {
      if (e.event === 'job.finished' && e.job.lockKey) void this.next(e.job.hostId, e.job.lockKey);
    });
  }

  onApplicationShutdown(): void {
    this.loop.stop();
    this.unsubscribe?.();
  }

  async dispatch(job: Dispatchable): Promise<DispatchOutcome> {
    if (job.lockKey && (await this.hasLivePredecessor(job))) return { outcome: 'held' };
    try {
      await this.enqueue(job);
    } catch (err) {
      this.log.warn(`job ${job.id} stays pending: ${(err as Error).message}`);
      return { outcome: 'failed' };
    }
    const [row] = await this.db.job.updateManyAndReturn({
      where: { id: job.id, state: 'pending' },
      data: { state: 'queued', queuedAt: new Date() },
    });
    return { outcome: 'queued', ...(row ? { job: row } : {}) };
  }

  /** Puts the job on its host queue; a no-op while BullMQ still has a job of that id. Throws when Redis is down. */
  async enqueue(job: Pick<Dispatchable, 'id' | 'type' | 'hostId' | 'payload' | 'timeoutMs'>): Promise<void> {
    if (!isJobType(job.type)) throw new Error(`unknown job type ${job.type}`);
    const data: QueuedJobData = { type: job.type, payload: job.payload, ...(job.timeoutMs ? { timeoutMs: job.timeoutMs } : {}) };
    await this.queues.forHost(job.hostId).add(job.type, data, {
      jobId: job.id,
      attempts: jobCatalog[job.type].attempts,
      backoff: { type: 'exponential', delay: 1_000 },
      // History lives in PostgreSQL; Redis keeps only work in flight.
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  /** Sends what is still pending, oldest first; stops at the first failure (Redis down). */
  private async sweep(): Promise<void> {
    const pending = await this.db.job.findMany({ where: { state: 'pending' }, orderBy: { seq: 'asc' }, take: 500, select: SELECT });
    for (const job of pending) if ((await this.dispatch(job)).outcome === 'failed') break;
  }

  /** The job that waited for a finished one with the same key goes out now. */
  private async next(hostId: string, lockKey: string): Promise<void> {
    try {
      const job = await this.db.job.findFirst({
        where: { hostId, lockKey, state: 'pending' },
        orderBy: { seq: 'asc' },
        select: SELECT,
      });
      if (job) await this.dispatch(job);
    } catch (err) {
      this.log.warn(`dispatch after ${lockKey} failed (the sweep retries): ${(err as Error).message}`);
    }
  }

  private async hasLivePredecessor(job: Dispatchable): Promise<boolean> {
    const earlier = await this.db.job.findFirst({
      where: {
        hostId: job.hostId,
        lockKey: job.lockKey,
        state: { in: LIVE_STATES },
        seq: { lt: job.seq },
      },
      select: { id: true },
    });
    return earlier !== null;
  }
}
