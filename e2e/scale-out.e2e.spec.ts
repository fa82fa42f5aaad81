import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManagedProcess } from '@virtfleet/exec';
import {
  eventStream,
  testServices,
  waitFor,
  Fleet,
  RedisClusterUnderTest,
  RedisSentinelUnderTest,
  TcpBalancer,
  type JobView,
} from '@virtfleet/testing';

// Issue 11's scale-out, for real on loopback: two API replicas behind a balancer on one
// PostgreSQL, agents of two hosts, and Redis as a 3-master cluster (with a replica each) or a
// Sentinel group. Replicas, Redis masters and agents are separate processes; the tests SIGKILL them.

const FAST = {
  VIRTFLEET_TEST_JOBS: '1',
  VIRTFLEET_RECONCILE_INTERVAL_MS: '1000',
  VIRTFLEET_RECONCILE_GRACE_MS: '3000',
  VIRTFLEET_DISPATCH_INTERVAL_MS: '500',
};
const AGENT = { VIRTFLEET_AGENT_CONCURRENCY: '16', VIRTFLEET_LOCK_DURATION_MS: '5000', VIRTFLEET_STALLED_INTERVAL_MS: '2000' };

interface Deployment {
  fleet: Fleet;
  replica: { url: string; process: ManagedProcess };
  lb: TcpBalancer;
  hosts: string[];
  agents: ManagedProcess[];
}

async function deploy(redisUrl: string, name: string): Promise<Deployment> {
  const fleet = await Fleet.start({ name, agent: false, redisUrl, apiEnv: FAST });
  const replica = await fleet.startApiReplica('api-2');
  const lb = await TcpBalancer.start([Number(new URL(fleet.url).port), Number(new URL(replica.url).port)]);
  const hosts: string[] = [];
  const agents: ManagedProcess[] = [];
  for (const h of ['a', 'b']) {
    const { hostId, configFile } = await fleet.enrollHost(`${name}-${h}`, join(fleet.dir, `store-${h}`));
    hosts.push(hostId);
    // agents talk to the balancer, as they would to a load balancer in front of the replicas
    agents.push(fleet.startExtraAgent(configFile, `agent-${h}`, { ...AGENT, VIRTFLEET_API_URL: lb.url }));
  }
  for (const id of hosts) {
    await waitFor(`host ${id} online`, async () => (await fleet.get<{ state: string }>(`/v1/hosts/${id}`)).state === 'online', { timeoutMs: 60_000 });
  }
  return { fleet, replica, lb, hosts, agents };
}

async function undeploy(d: Deployment | undefined): Promise<void> {
  if (!d) return;
  await Promise.all(d.agents.map((a) => a.stop(10_000)));
  await d.lb.stop();
  await d.fleet.stop();
}

/**
 * Submits `count` noop jobs in batches of 100 through `url`, hosts taking turns; a batch whose
 * answer was lost (the replica died mid-request) is sent again with the same Idempotency-Key, as a
 * careful client does. `between(i)` runs before batch i.
 */
async function submitAll(d: Deployment, url: string, count: number, between: (batch: number) => Promise<void> = async () => undefined): Promise<string[]> {
  const ids: string[] = [];
  for (let b = 0; b * 100 < count; b++) {
    await between(b);
    const jobs = Array.from({ length: Math.min(100, count - b * 100) }, (_, i) => ({ type: 'noop', hostId: d.hosts[i % d.hosts.length], payload: {} }));
    const key = `scale-${Date.now()}-${b}`;
    const answer = await waitFor(`batch ${b} answered`, async () => {
      const res = await fetch(`${url}/v1/jobs/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${d.fleet.token}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ jobs }),
      }).catch(() => undefined);
      if (!res || res.status >= 500) return undefined; // no answer: send it again
      return { status: res.status, body: (await res.json()) as { items: { id: string }[] } };
    }, { timeoutMs: 60_000, intervalMs: 200 });
    if (answer.status !== 202 && answer.status !== 200) throw new Error(`batch ${b}: ${answer.status} ${JSON.stringify(answer.body)}`);
    ids.push(...answer.body.items.map((j) => j.id));
  }
  return ids;
}

/** Every job's final row (waits for all to end). */
async function ends(fleetUrl: string, token: string, ids: string[], timeoutMs = 180_000): Promise<JobView[]> {
  const out: JobView[] = [];
  for (let i = 0; i < ids.length; i += 50) {
    out.push(...(await Promise.all(ids.slice(i, i + 50).map((id) => waitFor(`job ${id} final`, async () => {
      const res = await fetch(`${fleetUrl}/v1/jobs/${id}?wait=10`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
      if (!res?.ok) return undefined;
      const j = (await res.json()) as JobView;
      return ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(j.state) ? j : undefined;
    }, { timeoutMs, intervalMs: 200 })))));
  }
  return out;
}

function tally(jobs: JobView[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const j of jobs) t[j.state] = (t[j.state] ?? 0) + 1;
  return t;
}

describe('scale-out: Redis Cluster, two API replicas', () => {
  let cluster: RedisClusterUnderTest;
  let d: Deployment;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(testServices().dir, 'redis-cluster-'));
    cluster = await RedisClusterUnderTest.start(dir);
    d = await deploy(cluster.url, 'e2e-cluster');
  }, 180_000);
  afterAll(async () => {
    await undeploy(d);
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('a job submitted on one replica is seen ending on the other replica\'s SSE and ?wait=', async () => {
    const stream = await eventStream(`${d.replica.url}/v1/events`, d.fleet.token);
    try {
      const r = await d.fleet.post('/v1/jobs', { type: 'noop', hostId: d.hosts[0], payload: {} });
      expect(r.status).toBe(202);
      const id = String(r.body['id']);
      const res = await fetch(`${d.replica.url}/v1/jobs/${id}?wait=20`, { headers: { authorization: `Bearer ${d.fleet.token}` } });
      expect(((await res.json()) as JobView).state).toBe('succeeded');
      await waitFor('job.finished on the other replica', () => stream.events.some((e) => e.event === 'job.finished' && e.data.includes(id)), { timeoutMs: 10_000 });
    } finally {
      await stream.close();
    }
  }, 60_000);

  it('1,000 jobs over two agents all succeed exactly once; one replica SIGKILLed midway loses nothing', async () => {
    const ids = await submitAll(d, d.lb.url, 1_000, async (b) => {
      if (b === 5) await d.fleet.killApi(); // half the batches in: the first replica dies, mid-traffic
    });
    expect(new Set(ids).size).toBe(1_000);
    const done = await ends(d.lb.url, d.fleet.token, ids);
    expect(tally(done)).toEqual({ succeeded: 1_000 });
    // exactly once: each job was claimed by one delivery, which is the one that ended it
    expect(done.filter((j) => j.attempt !== 1).map((j) => `${j.id}: attempt ${j.attempt}`)).toEqual([]);
    // both hosts did work through the cluster
    const perHost = new Map<string, number>();
    for (const j of done as (JobView & { hostId: string })[]) perHost.set(j.hostId, (perHost.get(j.hostId) ?? 0) + 1);
    expect([...perHost.values()]).toEqual([500, 500]);
    // the survivor took over the background loops when the first replica's leases went with its session
    const survivor = await readFile(join(d.fleet.dir, 'api-2.log'), 'utf8');
    expect(survivor).toContain('this replica now runs dispatcher');
    expect(survivor).toContain('this replica now runs reconciler');
  }, 300_000);

  it('the master serving a host\'s queue is SIGKILLed during a job flow: its replica takes over, every job ends once', async () => {
    const victim = await cluster.masterOf(`{host-${d.hosts[0]}}`);
    const ids = await submitAll(d, d.lb.url, 400, async (b) => {
      if (b === 2) await cluster.kill(victim);
    });
    const done = await ends(d.lb.url, d.fleet.token, ids);
    expect(tally(done)).toEqual({ succeeded: 400 });
    expect(await cluster.masterOf(`{host-${d.hosts[0]}}`)).not.toBe(victim);
  }, 300_000);
});

describe('scale-out: Redis Sentinel', () => {
  let sentinel: RedisSentinelUnderTest;
  let d: Deployment;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(testServices().dir, 'redis-sentinel-'));
    sentinel = await RedisSentinelUnderTest.start(dir);
    d = await deploy(sentinel.url, 'e2e-sentinel');
  }, 180_000);
  afterAll(async () => {
    await undeploy(d);
    await sentinel?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('the master is SIGKILLed during a job flow: after the failover every accepted job reaches exactly one final state', async () => {
    const before = await sentinel.masterPort();
    const ids = await submitAll(d, d.lb.url, 600, async (b) => {
      if (b === 2) await sentinel.kill(before);
    });
    const done = await ends(d.lb.url, d.fleet.token, ids);
    expect(tally(done)).toEqual({ succeeded: 600 });
    expect(await sentinel.masterPort()).not.toBe(before);
    // still working on the new master, through both replicas
    const more = await submitAll(d, d.replica.url, 100);
    expect(tally(await ends(d.fleet.url, d.fleet.token, more))).toEqual({ succeeded: 100 });
  }, 300_000);
});
