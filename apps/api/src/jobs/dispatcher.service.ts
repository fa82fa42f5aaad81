import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Job } from '@prisma/client';
import type { JobsOptions } from 'bullmq';
import { LIVE_JOB_STATES, jobCatalog, isJobType, type QueuedJobData } from '@virtfleet/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { JobSql } from '../db/job-sql.service';
import { Leases } from '../db/leases.service';
import { PrismaService } from '../db/prisma.service';
import { AgentJobTypes } from '../hosts/agent-job-types';
import { HostQueues } from '../queue/host-queues.service';
import { jobLine } from '../common/logger';
import { Periodic } from '../common/periodic';
import { JobEvents } from './job-events';

interface Dispatchable {
  id: string;
  type: string;
  hostId: string;
  payload: unknown;
  lockKey: string | null;
  concurrencyKey: string | null;
  concurrencyLimit: number | null;
  seq: bigint;
  timeoutMs: number | null;
  requestId: string | null;
}

export interface DispatchOutcome {
  outcome: 'queued' | 'held' | 'failed';
  /** The row after it was marked queued. */
  job?: Job;
}

const SELECT = {
  id: true,
  type: true,
  hostId: true,
  payload: true,
  lockKey: true,
  concurrencyKey: true,
  concurrencyLimit: true,
  seq: true,
  timeoutMs: true,
  requestId: true,
} as const;

type Queueable = Pick<Dispatchable, 'id' | 'type' | 'hostId' | 'payload' | 'timeoutMs'> & { requestId?: string | null };

/**
 * A job as BullMQ holds it: the row id as its id (a second add is a no-op), its type's attempts,
 * and the submitting request's id (when the row read has it) for the agent's log lines.
 */
function queued(job: Queueable): { name: string; data: QueuedJobData; opts: JobsOptions } {
  if (!isJobType(job.type)) throw new Error(`unknown job type ${job.type}`);
  return {
    name: job.type,
    data: {
      type: job.type,
      payload: job.payload,
      ...(job.timeoutMs ? { timeoutMs: job.timeoutMs } : {}),
      ...(job.requestId ? { requestId: job.requestId } : {}),
    },
    opts: {
      jobId: job.id,
      attempts: jobCatalog[job.type].attempts,
      backoff: { type: 'exponential', delay: 1_000 },
      // History lives in PostgreSQL; Redis keeps only work in flight.
      removeOnComplete: true,
      removeOnFail: true,
    },
  };
}

/**
 * The outbox: a job is a PostgreSQL row first (state pending); this puts it on its host queue
 * with the row id as the BullMQ job id (so a second add is a no-op) and marks it queued.
 * The submit path calls dispatch() at once; a sweep picks up whatever that missed (Redis down,
 * API crash between commit and add).
 *
 * Order: a job with a lock key (what it touches: "disk:d1", "vm:web") is held pending while an
 * earlier job with the same key on the same host is still live, and goes out when that one ends.
 * So jobs on one thing run one at a time in submission order; other jobs run in parallel.
 *
 * A job in a concurrency group ("clone") is held likewise while `limit` earlier jobs of its
 * group on its host are live: at most that many run on a host at once, in submission order.
 * Both rules only look at earlier jobs, which can only end: a job once free stays free, so
 * two replicas dispatching at once cannot both let a job through that should wait.
 */
@Injectable()
export class Dispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Dispatcher');
  private readonly loop: Periodic;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly db: PrismaService,
    private readonly sql: JobSql,
    private readonly queues: HostQueues,
    private readonly events: JobEvents,
    private readonly leases: Leases,
    private readonly agents: AgentJobTypes,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.loop = new Periodic(config.dispatchIntervalMs, () => this.sweep(), (err) => this.log.warn(`outbox sweep failed: ${err.message}`));
  }

  onApplicationBootstrap(): void {
    this.loop.start();
    this.unsubscribe = this.events.subscribeOwn((e) => {
      if (e.event !== 'job.finished') return;
      if (e.job.lockKey) void this.next(e.job.hostId, { lockKey: e.job.lockKey });
      if (e.job.concurrencyKey) void this.next(e.job.hostId, { concurrencyKey: e.job.concurrencyKey });
    });
  }

  onApplicationShutdown(): void {
    this.loop.stop();
    this.unsubscribe?.();
  }

  async dispatch(job: Dispatchable): Promise<DispatchOutcome> {
    if (await this.whyWaiting(job)) return { outcome: 'held' };
    try {
      await this.enqueue(job);
    } catch (err) {
      this.log.warn(jobLine(job, 'stays pending (the sweep retries)', { err: (err as Error).message }));
      return { outcome: 'failed' };
    }
    const [row] = await this.sql.markQueued([job.id]);
    return { outcome: 'queued', ...(row ? { job: row } : {}) };
  }

  /** Puts the job on its host queue; a no-op while BullMQ still has a job of that id. Throws when Redis is down. */
  async enqueue(job: Queueable): Promise<void> {
    const { name, data, opts } = queued(job);
    await this.queues.forHost(job.hostId).add(name, data, opts);
  }

  /**
   * dispatch() for a batch: the jobs that wait for nothing go to their host queues in one bulk
   * add per host and are marked queued in one statement; the others one by one, in order. The
   * rows as they are now (still pending where Redis was down: the sweep sends those).
   */
  async dispatchMany(jobs: Job[]): Promise<Job[]> {
    const now = new Map<string, Job>();
    const unkeyed = jobs.filter((j) => !j.lockKey && !j.concurrencyKey); // the keyed go through dispatch(), which asks the same
    const refused = await Promise.all(unkeyed.map((j) => this.agents.refusal(j.hostId, j.type)));
    const free = unkeyed.filter((_, i) => !refused[i]); // the refused wait for the sweep
    for (const hostId of new Set(free.map((j) => j.hostId))) {
      const mine = free.filter((j) => j.hostId === hostId);
      try {
        await this.queues.forHost(hostId).addBulk(mine.map(queued));
      } catch (err) {
        this.log.warn({ msg: `${mine.length} jobs stay pending (the sweep retries)`, hostId, jobIds: mine.map((j) => j.id), err: (err as Error).message });
        continue;
      }
      for (const row of await this.sql.markQueued(mine.map((j) => j.id))) now.set(row.id, row);
    }
    for (const job of jobs) {
      if (!job.lockKey && !job.concurrencyKey) continue;
      const r = await this.dispatch(job);
      if (r.job) now.set(job.id, r.job);
    }
    return jobs.map((j) => now.get(j.id) ?? j);
  }

  /**
   * Sends what is still pending, oldest first; stops at the first failure (Redis down). One
   * replica sweeps (the `dispatcher` lease); every replica still dispatches what it accepted.
   */
  private async sweep(): Promise<void> {
    if (!(await this.leases.holds('dispatcher'))) return;
    const pending = await this.db.job.findMany({ where: { state: 'pending', group: false }, orderBy: { seq: 'asc' }, take: 500, select: SELECT });
    for (const job of pending) if ((await this.dispatch(job)).outcome === 'failed') break;
  }

  /** The jobs that waited for a finished one with the same key (or in the same group) go out now. */
  private async next(hostId: string, key: { lockKey: string } | { concurrencyKey: string }): Promise<void> {
    try {
      const waiting = await this.db.job.findMany({
        where: { hostId, ...key, state: 'pending', group: false },
        orderBy: { seq: 'asc' },
        // One slot freed: the first that may go takes it; a few more in case the first are held by their own lock.
        take: 'lockKey' in key ? 1 : 8,
        select: SELECT,
      });
      for (const job of waiting) if ((await this.dispatch(job)).outcome === 'queued') break;
    } catch (err) {
      this.log.warn({ msg: `dispatch after ${JSON.stringify(key)} failed (the sweep retries)`, hostId, err: (err as Error).message });
    }
  }

  /**
   * Why a pending job is held, or undefined when it may go: its host's agent does not run its
   * type (an agent older than the API), an earlier job with its lock key is live, or `limit`
   * earlier ones of its concurrency group are. GET /v1/jobs/:id shows the reason.
   */
  async whyWaiting(job: Dispatchable): Promise<string | undefined> {
    const refusal = await this.agents.refusal(job.hostId, job.type);
    if (refusal) return refusal;
    const earlier = { hostId: job.hostId, state: { in: LIVE_JOB_STATES }, seq: { lt: job.seq } };
    if (job.lockKey) {
      const first = await this.db.job.findFirst({ where: { ...earlier, lockKey: job.lockKey }, orderBy: { seq: 'asc' }, select: { id: true, type: true } });
      if (first) return `waits for job ${first.id} (${first.type}), an earlier job on ${job.lockKey}: jobs on one thing run one at a time, in order`;
    }
    if (job.concurrencyKey && job.concurrencyLimit) {
      const live = await this.db.job.count({ where: { ...earlier, concurrencyKey: job.concurrencyKey }, take: job.concurrencyLimit });
      if (live >= job.concurrencyLimit) return `waits for a ${job.concurrencyKey} slot: ${live} earlier ${job.concurrencyKey} jobs are live on this host, its limit`;
    }
    return undefined;
  }
}
