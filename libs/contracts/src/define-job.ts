import type { z } from 'zod';

export interface JobDefinition<
  N extends string = string,
  P extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  /** Persisted on every job row and in Redis: never rename. */
  readonly name: N;
  readonly summary: string;
  readonly payload: P;
  readonly result: R;
  /** Wall-clock limit for one attempt on the host. */
  readonly timeoutMs: number;
  /** Deliveries before the job is given up (a crashed agent's job is redelivered). */
  readonly attempts: number;
  /** Accepted by the API only where test jobs are enabled (VIRTFLEET_TEST_JOBS). */
  readonly testOnly?: boolean;
  /**
   * What the job touches on its host (e.g. "disk:d1", later "vm:web-1"). Jobs with the same key
   * on one host run one at a time, in submission order; jobs without one run in parallel.
   */
  readonly lockKey?: (payload: z.output<P>) => string | undefined;
  /**
   * A per-host concurrency group ("clone"): at most the host's limit for it (hostFacts.concurrency,
   * from the agent's configuration) of these jobs run on one host at once; the rest wait, in order.
   */
  readonly concurrency?: ConcurrencyGroup;
}

/** Groups of heavy jobs that one host runs only a few of at a time. */
export type ConcurrencyGroup = 'clone';
export const DEFAULT_CONCURRENCY: Readonly<Record<ConcurrencyGroup, number>> = { clone: 2 };

export function defineJob<N extends string, P extends z.ZodType, R extends z.ZodType>(
  def: JobDefinition<N, P, R>,
): JobDefinition<N, P, R> {
  return Object.freeze(def);
}
