import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Prisma, type Job } from '@prisma/client';
import {
  DEFAULT_CONCURRENCY,
  LIVE_JOB_STATES,
  hostFacts,
  isFinalJobState,
  isJobType,
  jobCatalog,
  jobState,
  jobTypes,
  type ConcurrencyGroup,
  type JobDefinition,
  type JobState,
  type JobType,
} from '@virtfleet/contracts';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { ApiError, validationError, vmUnmanagedError } from '../common/api-error';
import { afterCursor, pageOf } from '../common/cursor';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { JobSql, lockJobKeys } from '../db/job-sql.service';
import { pgCode } from '../db/pg.service';
import { PrismaService } from '../db/prisma.service';
import { Dispatcher } from './dispatcher.service';
import { effectsOf } from './job-effects';
import { HostQueues } from '../queue/host-queues.service';
import { JobEvents } from './job-events';
import { JobLifecycle } from './job-lifecycle.service';
import { jobView } from './job.view';
import { currentRequestId } from '../common/request-id';

export const submitJobBody = z.object({
  type: z.string(),
  hostId: z.uuid().optional(),
  payload: z.record(z.string(), z.unknown()).default({}),
  /** A job that has not started by then never starts (it ends timed_out, code "expired"). */
  expiresInSeconds: z.number().int().min(1).max(30 * 86_400).optional(),
  /** A tighter run-time limit than the job type's own: past it the job's processes are killed (timed_out). */
  timeoutSeconds: z.number().int().min(1).optional(),
});
export type SubmitJobBody = z.infer<typeof submitJobBody>;

export const listJobsQuery = z.object({
  hostId: z.uuid().optional(),
  state: jobState.optional(),
  type: z.string().optional(),
  /** The children of one bulk job. */
  parentId: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().optional(),
});
export type ListJobsQuery = z.infer<typeof listJobsQuery>;

@Injectable()
export class JobsService {
  constructor(
    private readonly db: PrismaService,
    private readonly sql: JobSql,
    private readonly dispatcher: Dispatcher,
    private readonly events: JobEvents,
    private readonly lifecycle: JobLifecycle,
    private readonly queues: HostQueues,
    private readonly audit: AuditService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  /**
   * Validates with the job type's schema, writes the row (and the inventory change it implies)
   * in one transaction, then hands it to the dispatcher. A bad payload writes nothing.
   */
  async submit(
    body: SubmitJobBody,
    idempotencyKey: string | undefined,
    submittedBy: string,
    extra: { placement?: object; clientHostId?: string | undefined; clientRequest?: unknown } = {},
  ): Promise<{ job: Job; replayed: boolean }> {
    const checked = this.checked(body);
    // The hash is of what the client sent, before the API fills anything in or places the job: a
    // retry matches even when placement would now choose another host (or names would differ).
    const requestHash = idempotencyKey
      ? 'clientRequest' in extra
        ? hashRequest(body.type, undefined, extra.clientRequest)
        : hashRequest(body.type, 'clientHostId' in extra ? extra.clientHostId : body.hostId, checked.payload)
      : undefined;
    if (idempotencyKey) {
      const prior = await this.replay(idempotencyKey, requestHash);
      if (prior) return { job: prior, replayed: true };
    }
    const hostId = body.hostId ?? (await this.defaultHost());
    const row = await this.rowOf(checked, body, hostId, submittedBy);
    await this.refuseUnmanaged([row.data]);
    const data = {
      ...row.data,
      idempotencyKey: idempotencyKey ?? null,
      requestHash: requestHash ?? null,
      ...(extra.placement ? { placement: extra.placement as Prisma.InputJsonValue } : {}),
    };
    const onSubmit = row.onSubmit;
    let job: Job;
    try {
      // One statement when the type changes nothing else; a transaction with its inventory change otherwise.
      job = onSubmit
        ? await this.db.$transaction(async (tx) => {
            await lockJobKeys(tx, [data]);
            const created = await tx.job.create({ data });
            await onSubmit(tx, created);
            return created;
          })
        : await this.sql.insert({ ...data, placement: extra.placement });
    } catch (err) {
      const prior = await this.raced(err, hostId, idempotencyKey, requestHash);
      if (prior) return { job: prior, replayed: true };
      throw err;
    }
    job = (await this.dispatcher.dispatch(job)).job ?? job;
    this.events.publish({ event: 'job.created', job: jobView(job) });
    return { job, replayed: false };
  }

  /**
   * Many jobs in one request (POST /v1/jobs/batch): every body is checked first (one bad body
   * writes nothing), then all rows are written in one statement (one transaction when a type
   * changes the inventory on submit) and dispatched together. With an Idempotency-Key, item i
   * is keyed "<key>#<i>": the same request again answers the same jobs.
   */
  async submitMany(bodies: SubmitJobBody[], idempotencyKey: string | undefined, submittedBy: string): Promise<{ jobs: Job[]; replayed: boolean }> {
    const checked = bodies.map((body, i) => this.checked(body, ['jobs', String(i)]));
    const keyOf = (i: number) => (idempotencyKey ? `${idempotencyKey}#${i}` : null);
    const hashes = bodies.map((body, i) => (idempotencyKey ? hashRequest(body.type, body.hostId, checked[i]?.payload) : null));
    const replay = async () => {
      if (!idempotencyKey) return null;
      const prior = await Promise.all(bodies.map((_, i) => this.replay(keyOf(i) as string, hashes[i] ?? undefined)));
      if (prior.every((j) => j === null)) return null;
      if (prior.some((j) => j === null)) throw new ApiError(409, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request');
      return prior as Job[];
    };
    const prior = await replay();
    if (prior) return { jobs: prior, replayed: true };
    const needsHost = bodies.some((b) => !b.hostId);
    const fallbackHost = needsHost ? await this.defaultHost() : undefined;
    const rows = await Promise.all(bodies.map((body, i) => this.rowOf(checked[i] as { type: JobType; payload: unknown }, body, body.hostId ?? (fallbackHost as string), submittedBy)));
    await this.refuseUnmanaged(rows.map((r) => r.data));
    let jobs: Job[];
    try {
      const keyed = rows.map((row, i) => ({ ...row.data, idempotencyKey: keyOf(i), requestHash: hashes[i] ?? null }));
      jobs = rows.some((row) => row.onSubmit)
        ? await this.db.$transaction(async (tx) => {
            await lockJobKeys(tx, keyed);
            const made: Job[] = [];
            for (const [i, row] of rows.entries()) {
              const created = await tx.job.create({ data: keyed[i] as (typeof keyed)[number] });
              await row.onSubmit?.(tx, created);
              made.push(created);
            }
            return made;
          })
        : await this.sql.insertMany(keyed);
    } catch (err) {
      const conflict = insertConflict(err);
      if (conflict === 'no_host') {
        throw new ApiError(404, 'host_not_found', `no host ${[...new Set(bodies.map((b) => b.hostId).filter(Boolean))].join(' or ')}`);
      }
      const raced = conflict === 'key_taken' && idempotencyKey ? await replay() : null;
      if (raced) return { jobs: raced, replayed: true };
      throw err;
    }
    jobs = await this.dispatcher.dispatchMany(jobs);
    for (const job of jobs) this.events.publish({ event: 'job.created', job: jobView(job) });
    return { jobs, replayed: false };
  }

  /**
   * A parent job and its children (a bulk clone), written in one transaction: all of them or
   * none. The parent is never sent to a host; its progress and final state follow its children's
   * (JobLifecycle). The Idempotency-Key and request hash belong to the parent. Children may go to
   * other hosts than the parent's (a network defined on every host matching a selector).
   */
  async submitGroup(
    parent: { type: string; hostId: string; payload: object },
    children: SubmitJobBody[],
    idempotency: { key: string | undefined; clientRequest: unknown },
    submittedBy: string,
  ): Promise<{ job: Job; children: Job[]; replayed: boolean }> {
    const requestHash = idempotency.key ? hashRequest(parent.type, undefined, idempotency.clientRequest) : undefined;
    if (idempotency.key) {
      const prior = await this.replay(idempotency.key, requestHash);
      if (prior) return { job: prior, children: await this.db.job.findMany({ where: { parentId: prior.id } }), replayed: true };
    }
    const rows = await Promise.all(children.map((body) => this.rowOf(this.checked(body), body, body.hostId ?? parent.hostId, submittedBy)));
    await this.refuseUnmanaged(rows.map((r) => r.data));
    let written: { job: Job; children: Job[] };
    try {
      written = await this.db.$transaction(async (tx) => {
        await lockJobKeys(tx, rows.map((r) => r.data));
        const now = new Date();
        const job = await tx.job.create({
          data: {
            type: parent.type,
            hostId: parent.hostId,
            payload: parent.payload as Prisma.InputJsonValue,
            group: true,
            state: 'running',
            queuedAt: now,
            startedAt: now,
            submittedBy,
            idempotencyKey: idempotency.key ?? null,
            requestHash: requestHash ?? null,
            requestId: currentRequestId() ?? null,
          },
        });
        const made: Job[] = [];
        for (const row of rows) {
          const child = await tx.job.create({ data: { ...row.data, parentId: job.id } });
          await row.onSubmit?.(tx, child);
          made.push(child);
        }
        return { job, children: made };
      });
    } catch (err) {
      const prior = await this.raced(err, parent.hostId, idempotency.key, requestHash);
      if (prior) return { job: prior, children: await this.db.job.findMany({ where: { parentId: prior.id } }), replayed: true };
      throw err;
    }
    this.events.publish({ event: 'job.created', job: jobView(written.job) });
    const sent: Job[] = [];
    for (const child of written.children) {
      const job = (await this.dispatcher.dispatch(child)).job ?? child;
      this.events.publish({ event: 'job.created', job: jobView(job) });
      sent.push(job);
    }
    return { job: written.job, children: sent, replayed: false };
  }

  /** The job type and its payload, checked against the type's schema (a bad one writes nothing). `at`: where the body sits in the request. */
  private checked(body: SubmitJobBody, at: string[] = []): { type: JobType; payload: unknown } {
    const where = at.length ? `${at.join('.')}: ` : '';
    if (!isJobType(body.type)) {
      throw new ApiError(400, 'job_type_unknown', `${where}unknown job type ${JSON.stringify(body.type)}`, { known: jobTypes });
    }
    const def = jobCatalog[body.type];
    if (def.testOnly && !this.config.testJobs) {
      throw new ApiError(400, 'job_type_disabled', `${where}${body.type} is a diagnostic job for test fleets (VIRTFLEET_TEST_JOBS)`);
    }
    const parsed = def.payload.safeParse(body.payload);
    if (!parsed.success) throw validationError('payload_invalid', parsed.error, [...at, 'payload']);
    if (body.timeoutSeconds && body.timeoutSeconds * 1000 > def.timeoutMs) {
      throw new ApiError(400, 'timeout_invalid', `${where}timeoutSeconds: ${body.type} allows at most ${def.timeoutMs / 1000} s`);
    }
    return { type: body.type, payload: parsed.data };
  }

  /**
   * The row a checked job becomes: what the API fills in, its lock key, its host's concurrency
   * limit, and the id of the request submitting it (every submit path comes through here).
   */
  private async rowOf(checked: { type: JobType; payload: unknown }, body: SubmitJobBody, hostId: string, submittedBy: string) {
    const def: JobDefinition = jobCatalog[checked.type];
    const effects = effectsOf(checked.type);
    const prepared: unknown = effects?.prepare ? effects.prepare(checked.payload as never) : checked.payload;
    const group = def.concurrency;
    const data = {
      type: checked.type,
      hostId,
      payload: prepared as Prisma.InputJsonValue,
      lockKey: def.lockKey?.(prepared) ?? null,
      ...(group ? { concurrencyKey: group, concurrencyLimit: await this.concurrencyLimit(hostId, group) } : {}),
      submittedBy,
      expiresAt: body.expiresInSeconds ? new Date(Date.now() + body.expiresInSeconds * 1000) : null,
      timeoutMs: body.timeoutSeconds ? body.timeoutSeconds * 1000 : null,
      requestId: currentRequestId() ?? null,
    };
    const effect = effects?.onSubmit;
    const onSubmit = effect ? (tx: Prisma.TransactionClient, row: Job) => effect(tx, row, prepared as never) : undefined;
    return { data, onSubmit };
  }

  /**
   * An `unmanaged` VM is shown, never touched (adopt it first): a job naming one as its `vm` (or
   * as a clone's `source`) is refused whichever route sent it, POST /v1/jobs too. One query for
   * a whole batch; a VM with no row (a domain the API has not heard of yet) is the agent's to find.
   */
  private async refuseUnmanaged(rows: ReadonlyArray<{ hostId: string; payload: unknown }>): Promise<void> {
    const named = rows.flatMap((r) => {
      const p = r.payload as { vm?: { uuid?: unknown }; source?: { uuid?: unknown } } | null;
      return [p?.vm?.uuid, p?.source?.uuid].filter((u): u is string => typeof u === 'string').map((uuid) => ({ hostId: r.hostId, uuid }));
    });
    if (!named.length) return;
    const found = await this.db.vm.findFirst({ where: { status: 'unmanaged', OR: named }, select: { id: true, name: true } });
    if (found) throw vmUnmanagedError(found);
  }

  /** The host's own limit for a concurrency group (its agent's configuration), or the default. */
  private async concurrencyLimit(hostId: string, group: ConcurrencyGroup): Promise<number> {
    const host = await this.db.host.findUnique({ where: { id: hostId }, select: { facts: true } });
    const facts = host ? hostFacts.safeParse(host.facts) : undefined;
    return (facts?.success ? facts.data.concurrency?.[group] : undefined) ?? DEFAULT_CONCURRENCY[group];
  }

  /** A failed insert: a missing host (404), or an Idempotency-Key race the other request won (its job). */
  private async raced(err: unknown, hostId: string, key: string | undefined, requestHash: string | undefined): Promise<Job | null> {
    // The host foreign key decides whether the host exists (no separate look-up).
    const conflict = insertConflict(err);
    if (conflict === 'no_host') throw new ApiError(404, 'host_not_found', `no host ${hostId}`);
    // Two requests with one Idempotency-Key raced: the loser answers with the winner's job.
    if (key && conflict === 'key_taken') return this.replay(key, requestHash);
    return null;
  }

  async get(id: string, waitSeconds = 0): Promise<Job> {
    const deadline = Date.now() + Math.min(waitSeconds, this.config.maxWaitSeconds) * 1000;
    for (;;) {
      // Woken at once by a report applied on this replica; re-read at least every second otherwise.
      const watch = this.events.watchFinished(id, Math.max(0, Math.min(deadline - Date.now(), 1_000)));
      try {
        const job = await this.sql.byId(id);
        if (!job) throw new ApiError(404, 'job_not_found', `no job ${id}`);
        if (isFinalJobState(job.state as JobState) || deadline - Date.now() <= 0) return job;
        await watch.ended;
      } finally {
        watch.stop();
      }
    }
  }

  /** Why a pending job has not gone to its host yet (a job in any other state waits for nothing). */
  async whyWaiting(job: Job): Promise<string | undefined> {
    if (job.state !== 'pending' || job.group) return undefined;
    return (
      (await this.dispatcher.whyWaiting(job)) ??
      'not on its host queue yet: the dispatcher sends it at its next pass, within a second while Redis is reachable (GET /readyz)'
    );
  }

  async list(q: ListJobsQuery): Promise<{ items: Job[]; nextCursor: string | null }> {
    const where: Prisma.JobWhereInput = {
      ...(q.hostId ? { hostId: q.hostId } : {}),
      ...(q.state ? { state: q.state } : {}),
      ...(q.type ? { type: q.type } : {}),
      ...(q.parentId ? { parentId: q.parentId } : {}),
    };
    if (q.cursor) where.OR = afterCursor(q.cursor);
    const rows = await this.db.job.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: q.limit + 1 });
    return pageOf(rows, q.limit);
  }

  /**
   * Cancel: a job not yet on a host ends cancelled at once; a queued one is taken off its queue;
   * a running one is marked and its agent told to kill it (SIGTERM, then SIGKILL) and clean up —
   * it ends cancelled when the agent reports back.
   */
  async cancel(id: string, actor: string): Promise<Job> {
    const job = await this.db.job.findUnique({ where: { id } });
    if (!job) throw new ApiError(404, 'job_not_found', `no job ${id}`);
    await this.audit.record(actor, 'job.cancel', `job:${id}`, { state: job.state });
    if (isFinalJobState(job.state as JobState)) {
      throw new ApiError(409, 'job_final', `job ${id} already ended ${job.state}`, { state: job.state });
    }
    if (job.group) {
      // A parent is cancelled through its children; it ends when the last of them does.
      const live = await this.db.job.findMany({ where: { parentId: id, state: { in: LIVE_JOB_STATES } }, select: { id: true } });
      for (const child of live) await this.cancel(child.id, actor).catch(() => undefined); // one that ended meanwhile: 409
      return this.reload(id);
    }
    const end = (message: string) => this.lifecycle.finish(job, { state: 'cancelled', error: { code: 'cancelled', message } });
    if (job.state === 'pending' && (await end('cancelled before it reached its host'))) return this.reload(id);
    if (job.state === 'queued') {
      // remove() refuses a job an agent holds (active): that one is running, whatever the row says yet.
      const removed = await this.queues.forHost(job.hostId).remove(id).catch(() => 0);
      if (removed && (await end('cancelled before it started'))) return this.reload(id);
    }
    const marked = await this.db.job.updateMany({
      where: { id, state: { in: ['queued', 'running'] } },
      data: { cancelRequestedAt: new Date() },
    });
    if (marked.count) {
      await this.queues.publishCancel(job.hostId, id).catch(() => undefined); // the heartbeat carries it too
      await this.lifecycle.announce(id, 'job.updated');
    }
    return this.reload(id);
  }

  private async reload(id: string): Promise<Job> {
    const job = await this.db.job.findUnique({ where: { id } });
    if (!job) throw new ApiError(404, 'job_not_found', `no job ${id}`);
    return job;
  }

  /** How many jobs are in each state (optionally of one host and type). */
  async stats(q: { hostId?: string | undefined; type?: string | undefined }): Promise<Record<string, number>> {
    const rows = await this.db.job.groupBy({
      by: ['state'],
      where: { ...(q.hostId ? { hostId: q.hostId } : {}), ...(q.type ? { type: q.type } : {}) },
      _count: { _all: true },
    });
    return Object.fromEntries(jobState.options.map((s) => [s, rows.find((r) => r.state === s)?._count._all ?? 0]));
  }

  async logs(id: string) {
    const job = await this.db.job.findUnique({ where: { id }, select: { id: true } });
    if (!job) throw new ApiError(404, 'job_not_found', `no job ${id}`);
    return this.db.jobLog.findMany({ where: { jobId: id }, orderBy: [{ attempt: 'asc' }, { seq: 'asc' }] });
  }

  /** The job an Idempotency-Key made before for this same request, if any (409 for another request). */
  findReplay(key: string, type: string, clientHostId: string | undefined, payload: unknown): Promise<Job | null> {
    return this.replay(key, hashRequest(type, clientHostId, payload));
  }

  private async replay(key: string, requestHash: string | undefined): Promise<Job | null> {
    const prior = await this.db.job.findUnique({ where: { idempotencyKey: key } });
    if (prior && prior.requestHash !== requestHash) {
      throw new ApiError(409, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request', {
        jobId: prior.id,
      });
    }
    return prior;
  }

  /**
   * Until placement lands (issue 5), a job without hostId goes to the only host that can take new
   * work: online, enrolled, not in maintenance.
   */
  private async defaultHost(): Promise<string> {
    const hosts = await this.db.host.findMany({ where: { state: 'online', maintenance: false }, select: { id: true }, take: 2 });
    if (hosts.length === 1 && hosts[0]) return hosts[0].id;
    if (hosts.length === 0) throw new ApiError(409, 'no_host_available', 'no host is online and out of maintenance: give hostId');
    throw new ApiError(400, 'host_required', 'hostId is required when more than one host can take the job');
  }
}

/** What a failed job insert means (Prisma's codes from a transaction, PostgreSQL's from JobSql): no such host, or the Idempotency-Key is taken. */
function insertConflict(err: unknown): 'no_host' | 'key_taken' | undefined {
  const code = err instanceof Prisma.PrismaClientKnownRequestError ? err.code : pgCode(err);
  if (code === 'P2003' || code === '23503') return 'no_host';
  if (code === 'P2002' || code === '23505') return 'key_taken';
  return undefined;
}

function hashRequest(type: string, hostId: string | undefined, payload: unknown): string {
  return createHash('sha256').update(JSON.stringify({ type, hostId, payload })).digest('hex');
}
