import { z } from 'zod';
import { defineJob } from '../define-job';

/** Diagnostic: does nothing on the host. Measures the pipeline itself (bench, Redis bounds). */
export const noopJob = defineJob({
  name: 'noop',
  summary: 'Diagnostic (test fleets only): runs nothing; the job engine and transport alone.',
  payload: z.object({}).strict(),
  result: z.object({}),
  timeoutMs: 10_000,
  attempts: 3,
  testOnly: true,
});
