import { z } from 'zod';
import { defineJob } from '../define-job';

/**
 * Diagnostic: runs sleep(1) on the host. The job engine's tests use it for crashes, cancels and
 * ordering; the API accepts it only where VIRTFLEET_TEST_JOBS is on.
 */
export const sleepJob = defineJob({
  name: 'sleep',
  summary: 'Diagnostic (test fleets only): run sleep(1) on the host for the given seconds.',
  payload: z
    .object({
      seconds: z.number().positive().max(3600),
      /** Serializes with other jobs holding the same key on the host (ordering tests). */
      key: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional(),
    })
    .strict(),
  result: z.object({ slept: z.number() }),
  timeoutMs: 3_700_000,
  attempts: 3,
  testOnly: true,
  lockKey: (p) => (p.key ? `sleep:${p.key}` : undefined),
});
