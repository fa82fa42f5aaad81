import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { NodeCommandRunner, assertSucceeded } from '@virtfleet/exec';
import { REPO_ROOT, freePort, parseEnvLines, services, testServices, waitFor, Fleet } from '@virtfleet/testing';

// Redis and PostgreSQL of their own, so this suite can kill them without touching the others.
describe('chaos: the services under the fleet die', () => {
  let dir: string;
  let env: Record<string, string>;
  let fleet: Fleet;

  beforeAll(async () => {
    dir = await mkdtemp(join(testServices().dir, 'chaos-'));
    const [pg, redis] = [await freePort(), await freePort()];
    // Not --fast: Redis keeps its AOF, as in production.
    await services('start', '--dir', dir, '--pg-port', String(pg), '--redis-port', String(redis), '--no-libvirt');
    env = parseEnvLines(await services('env', '--dir', dir));
    await createDatabase(env['DATABASE_URL'] ?? '');
    fleet = await Fleet.start({
      name: 'e2e-chaos',
      databaseUrl: env['DATABASE_URL'] ?? '',
      redisUrl: env['REDIS_URL'] ?? '',
      apiEnv: {
        VIRTFLEET_TEST_JOBS: '1',
        VIRTFLEET_DISPATCH_INTERVAL_MS: '200',
        VIRTFLEET_RECONCILE_INTERVAL_MS: '500',
        VIRTFLEET_RECONCILE_GRACE_MS: '1000',
      },
      agentEnv: { VIRTFLEET_LOCK_DURATION_MS: '2000', VIRTFLEET_STALLED_INTERVAL_MS: '1000' },
    });
  }, 180_000);

  afterAll(async () => {
    await fleet?.stop();
    await services('stop', '--dir', dir);
  }, 120_000);

  const finalStates = async (ids: string[]) => (await Promise.all(ids.map((id) => fleet.job(id, 90)))).map((j) => j.state);

  it('Redis SIGKILLed and restarted while jobs are submitted: every 202 ends in one final state', async () => {
    const ids: string[] = [];
    const submitSome = async (n: number) => {
      for (let i = 0; i < n; i++) ids.push(await fleet.submit('sleep', { seconds: 0.2 }));
    };
    await submitSome(10);
    const pid = Number((await readFile(join(dir, 'run/redis.pid'), 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    await submitSome(10); // accepted into the outbox while Redis is gone
    await services('start', '--dir', dir, '--only', 'redis');
    await submitSome(10);
    expect(await finalStates(ids)).toEqual(ids.map(() => 'succeeded'));
  }, 180_000);

  it('FLUSHALL: the reconciler restores every unfinished job', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, () => fleet.submit('sleep', { seconds: 1.5 })));
    await waitFor('some running', async () => (await fleet.job(ids[0] ?? '')).state === 'running');
    const redis = new Redis(env['REDIS_URL'] ?? '');
    await redis.flushall();
    redis.disconnect();
    expect(await finalStates(ids)).toEqual(ids.map(() => 'succeeded'));
  }, 180_000);

  it('PostgreSQL restarted: the API answers 503 meanwhile and recovers by itself', async () => {
    await services('stop', '--dir', dir, '--only', 'pg');
    const ready = await fetch(new URL('/readyz', fleet.url));
    expect(ready.status).toBe(503);
    const submit = await fleet.post('/v1/jobs', { type: 'sleep', hostId: fleet.hostId, payload: { seconds: 0.1 } });
    expect(submit.status).toBe(503);
    expect((submit.body['error'] as { code: string }).code).toBe('database_unavailable');

    await services('start', '--dir', dir, '--only', 'pg');
    await waitFor('API ready again', async () => (await fetch(new URL('/readyz', fleet.url))).status === 200, { timeoutMs: 30_000 });
    const job = await fleet.run('sleep', { seconds: 0.1 });
    expect(job.state).toBe('succeeded');
  }, 120_000);
});

async function createDatabase(url: string): Promise<void> {
  // services.sh made the database; migrate it like `npm run up` does.
  const runner = new NodeCommandRunner({ baseEnv: { ...process.env, DATABASE_URL: url, CHECKPOINT_DISABLE: '1' } });
  assertSucceeded(await runner.run({ cmd: join(REPO_ROOT, 'node_modules/.bin/prisma'), args: ['migrate', 'deploy'] }, { timeoutMs: 120_000 }));
}
