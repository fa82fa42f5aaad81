import { z } from 'zod';

// Persisted (PostgreSQL enum JobState): never rename a value.
export const jobState = z.enum(['pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out']);
export type JobState = z.infer<typeof jobState>;

export const FINAL_JOB_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled', 'timed_out'];
/** States a job can still leave. */
export const LIVE_JOB_STATES: JobState[] = ['pending', 'queued', 'running'];
export function isFinalJobState(state: JobState): boolean {
  return FINAL_JOB_STATES.includes(state);
}

/** A failed job's error, as stored on the row and shown by the API. */
export const jobError = z.object({
  code: z.string(),
  message: z.string(),
  command: z.array(z.string()).optional(),
  exitCode: z.number().int().nullable().optional(),
  signal: z.string().nullable().optional(),
  stderrTail: z.string().optional(),
  /** The failure may pass by itself (libvirtd restarting, a lock held for a moment): retried. */
  retryable: z.boolean().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type JobError = z.infer<typeof jobError>;
