import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Job } from '@prisma/client';
import { LIVE_JOB_STATES } from '@virtfleet/contracts';
import type { QueryConfig } from 'pg';
import { PgService, utc, type PgTx, type RawSql } from './pg.service';
import type { JobEnd } from '../jobs/job-lifecycle.service';

// The job pipeline's hot statements (insert, queued, claimed, read, ended) as prepared
// statements on PgService's pool (why: pg.service.ts). Transactions with an inventory effect,
// lists and the rest of the schema stay on Prisma. The rows come back as Prisma's own `Job` type.

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));

/** The columns of a new job the submit path fills in (the rest take their defaults). */
export interface NewJob {
  type: string;
  hostId: string;
  payload: unknown;
  lockKey: string | null;
  concurrencyKey?: string | null;
  concurrencyLimit?: number | null;
  submittedBy: string | null;
  expiresAt: Date | null;
  timeoutMs: number | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  placement?: unknown;
  parentId?: string | null;
  /** The submitting request's x-request-id. */
  requestId?: string | null;
}

/** The advisory-lock class of the submit-time key locks (the leases use the one-number form). */
const KEY_LOCK_CLASS = 0x76660001;
/** Keys fold into this many locks: a batch of many keyed jobs takes at most this many (PostgreSQL's lock table is small). */
const KEY_LOCK_BUCKETS = 1024;

/** FNV-1a: a stable bucket for a (host, key) pair. */
function keyBucket(hostId: string, key: string): number {
  let h = 0x811c9dc5;
  for (const ch of `${hostId}\0${key}`) h = Math.imul(h ^ (ch.codePointAt(0) as number), 0x01000193) >>> 0;
  return h % KEY_LOCK_BUCKETS;
}

/**
 * Locks, until the transaction ends, the lock and concurrency keys of jobs about to be inserted:
 * two submits of one key insert (and so take their `seq`) one after the other, each after the
 * other committed. The dispatcher's hold ("an earlier live job with my key") reads `seq`, so an
 * earlier job is always visible to a later one; and a submit's own checks (a VM name taken) see
 * the rows an earlier submit of that key wrote. Without it, of two submits at one instant the one
 * with the higher seq could commit first, see nothing earlier, and run beside the other.
 * Taken in ascending order, so two batches never wait for each other in a cycle.
 */
export async function lockJobKeys(sql: RawSql, jobs: ReadonlyArray<Pick<NewJob, 'hostId' | 'lockKey' | 'concurrencyKey'>>): Promise<void> {
  const buckets = new Set<number>();
  for (const j of jobs) {
    if (j.lockKey) buckets.add(keyBucket(j.hostId, `lock:${j.lockKey}`));
    if (j.concurrencyKey) buckets.add(keyBucket(j.hostId, `group:${j.concurrencyKey}`));
  }
  if (buckets.size === 0) return;
  const sorted = [...buckets].sort((a, b) => a - b);
  // count(): one row back whatever the driver (Prisma cannot read a `void` column); unnest keeps the array's order.
  await sql.$queryRawUnsafe(`SELECT count(pg_advisory_xact_lock(${KEY_LOCK_CLASS}, b))::int AS n FROM unnest($1::int[]) AS b`, sorted);
}

/** Whether inserting these jobs needs lockJobKeys(), i.e. a transaction. */
const hasJobKeys = (jobs: ReadonlyArray<Pick<NewJob, 'lockKey' | 'concurrencyKey'>>): boolean => jobs.some((j) => j.lockKey || j.concurrencyKey);

@Injectable()
export class JobSql {
  constructor(private readonly pg: PgService) {}

  private many(q: QueryConfig, on?: PgTx): Promise<Job[]> {
    return on ? on.rows<Job>(q) : this.pg.rows<Job>(q);
  }

  /** INSERT … RETURNING: the new row. Errors carry PostgreSQL's code (23503 no such host, 23505 key taken). */
  async insert(job: NewJob): Promise<Job> {
    return (await this.insertMany([job]))[0] as Job;
  }

  /**
   * insert() for many jobs in one statement (all or none), in the order given (seq follows it).
   * Jobs with a lock or concurrency key are inserted in a transaction under lockJobKeys().
   */
  async insertMany(jobs: readonly NewJob[]): Promise<Job[]> {
    return hasJobKeys(jobs)
      ? this.pg.tx(async (tx) => {
          await lockJobKeys(tx, jobs);
          return this.insertRows(jobs, tx);
        })
      : this.insertRows(jobs);
  }

  private async insertRows(jobs: readonly NewJob[], on?: PgTx): Promise<Job[]> {
    const now = utc(new Date());
    const col = <T>(f: (j: NewJob) => T) => jobs.map(f);
    const ids = col(() => randomUUID());
    const rows = await this.many({
      name: 'job-insert-many',
      text: `INSERT INTO "Job" ("id", "type", "hostId", "payload", "lockKey", "concurrencyKey", "concurrencyLimit", "submittedBy", "expiresAt",
               "timeoutMs", "idempotencyKey", "requestHash", "placement", "parentId", "requestId", "createdAt", "updatedAt")
             SELECT v.id, v.type, v."hostId", v.payload, v."lockKey", v."concurrencyKey", v."concurrencyLimit", v."submittedBy", v."expiresAt",
                    v."timeoutMs", v."idempotencyKey", v."requestHash", v.placement, v."parentId", v."requestId", $16::timestamp(3), $16::timestamp(3)
             FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::jsonb[], $5::text[], $6::text[], $7::int[], $8::text[], $9::timestamp(3)[],
                         $10::int[], $11::text[], $12::text[], $13::jsonb[], $14::uuid[], $15::text[]) WITH ORDINALITY AS v(id, type, "hostId", payload, "lockKey",
                         "concurrencyKey", "concurrencyLimit", "submittedBy", "expiresAt", "timeoutMs", "idempotencyKey", "requestHash", placement, "parentId",
                         "requestId", n)
             ORDER BY v.n
             RETURNING *`,
      values: [
        ids,
        col((j) => j.type),
        col((j) => j.hostId),
        col((j) => json(j.payload)),
        col((j) => j.lockKey),
        col((j) => j.concurrencyKey ?? null),
        col((j) => j.concurrencyLimit ?? null),
        col((j) => j.submittedBy),
        col((j) => (j.expiresAt ? utc(j.expiresAt) : null)),
        col((j) => j.timeoutMs),
        col((j) => j.idempotencyKey),
        col((j) => j.requestHash),
        col((j) => json(j.placement)),
        col((j) => j.parentId ?? null),
        col((j) => j.requestId ?? null),
        now,
      ],
    }, on);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) as Job);
  }

  byId(id: string): Promise<Job | undefined> {
    return this.first({ name: 'job-by-id', text: 'SELECT * FROM "Job" WHERE "id" = $1', values: [id] });
  }

  /** A host's own jobs (reports name only their own). */
  ofHost(ids: readonly string[], hostId: string): Promise<Job[]> {
    return this.many({ name: 'job-of-host', text: 'SELECT * FROM "Job" WHERE "id" = ANY($1::uuid[]) AND "hostId" = $2', values: [ids, hostId] });
  }

  /** pending → queued, once they are on their host queue. */
  markQueued(ids: readonly string[]): Promise<Job[]> {
    return this.many({
      name: 'job-queued',
      text: `UPDATE "Job" SET "state" = 'queued', "queuedAt" = $2, "updatedAt" = $2 WHERE "id" = ANY($1::uuid[]) AND "state" = 'pending' RETURNING *`,
      values: [ids, utc(new Date())],
    });
  }

  /**
   * Deliveries start: running as the next attempt, unless cancelled or expired meanwhile; the
   * rows claimed. A claim from the delivery that already holds the current attempt (sent again
   * because its answer was lost: an API replica died, a connection dropped) keeps that attempt.
   */
  claim(claims: ReadonlyArray<{ id: string; delivery?: string | undefined }>, hostId: string, now: Date): Promise<Job[]> {
    return this.many({
      name: 'job-claim',
      text: `UPDATE "Job" AS j SET "state" = 'running', "updatedAt" = $3, "deliveryId" = v.delivery,
               "startedAt" = CASE WHEN j."state" = 'running' AND j."deliveryId" = v.delivery THEN j."startedAt" ELSE $3 END,
               "attempt" = CASE WHEN j."state" = 'running' AND j."deliveryId" = v.delivery THEN j."attempt" ELSE j."attempt" + 1 END,
               "progress" = CASE WHEN j."state" = 'running' AND j."deliveryId" = v.delivery THEN j."progress" ELSE 0 END
             FROM unnest($1::uuid[], $5::uuid[]) AS v(id, delivery)
             WHERE j."id" = v.id AND j."hostId" = $2 AND j."state" = ANY($4::"JobState"[]) AND j."cancelRequestedAt" IS NULL
               AND (j."expiresAt" IS NULL OR j."expiresAt" > $3)
             RETURNING j.*`,
      values: [claims.map((c) => c.id), hostId, utc(now), LIVE_JOB_STATES, claims.map((c) => c.delivery ?? null)],
    });
  }

  /**
   * The ends of live jobs (of that attempt, when given): state, result or error, finishedAt. The
   * rows that ended (the others had ended already, or were on another attempt). `on`: inside
   * that transaction (the job's end together with its inventory effect).
   */
  end(ends: ReadonlyArray<{ id: string; attempt?: number | undefined; end: JobEnd }>, on?: PgTx): Promise<Job[]> {
    return this.many({
      name: 'job-end',
      text: `UPDATE "Job" AS j SET "state" = v.state, "finishedAt" = $1, "updatedAt" = $1,
               "result" = CASE WHEN v.state = 'succeeded' THEN v.result ELSE j."result" END,
               "progress" = CASE WHEN v.state = 'succeeded' THEN 100 ELSE j."progress" END,
               "error" = v.error
             FROM unnest($2::uuid[], $3::"JobState"[], $4::jsonb[], $5::jsonb[], $6::int[]) AS v(id, state, result, error, attempt)
             WHERE j."id" = v.id AND j."state" = ANY($7::"JobState"[]) AND (v.attempt IS NULL OR j."attempt" = v.attempt)
             RETURNING j.*`,
      values: [
        utc(new Date()),
        ends.map((e) => e.id),
        ends.map((e) => e.end.state),
        ends.map((e) => ('result' in e.end ? json(e.end.result) : null)),
        ends.map((e) => ('error' in e.end ? json(e.end.error) : null)),
        ends.map((e) => e.attempt ?? null),
        LIVE_JOB_STATES,
      ],
    }, on);
  }

  /** A progress report of the running attempt. */
  progress(id: string, hostId: string, attempt: number, progress: number): Promise<Job | undefined> {
    return this.first({
      name: 'job-progress',
      text: `UPDATE "Job" SET "progress" = $4, "updatedAt" = $5
             WHERE "id" = $1 AND "hostId" = $2 AND "attempt" = $3 AND "state" = ANY($6::"JobState"[]) RETURNING *`,
      values: [id, hostId, attempt, progress, utc(new Date()), LIVE_JOB_STATES],
    });
  }

  private async first(q: QueryConfig): Promise<Job | undefined> {
    return (await this.many(q))[0];
  }
}
