import type { JobError, JobPayload, JobResult, JobState, JobType, VmRef } from '@virtfleet/contracts';
import type { PlacementDecision } from './views';

// A job as GET /v1/jobs/:id shows it. The type's own parts (payload, result) come from
// libs/contracts; the rest is the API's row (apps/api/src/jobs/job.view.ts, jobView).

/** The fields every job has, whatever its type (apps/api/src/jobs/job.view.ts). */
export interface JobFields {
  id: string;
  hostId: string;
  state: JobState;
  /** 0–100; a parent's is its children's average. */
  progress: number;
  /** Which delivery runs (or ran) it: 0 before the first claim. */
  attempt: number;
  /** A failed, timed-out or cancelled job's error; a job queued for a retry shows its last one. */
  error: JobError | null;
  idempotencyKey: string | null;
  /** What it touches on its host (disk:<name>, vm:<name>, net:<name>): same key, one at a time. */
  lockKey: string | null;
  /** Its per-host concurrency group (clone). */
  concurrencyKey: string | null;
  /** The parent job of a bulk request (a bulk clone, a network on every matching host). */
  parentId: string | null;
  /** "token:<id>" of the submitter. */
  submittedBy: string | null;
  /** The x-request-id of the request that submitted it: the API's and the agent's log lines about the job carry it. */
  requestId: string | null;
  /** Only from jobs.get() of a pending job: why it has not gone to its host yet (an older agent, a lock, a full concurrency group). */
  waiting?: string;
  cancelRequestedAt: string | null;
  expiresAt: string | null;
  /** A tighter time limit than its type's, when the submitter asked for one. */
  timeoutMs: number | null;
  /** create-vm: which host the API chose and why. */
  placement: PlacementDecision | null;
  createdAt: string;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A job that runs on a host: its payload and result are its type's, from libs/contracts. */
export type LeafJob<T extends JobType = JobType> = T extends JobType
  ? JobFields & {
      type: T;
      group: false;
      /** As the API stored it (defaults and API-chosen fields filled in); secrets (`password`) read "***". */
      payload: JobPayload<T>;
      /** The type's result once the job succeeded; null before. */
      result: JobResult<T> | null;
    }
  : never;

/**
 * What a parent job holds instead of its type's payload (apps/api/src/vms/vms.service.ts clone,
 * apps/api/src/networks/networks.service.ts define): the API makes one for a bulk clone (`count`
 * above 1) and for a network defined on every host matching a `hostSelector`.
 */
export interface GroupPayloads {
  'clone-vm': { source: VmRef; count: number; names: string[] };
  'define-network': { network: string; hosts: string[]; hostSelector: Record<string, string> };
}
/** The job types the API may answer with a parent job (group: true). */
export type GroupJobType = Extract<keyof GroupPayloads, JobType>;

/** One child's outcome in a parent's result (succeeded) or error.details.children (failed). */
export interface ChildOutcome {
  jobId: string;
  name?: string;
  state: JobState;
  error?: JobError;
}
/** A succeeded parent's result (apps/api/src/jobs/job-lifecycle.service.ts settleParent). */
export interface GroupResult {
  succeeded: number;
  children: ChildOutcome[];
}

/** A parent job: never on a host; its state and progress follow its children (GET /v1/jobs?parentId=). */
export type GroupJob<T extends GroupJobType = GroupJobType> = T extends GroupJobType
  ? JobFields & { type: T; group: true; payload: GroupPayloads[T]; result: GroupResult | null }
  : never;

/**
 * A job of type T as the API shows it. `Job` (all types) is a union discriminated by `type`:
 * `if (job.type === 'create-disk') job.result?.virtualSize` narrows. Types that can be parents
 * (clone-vm, define-network) also narrow on `group`.
 */
export type Job<T extends JobType = JobType> = LeafJob<T> | GroupJob<Extract<T, GroupJobType>>;

/** A job that succeeded: its result is there. */
export type Succeeded<J> = J extends { group: true }
  ? J & { state: 'succeeded'; result: GroupResult; error: null }
  : J extends { type: infer T extends JobType }
    ? J & { state: 'succeeded'; result: JobResult<T>; error: null }
    : never;

/** Enough of a job to wait on it with its type known: a Job, or `{ id, type }`. */
export interface JobRef<T extends JobType = JobType> {
  id: string;
  type: T;
}

// Server-sent events (GET /v1/events; apps/api/src/jobs/job-events.ts, events.controller.ts).

/** job.created, job.updated (a state change), job.finished: the whole job. */
export interface JobChangeEvent<T extends JobType = JobType> {
  event: 'job.created' | 'job.updated' | 'job.finished';
  id: string;
  job: Job<T>;
}

/** job.progress: only what changed (a convert-disk as qemu-img goes, a parent as its children end). */
export interface JobProgressEvent<T extends JobType = JobType> {
  event: 'job.progress';
  id: string;
  job: { id: string; type: T; hostId: string; progress: number; attempt: number };
}

export type JobEvent<T extends JobType = JobType> = JobChangeEvent<T> | JobProgressEvent<T>;

/** vm.updated, vm.removed: a VM's state or status changed, or its row went away. */
export interface VmEvent {
  event: 'vm.updated' | 'vm.removed';
  id: string;
  vm: { id: string; hostId: string; uuid: string; name: string; status: string; state: string };
}

export type WatchEvent<T extends JobType = JobType> = JobEvent<T> | VmEvent;
export type WatchEventName = WatchEvent['event'];
