import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { hostQueueName, type QueuedJobData } from '@virtfleet/contracts';
import { createTestDatabase, testServices, type TestDatabase } from '@virtfleet/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { createApp } from '../src/app';
import { hashToken, newToken } from '../src/auth/tokens';
import { loadApiConfig } from '../src/config/api.config';

/** The facts an agent sends with its heartbeat, for a small TCG host; `extra` overrides or adds fields. */
export function agentFacts(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hostname: 'h',
    kernel: '6',
    arch: 'x86_64',
    cpu: { model: 'x', count: 4, vmx: false, svm: false },
    memory: { totalBytes: 8 * 1024 ** 3, availableBytes: 8 * 1024 ** 3 },
    kvm: { device: false, usable: false, probe: 'none' },
    virtType: 'qemu',
    libvirt: { uri: 'qemu:///system', reachable: true },
    versions: { agent: '0' },
    storage: { root: '/var/lib/virtfleet/store', totalBytes: 1, freeBytes: 1 },
    collectedAt: new Date().toISOString(),
    ...extra,
  };
}

export interface HttpAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** A real API (Nest + Fastify on a free port) over a database of its own and the run's Redis. */
export class ApiHarness {
  private queues: Queue<QueuedJobData>[] = [];
  private constructor(
    readonly url: string,
    readonly db: PrismaClient,
    readonly redis: Redis,
    readonly adminToken: string,
    private readonly app: NestFastifyApplication,
    private readonly database: TestDatabase,
  ) {}

  /** `logTo`: the API's log lines (JSON) go there instead of nowhere (set VIRTFLEET_LOG_LEVEL too); `webRoot`: the web console's files (default dist/web). */
  static async start(env: Record<string, string> = {}, opts: { logTo?: DestinationStream; webRoot?: string } = {}): Promise<ApiHarness> {
    const database = await createTestDatabase();
    const s = testServices();
    const config = loadApiConfig({
      DATABASE_URL: database.url,
      REDIS_URL: s.redisUrl,
      VIRTFLEET_API_PORT: '0',
      VIRTFLEET_LOG_LEVEL: 'silent',
      ...env,
    });
    const app = await createApp(config, opts);
    await app.listen(0, '127.0.0.1');
    const db = new PrismaClient({ adapter: new PrismaPg({ connectionString: database.url }) });
    const adminToken = await ApiHarness.token(db, 'admin', ['admin']);
    return new ApiHarness(await app.getUrl(), db, new Redis(s.redisUrl), adminToken, app, database);
  }

  static async token(db: PrismaClient, name: string, scopes: string[]): Promise<string> {
    const token = newToken('api');
    await db.apiToken.create({ data: { name, scopes, tokenHash: hashToken(token) } });
    return token;
  }

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: { body?: unknown; token?: string | null; headers?: Record<string, string>; raw?: string } = {},
  ): Promise<HttpAnswer<T>> {
    const token = opts.token === undefined ? this.adminToken : opts.token;
    const headers: Record<string, string> = { ...opts.headers };
    if (token) headers['authorization'] = `Bearer ${token}`;
    if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(new URL(path, this.url), {
      method,
      headers,
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, headers: res.headers };
  }

  /** Enrolls a host the way an agent does (join token, then enroll); returns its credentials. */
  async host(name: string): Promise<{ id: string; agentToken: string; redisUrl: string }> {
    const join = await this.call<{ token: string }>('POST', '/v1/hosts/join-tokens', { body: {} });
    const r = await this.call<{ hostId: string; agentToken: string; redisUrl: string }>('POST', '/v1/agent/enroll', {
      token: null,
      body: { joinToken: join.body.token, name },
    });
    if (r.status !== 201) throw new Error(`enroll: ${r.status} ${JSON.stringify(r.body)}`);
    return { id: r.body.hostId, agentToken: r.body.agentToken, redisUrl: r.body.redisUrl };
  }

  queue(hostId: string): Queue<QueuedJobData> {
    const q = new Queue<QueuedJobData>(hostQueueName(hostId), { connection: this.redis });
    this.queues.push(q);
    return q;
  }

  /**
   * Each step is timed; one that takes over 20 s is left behind with a note on stderr, so a slow
   * shutdown (seen once in a full run: the jobs suite's teardown past 60 s, which step not known)
   * names itself instead of failing the suite's teardown.
   */
  async close(): Promise<void> {
    await step('queues.close', () => Promise.all(this.queues.map((q) => q.close())));
    await step('app.close', () => this.app.close());
    await step('prisma.$disconnect', () => this.db.$disconnect());
    this.redis.disconnect();
    await step('database.drop', () => this.database.drop());
  }
}

async function step(what: string, fn: () => Promise<unknown>): Promise<void> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 20_000)));
  const outcome = await Promise.race([fn().then(() => 'done' as const), late]);
  clearTimeout(timer);
  const ms = Date.now() - t0;
  if (outcome === 'late') process.stderr.write(`ApiHarness.close: ${what} still running after ${ms} ms; going on without it\n`);
  else if (ms > 5_000) process.stderr.write(`ApiHarness.close: ${what} took ${ms} ms\n`);
}
