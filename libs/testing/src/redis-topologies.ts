import { createServer } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ManagedProcess, NodeCommandRunner, assertSucceeded } from '@virtfleet/exec';
import { freePort } from './ports';
import { waitFor } from './wait';

// Real Redis Cluster and Sentinel deployments on loopback ports, from Debian's redis-server, for
// the scale-out tests: each node its own process with AOF and noeviction (as docs/deploy.md asks),
// any of them killable. Everything lives under `dir` and ends with stop().

const runner = new NodeCommandRunner({ baseEnv: process.env });

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port whose cluster bus port (+10000) is free as well. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const p = 20_000 + Math.floor(Math.random() * 20_000);
    if (!taken.has(p) && (await portFree(p)) && (await portFree(p + 10_000))) {
      taken.add(p);
      return p;
    }
  }
}

export interface RedisNodeProcess {
  port: number;
  process: ManagedProcess;
}

abstract class Topology {
  readonly nodes: RedisNodeProcess[] = [];
  constructor(
    readonly dir: string,
    readonly password: string,
  ) {}

  protected async startNode(port: number, extra: string[], name = `redis-${port}`): Promise<RedisNodeProcess> {
    const dir = join(this.dir, name);
    await mkdir(dir, { recursive: true });
    const conf = join(dir, 'redis.conf');
    const lines = [
      `port ${port}`, 'bind 127.0.0.1', 'daemonize no', `dir ${dir}`, 'save ""', 'appendonly yes', 'appendfsync everysec',
      'maxmemory-policy noeviction', `requirepass ${this.password}`, `masterauth ${this.password}`, ...extra,
    ];
    await writeFile(conf, `${lines.join('\n')}\n`);
    const node = { port, process: ManagedProcess.start('redis-server', [conf], { env: process.env, logFile: join(dir, 'log') }) };
    this.nodes.push(node);
    await waitFor(`redis on ${port}`, () => this.client(port).then(async (c) => (await c.ping().finally(() => c.disconnect())) === 'PONG'), { timeoutMs: 15_000 });
    return node;
  }

  /** A short-lived admin connection to one node (a sentinel: without the data nodes' password). */
  async client(port: number, auth = true): Promise<Redis> {
    const c = new Redis({ port, host: '127.0.0.1', ...(auth ? { password: this.password } : {}), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  async kill(port: number): Promise<void> {
    const n = this.nodes.find((x) => x.port === port);
    n?.process.kill('SIGKILL');
    await n?.process.exited;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map(async (n) => {
      n.process.kill('SIGKILL');
      await n.process.exited;
    }));
  }
}

/** `masters` masters and as many replicas (one each), made into a cluster by `redis-cli --cluster create`. */
export class RedisClusterUnderTest extends Topology {
  static async start(dir: string, masters = 3): Promise<RedisClusterUnderTest> {
    const c = new RedisClusterUnderTest(dir, `cluster-${Math.random().toString(36).slice(2)}`);
    try {
      const taken = new Set<number>();
      const ports: number[] = [];
      for (let i = 0; i < masters * 2; i++) ports.push(await clusterPort(taken));
      await Promise.all(ports.map((p) =>
        c.startNode(p, ['cluster-enabled yes', `cluster-config-file nodes-${p}.conf`, 'cluster-node-timeout 2000', 'cluster-replica-validity-factor 0']),
      ));
      assertSucceeded(await runner.run({
        cmd: 'redis-cli',
        args: ['-a', c.password, '--no-auth-warning', '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
        timeoutMs: 60_000,
      }));
      await waitFor('cluster state ok on every node', async () => {
        for (const p of ports) {
          const r = await c.client(p);
          const info = await r.cluster('INFO').finally(() => r.disconnect());
          if (!/cluster_state:ok/.test(String(info))) return false;
        }
        return true;
      }, { timeoutMs: 30_000, intervalMs: 200 });
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  /** redis-cluster://… listing every node, with the admin password (the API's URL). */
  get url(): string {
    return `redis-cluster://:${this.password}@${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  /** The port of the master that serves `key`'s slot now. */
  async masterOf(key: string): Promise<number> {
    for (const n of this.nodes) {
      if (!n.process.running) continue;
      const r = await this.client(n.port);
      try {
        const slot = Number(await r.cluster('KEYSLOT', key));
        const slots = (await r.cluster('SLOTS')) as unknown as [number, number, [string, number, string]][];
        const owner = slots.find(([from, to]) => slot >= from && slot <= to);
        if (owner) return owner[2][1];
      } finally {
        r.disconnect();
      }
    }
    throw new Error(`no live node knows who serves ${key}`);
  }
}

/** One master, two replicas and three sentinels (quorum 2) watching master group `vfmaster`. */
export class RedisSentinelUnderTest extends Topology {
  readonly master = 'vfmaster';
  readonly sentinelPorts: number[] = [];

  static async start(dir: string): Promise<RedisSentinelUnderTest> {
    const s = new RedisSentinelUnderTest(dir, `sentinel-${Math.random().toString(36).slice(2)}`);
    try {
      const [m, r1, r2] = [await freePort(), await freePort(), await freePort()];
      await s.startNode(m, []);
      await s.startNode(r1, [`replicaof 127.0.0.1 ${m}`]);
      await s.startNode(r2, [`replicaof 127.0.0.1 ${m}`]);
      for (let i = 0; i < 3; i++) {
        const port = await freePort();
        const sdir = join(dir, `sentinel-${port}`);
        await mkdir(sdir, { recursive: true });
        const conf = join(sdir, 'sentinel.conf');
        await writeFile(conf, [
          `port ${port}`, 'bind 127.0.0.1', 'daemonize no', `dir ${sdir}`,
          `sentinel monitor ${s.master} 127.0.0.1 ${m} 2`,
          `sentinel auth-pass ${s.master} ${s.password}`,
          `sentinel down-after-milliseconds ${s.master} 1000`,
          `sentinel failover-timeout ${s.master} 5000`,
          `sentinel parallel-syncs ${s.master} 1`, '',
        ].join('\n'));
        s.nodes.push({ port, process: ManagedProcess.start('redis-server', [conf, '--sentinel'], { env: process.env, logFile: join(sdir, 'log') }) });
        s.sentinelPorts.push(port);
      }
      await waitFor('sentinels see both replicas', async () => {
        for (const port of s.sentinelPorts) {
          const c = await s.client(port, false);
          try {
            const replicas = (await c.call('SENTINEL', 'REPLICAS', s.master)) as unknown[];
            const sentinels = (await c.call('SENTINEL', 'SENTINELS', s.master)) as unknown[];
            if (replicas.length < 2 || sentinels.length < 2) return false;
          } finally {
            c.disconnect();
          }
        }
        return true;
      }, { timeoutMs: 30_000, intervalMs: 200 });
      return s;
    } catch (err) {
      await s.stop();
      throw err;
    }
  }

  /** redis-sentinel://… with the admin password (the API's URL). */
  get url(): string {
    return `redis-sentinel://:${this.password}@${this.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${this.master}`;
  }

  /** The master's port, as the sentinels say. */
  async masterPort(): Promise<number> {
    for (const port of this.sentinelPorts) {
      const c = await this.client(port, false).catch(() => undefined);
      if (!c) continue; // the next sentinel
      try {
        const [, p] = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.master)) as [string, string];
        return Number(p);
      } catch {
        // the next sentinel
      } finally {
        c.disconnect();
      }
    }
    throw new Error('no sentinel answered');
  }
}
