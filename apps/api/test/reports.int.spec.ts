import { eventStream, waitFor } from '@virtfleet/testing';
import { ApiHarness } from './harness';

interface JobBody {
  id: string;
  state: string;
  attempt: number;
  progress: number;
  result: Record<string, unknown> | null;
  error: Record<string, unknown> | null;
}

const diskResult = {
  name: 'r1',
  path: '/var/lib/virtfleet/store/r1.qcow2',
  format: 'qcow2',
  virtualSize: 1073741824,
  actualSize: 200704,
  created: true,
};

describe('agent reports (fenced by attempt) and ?wait', () => {
  let api: ApiHarness;
  let host: { id: string; agentToken: string };
  let stranger: { id: string; agentToken: string };

  beforeAll(async () => {
    api = await ApiHarness.start({ VIRTFLEET_HEARTBEAT_INTERVAL_MS: '200', VIRTFLEET_MISSED_HEARTBEATS: '3', VIRTFLEET_TEST_JOBS: '1' });
    host = await api.host('rep');
    stranger = await api.host('stranger');
  });
  afterAll(() => api.close(), 60_000); // closing drops the test database: slow on a loaded machine

  const report = (reports: unknown[], token = host.agentToken) =>
    api.call<{ outcomes: string[]; attempts?: Array<number | null> }>('POST', '/v1/agent/reports', { token, body: { reports } });
  const submitDisk = async (name: string) =>
    (await api.call<JobBody>('POST', '/v1/jobs', { body: { type: 'create-disk', hostId: host.id, payload: { name, sizeGiB: 1 } } })).body;

  it('applies the current attempt, refuses an older one, and wakes a waiting reader', async () => {
    const job = await submitDisk('r1');
    expect((await report([{ kind: 'started', jobId: job.id }])).body).toEqual({ outcomes: ['applied'], attempts: [1] });
    // The agent died; BullMQ redelivered: the new delivery claims the job as attempt 2.
    expect((await report([{ kind: 'started', jobId: job.id }])).body).toEqual({ outcomes: ['applied'], attempts: [2] });

    const waiting = api.call<JobBody>('GET', `/v1/jobs/${job.id}?wait=20`);
    const late = await report([
      { kind: 'progress', jobId: job.id, attempt: 1, progress: 50 },
      { kind: 'succeeded', jobId: job.id, attempt: 1, result: diskResult },
    ]);
    expect(late.body.outcomes).toEqual(['stale_attempt', 'stale_attempt']);

    const cmd = {
      seq: 0,
      argv: ['qemu-img', 'create', '-q', '-f', 'qcow2', '/x/r1.qcow2', '1073741824'],
      exitCode: 0,
      signal: null,
      stdoutTail: '',
      stderrTail: '',
      durationMs: 12,
      startedAt: new Date().toISOString(),
    };
    const current = await report([
      { kind: 'command', jobId: job.id, attempt: 2, command: cmd },
      { kind: 'command', jobId: job.id, attempt: 2, command: cmd }, // a retried batch: stored once
      { kind: 'progress', jobId: job.id, attempt: 2, progress: 60 },
      { kind: 'succeeded', jobId: job.id, attempt: 2, result: diskResult },
    ]);
    expect(current.body.outcomes).toEqual(['applied', 'applied', 'applied', 'applied']);

    const done = await waiting;
    expect(done.body).toMatchObject({ state: 'succeeded', attempt: 2, progress: 100, result: diskResult });
    const logs = await api.call<{ items: Array<{ argv: string[]; exitCode: number }> }>('GET', `/v1/jobs/${job.id}/logs`);
    expect(logs.body.items).toEqual([expect.objectContaining({ argv: cmd.argv, exitCode: 0 })]);
    expect(await api.db.disk.findFirst({ where: { hostId: host.id, name: 'r1' } })).toMatchObject({
      state: 'ready',
      virtualSize: 1073741824n,
    });

    expect((await report([{ kind: 'failed', jobId: job.id, attempt: 2, error: { code: 'x', message: 'y' } }])).body.outcomes).toEqual([
      'job_final',
    ]);
  });

  it('a batch about many jobs: claimed together, ended together, each outcome in its place and order', async () => {
    const noop = async () => (await api.call<JobBody>('POST', '/v1/jobs', { body: { type: 'noop', hostId: host.id, payload: {} } })).body.id;
    const ids = [await noop(), await noop(), await noop(), await noop()];
    const [a, b, c, d] = ids as [string, string, string, string];
    await api.call('POST', `/v1/jobs/${d}/cancel`); // not started: cancelled at once
    const started = await report(ids.map((jobId) => ({ kind: 'started', jobId })));
    expect(started.body).toEqual({ outcomes: ['applied', 'applied', 'applied', 'job_final'], attempts: [1, 1, 1, null] });
    expect((await report([{ kind: 'started', jobId: c }])).body.attempts).toEqual([2]); // c redelivered

    const other = (await api.call<JobBody>('POST', '/v1/jobs', { body: { type: 'noop', hostId: stranger.id, payload: {} } })).body.id;
    const ended = await report([
      { kind: 'succeeded', jobId: a, attempt: 1, result: {} },
      { kind: 'failed', jobId: b, attempt: 1, error: { code: 'boom', message: 'it broke' } },
      { kind: 'succeeded', jobId: c, attempt: 1, result: {} }, // the older delivery's
      { kind: 'progress', jobId: c, attempt: 2, progress: 50 }, // then, in order, the current one's
      { kind: 'succeeded', jobId: c, attempt: 2, result: 42 },
      { kind: 'succeeded', jobId: other, attempt: 1, result: {} }, // another host's job
    ]);
    expect(ended.body.outcomes).toEqual(['applied', 'applied', 'stale_attempt', 'applied', 'invalid_result', 'job_not_found']);
    const job = async (id: string) => (await api.call<JobBody>('GET', `/v1/jobs/${id}`)).body;
    expect(await job(a)).toMatchObject({ state: 'succeeded', progress: 100, result: {} });
    expect(await job(b)).toMatchObject({ state: 'failed', error: { code: 'boom', message: 'it broke' } });
    expect(await job(c)).toMatchObject({ state: 'failed', progress: 50, error: expect.objectContaining({ code: 'result_invalid' }) });
    expect(await job(d)).toMatchObject({ state: 'cancelled' });
    expect(await job(other)).toMatchObject({ state: 'queued' });
  });

  it('a failure carries the command, exit code and stderr tail, and undoes the inventory change', async () => {
    const job = await submitDisk('r2');
    const error = {
      code: 'command_failed',
      message: 'qemu-img exited with code 1',
      command: ['qemu-img', 'create'],
      exitCode: 1,
      stderrTail: 'qemu-img: boom',
    };
    await report([
      { kind: 'started', jobId: job.id },
      { kind: 'failed', jobId: job.id, attempt: 1, error },
    ]);
    const r = await api.call<JobBody>('GET', `/v1/jobs/${job.id}`);
    expect(r.body).toMatchObject({ state: 'failed', error });
    expect(await api.db.disk.count({ where: { hostId: host.id, name: 'r2' } })).toBe(0);
  });

  it('a transient failure sends the job back to its queue; the next delivery is a new attempt', async () => {
    const job = await submitDisk('r6');
    const error = { code: 'command_failed', message: 'virsh: Failed to connect socket', retryable: true };
    await report([{ kind: 'started', jobId: job.id }]);
    expect((await report([{ kind: 'retrying', jobId: job.id, attempt: 1, error, delayMs: 1000 }])).body.outcomes).toEqual(['applied']);
    expect((await api.call<JobBody>('GET', `/v1/jobs/${job.id}`)).body).toMatchObject({ state: 'queued', attempt: 1, error });
    expect((await report([{ kind: 'started', jobId: job.id }])).body.attempts).toEqual([2]);
    await report([{ kind: 'succeeded', jobId: job.id, attempt: 2, result: { ...diskResult, name: 'r6' } }]);
    expect((await api.call<JobBody>('GET', `/v1/jobs/${job.id}`)).body).toMatchObject({ state: 'succeeded', attempt: 2, error: null });
  });

  it('a result that does not match the job type fails the job', async () => {
    const job = await submitDisk('r3');
    const r = await report([
      { kind: 'started', jobId: job.id },
      { kind: 'succeeded', jobId: job.id, attempt: 1, result: { nonsense: true } },
    ]);
    expect(r.body.outcomes).toEqual(['applied', 'invalid_result']);
    expect((await api.call<JobBody>('GET', `/v1/jobs/${job.id}`)).body).toMatchObject({
      state: 'failed',
      error: expect.objectContaining({ code: 'result_invalid' }),
    });
  });

  it('a host cannot report on another host’s job, and only agents may report', async () => {
    const job = await submitDisk('r4');
    expect((await report([{ kind: 'started', jobId: job.id }], stranger.agentToken)).body.outcomes).toEqual(['job_not_found']);
    expect((await report([{ kind: 'started', jobId: job.id }], api.adminToken)).status).toBe(403);
    expect((await report([{ kind: 'progress', jobId: job.id, attempt: 0, progress: 1 }])).status).toBe(400);
  });

  it('?wait returns when the seconds pass on a job that does not end', async () => {
    const job = await submitDisk('r5');
    const t0 = Date.now();
    const r = await api.call<JobBody>('GET', `/v1/jobs/${job.id}?wait=1`);
    expect(r.body.state).toBe('queued');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  it('heartbeats: online while they come, offline after three are missed, online again', async () => {
    const beat = () => api.call('POST', '/v1/agent/heartbeat', { token: host.agentToken, body: {} });
    expect((await beat()).status).toBe(200);
    const state = async () => (await api.call<{ state: string }>('GET', `/v1/hosts/${host.id}`)).body.state;
    expect(await state()).toBe('online');
    await waitFor('host offline', async () => (await state()) === 'offline', { timeoutMs: 5_000 });
    await beat();
    expect(await state()).toBe('online');
  });
});

describe('GET /v1/events (server-sent events)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await ApiHarness.start();
  });
  afterAll(() => api.close(), 60_000); // closing drops the test database: slow on a loaded machine

  it('streams job.created, job.updated, job.progress and job.finished, filtered by host', async () => {
    const a = await api.host('sse-a');
    const b = await api.host('sse-b');
    const stream = await eventStream(new URL(`/v1/events?hostId=${a.id}`, api.url).toString(), api.adminToken);
    const seen = () =>
      stream.events.map((e) => {
        const job = JSON.parse(e.data) as { id: string; hostId: string };
        return { event: e.event, id: job.id, hostId: job.hostId };
      });

    const other = await api.call<{ id: string }>('POST', '/v1/jobs', { body: { type: 'refresh-host', hostId: b.id, payload: {} } });
    const job = await api.call<{ id: string }>('POST', '/v1/jobs', { body: { type: 'refresh-host', hostId: a.id, payload: {} } });
    const report = (reports: unknown[]) => api.call('POST', '/v1/agent/reports', { token: a.agentToken, body: { reports } });
    await report([
      { kind: 'started', jobId: job.body.id },
      { kind: 'progress', jobId: job.body.id, attempt: 1, progress: 40 },
      { kind: 'failed', jobId: job.body.id, attempt: 1, error: { code: 'command_failed', message: 'virsh failed' } },
    ]);
    await waitFor('job.finished event', () => seen().some((e) => e.event === 'job.finished'), { timeoutMs: 5_000 });
    await stream.close();
    expect(seen().filter((e) => e.id === job.body.id).map((e) => e.event)).toEqual([
      'job.created',
      'job.updated',
      'job.progress',
      'job.finished',
    ]);
    expect(seen().some((e) => e.id === other.body.id)).toBe(false);
  });
});
