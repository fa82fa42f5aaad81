import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobReport, QueuedJobData, ReportAck } from '@virtfleet/contracts';
import { FakeRunner } from '@virtfleet/exec';
import pino from 'pino';
import { Agent } from './agent';
import { ApiClient } from './api-client';
import { loadAgentConfig } from './config/agent.config';
import { HostFactsCollector } from './host/host-facts';

/** An ApiClient that answers as the API would; command logs are refused (the line about it must name the job too). */
class FakeApi extends ApiClient {
  constructor(private readonly claim: ReportAck) {
    super('http://127.0.0.1:9', 'unused-token-0123456789', pino({ enabled: false }));
  }
  override report(r: JobReport): Promise<ReportAck> {
    if (r.kind === 'command') return Promise.reject(new Error('API refused /v1/agent/reports with 400'));
    return Promise.resolve(r.kind === 'started' ? this.claim : { outcome: 'applied' });
  }
}

const LIBVIRTD_DOWN = "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory\n";

describe("the agent's log lines about a job", () => {
  let dir: string;
  let runner: FakeRunner;
  let lines: Array<Record<string, unknown>>;
  let raw: string[];
  const hostId = randomUUID();

  const agent = (claim: ReportAck = { outcome: 'applied', attempt: 1 }) => {
    const config = loadAgentConfig({
      VIRTFLEET_API_URL: 'http://127.0.0.1:9',
      VIRTFLEET_HOST_ID: hostId,
      VIRTFLEET_AGENT_TOKEN: 'vfa_0123456789abcdefghijklmnop',
      REDIS_URL: 'redis://127.0.0.1:9',
      VIRTFLEET_STORAGE_ROOT: join(dir, 'store'),
    });
    // The agent's pino logger, at its most verbose, into an array: one JSON object per line.
    const log = pino({ name: 'virtfleet-agent', level: 'trace' }, {
      write: (s: string) => {
        raw.push(s);
        lines.push(JSON.parse(s) as Record<string, unknown>);
      },
    });
    return new Agent({
      config,
      runner,
      log,
      api: new FakeApi(claim),
      facts: new HostFactsCollector({ libvirtUri: config.libvirtUri, storageRoot: config.storageRoot, kvmProbeTimeoutMs: 1000, agentVersion: 't' }),
    });
  };
  const delivery = (data: QueuedJobData, attemptsMade = 0) => ({
    id: randomUUID(),
    data,
    attemptsMade,
    opts: { attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
  });
  /** The job's lines flushed: the refused command log is reported without being awaited. */
  const settle = () => new Promise((r) => setImmediate(r));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vf-logs-'));
    runner = new FakeRunner();
    lines = [];
    raw = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('every line of a delivery (its commands and the report that failed included) carries jobId, hostId and requestId', async () => {
    runner.on('sleep', { exitCode: 0 });
    const job = delivery({ type: 'sleep', payload: { seconds: 1 }, requestId: 'req-abc' });
    await agent().process(job);
    await settle();
    expect(lines.map((l) => l['msg']).sort()).toEqual(['command log not reported', 'command ran', 'job done', 'job started']);
    for (const l of lines) expect(l).toMatchObject({ jobId: job.id, hostId, requestId: 'req-abc', name: 'virtfleet-agent' });
    // Once each: the call sites do not repeat the child logger's fields (pino would write them twice).
    for (const s of raw) for (const f of ['jobId', 'hostId', 'requestId']) expect(s.split(`"${f}"`)).toHaveLength(2);
  });

  it('so does a retry, a failed delivery, a refused claim and a payload that no longer parses', async () => {
    runner.on('sleep', { exitCode: 1, stderr: LIBVIRTD_DOWN });
    const retried = delivery({ type: 'sleep', payload: { seconds: 1 }, requestId: 'req-1' });
    await expect(agent().process(retried)).rejects.toThrow(/retrying/);
    const invalid = delivery({ type: 'sleep', payload: { seconds: -1 }, requestId: 'req-2' });
    await agent().process(invalid);
    const refused = delivery({ type: 'sleep', payload: { seconds: 1 }, requestId: 'req-3' });
    await agent({ outcome: 'job_final' }).process(refused);
    await settle();
    const of = (id: string) => lines.filter((l) => l['jobId'] === id);
    expect(of(retried.id).map((l) => l['msg'])).toEqual(expect.arrayContaining(['job started', 'transient failure, retrying']));
    expect(of(invalid.id).map((l) => l['msg'])).toEqual(['job failed before it ran']);
    expect(of(refused.id).map((l) => l['msg'])).toEqual(['job not ours to run any more']);
    for (const l of lines) {
      const id = l['jobId'];
      expect(l).toMatchObject({ hostId, requestId: id === retried.id ? 'req-1' : id === invalid.id ? 'req-2' : 'req-3' });
    }
  });

  it('a job queued without a request id (before the API stored them) logs none', async () => {
    runner.on('sleep', { exitCode: 0 });
    const job = delivery({ type: 'sleep', payload: { seconds: 1 } });
    await agent().process(job);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l).toMatchObject({ jobId: job.id, hostId });
      expect(l).not.toHaveProperty('requestId');
    }
  });
});
