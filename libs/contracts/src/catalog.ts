import type { z } from 'zod';
import { createDiskJob } from './jobs/create-disk.job';
import { inspectDiskJob } from './jobs/inspect-disk.job';
import { refreshHostJob } from './jobs/refresh-host.job';
import { noopJob } from './jobs/noop.job';
import { sleepJob } from './jobs/sleep.job';
import { createVmJob } from './jobs/create-vm.job';
import { cloneVmJob } from './jobs/clone-vm.job';
import {
  attachInterfaceJob,
  defineNetworkJob,
  detachInterfaceJob,
  setNetworkAutostartJob,
  startNetworkJob,
  stopNetworkJob,
  undefineNetworkJob,
} from './jobs/network.jobs';
import { convertDiskJob, deleteDiskJob, resizeDiskJob } from './jobs/disk-ops.jobs';
import { createSnapshotJob, deleteSnapshotJob, revertSnapshotJob } from './jobs/snapshot.jobs';
import { guestDiskUsageJob, listGuestFilesystemsJob, readGuestFileJob, writeGuestFileJob } from './jobs/guest-files.jobs';
import {
  defineVmJob,
  destroyVmJob,
  rebootVmJob,
  resumeVmJob,
  setAutostartJob,
  setMemoryJob,
  setVcpusJob,
  shutdownVmJob,
  startVmJob,
  suspendVmJob,
  undefineVmJob,
} from './jobs/vm-lifecycle.jobs';

// Every job type, declared once. API and agent both read this catalog.
const definitions = [
  refreshHostJob,
  createDiskJob,
  inspectDiskJob,
  convertDiskJob,
  resizeDiskJob,
  deleteDiskJob,
  createVmJob,
  defineVmJob,
  startVmJob,
  shutdownVmJob,
  destroyVmJob,
  rebootVmJob,
  suspendVmJob,
  resumeVmJob,
  setAutostartJob,
  setVcpusJob,
  setMemoryJob,
  undefineVmJob,
  cloneVmJob,
  attachInterfaceJob,
  detachInterfaceJob,
  createSnapshotJob,
  revertSnapshotJob,
  deleteSnapshotJob,
  readGuestFileJob,
  writeGuestFileJob,
  guestDiskUsageJob,
  listGuestFilesystemsJob,
  defineNetworkJob,
  startNetworkJob,
  stopNetworkJob,
  setNetworkAutostartJob,
  undefineNetworkJob,
  sleepJob,
  noopJob,
] as const;

type Definition = (typeof definitions)[number];
export type JobType = Definition['name'];
export type JobDef<T extends JobType> = Extract<Definition, { name: T }>;
export type JobPayload<T extends JobType> = z.output<JobDef<T>['payload']>;
export type JobPayloadInput<T extends JobType> = z.input<JobDef<T>['payload']>;
export type JobResult<T extends JobType> = z.output<JobDef<T>['result']>;

export const jobCatalog = Object.freeze(
  Object.fromEntries(definitions.map((d) => [d.name, d])) as { readonly [K in JobType]: JobDef<K> },
);
export const jobTypes: readonly JobType[] = definitions.map((d) => d.name);

export function isJobType(value: string): value is JobType {
  return Object.hasOwn(jobCatalog, value);
}

/**
 * BullMQ queue of one host. The name is wire data: never change its shape. The braces are a
 * Redis Cluster hash tag: every key of the queue (`bull:{host-<id>}:…`) hashes to one slot, so
 * BullMQ's multi-key scripts run on one node; on a single server they are plain characters.
 */
export function hostQueueName(hostId: string): string {
  return `{host-${hostId}}`;
}

/** What the API puts on a host queue; the BullMQ job id is the job row id. */
export interface QueuedJobData {
  type: JobType;
  payload: unknown;
  /** A tighter run-time limit than the type's own, when the submitter asked for one. */
  timeoutMs?: number;
  /** The x-request-id of the API request that submitted the job: the agent's log lines about it carry it. */
  requestId?: string;
}

/** Redis pub/sub channel on which the API tells one host's agent to cancel a running job. */
export function cancelChannel(hostId: string): string {
  return `virtfleet:cancel:${hostId}`;
}

/**
 * Serial console sessions between the API and one host's agent, over Redis pub/sub: the API
 * asks on `ctl` (JSON {op: 'open'|'close', session, uuid}), bytes flow on `in` and `out`, and
 * the agent says `open` or `closed: <why>` on `state`.
 */
export function consoleChannels(hostId: string, session = '*') {
  const base = `virtfleet:console:${hostId}`;
  return {
    pattern: `${base}:*`,
    ctl: `${base}:ctl`,
    in: `${base}:${session}:in`,
    out: `${base}:${session}:out`,
    state: `${base}:${session}:state`,
  };
}
