import { z } from 'zod';
import { hostFacts } from './host-facts';
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
  z.object({ kind: z.literal('started'), ...jobRef }),
  z.object({ kind: z.literal('progress'), ...jobRef, progress: z.number().min(0).max(100) }),
  z.object({ kind: z.literal('command'), ...jobRef, command: commandRecord }),
  z.object({ kind: z.literal('succeeded'), ...jobRef, result: z.unknown() }),
  z.object({ kind: z.literal('failed'), ...jobRef, error: jobError }),
]);
export type JobReport = z.infer<typeof jobReport>;

export const reportBatch = z.object({ reports: z.array(jobReport).min(1).max(1000) });
export type ReportBatch = z.infer<typeof reportBatch>;

export const reportOutcome = z.enum(['applied', 'stale_attempt', 'job_final', 'job_not_found', 'invalid_result']);
export type ReportOutcome = z.infer<typeof reportOutcome>;
export const reportBatchAnswer = z.object({ outcomes: z.array(reportOutcome) });

export const heartbeat = z.object({ facts: hostFacts.optional() });
export type Heartbeat = z.infer<typeof heartbeat>;
