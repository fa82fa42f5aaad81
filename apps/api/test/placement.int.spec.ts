import { waitFor } from '@virtfleet/testing';
import { ApiHarness } from './harness';

interface JobBody {
  id: string;
  state: string;
  hostId: string;
  error: { code: string } | null;
}

describe('maintenance mode and job expiry', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await ApiHarness.start({ VIRTFLEET_RECONCILE_INTERVAL_MS: '200', VIRTFLEET_RECONCILE_GRACE_MS: '0' });
  });
  afterAll(() => api.close(), 60_000); // closing drops the test database: slow on a loaded machine

  it('a host in maintenance takes no new placements, still takes jobs aimed at it, and comes back', async () => {
    const host = await api.host('maint');
    await api.call('POST', '/v1/agent/heartbeat', { token: host.agentToken, body: {} });
    const placed = () => api.call<JobBody & { error: { code: string } }>('POST', '/v1/jobs', { body: { type: 'refresh-host', payload: {} } });

    expect((await placed()).body.hostId).toBe(host.id);
    const on = await api.call<{ maintenance: boolean }>('POST', `/v1/hosts/${host.id}/maintenance`, { body: { enabled: true } });
    expect(on.body.maintenance).toBe(true);
    const refused = await placed();
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('no_host_available');
    expect((await api.call('POST', '/v1/jobs', { body: { type: 'refresh-host', hostId: host.id, payload: {} } })).status).toBe(202);
    await api.call('POST', `/v1/hosts/${host.id}/maintenance`, { body: { enabled: false } });
    expect((await placed()).status).toBe(202);
  });

  it('a job not started before it expires ends timed_out (expired) and an agent cannot claim it after', async () => {
    const host = await api.host('expiry');
    const job = await api.call<JobBody>('POST', '/v1/jobs', {
      body: { type: 'refresh-host', hostId: host.id, payload: {}, expiresInSeconds: 1 },
    });
    expect(job.status).toBe(202);
    const ended = await waitFor('expired', async () => {
      const j = (await api.call<JobBody>('GET', `/v1/jobs/${job.body.id}`)).body;
      return j.state === 'timed_out' ? j : undefined;
    }, { timeoutMs: 10_000 });
    expect(ended.error?.code).toBe('expired');
    expect((await api.queue(host.id).getJob(job.body.id)) ?? null).toBeNull();
    const claim = await api.call<{ outcomes: string[] }>('POST', '/v1/agent/reports', {
      token: host.agentToken,
      body: { reports: [{ kind: 'started', jobId: job.body.id }] },
    });
    expect(claim.body.outcomes).toEqual(['job_final']);
  });
});
