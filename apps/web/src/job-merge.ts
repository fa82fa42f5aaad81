import type { JobState } from '@virtfleet/contracts';
import type { Job } from '@virtfleet/sdk';

// Events and answers about one job can arrive out of order (an event sent while a list was being
// read, a job's 202 answered after its first events): a job does not go back to an earlier state
// (but for a retry), and within a state its progress does not go back either (unless a new
// attempt started over).

const RANK: Record<JobState, number> = { pending: 0, queued: 1, running: 2, succeeded: 3, failed: 3, cancelled: 3, timed_out: 3 };

/** The newer of two views of one job. */
export function newerJob(old: Job, incoming: Job): Job {
  // The one way back: a transient failure puts a running job back in the queue, with its error, for another attempt.
  if (old.state === 'running' && incoming.state === 'queued' && incoming.error && incoming.attempt >= old.attempt) return incoming;
  if (RANK[incoming.state] < RANK[old.state] || (RANK[old.state] === 3 && incoming.state !== old.state)) return old;
  if (incoming.state === old.state && incoming.attempt === old.attempt && incoming.progress < old.progress) return { ...incoming, progress: old.progress };
  return incoming;
}

/** A job.progress event's progress, on the job it is about. */
export function withProgress(job: Job, progress: number, attempt: number): Job {
  if (RANK[job.state] === 3 || attempt < job.attempt || (attempt === job.attempt && progress < job.progress)) return job;
  return { ...job, progress, attempt };
}

/** The list with `job` merged into its row, or added at the top when `add` says it belongs there. */
export function upsertJob(items: readonly Job[], job: Job, add: boolean): Job[] {
  const i = items.findIndex((j) => j.id === job.id);
  if (i < 0) return add ? [job, ...items] : [...items];
  const next = [...items];
  next[i] = newerJob(items[i] as Job, job);
  return next;
}
