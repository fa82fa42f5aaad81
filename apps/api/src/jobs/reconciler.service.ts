import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Job } from '@prisma/client';
import { isJobType, jobCatalog } from '@virtfleet/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { Leases } from '../db/leases.service';
import { PrismaService } from '../db/prisma.service';
import { HostQueues } from '../queue/host-queues.service';
import { Periodic } from '../common/periodic';
import { Dispatcher } from './dispatcher.service';
import { JobLifecycle, expiredError } from './job-lifecycle.service';

const BATCH = 500;

/**
 * Puts back what Redis lost. A job row that is queued or running in PostgreSQL but has no
 * BullMQ job (Redis restarted empty, FLUSHALL, a failover that lost writes, a job BullMQ failed
 * after too many stalls) is enqueued again under the same id. A job delivered as many times as
 * its type allows and never finished fails with attempts_exhausted instead of looping.
 * With several API replicas, the one holding the `reconciler` lease does this.
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Reconciler');
  private readonly loop: Periodic;

  constructor(
    private readonly db: PrismaService,
    private readonly queues: HostQueues,
    private readonly dispatcher: Dispatcher,
    private readonly lifecycle: JobLifecycle,
    private readonly leases: Leases,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {
    this.loop = new Periodic(config.reconcileIntervalMs, () => this.sweep(), (err) => this.log.warn(`reconcile pass stopped: ${err.message}`));
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  onApplicationShutdown(): void {
    this.loop.stop();
  }

  /** Jobs that expired before an agent started them end timed_out, off their queue. */
  private async expire(): Promise<void> {
    const due = await this.db.job.findMany({ where: { state: { in: ['pending', 'queued'] }, expiresAt: { lte: new Date() } }, take: BATCH });
    for (const job of due) {
      await this.queues.forHost(job.hostId).remove(job.id).catch(() => 0); // an agent that has it anyway is refused at its claim
      if (job.expiresAt) await this.lifecycle.finish(job, { state: 'timed_out', error: expiredError(job.expiresAt) });
    }
  }

  /** One pass: expire what is due, then every queued/running job older than the grace period. One replica at a time (the `reconciler` lease). */
  private async sweep(): Promise<void> {
    if (!(await this.leases.holds('reconciler'))) return;
    await this.expire();
    const before = new Date(Date.now() - this.config.reconcileGraceMs);
    const restored: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const rows = await this.db.job.findMany({
        where: { state: { in: ['queued', 'running'] }, group: false, updatedAt: { lt: before }, ...(cursor ? { id: { gt: cursor } } : {}) },
        orderBy: { id: 'asc' },
        take: BATCH,
      });
      cursor = rows[rows.length - 1]?.id;
      for (const job of await this.missingFromRedis(rows)) if (await this.restore(job)) restored.push(job.id);
      if (rows.length < BATCH) break;
    }
    if (restored.length) this.log.warn({ msg: `re-enqueued ${restored.length} job(s) that Redis had lost`, jobIds: restored });
  }

  private async missingFromRedis(rows: Job[]): Promise<Job[]> {
    // Throws while Redis is down: then nothing is known to be missing and the pass stops.
    const states = await Promise.all(rows.map((j) => this.queues.forHost(j.hostId).getJobState(j.id)));
    return rows.filter((_, i) => states[i] === 'unknown');
  }

  private async restore(job: Job): Promise<boolean> {
    // Re-read: the job may have ended between the scan and now (its BullMQ job removed on completion).
    const fresh = await this.db.job.findFirst({ where: { id: job.id, state: { in: ['queued', 'running'] } } });
    if (!fresh || !isJobType(fresh.type)) return false;
    const allowed = jobCatalog[fresh.type].attempts;
    if (fresh.attempt >= allowed) {
      return this.lifecycle.finish(fresh, {
        state: 'failed',
        error: {
          code: 'attempts_exhausted',
          message: `delivered ${fresh.attempt} time(s) (the most ${fresh.type} allows) and never finished: the agent died or lost the job each time`,
        },
      });
    }
    await this.dispatcher.enqueue(fresh);
    await this.db.job.updateMany({ where: { id: fresh.id, state: { in: ['queued', 'running'] } }, data: { state: 'queued', queuedAt: new Date() } });
    await this.lifecycle.announce(fresh.id, 'job.updated');
    return true;
  }
}
