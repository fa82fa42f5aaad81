import { Injectable, Logger } from '@nestjs/common';
import type { Prisma } from '@prisma/client';
import {
  isJobType,
  jobCatalog,
  type JobReport,
  type JobType,
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
   * Reports about one job are applied in the order sent; different jobs' reports together: the
   * n-th report of each job goes in wave n, and within a wave the claims are one statement and
   * the plain ends another (an agent running 50 jobs sends them in one batch).
   */
  async applyBatch(hostId: string, reports: JobReport[]): Promise<ReportBatchAnswer> {
    const outcomes: ReportOutcome[] = new Array<ReportOutcome>(reports.length);
    const attempts: Array<number | null> = new Array<number | null>(reports.length).fill(null);
    const waves: number[][] = [];
    const seen = new Map<string, number>();
    reports.forEach((r, i) => {
      const n = seen.get(r.jobId) ?? 0;
      seen.set(r.jobId, n + 1);
      (waves[n] ??= []).push(i);
    });
    for (const wave of waves) {
      const starts = wave.filter((i) => reports[i]?.kind === 'started');
      const ends = wave.filter((i) => reports[i]?.kind === 'succeeded' || reports[i]?.kind === 'failed');
      const rest = wave.filter((i) => !starts.includes(i) && !ends.includes(i));
      const claimed = this.claimMany(
        hostId,
        starts.map((i) => (reports[i] as JobReport).jobId),
      ).then((acks) =>
        starts.forEach((i, k) => {
          outcomes[i] = acks[k]?.outcome ?? 'job_not_found';
          attempts[i] = acks[k]?.attempt ?? null;
        }),
      );
      const ended = this.finishMany(
        hostId,
        ends.map((i) => reports[i] as EndReport),
      ).then((o) => ends.forEach((i, k) => (outcomes[i] = o[k] ?? 'job_not_found')));
      const others = rest.map(async (i) => {
        outcomes[i] = await this.apply(hostId, reports[i] as Exclude<JobReport, { kind: 'started' }>);
      });
      await Promise.all([claimed, ended, ...others]);
    }
    return { outcomes, attempts };
  }

  /** claim() for many jobs: one statement for those that can run; the rest one by one (cancelled, expired, gone). */
  private async claimMany(hostId: string, jobIds: string[]): Promise<ReportAck[]> {
    if (jobIds.length <= 1) return Promise.all(jobIds.map((id) => this.claim(hostId, id)));
    const rows = new Map((await this.sql.claimMany(jobIds, hostId, new Date())).map((row) => [row.id, row]));
    return Promise.all(
      jobIds.map(async (id) => {
        const row = rows.get(id);
        if (!row) return this.claim(hostId, id);
        this.events.publish({ event: 'job.updated', job: jobView(row) });
        return { outcome: 'applied' as const, attempt: row.attempt };
      }),
    );
  }

  /** The ends of many jobs: one read, one statement for those that change nothing else, the rest one by one. */
  private async finishMany(hostId: string, reports: EndReport[]): Promise<ReportOutcome[]> {
    if (reports.length <= 1) return Promise.all(reports.map((r) => this.apply(hostId, r)));
    const jobs = new Map((await this.sql.ofHostMany(reports.map((r) => r.jobId), hostId)).map((j) => [j.id, j]));
    const outcomes: ReportOutcome[] = new Array<ReportOutcome>(reports.length);
    const plain: Array<{ k: number; outcome: ReportOutcome; id: string; attempt: number; end: JobEnd }> = [];
    await Promise.all(
      reports.map(async (r, k) => {
        const job = jobs.get(r.jobId);
        if (!job || !isJobType(job.type)) return void (outcomes[k] = 'job_not_found');
        const { end, outcome } = endOf(job.type, r);
        if ((await this.lifecycle.sideEffects(job, end)).none) plain.push({ k, outcome, id: job.id, attempt: r.attempt, end });
        else outcomes[k] = (await this.lifecycle.finish(job, end, r.attempt)) ? outcome : await this.whyNot(hostId, r.jobId);
      }),
    );
    const rows = new Map((plain.length ? await this.sql.endMany(plain) : []).map((row) => [row.id, row]));
    await Promise.all(
      plain.map(async (p) => {
        const row = rows.get(p.id);
        if (row) await this.lifecycle.ended(row);
        outcomes[p.k] = row ? p.outcome : await this.whyNot(hostId, p.id);
      }),
    );
    return outcomes;
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
      case 'failed':
        return this.finish(hostId, r);
    }
  }

  private async finish(hostId: string, r: EndReport): Promise<ReportOutcome> {
    const job = await this.sql.ofHost(r.jobId, hostId);
    if (!job || !isJobType(job.type)) return 'job_not_found';
    const { end, outcome } = endOf(job.type, r);
    return (await this.lifecycle.finish(job, end, r.attempt)) ? outcome : this.whyNot(hostId, r.jobId);
  }

  private async whyNot(hostId: string, jobId: string): Promise<ReportOutcome> {
    const job = await this.db.job.findFirst({ where: { id: jobId, hostId }, select: { state: true } });
    const outcome: ReportOutcome = !job ? 'job_not_found' : !LIVE_STATES.includes(job.state) ? 'job_final' : 'stale_attempt';
    this.log.debug(`report for job ${jobId} refused: ${outcome}`);
    return outcome;
  }
}

type EndReport = Extract<JobReport, { kind: 'succeeded' | 'failed' }>;

/** How a succeeded or failed report ends its job: a result that does not fit the type's schema fails it. */
function endOf(type: JobType, r: EndReport): { end: JobEnd; outcome: ReportOutcome } {
  if (r.kind === 'failed') return { end: { state: endStateOf(r.error), error: r.error }, outcome: 'applied' };
  const p = jobCatalog[type].result.safeParse(r.result);
  if (p.success) return { end: { state: 'succeeded', result: p.data }, outcome: 'applied' };
  return {
    end: { state: 'failed', error: { code: 'result_invalid', message: `agent sent a result that does not match ${type}: ${p.error.message}` } },
    outcome: 'invalid_result',
  };
}
