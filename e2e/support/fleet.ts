import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, NodeCommandRunner, assertSucceeded } from '@virtfleet/exec';
import { REPO_ROOT, createTestDatabase, freePort, testServices, waitFor, type TestDatabase } from '@virtfleet/testing';

export interface JobView {
  id: string;
  type: string;
  state: string;
  progress: number;
  attempt: number;
  result: Record<string, unknown> | null;
  error: { code: string; message: string; command?: string[]; exitCode?: number | null; stderrTail?: string } | null;
}

const runner = new NodeCommandRunner({ baseEnv: process.env });

/**
 * The real product as separate processes: the built API and agent (dist/), on the run's
 * PostgreSQL (a database of its own) and Redis, driving the machine's real libvirtd and tools.
 */
export class Fleet {
  private constructor(
    readonly url: string,
    readonly hostId: string,
    readonly storeRoot: string,
    readonly dir: string,
    private readonly adminToken: string,
    private readonly api: ManagedProcess,
    private readonly agent: ManagedProcess,
    private readonly db: TestDatabase,
  ) {}

  static async start(name = 'e2e-host'): Promise<Fleet> {
    assertSucceeded(await runner.run({ cmd: 'node', args: [join(REPO_ROOT, 'scripts/build.mjs')] }));
    const s = testServices();
    const dir = await mkdtemp(join(s.dir, 'fleet-'));
    const db = await createTestDatabase();
    const adminToken = `vfa_e2e_${Math.random().toString(36).slice(2)}_${Date.now()}`;
    await writeFile(join(dir, 'admin-token'), adminToken, { mode: 0o600 });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = ManagedProcess.start('node', ['--enable-source-maps', join(REPO_ROOT, 'dist/apps/api/src/main.js')], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        REDIS_URL: s.redisUrl,
        VIRTFLEET_API_PORT: String(port),
        VIRTFLEET_ADMIN_TOKEN_FILE: join(dir, 'admin-token'),
        VIRTFLEET_HEARTBEAT_INTERVAL_MS: '1000',
      },
      logFile: join(dir, 'api.log'),
    });
    const call = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(new URL(path, url), {
        ...init,
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...init.headers },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    await waitFor('API ready', async () => (await call('/readyz')).status === 200, { timeoutMs: 30_000 });
    const reg = await call('/v1/hosts', { method: 'POST', body: JSON.stringify({ name }) });
    const host = reg.body['host'] as { id: string };
    const storeRoot = join(dir, 'store');
    const agent = ManagedProcess.start('node', ['--enable-source-maps', join(REPO_ROOT, 'dist/apps/agent/src/main.js')], {
      env: {
        ...process.env,
        VIRTFLEET_API_URL: url,
        VIRTFLEET_HOST_ID: host.id,
        VIRTFLEET_AGENT_TOKEN: String(reg.body['agentToken']),
        REDIS_URL: s.redisUrl,
        VIRTFLEET_STORAGE_ROOT: storeRoot,
        VIRTFLEET_HEARTBEAT_INTERVAL_MS: '1000',
      },
      logFile: join(dir, 'agent.log'),
    });
    const fleet = new Fleet(url, host.id, storeRoot, dir, adminToken, api, agent, db);
    await waitFor('host online', async () => (await fleet.get<{ state: string }>(`/v1/hosts/${host.id}`)).state === 'online', {
      timeoutMs: 60_000,
    });
    return fleet;
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(new URL(path, this.url), { headers: { authorization: `Bearer ${this.adminToken}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(new URL(path, this.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Submits a job to this fleet's host and waits (server-side) until it ends. */
  async run(type: string, payload: Record<string, unknown>, waitSeconds = 120): Promise<JobView> {
    const r = await this.post('/v1/jobs', { type, hostId: this.hostId, payload });
    if (r.status !== 202) throw new Error(`submit ${type}: ${r.status} ${JSON.stringify(r.body)}`);
    return this.get<JobView>(`/v1/jobs/${String(r.body['id'])}?wait=${waitSeconds}`);
  }

  async stop(): Promise<void> {
    await this.agent.stop(15_000);
    await this.api.stop(15_000);
    await this.db.drop();
  }
}

/** The real tool, run directly on the host, to check what a job did. */
export async function onHost(cmd: string, ...args: string[]): Promise<string> {
  return assertSucceeded(await runner.run({ cmd, args }, { timeoutMs: 60_000 })).stdout;
}
