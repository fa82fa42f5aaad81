import { Redis } from 'ioredis';
import { eventStream, waitFor, webhookReceiver, Fleet, hostProcesses, type JobView } from '@virtfleet/testing';
import { verifySignature } from './support/signature';

// The job engine with real processes: the built API and agent, real PostgreSQL and Redis, real
// host processes (the diagnostic `sleep` job runs sleep(1) on the host).
const FAST_REDELIVERY = { VIRTFLEET_LOCK_DURATION_MS: '2000', VIRTFLEET_STALLED_INTERVAL_MS: '1000', VIRTFLEET_AGENT_CONCURRENCY: '32' };

describe('job engine end to end', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ name: 'e2e-jobs', apiEnv: { VIRTFLEET_TEST_JOBS: '1' }, agentEnv: FAST_REDELIVERY });
  }, 120_000);
  afterAll(() => fleet?.stop(), 120_000); // the agent and the API get their grace periods

  const running = (id: string) => waitFor(`job ${id} running`, async () => (await fleet.job(id)).state === 'running', { timeoutMs: 30_000 });

  it('cancel kills the running host process within 2 s and the job ends cancelled', async () => {
    const seconds = 300 + Math.round(Math.random() * 1000) / 1000;
    const id = await fleet.submit('sleep', { seconds });
    await running(id);
    await waitFor('sleep on the host', async () => (await hostProcesses(`sleep ${seconds}`)).length > 0);

    const t0 = Date.now();
    const r = await fleet.post(`/v1/jobs/${id}/cancel`, {});
    expect(r.status).toBe(202);
    await waitFor('host process gone', async () => (await hostProcesses(`sleep ${seconds}`)).length === 0, { timeoutMs: 2_000, intervalMs: 20 });
    expect(Date.now() - t0).toBeLessThan(2_000);
    const job = await fleet.job(id, 10);
    expect(job.state).toBe('cancelled');
    expect(job.error?.code).toBe('cancelled');
    expect((await fleet.post(`/v1/jobs/${id}/cancel`, {})).status).toBe(409);
  });

  it('a job past its time limit has its host process killed and ends timed_out', async () => {
    const seconds = 200 + Math.round(Math.random() * 1000) / 1000;
    const r = await fleet.post('/v1/jobs', { type: 'sleep', hostId: fleet.hostId, payload: { seconds }, timeoutSeconds: 1 });
    expect(r.status).toBe(202);
    const job = await fleet.job(String(r.body['id']), 30);
    expect(job.state).toBe('timed_out');
    expect(job.error?.code).toBe('timed_out');
    expect(Date.parse(job.finishedAt ?? '') - Date.parse(job.startedAt ?? '')).toBeLessThan(5_000);
    expect(await hostProcesses(`sleep ${seconds}`)).toEqual([]);
  });

  it('jobs on one thing run one at a time in order; jobs on different things overlap', async () => {
    const a = await fleet.submit('sleep', { seconds: 1.2, key: 'vm-a' });
    const b = await fleet.submit('sleep', { seconds: 0.2, key: 'vm-a' });
    const c = await fleet.submit('sleep', { seconds: 1.2, key: 'vm-c' });
    const [ja, jb, jc] = await Promise.all([a, b, c].map((id) => fleet.job(id, 30)));
    for (const j of [ja, jb, jc]) expect(j?.state).toBe('succeeded');
    const t = (j: JobView | undefined, k: 'startedAt' | 'finishedAt') => Date.parse(j?.[k] ?? '');
    expect(t(jb, 'startedAt')).toBeGreaterThanOrEqual(t(ja, 'finishedAt'));
    // a (vm-a) and c (vm-c) ran at the same time
    expect(t(jc, 'startedAt')).toBeLessThan(t(ja, 'finishedAt'));
    expect(t(ja, 'startedAt')).toBeLessThan(t(jc, 'finishedAt'));
  });

  it('an agent SIGKILLed mid-job: every job is redelivered and succeeds exactly once (20 jobs, 5 kills)', async () => {
    const ids: string[] = [];
    for (let round = 0; round < 5; round++) {
      const batch = await Promise.all([0, 1, 2, 3].map(() => fleet.submit('sleep', { seconds: 1.5 })));
      ids.push(...batch);
      await Promise.all(batch.map(running));
      await fleet.killAgent();
      await fleet.startAgent();
    }
    const ends = await Promise.all(ids.map((id) => fleet.job(id, 60)));
    expect(ends.map((j) => j.state)).toEqual(ids.map(() => 'succeeded'));
    for (const j of ends) expect(j.attempt).toBeGreaterThanOrEqual(2);
    // exactly one finished sleep per job: the killed attempts never reported theirs
    const logs = await Promise.all(ids.map((id) => fleet.get<{ items: Array<{ argv: string[]; exitCode: number | null }> }>(`/v1/jobs/${id}/logs`)));
    for (const l of logs) expect(l.items.filter((c) => c.argv[0] === 'sleep' && c.exitCode === 0)).toHaveLength(1);
  }, 240_000);

  it('the API SIGKILLed while agents report: no result is lost', async () => {
    const ids = await Promise.all(Array.from({ length: 8 }, () => fleet.submit('sleep', { seconds: 0.8 })));
    await running(ids[0] ?? '');
    await fleet.killApi();
    await new Promise((r) => setTimeout(r, 1_500)); // jobs finish on the host while the API is gone
    await fleet.startApi();
    const ends = await Promise.all(ids.map((id) => fleet.job(id, 60)));
    expect(ends.map((j) => j.state)).toEqual(ids.map(() => 'succeeded'));
  }, 120_000);

  it('SSE and a webhook receiver both see every job end; the signature verifies', async () => {
    const rx = await webhookReceiver();
    const hook = await fleet.post('/v1/webhooks', { url: rx.url, hostId: fleet.hostId });
    const secret = String(hook.body['secret']);
    const stream = await eventStream(`${fleet.url}/v1/events?hostId=${fleet.hostId}`, fleet.token);
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => fleet.submit('sleep', { seconds: 0.05 * (i % 3) + 0.01 })));
    await Promise.all(ids.map((id) => fleet.job(id, 30)));
    const finishedIn = (bodies: string[]) =>
      new Set(bodies.map((b) => JSON.parse(b) as { job?: { id: string }; id?: string }).map((b) => b.job?.id ?? b.id));
    await waitFor('10 webhook deliveries', () => rx.got.length >= 10, { timeoutMs: 15_000 });
    await waitFor('10 job.finished events', () => stream.events.filter((e) => e.event === 'job.finished').length >= 10);
    await stream.close();
    rx.close();
    const sse = finishedIn(stream.events.filter((e) => e.event === 'job.finished').map((e) => e.data));
    const hooks = finishedIn(rx.got.map((g) => g.body));
    for (const id of ids) {
      expect(sse.has(id)).toBe(true);
      expect(hooks.has(id)).toBe(true);
    }
    for (const g of rx.got) expect(verifySignature(secret, g.body, String(g.headers['x-virtfleet-signature']))).toBe(true);
  }, 60_000);

  it('after 10,000 finished jobs Redis holds none of them; PostgreSQL holds the history', async () => {
    const redis = new Redis(fleet.redisUrl);
    try {
      const ours = async () => (await redis.keys(`bull:{host-${fleet.hostId}}:*`)).length;
      const total = Number(process.env['VF_TEST_BOUNDED_JOBS'] ?? 10_000);
      const ids: string[] = [];
      // In batches of 1,000 (POST /v1/jobs/batch), as a service submitting many jobs would.
      for (let i = 0; i < total; i += 1_000) {
        const jobs = Array.from({ length: Math.min(1_000, total - i) }, () => ({ type: 'noop', hostId: fleet.hostId, payload: {} }));
        const r = await fleet.post('/v1/jobs/batch', { jobs });
        expect(r.status).toBe(202);
        ids.push(...(r.body['items'] as Array<{ id: string }>).map((j) => j.id));
      }
      const succeeded = async () =>
        (await fleet.get<{ byState: Record<string, number> }>(`/v1/jobs/stats?hostId=${fleet.hostId}&type=noop`)).byState['succeeded'] ?? 0;
      // ≈200 jobs/s here (48 s for 10,000 on 2 loaded cores); one POST a job took 5–6 minutes.
      await waitFor(`${total} noop jobs succeeded`, async () => (await succeeded()) >= total, { timeoutMs: 600_000, intervalMs: 1_000 });
      // Only the queue's own bookkeeping keys remain (meta, id counter, events stream…), no job hashes.
      // (PostgreSQL hears of a job's end just before the agent removes it from Redis: give the last ones a moment.)
      await waitFor('Redis to hold no finished job', async () => (await ours()) < 15, { timeoutMs: 15_000, intervalMs: 200 });
      const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
      expect(used).toBeLessThan(64 * 1024 * 1024);
      expect(new Set(ids).size).toBe(total);
    } finally {
      redis.disconnect();
    }
  }, 660_000);

  it('SIGTERM: the agent takes no new job, lets the running one finish, and exits 0', async () => {
    const id = await fleet.submit('sleep', { seconds: 1 });
    await running(id);
    const exit = await fleet.stopAgent(20_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect((await fleet.job(id, 10)).state).toBe('succeeded');
    await fleet.startAgent();
  }, 60_000);
});
