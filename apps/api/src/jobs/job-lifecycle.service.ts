import { Injectable } from '@nestjs/common';
import { Prisma, type Job, type JobState } from '@prisma/client';
import { LIVE_JOB_STATES, isJobType, type JobError } from '@virtfleet/contracts';
import { JobSql } from '../db/job-sql.service';
import { PgService } from '../db/pg.service';
import { PrismaService } from '../db/prisma.service';
import type { ChangedVm } from '../vms/vm-store';
import { effectsOf, type Effects } from './job-effects';
import { JobEvents } from './job-events';
import { jobView } from './job.view';
import { WebhookSender } from '../webhooks/webhook-sender.service';
import { WebhooksService } from '../webhooks/webhooks.service';
import type { Webhook } from '@prisma/client';

/** A job that ended, and the VM rows its effect changed (announced after the commit). */
interface Ended {
  row: Job;
  vms: ChangedVm[];
}
type SqlEffect = NonNullable<Effects<never>['onSuccessSql']>;

export type JobEnd =
  | { state: 'succeeded'; result: unknown }
  | { state: Exclude<JobState, 'succeeded' | 'pending' | 'queued' | 'running'>; error: JobError };

/** The state a failed job ends in, from its error code. */
export function endStateOf(error: JobError): Exclude<JobEnd['state'], 'succeeded'> {
  return error.code === 'timed_out' ? 'timed_out' : error.code === 'cancelled' ? 'cancelled' : 'failed';
}

export function expiredError(expiresAt: Date): JobError {
  return { code: 'expired', message: `not started before it expired at ${expiresAt.toISOString()}` };
}

/**
 * The one way a job becomes final: the row, the job type's inventory effect and the webhook
 * deliveries in one transaction, then the event. Whoever ends a job — an agent's report, a
 * cancel, the reconciler — goes through here.
 */
@Injectable()
export class JobLifecycle {
  constructor(
    private readonly db: PrismaService,
    private readonly sql: JobSql,
    private readonly pg: PgService,
    private readonly events: JobEvents,
    private readonly webhooks: WebhooksService,
    private readonly sender: WebhookSender,
  ) {}

  /**
   * Ends the job if it is still live (and, when `attempt` is given, still on that attempt).
   * Returns false when it was not: it had ended already, or the attempt was fenced off.
   */
  async finish(job: Job, end: JobEnd, attempt?: number): Promise<boolean> {
    const { effects, hooks, none } = await this.sideEffects(job, end);
    // One statement when nothing else changes with the job; a transaction otherwise.
    if (none) {
      const [row] = await this.sql.end([{ id: job.id, attempt, end }]);
      if (row) await this.ended(row);
      return row !== undefined;
    }
    const done =
      end.state === 'succeeded' && effects?.onSuccessSql && !hooks.length
        ? await this.endWithSql(job, end, attempt, effects.onSuccessSql)
        : await this.endInTransaction(job, end, attempt, effects, hooks);
    if (!done) return false;
    this.events.publish({ event: 'job.finished', job: jobView(done.row) });
    for (const vm of done.vms) {
      this.events.publishVm({ event: vm.status === 'removed' ? 'vm.removed' : 'vm.updated', vm: { ...vm, hostId: job.hostId } });
    }
    if (hooks.length) this.sender.kick();
    if (done.row.parentId) await this.settleParent(done.row.parentId);
    return true;
  }

  /** A VM job's end and its domain in one `pg` transaction (no webhook to enqueue with it). */
  private endWithSql(job: Job, end: JobEnd & { state: 'succeeded' }, attempt: number | undefined, effect: SqlEffect): Promise<Ended | null> {
    return this.pg.tx(async (tx) => {
      const [row] = await this.sql.end([{ id: job.id, attempt, end }], tx);
      if (!row) return null;
      return { row, vms: await effect(tx, job, end.result as never, job.payload as never) };
    });
  }

  /** Any other end with an effect or webhooks: one Prisma transaction. */
  private endInTransaction(job: Job, end: JobEnd, attempt: number | undefined, effects: ReturnType<typeof effectsOf>, hooks: Webhook[]): Promise<Ended | null> {
    const data = {
      state: end.state,
      finishedAt: new Date(),
      ...(end.state === 'succeeded'
        ? { result: end.result as Prisma.InputJsonValue, progress: 100, error: Prisma.DbNull }
        : { error: end.error as Prisma.InputJsonValue }),
    };
    const where = { id: job.id, state: { in: LIVE_JOB_STATES }, ...(attempt !== undefined ? { attempt } : {}) };
    return this.db.$transaction(async (tx) => {
      const [row] = await tx.job.updateManyAndReturn({ where, data });
      if (!row) return null;
      const success = effects?.onSuccess ?? effects?.onSuccessSql;
      const vms =
        (end.state === 'succeeded' ? await success?.(tx, job, end.result as never, job.payload as never) : await effects?.onFailure?.(tx, job, job.payload as never)) ?? [];
      await this.webhooks.enqueue(tx, hooks, 'job.finished', jobView(row));
      return { row, vms };
    });
  }

  /**
   * What else ending this job changes: the job type's inventory effect and the webhooks that
   * hear of it. Neither: its end is one statement (JobSql.end, a batch's ends together).
   */
  async sideEffects(job: Job, end: JobEnd): Promise<{ effects: ReturnType<typeof effectsOf>; hooks: Webhook[]; none: boolean }> {
    // A parent's end changes nothing in the inventory: its children's ends did.
    const effects = isJobType(job.type) && !job.group ? effectsOf(job.type) : undefined;
    const hooks = await this.webhooks.matching('job.finished', job);
    const none = !hooks.length && !(end.state === 'succeeded' ? (effects?.onSuccess ?? effects?.onSuccessSql) : effects?.onFailure);
    return { effects, hooks, none };
  }

  /** After a job ended in one statement: the event (wakes ?wait= readers, SSE; the dispatcher sends its lock's next job), and its parent's progress. */
  async ended(row: Job): Promise<void> {
    this.events.publish({ event: 'job.finished', job: jobView(row) });
    if (row.parentId) await this.settleParent(row.parentId);
  }

  /**
   * A parent follows its children: its progress is theirs on average (an ended child counts as
   * done), and when the last one ends it ends too — succeeded if they all did, cancelled if the
   * others were cancelled, failed otherwise, with each child's outcome in its result or error.
   */
  async settleParent(parentId: string): Promise<void> {
    const parent = await this.db.job.findUnique({ where: { id: parentId } });
    if (!parent || !LIVE_JOB_STATES.includes(parent.state)) return;
    const children = await this.db.job.findMany({
      where: { parentId },
      orderBy: { seq: 'asc' },
      select: { id: true, state: true, progress: true, payload: true, error: true },
    });
    const live = children.filter((c) => LIVE_JOB_STATES.includes(c.state));
    if (live.length > 0) {
      const progress = Math.floor(children.reduce((sum, c) => sum + (live.includes(c) ? c.progress : 100), 0) / children.length);
      if (progress === parent.progress) return;
      const [row] = await this.db.job.updateManyAndReturn({ where: { id: parentId, state: { in: LIVE_JOB_STATES } }, data: { progress } });
      if (row) this.events.publish({ event: 'job.progress', job: { id: row.id, type: row.type, hostId: row.hostId, attempt: row.attempt, progress } });
      return;
    }
    const outcomes = children.map((c) => ({
      jobId: c.id,
      ...(typeof (c.payload as { name?: unknown }).name === 'string' ? { name: (c.payload as { name: string }).name } : {}),
      state: c.state,
      ...(c.error ? { error: c.error as unknown as JobError } : {}),
    }));
    const bad = outcomes.filter((o) => o.state !== 'succeeded');
    const first = bad[0];
    const end: JobEnd = !first
      ? { state: 'succeeded', result: { succeeded: outcomes.length, children: outcomes } }
      : {
          state: bad.every((o) => o.state === 'cancelled') ? 'cancelled' : 'failed',
          error: {
            code: bad.every((o) => o.state === 'cancelled') ? 'cancelled' : 'children_failed',
            message: `${bad.length} of ${outcomes.length} child jobs did not succeed; the first, ${first.name ?? first.jobId}, ended ${first.state}: ${first.error?.message ?? ''}`.trim(),
            details: { children: outcomes },
          },
        };
    await this.finish(parent, end);
  }

  async announce(jobId: string, event: 'job.updated' | 'job.finished'): Promise<void> {
    const job = await this.db.job.findUnique({ where: { id: jobId } });
    if (job) this.events.publish({ event, job: jobView(job) });
  }
}
