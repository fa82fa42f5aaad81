import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobReport, ReportAck } from '@virtfleet/contracts';
import { FakeRunner } from '@virtfleet/exec';
import pino from 'pino';
import { Agent } from './agent';
import { ApiClient } from './api-client';
import { loadAgentConfig } from './config/agent.config';
import { HostFactsCollector } from './host/host-facts';

/** An ApiClient that records reports and answers as the API would. */
class RecordingApi extends ApiClient {
  readonly reports: JobReport[] = [];
  constructor(private readonly claim: ReportAck = { outcome: 'applied', attempt: 1 }) {
    super('http://127.0.0.1:9', 'unused-token-0123456789', pino({ enabled: false }));
  }
  override report(r: JobReport): Promise<ReportAck> {
    this.reports.push(r);
    return Promise.resolve(r.kind === 'started' ? this.claim : { outcome: 'applied' });
  }
}

const LIBVIRTD_DOWN = "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory\n";

describe('Agent.process (one delivery)', () => {
  let dir: string;
  let runner: FakeRunner;
  let api: RecordingApi;
  let agent: Agent;

  const make = (claim?: ReportAck) => {
    const config = loadAgentConfig({
      VIRTFLEET_API_URL: 'http://127.0.0.1:9',
      VIRTFLEET_HOST_ID: randomUUID(),
      VIRTFLEET_AGENT_TOKEN: 'vfa_0123456789abcdefghijklmnop',
      REDIS_URL: 'redis://127.0.0.1:9',
      VIRTFLEET_STORAGE_ROOT: join(dir, 'store'),
    });
    api = new RecordingApi(claim);
    agent = new Agent({
      config,
      runner,
      log: pino({ enabled: false }),
      api,
      facts: new HostFactsCollector({ libvirtUri: config.libvirtUri, storageRoot: config.storageRoot, kvmProbeTimeoutMs: 1000, agentVersion: 't' }),
    });
  };
  const delivery = (attemptsMade: number, payload: unknown = { seconds: 1 }) => ({
    id: randomUUID(),
    data: { type: 'sleep' as const, payload },
    attemptsMade,
    opts: { attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
  });
  const kinds = () => api.reports.map((r) => r.kind);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vf-process-'));
    runner = new FakeRunner();
    make();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('claims, runs, and reports the result with the attempt the API assigned', async () => {
    make({ outcome: 'applied', attempt: 4 });
    runner.on('sleep', { exitCode: 0 });
    await agent.process(delivery(0));
    expect(kinds()).toEqual(['started', 'command', 'succeeded']);
    expect(api.reports[2]).toMatchObject({ kind: 'succeeded', attempt: 4, result: { slept: 1 } });
  });

  it('runs nothing when the claim is refused (cancelled or finished meanwhile)', async () => {
    make({ outcome: 'job_final' });
    await agent.process(delivery(0));
    expect(kinds()).toEqual(['started']);
    expect(runner.calls).toEqual([]);
  });

  it('a transient failure goes back to the queue with the backoff delay, and the delivery fails for BullMQ to retry', async () => {
    runner.on('sleep', { exitCode: 1, stderr: LIBVIRTD_DOWN });
    await expect(agent.process(delivery(1))).rejects.toThrow(/retrying/);
    expect(kinds()).toEqual(['started', 'command', 'retrying']);
    expect(api.reports[2]).toMatchObject({ kind: 'retrying', delayMs: 2000, error: { code: 'command_failed', retryable: true } });
  });

  it('the last delivery of a transient failure fails the job', async () => {
    runner.on('sleep', { exitCode: 1, stderr: LIBVIRTD_DOWN });
    await agent.process(delivery(2));
    expect(kinds()).toEqual(['started', 'command', 'failed']);
    expect(api.reports[2]).toMatchObject({ kind: 'failed', error: { retryable: true, exitCode: 1 } });
  });

  it('a permanent failure fails at once, with the command, exit code and stderr tail', async () => {
    runner.on('sleep', { exitCode: 1, stderr: "sleep: invalid time interval 'x'\n" });
    await agent.process(delivery(0));
    expect(kinds()).toEqual(['started', 'command', 'failed']);
    expect(api.reports[2]).toMatchObject({
      kind: 'failed',
      error: { code: 'command_failed', command: ['sleep', '1'], exitCode: 1, stderrTail: "sleep: invalid time interval 'x'\n" },
    });
    expect((api.reports[2] as { error: { retryable?: boolean } }).error.retryable).toBeUndefined();
  });

  it('a payload that no longer parses fails with payload_invalid and runs nothing', async () => {
    await agent.process(delivery(0, { seconds: -1 }));
    expect(api.reports[1]).toMatchObject({ kind: 'failed', error: { code: 'payload_invalid' } });
    expect(runner.calls).toEqual([]);
  });
});
