import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Job } from '@prisma/client';
import { LIVE_JOB_STATES } from '@virtfleet/contracts';
import { Pool, types, type QueryConfig } from 'pg';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import type { JobEnd } from '../jobs/job-lifecycle.service';

// The job pipeline's hot statements, straight to PostgreSQL with prepared statements.
//
// Every job goes through the same few statements (insert, queued, claimed, read, ended). Through
// Prisma each costs ≈2.6–3.6 ms of API CPU (its query compiler runs per query); a prepared
// statement on `pg` costs ≈0.35 ms (bench/pipeline.ts, docs/performance.md). Everything else
// (transactions with an inventory effect, lists, the rest of the schema) stays on Prisma. The
// rows come back as Prisma's own `Job` type: the same columns, timestamps read as UTC (Prisma
// stores `timestamp(3)` in UTC), `seq` as a bigint, JSON parsed.

const TIMESTAMP = 1114; // timestamp without time zone
const INT8 = 20;
const parsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === TIMESTAMP) return (text: string) => new Date(`${text.replace(' ', 'T')}Z`);
    if (oid === INT8) return (text: string) => BigInt(text);
    return types.getTypeParser(oid, format);
  }) as typeof types.getTypeParser,
};

/** A Date as PostgreSQL's `timestamp(3)` holds Prisma's: the UTC wall time (the zone is ignored). */
const utc = (d: Date): string => d.toISOString();
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
}

@Injectable()
export class JobSql implements OnModuleDestroy {
  private readonly pool: Pool;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    const url = new URL(config.databaseUrl);
    const schema = url.searchParams.get('schema');
    url.searchParams.delete('schema'); // Prisma's parameter, not PostgreSQL's
    this.pool = new Pool({
      connectionString: url.toString(),
      max: 8,
      types: parsers,
      ...(schema ? { options: `-c search_path=${schema.replace(/[^A-Za-z0-9_]/g, '')}` } : {}),
    });
    this.pool.on('error', () => undefined); // an idle client's connection dropped: the pool makes a new one
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.end();
  }

  private async many(q: QueryConfig): Promise<Job[]> {
    try {
      return (await this.pool.query<Job>(q)).rows;
    } catch (err) {
      throw isConnectionError(err) ? new DatabaseUnavailableError(err) : err;
    }
  }

  /** INSERT … RETURNING: the new row. Errors carry PostgreSQL's code (23503 no such host, 23505 key taken). */
  async insert(job: NewJob): Promise<Job> {
    return (await this.insertMany([job]))[0] as Job;
  }

  /** insert() for many jobs in one statement (all or none), in the order given (seq follows it). */
  async insertMany(jobs: readonly NewJob[]): Promise<Job[]> {
    const now = utc(new Date());
    const col = <T>(f: (j: NewJob) => T) => jobs.map(f);
    const ids = col(() => randomUUID());
    const rows = await this.many({
      name: 'job-insert-many',
      text: `INSERT INTO "Job" ("id", "type", "hostId", "payload", "lockKey", "concurrencyKey", "concurrencyLimit", "submittedBy", "expiresAt",
               "timeoutMs", "idempotencyKey", "requestHash", "placement", "parentId", "createdAt", "updatedAt")
             SELECT v.id, v.type, v."hostId", v.payload, v."lockKey", v."concurrencyKey", v."concurrencyLimit", v."submittedBy", v."expiresAt",
                    v."timeoutMs", v."idempotencyKey", v."requestHash", v.placement, v."parentId", $15::timestamp(3), $15::timestamp(3)
             FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::jsonb[], $5::text[], $6::text[], $7::int[], $8::text[], $9::timestamp(3)[],
                         $10::int[], $11::text[], $12::text[], $13::jsonb[], $14::uuid[]) WITH ORDINALITY AS v(id, type, "hostId", payload, "lockKey",
                         "concurrencyKey", "concurrencyLimit", "submittedBy", "expiresAt", "timeoutMs", "idempotencyKey", "requestHash", placement, "parentId", n)
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
        now,
      ],
    });
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

  /** Deliveries start: running as the next attempt, unless cancelled or expired meanwhile; the rows claimed. */
  claim(ids: readonly string[], hostId: string, now: Date): Promise<Job[]> {
    return this.many({
      name: 'job-claim',
      text: `UPDATE "Job" SET "state" = 'running', "attempt" = "attempt" + 1, "startedAt" = $3, "progress" = 0, "updatedAt" = $3
             WHERE "id" = ANY($1::uuid[]) AND "hostId" = $2 AND "state" = ANY($4::"JobState"[]) AND "cancelRequestedAt" IS NULL
               AND ("expiresAt" IS NULL OR "expiresAt" > $3)
             RETURNING *`,
      values: [ids, hostId, utc(now), LIVE_JOB_STATES],
    });
  }

  /**
   * The ends of live jobs (of that attempt, when given): state, result or error, finishedAt. The
   * rows that ended (the others had ended already, or were on another attempt).
   */
  end(ends: ReadonlyArray<{ id: string; attempt?: number | undefined; end: JobEnd }>): Promise<Job[]> {
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
    });
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

/** PostgreSQL cannot be reached (answered 503 database_unavailable, as Prisma's P1001 is). */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`PostgreSQL is not reachable: ${(cause as Error).message}`, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

// PostgreSQL's connection-exception class 08, shutting down or starting (57P01-57P03), too many
// connections, and the socket's own errors.
const PG_UNAVAILABLE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  return PG_UNAVAILABLE.test(code) || SOCKET_ERRORS.has(code) || (typeof e?.message === 'string' && /^Connection terminated/.test(e.message));
}

/** PostgreSQL's error code of a failed statement (pg errors carry it as `code`). */
export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
