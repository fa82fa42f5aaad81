import type { Job } from '@virtfleet/sdk';
import { newerJob, upsertJob, withProgress } from './job-merge';

const job = (over: Partial<Job>) => ({ id: 'j1', type: 'sleep', state: 'queued', progress: 0, attempt: 0, error: null, parentId: null, ...over }) as Job;

describe('merging what the console hears about a job', () => {
  it('never goes back to an earlier state, nor from one end to another', () => {
    expect(newerJob(job({ state: 'running', attempt: 1 }), job({ state: 'queued' })).state).toBe('running');
    expect(newerJob(job({ state: 'succeeded', progress: 100 }), job({ state: 'running' })).state).toBe('succeeded');
    expect(newerJob(job({ state: 'cancelled' }), job({ state: 'failed' })).state).toBe('cancelled');
    expect(newerJob(job({ state: 'queued' }), job({ state: 'succeeded', progress: 100 })).state).toBe('succeeded');
  });

  it('lets a retry put a running job back in the queue, and a new attempt start over', () => {
    const retry = job({ state: 'queued', attempt: 1, error: { code: 'libvirt_unavailable', message: 'x' } });
    expect(newerJob(job({ state: 'running', attempt: 1, progress: 40 }), retry)).toBe(retry);
    expect(withProgress(job({ state: 'running', attempt: 1, progress: 40 }), 5, 2)).toMatchObject({ progress: 5, attempt: 2 });
    expect(withProgress(job({ state: 'running', attempt: 1, progress: 40 }), 30, 1).progress).toBe(40);
    expect(withProgress(job({ state: 'succeeded', progress: 100 }), 30, 1).progress).toBe(100);
  });

  it('merges into the row it has, or adds a new job on top only when asked', () => {
    const items = [job({ id: 'a' }), job({ id: 'b' })];
    expect(upsertJob(items, job({ id: 'b', state: 'running', attempt: 1 }), true).map((j) => `${j.id}:${j.state}`)).toEqual(['a:queued', 'b:running']);
    expect(upsertJob(items, job({ id: 'c' }), true).map((j) => j.id)).toEqual(['c', 'a', 'b']);
    expect(upsertJob(items, job({ id: 'c' }), false).map((j) => j.id)).toEqual(['a', 'b']);
    // Applied twice (a change made again to a fresh answer), the same result.
    const once = upsertJob(items, job({ id: 'c' }), true);
    expect(upsertJob(once, job({ id: 'c' }), true).map((j) => j.id)).toEqual(['c', 'a', 'b']);
  });
});
