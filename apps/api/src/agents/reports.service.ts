import { Injectable, Logger } from '@nestjs/common';
import type { Prisma } from '@prisma/client';
import {
  isJobType,
  jobCatalog,
  type JobError,
  type JobReport,
  type ReportAck,
  type ReportBatchAnswer,
  type ReportOutcome,
} from '@virtfleet/contracts';
import { JobSql } from '../db/job-sql.service';
import { PrismaService } from '../db/prisma.service';
import { JobLifecycle, LIVE_STATES, endStateOf, expiredError, type JobEnd } from '../jobs/job-lifecycle.service';
import { JobEvents } from '../jobs/job-events';
import { jobView } from '../jobs/job.view';

/**
 * Applies what agents report. Fencing: a report counts only from the job's current attempt
 * (a `started` report may move the attempt forward); a report of an older attempt, or about a
 * job already final, changes nothing. A host can only report on its own jobs.
 */
@Injectable()
export class ReportsService {
  private readonly log = new Logger('Reports');

  constructor(
    private readonly db: PrismaService,
    private readonly sql: JobSql,
    private readonly events: JobEvents,
    private readonly lifecycle: JobLifecycle,
  ) {}

  /**
   * Reports about one job are applied in the order sent; different jobs' reports in parallel
   * (an agent running 50 jobs sends them in one batch).
   */
  async applyBatch(hostId: string, reports: JobReport[]): Promise<ReportBatchAnswer> {
    const outcomes: ReportOutcome[] = new Array<ReportOutcome>(reports.length);
    const attempts: Array<number | null> = new Array<number | null>(reports.length).fill(null);
    const byJob = new Map<string, number[]>();
    reports.forEach((r, i) => byJob.set(r.jobId, [...(byJob.get(r.jobId) ?? []), i]));
    await Promise.all(
      [...byJob.values()].map(async (indexes) => {
        for (const i of indexes) {
          const r = reports[i] as JobReport;
          const ack = r.kind === 'started' ? await this.claim(hostId, r.jobId) : { outcome: await this.apply(hostId, r) };
          outcomes[i] = ack.outcome;
          attempts[i] = ack.attempt ?? null;
        }
      }),
    );
    return { outcomes, attempts };
  }

  /** A delivery starts: the job runs as the next attempt; every older attempt is fenced off. */
  async claim(hostId: string, jobId: string): Promise<ReportAck> {
    const now = new Date();
    const job = await this.sql.claim(jobId, hostId, now);
    if (!job) {
      // Cancelled or expired while it waited for an agent: it ends here, without running.
      const stopped = await this.db.job.findFirst({ where: { id: jobId, hostId, state: { in: LIVE_STATES } } });
      if (stopped?.cancelRequestedAt) {
        await this.lifecycle.finish(stopped, { state: 'cancelled', error: { code: 'cancelled', message: 'cancelled before it started' } });
      } else if (stopped?.expiresAt && stopped.expiresAt <= now) {
        await this.lifecycle.finish(stopped, { state: 'timed_out', error: expiredError(stopped.expiresAt) });
      }
      return { outcome: await this.whyNot(hostId, jobId) };
    }
    this.events.publish({ event: 'job.updated', job: jobView(job) });
    return { outcome: 'applied', attempt: job.attempt };
  }

  async apply(hostId: string, r: Exclude<JobReport, { kind: 'started' }>): Promise<ReportOutcome> {
    const live = { id: r.jobId, hostId, state: { in: LIVE_STATES } };
    switch (r.kind) {
      case 'progress': {
        const progress = Math.floor(r.progress);
        const job = await this.sql.progress(r.jobId, hostId, r.attempt, progress);
        if (!job) return this.whyNot(hostId, r.jobId);
        this.events.publish({ event: 'job.progress', job: { id: job.id, type: job.type, hostId: job.hostId, attempt: job.attempt, progress } });
        if (job.parentId) await this.lifecycle.settleParent(job.parentId);
        return 'applied';
      }
      case 'command': {
        const job = await this.db.job.findFirst({ where: { id: r.jobId, hostId }, select: { attempt: true } });
        if (!job) return 'job_not_found';
        if (job.attempt !== r.attempt) return 'stale_attempt';
        const c = r.command;
        await this.db.jobLog.createMany({
          data: [
            {
              jobId: r.jobId,
              attempt: r.attempt,
              seq: c.seq,
              argv: c.argv,
              exitCode: c.exitCode,
              signal: c.signal,
              stdoutTail: c.stdoutTail,
              stderrTail: c.stderrTail,
              durationMs: c.durationMs,
              startedAt: new Date(c.startedAt),
            },
          ],
          skipDuplicates: true, // a retried batch
        });
        return 'applied';
      }
      case 'retrying': {
        // Back to its queue with the last error shown; the next delivery claims a new attempt.
        const [job] = await this.db.job.updateManyAndReturn({
          where: { ...live, attempt: r.attempt },
          data: { state: 'queued', progress: 0, error: r.error as Prisma.InputJsonValue },
        });
        if (!job) return this.whyNot(hostId, r.jobId);
        this.events.publish({ event: 'job.updated', job: jobView(job) });
        return 'applied';
      }
      case 'succeeded':
        return this.finish(hostId, r, r.result);
      case 'failed':
        return this.finish(hostId, r, undefined, r.error);
    }
  }

  private async finish(hostId: string, r: Exclude<JobReport, { kind: 'started' }>, result: unknown, error?: JobError): Promise<ReportOutcome> {
    const job = await this.sql.ofHost(r.jobId, hostId);
    if (!job || !isJobType(job.type)) return 'job_not_found';
    let end: JobEnd;
    let outcome: ReportOutcome = 'applied';
    if (error) end = { state: endStateOf(error), error };
    else {
      const p = jobCatalog[job.type].result.safeParse(result);
      if (p.success) end = { state: 'succeeded', result: p.data };
      else {
        outcome = 'invalid_result';
        end = { state: 'failed', error: { code: 'result_invalid', message: `agent sent a result that does not match ${job.type}: ${p.error.message}` } };
      }
    }
    return (await this.lifecycle.finish(job, end, r.attempt)) ? outcome : this.whyNot(hostId, r.jobId);
  }

  private async whyNot(hostId: string, jobId: string): Promise<ReportOutcome> {
    const job = await this.db.job.findFirst({ where: { id: jobId, hostId }, select: { state: true } });
    const outcome: ReportOutcome = !job ? 'job_not_found' : !LIVE_STATES.includes(job.state) ? 'job_final' : 'stale_attempt';
    this.log.debug(`report for job ${jobId} refused: ${outcome}`);
    return outcome;
  }
}
