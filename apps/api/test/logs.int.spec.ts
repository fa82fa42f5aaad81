import { waitFor } from '@virtfleet/testing';
import { ApiHarness } from './harness';

interface JobBody {
  id: string;
  state: string;
  hostId: string;
  requestId: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request ids and structured logs (issue 11)', () => {
  let api: ApiHarness;
  let host: { id: string; agentToken: string };
  /** Every chunk the API's logger wrote, as written. */
  const written: string[] = [];

  beforeAll(async () => {
    api = await ApiHarness.start({ VIRTFLEET_TEST_JOBS: '1', VIRTFLEET_LOG_LEVEL: 'debug' }, { logTo: { write: (s: string) => void written.push(s) } });
    host = await api.host('logs');
  });
  afterAll(() => api.close(), 60_000);

  const submit = (headers: Record<string, string> = {}) =>
    api.call<JobBody>('POST', '/v1/jobs', { body: { type: 'noop', hostId: host.id, payload: {} }, headers });
  const report = (reports: unknown[]) => api.call<{ outcomes: string[] }>('POST', '/v1/agent/reports', { token: host.agentToken, body: { reports } });
  const lines = () => written.join('').split('\n').filter(Boolean);

  it("answers the client's x-request-id and stores it on the job, its view and its queue entry", async () => {
    const r = await submit({ 'x-request-id': 'test-req-1' });
    expect(r.status).toBe(202);
    expect(r.headers.get('x-request-id')).toBe('test-req-1');
    expect(r.body.requestId).toBe('test-req-1');
    const view = await api.call<JobBody>('GET', `/v1/jobs/${r.body.id}`);
    expect(view.body.requestId).toBe('test-req-1');
    expect(view.headers.get('x-request-id')).toMatch(UUID); // a request of its own
    const queued = await api.queue(host.id).getJob(r.body.id);
    expect(queued?.data).toMatchObject({ type: 'noop', requestId: 'test-req-1' });
  });

  it('makes an id when the client sends none or a bad one, and answers it on every response (errors too)', async () => {
    const none = await submit();
    const id = none.headers.get('x-request-id');
    expect(id).toMatch(UUID);
    expect(none.body.requestId).toBe(id);
    const bad = await submit({ 'x-request-id': 'no spaces allowed' });
    expect(bad.headers.get('x-request-id')).toMatch(UUID);
    expect(bad.body.requestId).toBe(bad.headers.get('x-request-id'));
    const missing = await api.call('GET', '/v1/jobs/00000000-0000-4000-8000-000000000000', { headers: { 'x-request-id': 'req-404' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBe('req-404');
    const unauthorized = await api.call('GET', '/v1/jobs', { token: null, headers: { 'x-request-id': 'req-401' } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('x-request-id')).toBe('req-401');
    expect((await api.call('GET', '/healthz')).headers.get('x-request-id')).toMatch(UUID);
  });

  it('stores the request id on every job of a batch', async () => {
    const r = await api.call<{ items: JobBody[] }>('POST', '/v1/jobs/batch', {
      body: { jobs: [{ type: 'noop', hostId: host.id, payload: {} }, { type: 'noop', hostId: host.id, payload: {} }] },
      headers: { 'x-request-id': 'batch-req-7' },
    });
    expect(r.status).toBe(202);
    expect(r.body.items.map((j) => j.requestId)).toEqual(['batch-req-7', 'batch-req-7']);
    const rows = await api.db.job.findMany({ where: { id: { in: r.body.items.map((j) => j.id) } }, select: { requestId: true } });
    expect(rows).toEqual([{ requestId: 'batch-req-7' }, { requestId: 'batch-req-7' }]);
  });

  it("logs a job's life as JSON lines that all carry its jobId (submit, claim, stale report, end)", async () => {
    const job = (await submit({ 'x-request-id': 'life-req-1' })).body;
    expect((await report([{ kind: 'started', jobId: job.id }])).body.outcomes).toEqual(['applied']);
    expect((await report([{ kind: 'progress', jobId: job.id, attempt: 1, progress: 50 }])).body.outcomes).toEqual(['applied']);
    expect((await report([{ kind: 'succeeded', jobId: job.id, attempt: 1, result: {} }])).body.outcomes).toEqual(['applied']);
    // A late report of the same attempt: refused, and logged (debug) about the job.
    expect((await report([{ kind: 'progress', jobId: job.id, attempt: 1, progress: 90 }])).body.outcomes).toEqual(['job_final']);
    expect((await api.call<JobBody>('GET', `/v1/jobs/${job.id}?wait=5`)).body.state).toBe('succeeded');
    // The access line of the last request is written when its response has gone out.
    await waitFor('the last request line', () => lines().some((l) => l.includes(`"path":"/v1/jobs/${job.id}"`)));

    // Every line the API wrote is one JSON object.
    const parsed = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.length).toBeGreaterThan(10);
    for (const p of parsed) expect(p).toMatchObject({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) });

    // Every line that mentions the job names it in jobId.
    const about = lines().filter((l) => l.includes(job.id));
    for (const l of about) expect(JSON.parse(l)).toMatchObject({ jobId: job.id });
    const msgs = about.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toEqual(expect.arrayContaining(['job submitted', 'job started', 'job progress', 'job ended succeeded', 'report refused: job_final', 'request']));

    // The job's own lines carry its host and the request that submitted it (a progress event
    // does not know that request: its line has none rather than the agent report's).
    const lifeLines = about.map((l) => JSON.parse(l) as Record<string, unknown>).filter((p) => p['context'] === 'Jobs' || p['context'] === 'Reports');
    expect(lifeLines.length).toBeGreaterThanOrEqual(5);
    for (const p of lifeLines) {
      expect(p).toMatchObject({ jobId: job.id, hostId: host.id });
      if (p['msg'] === 'job progress') expect(p).not.toHaveProperty('requestId');
      else expect(p['requestId']).toBe('life-req-1');
    }

    // Request lines: one per request, with its id, method, route and status.
    const submitLine = parsed.find((p) => p['msg'] === 'request' && p['requestId'] === 'life-req-1');
    expect(submitLine).toMatchObject({ context: 'http', method: 'POST', route: '/v1/jobs', status: 202, ms: expect.any(Number), level: 30 });
  });

  it("a cancel's lines carry the job id too", async () => {
    const job = (await submit({ 'x-request-id': 'cancel-req-1' })).body;
    const cancelled = await api.call<JobBody & { state: string }>('POST', `/v1/jobs/${job.id}/cancel`, { headers: { 'x-request-id': 'cancel-req-2' } });
    expect(cancelled.body.state).toBe('cancelled');
    await waitFor('the cancel request line', () => lines().some((l) => l.includes('"requestId":"cancel-req-2"') && l.includes('"msg":"request"')));
    const about = lines()
      .filter((l) => l.includes(job.id))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const p of about) expect(p['jobId']).toBe(job.id);
    expect(about.find((p) => p['msg'] === 'job ended cancelled')).toMatchObject({ hostId: host.id, requestId: 'cancel-req-1', error: { code: 'cancelled' } });
    expect(about.find((p) => p['msg'] === 'request' && p['route'] === '/v1/jobs/:id/cancel')).toMatchObject({ requestId: 'cancel-req-2', status: 202 });
  });
});
