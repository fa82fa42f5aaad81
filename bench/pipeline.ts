import { Queue, QueueEvents, Worker } from 'bullmq';
import { Fleet } from '@virtfleet/testing';
import type { Bench, BenchOptions, BenchOutput } from './lib/bench';
import { ratio, since, summarize, type Summary } from './lib/stats';

// The whole product's job pipeline against raw BullMQ on the same Redis, in the same run:
// no-op jobs through HTTP submit → PostgreSQL → Redis → agent → report → PostgreSQL, seen
// through the API; and BullMQ's own add → process → complete, seen through its queue events.

const CONCURRENCY = 64; // the agent's (VIRTFLEET_AGENT_CONCURRENCY) and the raw worker's: no-op jobs wait on round trips, not CPU
const IN_FLIGHT = 64; // single-job HTTP submits at once (a service submitting in parallel)
const BATCH = 500; // jobs per POST /v1/jobs/batch
const BATCHES_IN_FLIGHT = 4;

interface Sizes {
  throughputJobs: number;
  /** The one-request-per-job variant (slower: fewer jobs). */
  singleJobs: number;
  latencyJobs: number;
  rounds: number;
}

const FULL: Sizes = { throughputJobs: 20_000, singleJobs: 5_000, latencyJobs: 500, rounds: 2 };
const SMOKE: Sizes = { throughputJobs: 200, singleJobs: 100, latencyJobs: 20, rounds: 1 };

/** Raw BullMQ: addBulk in chunks, a worker that does nothing, until every job completed. */
async function rawThroughput(redisUrl: string, n: number): Promise<number> {
  const name = `bench-raw-${Date.now()}`;
  const queue = new Queue(name, { connection: { url: redisUrl } });
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => (finished = r));
  const worker = new Worker(name, async () => undefined, { connection: { url: redisUrl, maxRetriesPerRequest: null }, concurrency: CONCURRENCY });
  worker.on('completed', () => {
    if (++done === n) finished();
  });
  await worker.waitUntilReady();
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    const chunk = Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: { removeOnComplete: true, removeOnFail: true } }));
    await queue.addBulk(chunk);
  }
  await all;
  const ms = since(t0);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return (n / ms) * 1000;
}

/** Raw BullMQ: one job at a time, add → its completed event. */
async function rawLatency(redisUrl: string, n: number): Promise<number[]> {
  const name = `bench-rawlat-${Date.now()}`;
  const queue = new Queue(name, { connection: { url: redisUrl } });
  const events = new QueueEvents(name, { connection: { url: redisUrl } });
  const worker = new Worker(name, async () => undefined, { connection: { url: redisUrl, maxRetriesPerRequest: null }, concurrency: CONCURRENCY });
  await Promise.all([worker.waitUntilReady(), events.waitUntilReady()]);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const job = await queue.add('noop', { i }, { removeOnComplete: 1000, removeOnFail: 1000 });
    await job.waitUntilFinished(events, 30_000);
    samples.push(since(t0));
  }
  await worker.close();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return samples;
}

/** Ours: jobs submitted over HTTP (POST /v1/jobs/batch, or one POST /v1/jobs each), until the API says every one succeeded. */
async function oursThroughput(fleet: Fleet, n: number, batched: boolean): Promise<{ perSecond: number; submitPerSecond: number }> {
  const before = await succeeded(fleet);
  const t0 = performance.now();
  let next = 0;
  const single = async () => {
    while (next < n) {
      next++;
      await fleet.submit('noop', {});
    }
  };
  const batches = async () => {
    while (next < n) {
      const size = Math.min(BATCH, n - next);
      next += size;
      const r = await fleet.post('/v1/jobs/batch', { jobs: Array.from({ length: size }, () => ({ type: 'noop', hostId: fleet.hostId, payload: {} })) });
      if (r.status !== 202) throw new Error(`batch submit: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    }
  };
  await Promise.all(batched ? Array.from({ length: BATCHES_IN_FLIGHT }, batches) : Array.from({ length: IN_FLIGHT }, single));
  const submitMs = since(t0);
  while ((await succeeded(fleet)) - before < n) await new Promise((r) => setTimeout(r, 20));
  return { perSecond: (n / since(t0)) * 1000, submitPerSecond: (n / submitMs) * 1000 };
}

async function succeeded(fleet: Fleet): Promise<number> {
  const stats = await fleet.get<{ byState: Record<string, number> }>(`/v1/jobs/stats?hostId=${fleet.hostId}&type=noop`);
  return stats.byState['succeeded'] ?? 0;
}

/** Ours: one job at a time, POST /v1/jobs → GET /v1/jobs/:id?wait= answers its final state. */
async function oursLatency(fleet: Fleet, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const job = await fleet.job(await fleet.submit('noop', {}), 30);
    if (job.state !== 'succeeded') throw new Error(`noop job ${job.id} ended ${job.state}`);
    samples.push(since(t0));
  }
  return samples;
}

const ms = (v: number) => v.toFixed(2);

export const pipeline: Bench = {
  name: 'pipeline',
  description:
    'No-op jobs through the whole product (HTTP submit → PostgreSQL → Redis → agent → report → PostgreSQL, final state read through the API) against raw BullMQ add → process → complete on the same Redis, alternating in one run.',
  async run({ smoke, log }: BenchOptions): Promise<BenchOutput> {
    const size = smoke ? SMOKE : FULL;
    const fleet = await Fleet.start({
      name: 'bench-pipeline',
      apiEnv: { VIRTFLEET_TEST_JOBS: '1' },
      agentEnv: { VIRTFLEET_AGENT_CONCURRENCY: String(CONCURRENCY) },
    });
    try {
      const raw = { tput: [] as number[], lat: [] as number[] };
      const ours = { tput: [] as number[], submit: [] as number[], lat: [] as number[] };
      const single = await oursThroughput(fleet, size.singleJobs, false);
      log(`one request per job: ${single.perSecond.toFixed(0)} jobs/s`);
      // Warm both sides (JIT, connections, query plans) before measuring.
      await oursLatency(fleet, Math.min(20, size.latencyJobs));
      await rawLatency(fleet.redisUrl, Math.min(20, size.latencyJobs));
      for (let round = 1; round <= size.rounds; round++) {
        log(`round ${round}/${size.rounds}: throughput, ${size.throughputJobs} jobs each`);
        raw.tput.push(await rawThroughput(fleet.redisUrl, size.throughputJobs));
        const o = await oursThroughput(fleet, size.throughputJobs, true);
        ours.tput.push(o.perSecond);
        ours.submit.push(o.submitPerSecond);
        log(`round ${round}: raw ${raw.tput.at(-1)?.toFixed(0)} jobs/s, ours ${o.perSecond.toFixed(0)} jobs/s; latency, ${size.latencyJobs} sequential jobs each`);
        raw.lat.push(...(await rawLatency(fleet.redisUrl, size.latencyJobs)));
        ours.lat.push(...(await oursLatency(fleet, size.latencyJobs)));
      }
      const median = (xs: number[]) => summarize(xs).p50;
      const rawT = median(raw.tput);
      const oursT = median(ours.tput);
      const rl: Summary = summarize(raw.lat);
      const ol: Summary = summarize(ours.lat);
      return {
        tables: [
          {
            title: `Throughput (jobs/s, median of ${size.rounds} rounds of ${size.throughputJobs} jobs; worker concurrency ${CONCURRENCY}; ours submitted with POST /v1/jobs/batch, ${BATCH} a request, ${BATCHES_IN_FLIGHT} requests at a time; raw with addBulk of 1,000)`,
            columns: ['', 'raw BullMQ', 'virtfleet', 'virtfleet / raw'],
            rows: [
              ['jobs/s, submit to all succeeded', rawT.toFixed(0), oursT.toFixed(0), ratio(oursT, rawT)],
              ['rounds', raw.tput.map((v) => v.toFixed(0)).join(', '), ours.tput.map((v) => v.toFixed(0)).join(', '), ''],
              ['submit rate alone (jobs/s accepted)', '', median(ours.submit).toFixed(0), ''],
              [`one POST /v1/jobs per job, ${IN_FLIGHT} at a time (${size.singleJobs} jobs)`, '', single.perSecond.toFixed(0), ratio(single.perSecond, rawT)],
            ],
          },
          {
            title: `Single-job latency (ms, ${rl.n} sequential jobs each: submit → final state visible)`,
            columns: ['', 'raw BullMQ', 'virtfleet', 'virtfleet / raw'],
            rows: (['p50', 'p90', 'p99', 'min', 'max'] as const).map((k) => [k, ms(rl[k]), ms(ol[k]), ratio(ol[k], rl[k])]),
          },
        ],
        targets: [
          { what: 'throughput', target: '≥ 0.25× raw', measured: ratio(oursT, rawT), met: oursT >= 0.25 * rawT },
          { what: 'latency p50', target: '≤ 3× raw', measured: ratio(ol.p50, rl.p50), met: ol.p50 <= 3 * rl.p50 },
          { what: 'latency p99', target: '≤ 25 ms', measured: `${ms(ol.p99)} ms`, met: ol.p99 <= 25 },
        ],
      };
    } finally {
      await fleet.stop();
    }
  },
};
