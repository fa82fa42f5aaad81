import { isFinalJobState, type JobPayloadInput, type JobState, type JobType } from '@virtfleet/contracts';
import { ApiError, ApiUnreachableError, JobFailedError, TimeoutError } from './errors';
import type { CallOptions, Http } from './http';
import type { Job, JobEvent, JobRef, LeafJob, Succeeded, WatchEvent, WatchEventName } from './job';
import { pages, type ListFilter } from './paging';
import { parseEventStream } from './sse';
import type { JobLog, Page } from './views';

export interface SubmitOptions extends CallOptions {
  /** The host to run on; may be left out while exactly one host is online. */
  hostId?: string;
  /** A job that has not started by then never starts (it ends timed_out, code "expired"). */
  expiresInSeconds?: number;
  /** A tighter run-time limit than the type's own; past it the job's processes are killed (timed_out). */
  timeoutSeconds?: number;
}

/** One job of a batch: its type and payload, typed together, and submit's options. */
export type BatchItem = {
  [T in JobType]: { type: T; payload: JobPayloadInput<T> } & Omit<SubmitOptions, keyof CallOptions>;
}[JobType];

export interface WaitOptions<T extends JobType = JobType> {
  /** Give up (TimeoutError) after this long; default: wait until the job ends. */
  timeoutSeconds?: number;
  signal?: AbortSignal;
  /**
   * Called with every job.progress, job.updated and job.finished event of this job while waiting
   * (GET /v1/events). Best effort: the long poll decides when the job has ended.
   */
  onProgress?: (event: JobEvent<T>) => void;
  /**
   * Seconds one long poll (GET /v1/jobs/:id?wait=) may be held: default 60, at most 240 (Node's
   * fetch gives up on a response whose headers take 300 s). The API caps it too (VIRTFLEET_MAX_WAIT_SECONDS).
   */
  pollSeconds?: number;
}

/** run's options: submit's (timeoutSeconds is the job's own limit there) and wait's, its limit renamed. */
export type RunOptions<T extends JobType = JobType> = SubmitOptions &
  Omit<WaitOptions<T>, 'timeoutSeconds'> & {
    /** Give up waiting (TimeoutError) after this long; the job goes on. */
    waitTimeoutSeconds?: number;
  };

export interface JobFilter<T extends JobType = JobType> extends ListFilter {
  hostId?: string;
  state?: JobState;
  type?: T;
  /** The children of a parent job. */
  parentId?: string;
}

export interface WatchFilter<T extends JobType = JobType> {
  /** Only this job's events (filtered here: the API filters by host and type only). */
  jobId?: string;
  hostId?: string;
  /** Only job events of this type (VM events still come, unless `events` leaves them out). */
  type?: T;
  /** Only these event names. */
  events?: readonly WatchEventName[];
}

const MAX_POLL_SECONDS = 240;
/** Consecutive transient failures (API restarting, database away) a wait rides out before it throws. */
const WAIT_RETRIES = 5;

/** Jobs: POST /v1/jobs and GET /v1/jobs…, GET /v1/events. */
export class JobsResource {
  constructor(private readonly http: Http) {}

  /** POST /v1/jobs: 202 with the new job, or 200 with the job an Idempotency-Key made before. */
  submit<T extends JobType>(type: T, payload: JobPayloadInput<T>, opts: SubmitOptions = {}): Promise<LeafJob<T>> {
    const { idempotencyKey, signal, ...rest } = opts;
    return this.http.json('POST', '/v1/jobs', { body: { type, payload, ...rest }, idempotencyKey, signal });
  }

  /**
   * POST /v1/jobs/batch: up to 1,000 jobs in one request, in one statement: all or none (400 names
   * the bad item's index). The jobs in the order given. An Idempotency-Key covers the whole batch.
   */
  async submitMany(items: readonly BatchItem[], opts: CallOptions = {}): Promise<LeafJob[]> {
    const { idempotencyKey, signal } = opts;
    return (await this.http.json<{ items: LeafJob[] }>('POST', '/v1/jobs/batch', { body: { jobs: items }, idempotencyKey, signal })).items;
  }

  /** GET /v1/jobs/:id. T is the caller's word for the job's type; check `job.type` when unsure. */
  get<T extends JobType = JobType>(id: string, opts: { signal?: AbortSignal } = {}): Promise<Job<T>> {
    return this.http.json('GET', `/v1/jobs/${encodeURIComponent(id)}`, { signal: opts.signal });
  }

  /**
   * The job once it has ended (succeeded, failed, timed_out or cancelled), by long polls of
   * GET /v1/jobs/:id?wait=N; with onProgress, its events meanwhile. Throws TimeoutError after
   * timeoutSeconds. A job that failed is returned, not thrown: see waitSucceeded.
   */
  async wait<T extends JobType = JobType>(job: string | JobRef<T>, opts: WaitOptions<T> = {}): Promise<Job<T>> {
    const id = typeof job === 'string' ? job : job.id;
    const deadline = opts.timeoutSeconds === undefined ? Infinity : Date.now() + opts.timeoutSeconds * 1000;
    const pollSeconds = Math.min(MAX_POLL_SECONDS, Math.max(1, Math.floor(opts.pollSeconds ?? 60)));
    // The progress follower's failure (onProgress threw) stops the wait, through this controller.
    const stop = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    let followerError: unknown;
    let follower: Promise<void> | undefined;
    try {
      let last: Job<T> | undefined;
      let failures = 0;
      for (;;) {
        const left = deadline - Date.now();
        if (last && left <= 0) throw new TimeoutError(last, opts.timeoutSeconds ?? 0);
        // The first look answers at once: it gives the host and type the event stream is filtered by.
        const waitSeconds = last ? Math.max(1, Math.min(pollSeconds, Math.ceil(left / 1000))) : 0;
        try {
          last = await this.http.json<Job<T>>('GET', `/v1/jobs/${encodeURIComponent(id)}`, { query: { wait: waitSeconds || undefined }, signal });
          failures = 0;
        } catch (err) {
          if (followerError !== undefined) throw followerError;
          if (!transient(err) || ++failures > WAIT_RETRIES) throw err;
          await sleep(Math.min(5_000, retryDelayMs(err, failures), Math.max(0, deadline - Date.now())), signal);
          continue;
        }
        if (isFinalJobState(last.state)) return last;
        if (opts.onProgress && !follower) {
          const onProgress = opts.onProgress;
          follower = this.follow(last, onProgress, stop.signal).catch((err: unknown) => {
            followerError = err;
            stop.abort(err);
          });
        }
      }
    } catch (err) {
      throw followerError ?? err;
    } finally {
      stop.abort();
      await follower;
    }
  }

  /** wait, then throw JobFailedError unless the job succeeded. */
  async waitSucceeded<T extends JobType = JobType>(job: string | JobRef<T>, opts: WaitOptions<T> = {}): Promise<Succeeded<Job<T>>> {
    const done = await this.wait(job, opts);
    if (done.state !== 'succeeded') throw new JobFailedError(done);
    return done as Succeeded<Job<T>>;
  }

  /** submit + waitSucceeded: the result of a job that succeeded, or JobFailedError (carrying the job). */
  async run<T extends JobType>(type: T, payload: JobPayloadInput<T>, opts: RunOptions<T> = {}): Promise<Succeeded<LeafJob<T>>> {
    const { waitTimeoutSeconds, onProgress, pollSeconds, ...submit } = opts;
    const job = await this.submit(type, payload, submit);
    const waitOpts: WaitOptions<T> = {};
    if (opts.signal) waitOpts.signal = opts.signal;
    if (waitTimeoutSeconds !== undefined) waitOpts.timeoutSeconds = waitTimeoutSeconds;
    if (onProgress) waitOpts.onProgress = onProgress;
    if (pollSeconds !== undefined) waitOpts.pollSeconds = pollSeconds;
    return (await this.waitSucceeded<T>({ id: job.id, type }, waitOpts)) as Succeeded<LeafJob<T>>;
  }

  /**
   * GET /v1/events as typed events, until the signal aborts, the loop breaks, or the API closes
   * the stream (a restart ends it: watch again). Keepalives are skipped.
   */
  async *watch<T extends JobType = JobType>(filter: WatchFilter<T> = {}, signal?: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const ctl = new AbortController();
    const linked = signal ? AbortSignal.any([signal, ctl.signal]) : ctl.signal;
    try {
      const res = await this.http.send('GET', '/v1/events', {
        // jobId is filtered by the API too; the check below stays for APIs older than that filter.
        query: { hostId: filter.hostId, type: filter.type, jobId: filter.jobId },
        accept: 'text/event-stream',
        signal: linked,
      });
      if (!res.body || !res.headers.get('content-type')?.includes('text/event-stream')) {
        throw new ApiError(res.status, 'response_not_event_stream', `GET /v1/events answered ${res.headers.get('content-type') ?? 'no content type'}`, undefined, 'GET /v1/events');
      }
      for await (const sse of parseEventStream(res.body)) {
        const event = toWatchEvent<T>(sse.event, sse.data);
        if (!event) continue;
        if (filter.events && !filter.events.includes(event.event)) continue;
        if (filter.jobId && !('job' in event && event.job.id === filter.jobId)) continue;
        yield event;
      }
    } catch (err) {
      if (linked.aborted) return; // the caller stopped watching
      if (err instanceof ApiError || err instanceof ApiUnreachableError) throw err;
      throw new ApiUnreachableError(this.http.baseUrl, { cause: err }); // the stream broke mid-way
    } finally {
      ctl.abort();
    }
  }

  /** GET /v1/jobs: one page, newest first. */
  list<T extends JobType = JobType>(filter: JobFilter<T> = {}, opts: { signal?: AbortSignal } = {}): Promise<Page<Job<T>>> {
    return this.http.json('GET', '/v1/jobs', { query: { ...filter }, signal: opts.signal });
  }

  /** Every job the filter matches, page after page (newest first). */
  iterate<T extends JobType = JobType>(filter: JobFilter<T> = {}, opts: { signal?: AbortSignal } = {}): AsyncGenerator<Job<T>> {
    return pages((cursor) => this.list<T>({ ...filter, cursor }, opts), filter.cursor);
  }

  /** GET /v1/jobs/:id/logs: the commands the agent ran, per attempt. */
  async logs(id: string, opts: { signal?: AbortSignal } = {}): Promise<JobLog[]> {
    return (await this.http.json<{ items: JobLog[] }>('GET', `/v1/jobs/${encodeURIComponent(id)}/logs`, { signal: opts.signal })).items;
  }

  /**
   * POST /v1/jobs/:id/cancel: a job not started yet ends cancelled at once; a running one is marked
   * and ends when its host has killed it (wait for it). 409 `job_final` when it had ended already.
   */
  cancel<T extends JobType = JobType>(id: string, opts: { signal?: AbortSignal } = {}): Promise<Job<T>> {
    return this.http.json('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`, { signal: opts.signal });
  }

  /** GET /v1/jobs/stats: how many jobs are in each state. */
  async stats(filter: { hostId?: string; type?: JobType } = {}, opts: { signal?: AbortSignal } = {}): Promise<Record<JobState, number>> {
    return (await this.http.json<{ byState: Record<JobState, number> }>('GET', '/v1/jobs/stats', { query: { ...filter }, signal: opts.signal })).byState;
  }

  /** Feeds this job's events to onProgress until the signal aborts; onProgress throwing ends it with that error. */
  private async follow<T extends JobType>(job: Job, onProgress: (e: JobEvent<T>) => void, signal: AbortSignal): Promise<void> {
    try {
      const filter = { jobId: job.id, hostId: job.hostId, type: job.type, events: ['job.progress', 'job.updated', 'job.finished'] as const };
      for await (const e of this.watch(filter, signal)) {
        if ('job' in e) onProgress(e as JobEvent<T>); // events of this one job, whose type is T
      }
    } catch (err) {
      if (err instanceof ApiError || err instanceof ApiUnreachableError) return; // no events: the long poll still ends the wait
      throw err;
    }
  }
}

const WATCH_EVENTS: ReadonlySet<string> = new Set<WatchEventName>(['job.created', 'job.updated', 'job.progress', 'job.finished', 'vm.updated', 'vm.removed']);

/** One SSE message as a typed event; keepalives and names this SDK does not know are skipped. */
function toWatchEvent<T extends JobType>(name: string, data: string): WatchEvent<T> | undefined {
  if (!WATCH_EVENTS.has(name)) return undefined;
  let parsed: { id?: unknown };
  try {
    parsed = JSON.parse(data) as { id?: unknown };
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed.id !== 'string') return undefined;
  return (name.startsWith('vm.') ? { event: name, id: parsed.id, vm: parsed } : { event: name, id: parsed.id, job: parsed }) as WatchEvent<T>;
}

function transient(err: unknown): boolean {
  return (err instanceof ApiError || err instanceof ApiUnreachableError) && err.transient;
}

function retryDelayMs(err: unknown, failures: number): number {
  const after = err instanceof ApiError ? err.retryAfterSeconds : undefined;
  return after !== undefined ? after * 1000 : 500 * 2 ** (failures - 1);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
