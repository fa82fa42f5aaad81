import type { Job, JobLog } from '@prisma/client';

/** A job as the API shows it. */
export function jobView(j: Job) {
  return {
    id: j.id,
    type: j.type,
    hostId: j.hostId,
    state: j.state,
    progress: j.progress,
    attempt: j.attempt,
    payload: masked(j.payload),
    result: j.result ?? null,
    error: j.error ?? null,
    idempotencyKey: j.idempotencyKey ?? null,
    lockKey: j.lockKey ?? null,
    concurrencyKey: j.concurrencyKey ?? null,
    /** A bulk job's parent (its children name it); group: this job only gathers its children. */
    parentId: j.parentId ?? null,
    group: j.group,
    submittedBy: j.submittedBy ?? null,
    /** The x-request-id of the request that submitted it: its API and agent log lines carry it too. */
    requestId: j.requestId ?? null,
    cancelRequestedAt: j.cancelRequestedAt?.toISOString() ?? null,
    expiresAt: j.expiresAt?.toISOString() ?? null,
    timeoutMs: j.timeoutMs ?? null,
    placement: j.placement ?? null,
    createdAt: j.createdAt.toISOString(),
    queuedAt: j.queuedAt?.toISOString() ?? null,
    startedAt: j.startedAt?.toISOString() ?? null,
    finishedAt: j.finishedAt?.toISOString() ?? null,
  };
}
/** `waiting`: why a pending job has not gone to its host (GET /v1/jobs/:id only). */
export type JobView = ReturnType<typeof jobView> & { waiting?: string };

export function jobLogView(l: JobLog) {
  return {
    attempt: l.attempt,
    seq: l.seq,
    argv: l.argv,
    exitCode: l.exitCode,
    signal: l.signal,
    durationMs: l.durationMs,
    startedAt: l.startedAt.toISOString(),
    stdoutTail: l.stdoutTail,
    stderrTail: l.stderrTail,
  };
}

/** Secrets a payload may carry (a VNC password): the agent gets them, API readers never do. */
function masked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'password' ? '***' : masked(v)]));
}
