import { Injectable, Logger } from '@nestjs/common';
import type { Prisma } from '@prisma/client';
import {
  LIVE_JOB_STATES,
  isJobType,
  jobCatalog,
  type JobReport,
  type JobType,
  type ReportAck,
  type ReportBatchAnswer,
  type ReportOutcome,
} from '@virtfleet/contracts';
import { jobLine } from '../common/logger';
import { JobSql } from '../db/job-sql.service';
import { PrismaService } from '../db/prisma.service';
import { JobLifecycle, endStateOf, expiredError, type JobEnd } from '../jobs/job-lifecycle.service';
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
      const starts: number[] = [];
      const ends: number[] = [];
      const rest: number[] = [];
      for (const i of wave) {
        const kind = (reports[i] as JobReport).kind;
        (kind === 'started' ? starts : kind === 'succeeded' || kind === 'failed' ? ends : rest).push(i);
      }
      await Promise.all([
        this.claim(
          hostId,
          starts.map((i) => reports[i] as StartedReport),
        ).then((acks) =>
          starts.forEach((i, k) => {
            outcomes[i] = acks[k]?.outcome ?? 'job_not_found';
            attempts[i] = acks[k]?.attempt ?? null;
          }),
        ),
        this.finish(
          hostId,
          ends.map((i) => reports[i] as EndReport),
        ).then((o) => ends.forEach((i, k) => (outcomes[i] = o[k] ?? 'job_not_found'))),
        ...rest.map(async (i) => {
          outcomes[i] = await this.apply(hostId, reports[i] as OtherReport);
        }),
      ]);
    }
    return { outcomes, attempts };
  }

  /**
   * Deliveries start: each job runs as its next attempt and every older attempt is fenced off,
   * in one statement; a job that was cancelled or expired while it waited ends here, unrun.
   */
  private async claim(hostId: string, claims: StartedReport[]): Promise<ReportAck[]> {
    if (!claims.length) return [];
    const now = new Date();
    const rows = new Map((await this.sql.claim(claims.map((c) => ({ id: c.jobId, delivery: c.delivery })), hostId, now)).map((row) => [row.id, row]));
    return Promise.all(
      claims.map(async ({ jobId: id }): Promise<ReportAck> => {
        const row = rows.get(id);
        if (!row) return { outcome: await this.unclaimed(hostId, id, now) };
        this.events.publish({ event: 'job.updated', job: jobView(row) });
        return { outcome: 'applied', attempt: row.attempt };
      }),
    );
  }

  /** A job the claim did not take: cancelled or expired while it waited for an agent, it ends here without running. */
  private async unclaimed(hostId: string, jobId: string, now: Date): Promise<ReportOutcome> {
    const stopped = await this.db.job.findFirst({ where: { id: jobId, hostId, state: { in: LIVE_JOB_STATES } } });
    if (stopped?.cancelRequestedAt) {
      await this.lifecycle.finish(stopped, { state: 'cancelled', error: { code: 'cancelled', message: 'cancelled before it started' } });
    } else if (stopped?.expiresAt && stopped.expiresAt <= now) {
      await this.lifecycle.finish(stopped, { state: 'timed_out', error: expiredError(stopped.expiresAt) });
    }
    return this.whyNot(hostId, jobId);
  }

  /** The ends of jobs: one read, one statement for those that change nothing else, the rest one by one (JobLifecycle.finish). */
  private async finish(hostId: string, reports: EndReport[]): Promise<ReportOutcome[]> {
    if (!reports.length) return [];
    const jobs = new Map((await this.sql.ofHost(reports.map((r) => r.jobId), hostId)).map((j) => [j.id, j]));
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
    const rows = new Map((plain.length ? await this.sql.end(plain) : []).map((row) => [row.id, row]));
    await Promise.all(
      plain.map(async (p) => {
        const row = rows.get(p.id);
        if (row) await this.lifecycle.ended(row);
        outcomes[p.k] = row ? p.outcome : await this.whyNot(hostId, p.id);
      }),
    );
    return outcomes;
  }

  /** A progress, command or retrying report. */
  private async apply(hostId: string, r: OtherReport): Promise<ReportOutcome> {
    const live = { id: r.jobId, hostId, state: { in: LIVE_JOB_STATES } };
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
    }
  }

  private async whyNot(hostId: string, jobId: string): Promise<ReportOutcome> {
    const job = await this.db.job.findFirst({ where: { id: jobId, hostId }, select: { state: true, requestId: true } });
    const outcome: ReportOutcome = !job ? 'job_not_found' : !LIVE_JOB_STATES.includes(job.state) ? 'job_final' : 'stale_attempt';
    this.log.debug(jobLine({ id: jobId, hostId, requestId: job?.requestId ?? null }, `report refused: ${outcome}`, { outcome }));
    return outcome;
  }
}

type StartedReport = Extract<JobReport, { kind: 'started' }>;
type EndReport = Extract<JobReport, { kind: 'succeeded' | 'failed' }>;
type OtherReport = Exclude<JobReport, { kind: 'started' | 'succeeded' | 'failed' }>;

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
