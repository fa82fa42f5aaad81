import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, NodeCommandRunner } from '@virtfleet/exec';
import { REPO_ROOT, createTestDatabase, freePort, testServices, waitFor } from '@virtfleet/testing';
import { Redis } from 'ioredis';
import { createApp } from '../src/app';
import { loadApiConfig } from '../src/config/api.config';

describe('API start-up checks', () => {
  it('refuses to start against a Redis that may evict queued jobs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vf-lru-'));
    const port = await freePort();
    const redis = ManagedProcess.start(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'allkeys-lru'],
      { env: process.env, logFile: join(dir, 'redis.log') },
    );
    const db = await createTestDatabase();
    try {
      await waitFor('redis', async () => {
        const c = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
        try {
          await c.connect();
          return (await c.ping()) === 'PONG';
        } finally {
          c.disconnect();
        }
      });
      const config = loadApiConfig({
        DATABASE_URL: db.url,
        REDIS_URL: `redis://127.0.0.1:${port}`,
        VIRTFLEET_LOG_LEVEL: 'silent',
      });
      const app = await createApp(config);
      await expect(app.init()).rejects.toThrow(/maxmemory-policy is allkeys-lru.*noeviction/);
      await app.close().catch(() => undefined);
    } finally {
      await redis.stop();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the migrations produce exactly prisma/schema.prisma (no missing migration)', async () => {
    const runner = new NodeCommandRunner({ baseEnv: { ...process.env, DATABASE_URL: testServices().databaseUrl, CHECKPOINT_DISABLE: '1' } });
    const r = await runner.run(
      {
        cmd: join(REPO_ROOT, 'node_modules/.bin/prisma'),
        args: ['migrate', 'diff', '--from-migrations', 'prisma/migrations', '--to-schema-datamodel', 'prisma/schema.prisma', '--exit-code'],
      },
      { timeoutMs: 120_000 },
    );
    // --exit-code: 0 = no difference, 2 = the schema has changes no migration holds
    expect({ exitCode: r.exitCode, stdout: r.stdout.includes('No difference') || r.stdout.trim() === '' ? '' : r.stdout }).toEqual({
      exitCode: 0,
      stdout: '',
    });
  });
});
