import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { jobLine } from '../common/logger';
import { JobEvents, type JobEvent } from './job-events';

/**
 * A job's life in the API's log, one line per change this replica made: submitted, started
 * (each attempt), back on its queue (a retry, the reconciler), cancel requested, ended. Each
 * line carries jobId, hostId and the submitting request's requestId (common/logger.ts, jobLine),
 * so `jq 'select(.jobId == "…")'` follows a job and `select(.requestId == "…")` a request.
 */
@Injectable()
export class JobEventLog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Jobs');
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly events: JobEvents) {}

  onApplicationBootstrap(): void {
    // This replica's own changes only: another replica logs its own (each change once in all).
    this.unsubscribe = this.events.subscribeOwn((e) => this.write(e));
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
  }

  private write(e: JobEvent): void {
    const j = e.job;
    if (e.event === 'job.progress') {
      this.log.debug(jobLine(j, 'job progress', { type: j.type, attempt: j.attempt, progress: j.progress }));
      return;
    }
    const v = e.job;
    const error = v.error as { code?: unknown; message?: unknown } | null;
    const fields = {
      type: v.type,
      state: v.state,
      attempt: v.attempt,
      ...(v.parentId ? { parentId: v.parentId } : {}),
      ...(error ? { error: { code: error.code, message: error.message } } : {}),
    };
    const msg =
      e.event === 'job.created'
        ? 'job submitted'
        : e.event === 'job.finished'
          ? `job ended ${v.state}`
          : v.cancelRequestedAt
            ? 'job cancel requested'
            : v.state === 'running'
              ? 'job started'
              : `job ${v.state} again`;
    this.log.log(jobLine(v, msg, fields));
  }
}
