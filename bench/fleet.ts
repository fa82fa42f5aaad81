import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ManagedProcess } from '@virtfleet/exec';
import { Fleet, REPO_ROOT, waitFor } from '@virtfleet/testing';
import type { Bench, BenchOptions, BenchOutput, Target } from './lib/bench';
import { percentile, since } from './lib/stats';

// A fleet of simulated hosts against one API: `virtfleet-agent simulate` serves many hosts per
// process — each the real agent with its own credentials, Redis connections, BullMQ worker,
// heartbeats and inventory reports, only its 50 domains come from libvirt's test driver and no
// command runs (bench/…/simulate.ts). The fleet grows in steps (100, 500, 1,000 hosts); at each
// step, once every host is serving and has reported, a steady-state window measures the API's
// CPU and memory, Redis, heartbeat round trips, the first page of GET /v1/vms and noop job
// latency, with a job stream and list readers running throughout.

const AGENT = join(REPO_ROOT, 'dist/apps/agent/src/main.js');
const HOSTS_PER_PROCESS = 250;
const TICK_HZ = 100; // /proc/<pid>/stat counts CPU time in clock ticks (USER_HZ)

interface SimStats {
  hosts: number;
  started: number;
  failed: number;
  errors?: string[];
  heartbeats: Array<[number, number]>;
}

interface Level {
  hosts: number;
  vms: number;
  /** Steady state: heartbeats, inventories and the job stream. */
  apiCpuPct: number;
  /** The same with a reader of GET /v1/vms. */
  apiCpuListPct: number;
  apiRssMiB: number;
  redisClients: number;
  redisMiB: number;
  heartbeatMs: number[];
  listMs: number[];
  jobMs: number[];
}

/** CPU seconds the process has used (user + system). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK_HZ; // utime, stime (fields 14, 15)
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

function infoField(info: string, key: string): number {
  return Number(new RegExp(`^${key}:(\\d+)`, 'm').exec(info)?.[1] ?? Number.NaN);
}

const fmt = (samples: number[]) => (samples.length ? `${percentile(samples, 50).toFixed(1)} / ${percentile(samples, 99).toFixed(1)}` : 'n/a');

export const fleet: Bench = {
  name: 'fleet',
  description:
    'Simulated hosts (virtfleet-agent simulate: the real agent, 50 test-driver domains each, heartbeats every 10 s, full inventory every 60 s) against one API, at 100, 500 and 1,000 hosts, with a noop job stream and list readers: API CPU and memory, Redis, heartbeat round trip, GET /v1/vms first page, job latency.',
  async run({ smoke, log }: BenchOptions): Promise<BenchOutput> {
    const steps = smoke ? [4] : [100, 500, 1000];
    const vms = smoke ? 5 : 50;
    const heartbeatMs = smoke ? 1_000 : 10_000;
    const inventoryMs = smoke ? 3_000 : 60_000;
    const windowMs = smoke ? 4_000 : 60_000;
    const settleMs = smoke ? 1_000 : 15_000;
    const f = await Fleet.start({ name: 'bench-fleet', agent: false, apiEnv: { VIRTFLEET_HEARTBEAT_INTERVAL_MS: String(heartbeatMs), VIRTFLEET_TEST_JOBS: '1' } });
    const sims: ManagedProcess[] = [];
    const statsFiles: string[] = [];
    const redis = new Redis(f.redisUrl, { maxRetriesPerRequest: null });
    const levels: Level[] = [];
    try {
      const apiPid = f.apiPid;
      if (!apiPid) throw new Error('the API process has no pid');
      const readStats = async () =>
        Promise.all(statsFiles.map(async (file) => JSON.parse(await readFile(file, 'utf8').catch(() => '{"hosts":0,"started":0,"failed":0,"heartbeats":[]}')) as SimStats));
      let hosts = 0;
      for (const target of steps) {
        const adding = target - hosts;
        log(`${target} hosts: starting ${adding} more (spread over ${inventoryMs / 1000} s, as a real fleet's timers are)`);
        for (let first = hosts; first < target; first += HOSTS_PER_PROCESS) {
          const count = Math.min(HOSTS_PER_PROCESS, target - first);
          const tokens: string[] = [];
          for (let i = 0; i < count; i++) {
            const r = await f.post('/v1/hosts/join-tokens', {});
            if (r.status !== 201) throw new Error(`join token: ${r.status} ${JSON.stringify(r.body)}`);
            tokens.push(String(r.body['token']));
          }
          const tokensFile = join(f.dir, `sim-${first}.tokens`);
          await writeFile(tokensFile, `${tokens.join('\n')}\n`, { mode: 0o600 });
          const stats = join(f.dir, `sim-${first}.stats.json`);
          statsFiles.push(stats);
          const args = ['simulate', '--api', f.url, '--tokens', tokensFile, '--dir', join(f.dir, `sim-${first}`), '--stats', stats, '--first', String(first)];
          args.push('--vms', String(vms), '--heartbeat-ms', String(heartbeatMs), '--inventory-ms', String(inventoryMs), '--ramp-ms', String(inventoryMs));
          sims.push(ManagedProcess.start('node', ['--enable-source-maps', AGENT, ...args], { env: process.env, logFile: join(f.dir, `sim-${first}.log`) }));
        }
        const deadline = Date.now() + inventoryMs + 300_000;
        for (;;) {
          // a dead process or a host that failed to start ends the run at once, not at the deadline
          if (sims.some((p) => !p.running)) throw new Error(`a simulate process exited: see ${f.dir}/sim-*.log`);
          const all = await readStats();
          const failed = all.reduce((n, s) => n + s.failed, 0);
          if (failed) throw new Error(`${failed} simulated host(s) did not start: ${all.flatMap((s) => s.errors ?? []).join('; ')}`);
          if (all.reduce((n, s) => n + s.started, 0) === target) break;
          if (Date.now() > deadline) throw new Error(`${target} simulated hosts not serving in time: see ${f.dir}/sim-*.log`);
          await new Promise((r) => setTimeout(r, 1_000));
        }
        hosts = target;
        // every host's first full inventory is in once the VM count is whole
        await waitFor(`${target * vms} VMs listed`, async () => (await vmCount(f)) >= target * vms, { timeoutMs: 300_000, intervalMs: 5_000 });
        await new Promise((r) => setTimeout(r, settleMs));
        levels.push(await measure(f, apiPid, redis, target, windowMs, readStats, log));
      }
    } finally {
      redis.disconnect();
      await Promise.all(sims.map((p) => p.stop(20_000)));
      await f.stop();
    }
    const top = levels[levels.length - 1] as Level;
    const targets: Target[] = [
      { what: `API CPU at ${top.hosts} hosts, steady state`, target: '< 25 % of a core', measured: `${top.apiCpuPct.toFixed(1)} %`, met: top.apiCpuPct < 25 },
      { what: `GET /v1/vms first page p99 over ${top.vms} VMs`, target: '< 50 ms', measured: `${percentile(top.listMs, 99).toFixed(1)} ms`, met: percentile(top.listMs, 99) < 50 },
    ];
    return {
      tables: [
        {
          title: `Steady state, a ${windowMs / 1000} s window per step, then ${windowMs / 2000} s more with a VM list reader (latencies: p50 / p99 ms)`,
          columns: ['hosts', 'VMs', 'API CPU (% of a core)', 'API CPU with a list reader', 'API RSS', 'Redis clients', 'Redis memory', 'heartbeat round trip', 'GET /v1/vms first page', 'noop job submit → succeeded'],
          rows: levels.map((l) => [
            l.hosts,
            l.vms,
            `${l.apiCpuPct.toFixed(1)} %`,
            `${l.apiCpuListPct.toFixed(1)} %`,
            `${l.apiRssMiB.toFixed(0)} MiB`,
            l.redisClients,
            `${l.redisMiB.toFixed(0)} MiB`,
            fmt(l.heartbeatMs),
            fmt(l.listMs),
            fmt(l.jobMs),
          ]),
        },
      ],
      targets,
      notes: [
        `Steady state: every host's heartbeats and full inventories (with its storage scan), and a stream of ${JOBS_PER_S} noop jobs a second to random hosts, each timed submit → succeeded (read with ?wait=). Then a reader of GET /v1/vms (first page, 50 VMs, newest first) every ${LIST_PAUSE_MS} ms joins.`,
        'Heartbeat round trip: the agent’s POST /v1/agent/heartbeat, which writes the host’s state before it answers.',
        'Every process shares the same 2 cores: the simulated agents’ own CPU slows the API’s answers, not its CPU time.',
      ],
    };
  },
};

const LIST_PAUSE_MS = 200;
const JOBS_PER_S = 2;

async function vmCount(f: Fleet): Promise<number> {
  // the API pages by 500 at most: count through the cursor
  let n = 0;
  let cursor: string | null = null;
  do {
    const page: { items: unknown[]; nextCursor: string | null } = await f.get(`/v1/vms?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    n += page.items.length;
    cursor = page.nextCursor;
  } while (cursor);
  return n;
}

/** Noop jobs to random hosts at a steady rate (open loop: a slow job does not slow the stream), each timed submit → succeeded. */
function jobStream(f: Fleet, hostIds: readonly string[], until: () => boolean): { done: Promise<void>; ms: number[] } {
  const ms: number[] = [];
  const one = async () => {
    const hostId = hostIds[Math.floor(Math.random() * hostIds.length)];
    const t = performance.now();
    const r = await f.post('/v1/jobs', { type: 'noop', hostId, payload: {} });
    if (r.status !== 202) throw new Error(`noop job: ${r.status} ${JSON.stringify(r.body)}`);
    const job = await f.job(String(r.body['id']), 30);
    if (job.state !== 'succeeded') throw new Error(`noop job ${job.id} ${job.state}: ${JSON.stringify(job.error)}`);
    ms.push(since(t));
  };
  const done = (async () => {
    const running: Array<Promise<void>> = [];
    while (!until()) {
      running.push(one());
      await new Promise((r) => setTimeout(r, 1000 / JOBS_PER_S));
    }
    await Promise.all(running);
  })();
  return { done, ms };
}

/** The API's CPU over a stretch of time, as % of one core. */
async function cpuOver(apiPid: number, fn: () => Promise<void>): Promise<number> {
  const t0 = Date.now();
  const cpu0 = await cpuSeconds(apiPid);
  await fn();
  return (((await cpuSeconds(apiPid)) - cpu0) / ((Date.now() - t0) / 1000)) * 100;
}

async function measure(
  f: Fleet,
  apiPid: number,
  redis: Redis,
  hosts: number,
  windowMs: number,
  readStats: () => Promise<SimStats[]>,
  log: (line: string) => void,
): Promise<Level> {
  const hostIds = (await f.get<{ items: Array<{ id: string; name: string }> }>('/v1/hosts')).items.filter((h) => h.name.startsWith('sim-')).map((h) => h.id);
  const t0 = Date.now();
  const listFrom = t0 + windowMs;
  const end = listFrom + windowMs / 2;
  const jobs = jobStream(f, hostIds, () => Date.now() >= end);
  // 1. the fleet at steady state: heartbeats, inventories and the job stream
  const apiCpuPct = await cpuOver(apiPid, () => new Promise((r) => setTimeout(r, windowMs)));
  // 2. the same, with a reader of the VM list's first page
  const listMs: number[] = [];
  const apiCpuListPct = await cpuOver(apiPid, async () => {
    while (Date.now() < end) {
      const t = performance.now();
      await f.get('/v1/vms');
      listMs.push(since(t));
      await new Promise((r) => setTimeout(r, LIST_PAUSE_MS));
    }
  });
  await jobs.done;
  const heartbeatMs = (await readStats()).flatMap((s) => s.heartbeats.filter(([t]) => t >= t0 && t <= listFrom).map(([, ms]) => ms));
  const clients = await redis.info('clients');
  const memory = await redis.info('memory');
  const level: Level = {
    hosts,
    vms: await vmCount(f),
    apiCpuPct,
    apiCpuListPct,
    apiRssMiB: await rssMiB(apiPid),
    redisClients: infoField(clients, 'connected_clients'),
    redisMiB: infoField(memory, 'used_memory') / 2 ** 20,
    heartbeatMs,
    listMs,
    jobMs: jobs.ms,
  };
  log(`${hosts} hosts: API ${apiCpuPct.toFixed(1)} % CPU (${apiCpuListPct.toFixed(1)} % with list readers), list p99 ${percentile(listMs, 99).toFixed(1)} ms, ${heartbeatMs.length} heartbeats, ${jobs.ms.length} jobs`);
  return level;
}
