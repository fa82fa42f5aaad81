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
}

export function defineJob<N extends string, P extends z.ZodType, R extends z.ZodType>(
  def: JobDefinition<N, P, R>,
): JobDefinition<N, P, R> {
  return Object.freeze(def);
}
