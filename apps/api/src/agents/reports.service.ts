import { Injectable, Logger } from '@nestjs/common';
import { Prisma, type JobState } from '@prisma/client';
import {
  isJobType,
  jobCatalog,
  type JobError,
  type JobReport,
  type ReportOutcome,
} from '@virtfleet/contracts';
import { PrismaService } from '../db/prisma.service';
import { effectsOf } from '../jobs/job-effects';
import { JobEvents } from '../jobs/job-events';
import { jobView } from '../jobs/job.view';

const LIVE: JobState[] = ['pending', 'queued', 'running'];

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
    private readonly events: JobEvents,
  ) {}

  async applyBatch(hostId: string, reports: JobReport[]): Promise<ReportOutcome[]> {
    const outcomes: ReportOutcome[] = [];
    for (const r of reports) outcomes.push(await this.apply(hostId, r));
    return outcomes;
  }

  async apply(hostId: string, r: JobReport): Promise<ReportOutcome> {
    const live = { id: r.jobId, hostId, state: { in: LIVE } };
    switch (r.kind) {
      case 'started': {
        const n = await this.db.job.updateMany({
          where: { ...live, attempt: { lte: r.attempt } },
          data: { state: 'running', attempt: r.attempt, startedAt: new Date(), progress: 0 },
        });
        if (!n.count) return this.whyNot(hostId, r);
        await this.announce(r.jobId, 'job.updated');
        return 'applied';
      }
      case 'progress': {
        const progress = Math.floor(r.progress);
        const n = await this.db.job.updateManyAndReturn({
          where: { ...live, attempt: r.attempt },
          data: { progress },
          select: { id: true, type: true, hostId: true, attempt: true },
        });
        const job = n[0];
        if (!job) return this.whyNot(hostId, r);
        this.events.publish({ event: 'job.progress', job: { ...job, progress } });
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
      case 'succeeded':
        return this.finish(hostId, r, r.result);
      case 'failed':
        return this.finish(hostId, r, undefined, r.error);
    }
  }

  private async finish(hostId: string, r: JobReport, result: unknown, error?: JobError): Promise<ReportOutcome> {
    const job = await this.db.job.findFirst({ where: { id: r.jobId, hostId } });
    if (!job) return 'job_not_found';
    if (!isJobType(job.type)) return 'job_not_found';
    const def = jobCatalog[job.type];
    let outcome: ReportOutcome = 'applied';
    let state: JobState = 'succeeded';
    let parsedResult: unknown;
    if (!error) {
      const p = def.result.safeParse(result);
      if (p.success) parsedResult = p.data;
      else {
        outcome = 'invalid_result';
        error = { code: 'result_invalid', message: `agent sent a result that does not match ${job.type}: ${p.error.message}` };
      }
    }
    if (error) state = error.code === 'timed_out' ? 'timed_out' : error.code === 'cancelled' ? 'cancelled' : 'failed';

    const applied = await this.db.$transaction(async (tx) => {
      const n = await tx.job.updateMany({
        where: { id: r.jobId, hostId, state: { in: LIVE }, attempt: { lte: r.attempt } },
        data: {
          state,
          attempt: r.attempt,
          finishedAt: new Date(),
          ...(state === 'succeeded'
            ? { result: parsedResult as Prisma.InputJsonValue, progress: 100 }
            : { error: error as Prisma.InputJsonValue }),
        },
      });
      if (!n.count) return false;
      const effects = effectsOf(def.name);
      if (state === 'succeeded') await effects?.onSuccess?.(tx, job, parsedResult as never, job.payload as never);
      else await effects?.onFailure?.(tx, job, job.payload as never);
      return true;
    });
    if (!applied) return this.whyNot(hostId, r);
    await this.announce(r.jobId, 'job.finished');
    return outcome;
  }

  private async announce(jobId: string, event: 'job.updated' | 'job.finished'): Promise<void> {
    const job = await this.db.job.findUnique({ where: { id: jobId } });
    if (job) this.events.publish({ event, job: jobView(job) });
  }

  private async whyNot(hostId: string, r: JobReport): Promise<ReportOutcome> {
    const job = await this.db.job.findFirst({ where: { id: r.jobId, hostId }, select: { state: true, attempt: true } });
    const outcome: ReportOutcome = !job ? 'job_not_found' : !LIVE.includes(job.state) ? 'job_final' : 'stale_attempt';
    this.log.debug(`report ${r.kind} for job ${r.jobId} attempt ${r.attempt} refused: ${outcome}`);
    return outcome;
  }
}
