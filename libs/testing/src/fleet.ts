import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, NodeCommandRunner, assertSucceeded } from '@virtfleet/exec';
import { createTestDatabase, type TestDatabase } from './database';
import { REPO_ROOT } from './paths';
import { freePort } from './ports';
import { testServices } from './test-env';
import { waitFor } from './wait';

export interface JobView {
  id: string;
  type: string;
  state: string;
  progress: number;
  attempt: number;
  lockKey: string | null;
  result: Record<string, unknown> | null;
  error: { code: string; message: string; command?: string[]; exitCode?: number | null; stderrTail?: string } | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface FleetOptions {
  name?: string;
  /** Defaults: a database of its own on the run's PostgreSQL, and the run's Redis. */
  databaseUrl?: string;
  redisUrl?: string;
  apiEnv?: Record<string, string>;
  agentEnv?: Record<string, string>;
  /** Enroll and start the local agent (default true); false: the API alone, hosts enrolled by the caller. */
  agent?: boolean;
}

const runner = new NodeCommandRunner({ baseEnv: process.env });
const DIST = (app: string) => join(REPO_ROOT, `dist/apps/${app}/src/main.js`);

/**
 * The real product as separate processes: the built API and agent (dist/), on real PostgreSQL
 * and Redis, driving the machine's real libvirtd and tools. Either process can be killed and
 * started again.
 */
export class Fleet {
  hostId = '';
  /** The agent's config file, written by `virtfleet-agent enroll`. */
  configFile = '';
  private api: ManagedProcess | undefined;
  private agent: ManagedProcess | undefined;
  private readonly replicas: ManagedProcess[] = [];
  private db: TestDatabase | undefined;
  /** Started by `npm run up` (Fleet.up): stopped by `npm run down`. */
  private upEnv: Record<string, string> | undefined;

  private constructor(
    readonly url: string,
    readonly dir: string,
    readonly storeRoot: string,
    private readonly databaseUrl: string,
    readonly redisUrl: string,
    private adminToken: string,
    private readonly opts: FleetOptions,
  ) {}

  static async start(opts: FleetOptions = {}): Promise<Fleet> {
    assertSucceeded(await runner.run({ cmd: 'node', args: [join(REPO_ROOT, 'scripts/build.mjs')] }));
    const s = testServices();
    const dir = await mkdtemp(join(s.dir, 'fleet-'));
    await chmod(dir, 0o755); // QEMU (libvirt-qemu) must reach the disks in the storage root below

    const db = opts.databaseUrl ? undefined : await createTestDatabase();
    const adminToken = `vfa_e2e_${Math.random().toString(36).slice(2)}_${Date.now()}`;
    await writeFile(join(dir, 'admin-token'), adminToken, { mode: 0o600 });
    const url = `http://127.0.0.1:${await freePort()}`;
    const fleet = new Fleet(url, dir, join(dir, 'store'), opts.databaseUrl ?? db?.url ?? '', opts.redisUrl ?? s.redisUrl, adminToken, opts);
    fleet.db = db;
    try {
      await fleet.startApi();
      if (opts.agent === false) return fleet;
      await fleet.enroll(opts.name ?? 'e2e-host');
      await fleet.startAgent();
      return fleet;
    } catch (err) {
      await fleet.stop(); // no API, agent or database left behind by a start that failed half-way
      throw err;
    }
  }

  /**
   * The fleet exactly as a user brings it up: `npm run up` (scripts/up.sh) with a folder and ports
   * of its own (VIRTFLEET_DIR, …), so it runs beside the test run's services. `env` reaches the API
   * and the agent it starts (the environment wins over the agent's file). stop() is `npm run down`.
   */
  static async up(opts: { name: string; env?: Record<string, string> }): Promise<Fleet> {
    const s = testServices();
    const dir = await mkdtemp(join(s.dir, 'up-'));
    await chmod(dir, 0o755);
    const [api, pg, redis] = [await freePort(), await freePort(), await freePort()];
    const upEnv = {
      VIRTFLEET_DIR: join(dir, 'virtfleet'),
      VIRTFLEET_API_PORT: String(api),
      VIRTFLEET_PG_PORT: String(pg),
      VIRTFLEET_REDIS_PORT: String(redis),
      VIRTFLEET_STORAGE_ROOT: join(dir, 'store'),
      VIRTFLEET_HOST_NAME: opts.name,
      ...opts.env,
    };
    const up = await runner.run({ cmd: 'bash', args: [join(REPO_ROOT, 'scripts/up.sh')], env: upEnv }, { timeoutMs: 240_000 });
    const vf = upEnv.VIRTFLEET_DIR;
    const env = Object.fromEntries(
      (await readFile(join(vf, 'env'), 'utf8').catch(() => '')).split('\n').flatMap((l) => {
        const m = /^export (\w+)='(.*)'$/.exec(l);
        return m ? [[m[1], m[2]]] : [];
      }),
    ) as Record<string, string>;
    const fleet = new Fleet(`http://127.0.0.1:${api}`, dir, upEnv.VIRTFLEET_STORAGE_ROOT, env['DATABASE_URL'] ?? '', env['REDIS_URL'] ?? '', '', { name: opts.name });
    fleet.upEnv = upEnv;
    if (up.exitCode !== 0) {
      await fleet.stop();
      throw new Error(`npm run up failed (exit ${up.exitCode}): ${up.stderr.slice(-2000)}`);
    }
    fleet.adminToken = (await readFile(join(vf, 'admin-token'), 'utf8')).trim();
    fleet.configFile = join(vf, 'agent.json');
    fleet.hostId = (JSON.parse(await readFile(fleet.configFile, 'utf8')) as { hostId: string }).hostId;
    return fleet;
  }

  /** The fleet's own host: enrolled as an operator does it. */
  async enroll(name: string): Promise<void> {
    const { hostId, configFile } = await this.enrollHost(name, this.storeRoot);
    this.hostId = hostId;
    this.configFile = configFile;
  }

  /** What an operator does on a new host: a join token, then `virtfleet-agent enroll`. */
  async enrollHost(name: string, storeRoot: string): Promise<{ hostId: string; configFile: string }> {
    const token = await this.post('/v1/hosts/join-tokens', {});
    if (token.status !== 201) throw new Error(`join token: ${token.status} ${JSON.stringify(token.body)}`);
    const configFile = join(this.dir, `agent-${name}.json`);
    const args = ['enroll', '--api', this.url, '--token', String(token.body['token']), '--name', name, '--config', configFile];
    assertSucceeded(await runner.run({ cmd: 'node', args: [DIST('agent'), ...args, '--storage-root', storeRoot] }));
    return { hostId: (JSON.parse(await readFile(configFile, 'utf8')) as { hostId: string }).hostId, configFile };
  }

  /** Another agent process on this machine, for another enrolled host. */
  startExtraAgent(configFile: string, logName: string, env: Record<string, string> = {}): ManagedProcess {
    return ManagedProcess.start('node', ['--enable-source-maps', DIST('agent')], {
      env: { ...process.env, VIRTFLEET_AGENT_CONFIG: configFile, VIRTFLEET_HEARTBEAT_INTERVAL_MS: '1000', ...this.opts.agentEnv, ...env },
      logFile: join(this.dir, `${logName}.log`),
    });
  }

  async startApi(): Promise<void> {
    this.api = await this.spawnApi(this.url, 'api');
  }

  /** Another API process on the same PostgreSQL and Redis (a replica behind a load balancer). */
  async startApiReplica(name: string): Promise<{ url: string; process: ManagedProcess }> {
    const url = `http://127.0.0.1:${await freePort()}`;
    const process = await this.spawnApi(url, name);
    this.replicas.push(process);
    return { url, process };
  }

  private async spawnApi(url: string, logName: string): Promise<ManagedProcess> {
    const api = ManagedProcess.start('node', ['--enable-source-maps', DIST('api')], {
      env: {
        ...process.env,
        DATABASE_URL: this.databaseUrl,
        REDIS_URL: this.redisUrl,
        VIRTFLEET_API_PORT: new URL(url).port,
        VIRTFLEET_ADMIN_TOKEN_FILE: join(this.dir, 'admin-token'),
        VIRTFLEET_HEARTBEAT_INTERVAL_MS: '1000',
        ...this.opts.apiEnv,
      },
      logFile: join(this.dir, `${logName}.log`),
    });
    try {
      await waitFor(`API ${logName} ready`, async () => (await fetch(new URL('/readyz', url))).status === 200, { timeoutMs: 30_000 });
    } catch (err) {
      await api.stop(5_000);
      throw err;
    }
    return api;
  }

  async startAgent(): Promise<void> {
    this.agent = ManagedProcess.start('node', ['--enable-source-maps', DIST('agent')], {
      env: {
        ...process.env,
        // credentials (agent token, the host's own Redis user) come from the enrolled config file
        VIRTFLEET_AGENT_CONFIG: this.configFile,
        VIRTFLEET_HEARTBEAT_INTERVAL_MS: '1000',
        ...this.opts.agentEnv,
      },
      logFile: join(this.dir, 'agent.log'),
    });
    await waitFor('host online', async () => (await this.get<{ state: string }>(`/v1/hosts/${this.hostId}`)).state === 'online', {
      timeoutMs: 60_000,
    });
  }

  /** SIGKILL: no goodbye, no cleanup, as when a machine or a process dies. */
  async killAgent(): Promise<void> {
    this.agent?.kill('SIGKILL');
    await this.agent?.exited;
  }

  async killApi(): Promise<void> {
    this.api?.kill('SIGKILL');
    await this.api?.exited;
  }

  async stopAgent(graceMs = 15_000): Promise<{ code: number | null; signal: string | null } | undefined> {
    await this.agent?.stop(graceMs);
    return this.agent?.exited;
  }

  /** The API process (for its CPU and memory). */
  get apiPid(): number | undefined {
    return this.api?.pid;
  }

  get token(): string {
    return this.adminToken;
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(new URL(path, this.url), { headers: { authorization: `Bearer ${this.adminToken}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(new URL(path, this.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  }

  async delete(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(new URL(path, this.url), { method: 'DELETE', headers: { authorization: `Bearer ${this.adminToken}` } });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  }

  /** Submits a job to this fleet's host (202 expected); returns its id. */
  async submit(type: string, payload: Record<string, unknown>): Promise<string> {
    const r = await this.post('/v1/jobs', { type, hostId: this.hostId, payload });
    if (r.status !== 202) throw new Error(`submit ${type}: ${r.status} ${JSON.stringify(r.body)}`);
    return String(r.body['id']);
  }

  job(id: string, waitSeconds = 0): Promise<JobView> {
    return this.get<JobView>(`/v1/jobs/${id}${waitSeconds ? `?wait=${waitSeconds}` : ''}`);
  }

  /** The job a route answered 202 for, once it has ended (any other answer throws, with the body). */
  async accepted(r: { status: number; body: Record<string, unknown> }, what: string, waitSeconds = 120): Promise<JobView> {
    if (r.status !== 202) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return this.job(String(r.body['id']), waitSeconds);
  }

  /** Submits and waits (server-side) until the job ends. */
  async run(type: string, payload: Record<string, unknown>, waitSeconds = 120): Promise<JobView> {
    return this.job(await this.submit(type, payload), waitSeconds);
  }

  async stop(): Promise<void> {
    if (this.upEnv) {
      await runner.run({ cmd: 'bash', args: [join(REPO_ROOT, 'scripts/down.sh')], env: this.upEnv }, { timeoutMs: 120_000 });
      return this.dropPools();
    }
    await this.agent?.stop(15_000);
    await Promise.all([this.api, ...this.replicas].map((api) => api?.stop(15_000)));
    await this.db?.drop();
    await this.dropPools();
  }

  /** The storage pools our agents defined over this fleet's folders (libvirtd is shared by every test). */
  private dropPools(): Promise<void> {
    return dropPools((path) => path.startsWith(`${this.dir}/`));
  }
}

/** Removes the agents' storage pools (`virtfleet-*`) whose folder `which` picks. */
async function dropPools(which: (path: string) => boolean): Promise<void> {
  const names = (await runner.run({ cmd: 'virsh', args: ['-q', 'pool-list', '--all', '--name'] })).stdout.split('\n').filter((n) => n.startsWith('virtfleet-'));
  for (const name of names) {
    const path = /<path>([^<]*)<\/path>/.exec((await runner.run({ cmd: 'virsh', args: ['pool-dumpxml', name] })).stdout)?.[1];
    if (path === undefined || !which(path)) continue;
    await runner.run({ cmd: 'virsh', args: ['pool-destroy', name] });
    await runner.run({ cmd: 'virsh', args: ['pool-undefine', name] });
  }
}

/** The pools a killed test run left over folders that are gone (its Fleet never stopped): run at setup. */
export function dropStalePools(): Promise<void> {
  return dropPools((path) => !existsSync(path));
}

/** The real tool, run directly on the host, to check what a job did. */
export async function onHost(cmd: string, ...args: string[]): Promise<string> {
  return assertSucceeded(await runner.run({ cmd, args }, { timeoutMs: 60_000 })).stdout;
}

/** Destroys and undefines every domain whose name starts with `prefix`: what a test left on the shared libvirtd. */
export async function removeDomains(prefix: string): Promise<void> {
  const names = (await onHost('virsh', '-q', 'list', '--all', '--name')).split('\n').filter((n) => n.startsWith(prefix));
  for (const n of names) {
    await onHost('virsh', 'destroy', n).catch(() => undefined);
    await onHost('virsh', 'undefine', n, '--nvram', '--snapshots-metadata').catch(() => undefined);
  }
}

/** The tiny guest booted straight from its kernel and initramfs (the fixtures folder is the agent's iso root). */
export const TINY_KERNEL_BOOT = { kind: 'kernel', kernel: 'vmlinux', initrd: 'initramfs.gz', cmdline: 'console=ttyS0 quiet panic=-1' };

/** Host processes whose command line contains `needle` (ours: a unique sleep length). */
export async function hostProcesses(needle: string): Promise<string[]> {
  const r = await runner.run({ cmd: 'pgrep', args: ['-af', needle] });
  return r.stdout.split('\n').filter((l) => l.trim() && !l.includes('pgrep'));
}
