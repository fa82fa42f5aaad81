import type { JobPayload, JobResult } from '@virtfleet/contracts';
import type { JobContext } from '../job-context';

/** Diagnostic: a real host process that takes as long as asked (crash, cancel and order tests). */
export async function sleepHandler(p: JobPayload<'sleep'>, ctx: JobContext): Promise<JobResult<'sleep'>> {
  await ctx.run({ cmd: 'sleep', args: [String(p.seconds)] });
  return { slept: p.seconds };
}

/** Diagnostic: nothing at all (the pipeline's own cost). */
export async function noopHandler(): Promise<JobResult<'noop'>> {
  return {};
}
