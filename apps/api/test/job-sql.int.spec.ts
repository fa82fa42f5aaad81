import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import { createTestDatabase, testServices, type TestDatabase } from '@virtfleet/testing';
import { loadApiConfig } from '../src/config/api.config';
import { JobSql } from '../src/db/job-sql.service';
import { PgService, pgCode } from '../src/db/pg.service';

// The job pipeline's own statements (db/job-sql.service.ts) must give exactly the rows Prisma
// reads and writes: the same columns, timestamps in UTC, seq a bigint, JSON as JSON.

describe('JobSql: the hot statements agree with Prisma', () => {
  let database: TestDatabase;
  let db: PrismaClient;
  let sql: JobSql;
  let pg: PgService;
  let hostId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = new PrismaClient({ adapter: new PrismaPg({ connectionString: database.url }) });
    pg = new PgService(loadApiConfig({ DATABASE_URL: database.url, REDIS_URL: testServices().redisUrl }));
    sql = new JobSql(pg);
    hostId = (await db.host.create({ data: { name: 'sql-h1', agentTokenHash: 'x', redisUser: 'u' } })).id;
  });
  afterAll(async () => {
    await pg.onModuleDestroy();
    await db.$disconnect();
    await database.drop();
  });

  /** The one row a statement over one job gives (or undefined). */
  const first = <T>(rows: Promise<T[]>) => rows.then((r) => r[0]);

  const newJob = (over: Partial<Parameters<JobSql['insert']>[0]> = {}) =>
    sql.insert({
      type: 'noop',
      hostId,
      payload: { a: [1, 2], b: { c: 'd' } },
      lockKey: 'disk:d1',
      submittedBy: 'token:t',
      expiresAt: new Date('2030-01-02T03:04:05.678Z'),
      timeoutMs: 5000,
      idempotencyKey: null,
      requestHash: null,
      placement: { hostId, reason: 'most room' },
      ...over,
    });

  it('insert, queued, claim, progress and end return what Prisma reads back', async () => {
    const before = Date.now();
    const made = await newJob();
    expect(await db.job.findUnique({ where: { id: made.id } })).toEqual(made);
    expect(typeof made.seq).toBe('bigint');
    expect(made.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(made.createdAt.getTime()).toBeLessThanOrEqual(Date.now() + 1);
    expect(made.expiresAt?.toISOString()).toBe('2030-01-02T03:04:05.678Z');
    expect(made).toMatchObject({ state: 'pending', payload: { a: [1, 2], b: { c: 'd' } }, attempt: 0, progress: 0, result: null, error: null });

    const queued = await first(sql.markQueued([made.id]));
    expect(queued).toMatchObject({ state: 'queued' });
    expect(await first(sql.markQueued([made.id]))).toBeUndefined(); // only from pending
    const delivery = '11111111-1111-4111-8111-111111111111';
    const claimed = await first(sql.claim([{ id: made.id, delivery }], hostId, new Date()));
    expect(claimed).toMatchObject({ state: 'running', attempt: 1, deliveryId: delivery });
    // the same delivery's claim again (its answer was lost): the same attempt
    expect(await first(sql.claim([{ id: made.id, delivery }], hostId, new Date()))).toMatchObject({ attempt: 1, startedAt: claimed?.startedAt });
    expect(await sql.progress(made.id, hostId, 1, 40)).toMatchObject({ progress: 40 });
    expect(await sql.progress(made.id, hostId, 2, 50)).toBeUndefined(); // another attempt's report
    expect(await first(sql.end([{ id: made.id, attempt: 2, end: { state: 'succeeded', result: {} } }]))).toBeUndefined(); // fenced off
    const ended = await first(sql.end([{ id: made.id, attempt: 1, end: { state: 'succeeded', result: { list: [1] } } }]));
    expect(ended).toMatchObject({ state: 'succeeded', progress: 100, result: { list: [1] }, error: null });
    expect(await db.job.findUnique({ where: { id: made.id } })).toEqual(ended);
    expect(await first(sql.end([{ id: made.id, attempt: undefined, end: { state: 'failed', error: { code: 'x', message: 'y' } } }]))).toBeUndefined(); // ended already
    expect(await sql.byId(made.id)).toEqual(ended);
    expect(await first(sql.ofHost([made.id], '00000000-0000-4000-8000-000000000000'))).toBeUndefined();
  });

  it('a failed end keeps the progress and sets the error; an expired or cancelled job is not claimed', async () => {
    const a = await newJob({ lockKey: null });
    await first(sql.claim([{ id: a.id }], hostId, new Date()));
    await sql.progress(a.id, hostId, 1, 30);
    expect(await first(sql.end([{ id: a.id, attempt: 1, end: { state: 'failed', error: { code: 'boom', message: 'it broke' } } }]))).toMatchObject({
      state: 'failed',
      progress: 30,
      result: null,
      error: { code: 'boom', message: 'it broke' },
    });
    const old = await newJob({ expiresAt: new Date(Date.now() - 1000) });
    expect(await first(sql.claim([{ id: old.id }], hostId, new Date()))).toBeUndefined();
    const c = await newJob();
    await db.job.update({ where: { id: c.id }, data: { cancelRequestedAt: new Date() } });
    expect(await first(sql.claim([{ id: c.id }], hostId, new Date()))).toBeUndefined();
  });

  it('errors carry PostgreSQL codes: no such host 23503, a taken idempotency key 23505', async () => {
    const codeOf = (p: Promise<unknown>) => p.then(() => 'no error', pgCode);
    expect(await codeOf(newJob({ hostId: '00000000-0000-4000-8000-000000000000' }))).toBe('23503');
    await newJob({ idempotencyKey: 'k1' });
    expect(await codeOf(newJob({ idempotencyKey: 'k1' }))).toBe('23505');
  });
});
