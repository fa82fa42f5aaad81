import type { JobType } from '@virtfleet/contracts';
import type { Job } from '@virtfleet/sdk';
import { useCallback, useState } from 'react';
import { newerJob, withProgress } from '../job-merge';
import { useLive } from '../live';
import { useClient } from '../session';

/**
 * One job a component shows as it goes (the inspect dialog waits for its result): its events from
 * the live stream, read once more right after it is followed (its first events may have come before
 * the API's answer) and after a reconnect.
 */
export function useFollowedJob<T extends JobType>(): { job: Job<T> | null; follow(job: Job<T> | null): void } {
  const client = useClient();
  const [job, setJob] = useState<Job<T> | null>(null);
  const merge = useCallback((incoming: Job) => setJob((old) => (old && old.id === incoming.id ? (newerJob(old, incoming) as Job<T>) : old)), []);
  const reread = useCallback(
    (id: string) =>
      void client.job<T>(id).then(
        (j) => merge(j),
        () => undefined,
      ),
    [client, merge],
  );

  useLive((m) => {
    if (!job) return;
    if (m.event === 'resync') return reread(job.id);
    if (!('job' in m) || m.id !== job.id) return;
    if (m.event === 'job.progress') setJob((old) => (old && old.id === m.id ? (withProgress(old, m.job.progress, m.job.attempt) as Job<T>) : old));
    else merge(m.job);
  });

  const follow = useCallback(
    (next: Job<T> | null) => {
      setJob(next);
      if (next) reread(next.id);
    },
    [reread],
  );
  return { job, follow };
}
