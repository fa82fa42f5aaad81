import { z } from 'zod';
import { doctorReport, hostFacts } from './host-facts';
import { jobError } from './job-state';

// What agents send the API (POST /v1/agent/reports, POST /v1/agent/heartbeat).
// Every job report carries the delivery attempt: the API refuses one from an old attempt.

const jobRef = { jobId: z.uuid(), attempt: z.number().int().positive() };

export const commandRecord = z.object({
  seq: z.number().int().nonnegative(),
  argv: z.array(z.string()).min(1),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  stdoutTail: z.string(),
  stderrTail: z.string(),
  durationMs: z.number().int().nonnegative(),
  startedAt: z.iso.datetime(),
});
export type CommandRecord = z.infer<typeof commandRecord>;

export const jobReport = z.discriminatedUnion('kind', [
  // A claim: the API answers the attempt number this delivery runs as (it grows with every
  // delivery, including redelivery after a crash or after the reconciler re-enqueued the job).
  // `delivery` names this run of the job: the same claim sent again (its answer was lost) gets
  // the same attempt. Agents before 0.2.0 send none; each of their claims is a new attempt.
  z.object({ kind: z.literal('started'), jobId: z.uuid(), delivery: z.uuid().optional() }),
  z.object({ kind: z.literal('progress'), ...jobRef, progress: z.number().min(0).max(100) }),
  z.object({ kind: z.literal('command'), ...jobRef, command: commandRecord }),
  z.object({ kind: z.literal('succeeded'), ...jobRef, result: z.unknown() }),
  z.object({ kind: z.literal('failed'), ...jobRef, error: jobError }),
  // A transient failure: the job goes back to its queue and is delivered again after `delayMs`.
  z.object({ kind: z.literal('retrying'), ...jobRef, error: jobError, delayMs: z.number().int().nonnegative() }),
]);
export type JobReport = z.infer<typeof jobReport>;

export const reportBatch = z.object({ reports: z.array(jobReport).min(1).max(1000) });
export type ReportBatch = z.infer<typeof reportBatch>;

export const reportOutcome = z.enum(['applied', 'stale_attempt', 'job_final', 'job_not_found', 'invalid_result']);
export type ReportOutcome = z.infer<typeof reportOutcome>;
export const reportBatchAnswer = z.object({
  outcomes: z.array(reportOutcome),
  /** Aligned with outcomes: for an applied `started` report, the attempt assigned. */
  attempts: z.array(z.number().int().positive().nullable()).optional(),
});
export type ReportBatchAnswer = z.infer<typeof reportBatchAnswer>;
export interface ReportAck {
  outcome: ReportOutcome;
  attempt?: number;
}

export const heartbeat = z.object({ facts: hostFacts.optional(), doctor: doctorReport.optional() });
export type Heartbeat = z.infer<typeof heartbeat>;

/** The API's answer to a heartbeat: running jobs of this host that were asked to cancel. */
export const heartbeatAnswer = z.object({ cancel: z.array(z.uuid()).default([]) });
export type HeartbeatAnswer = z.infer<typeof heartbeatAnswer>;
