import type { JobPayload, JobResult, JobType } from '@virtfleet/contracts';
import type { JobContext } from '../job-context';

export type Handler<T extends JobType> = (payload: JobPayload<T>, ctx: JobContext) => Promise<JobResult<T>>;

/** One handler per job type: a job type without a handler does not compile. */
export type HandlerMap = { readonly [K in JobType]: Handler<K> };
