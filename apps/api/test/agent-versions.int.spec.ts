import { jobTypes } from '@virtfleet/contracts';
import { waitFor } from '@virtfleet/testing';
import { ApiHarness, agentFacts } from './harness';

interface JobBody {
  id: string;
  state: string;
  waiting?: string;
}

const facts = (version: string, types: readonly string[] | undefined) => agentFacts({ versions: { agent: version }, ...(types ? { jobTypes: types } : {}) });

describe('agents of an older version', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await ApiHarness.start({ VIRTFLEET_TEST_JOBS: '1', VIRTFLEET_DISPATCH_INTERVAL_MS: '100' });
  });
  afterAll(() => api.close(), 60_000);

  const job = async (id: string) => (await api.call<JobBody>('GET', `/v1/jobs/${id}`)).body;

  it('are sent only the job types they announced; a job of another type waits, says why, and goes once the agent knows it', async () => {
    const host = await api.host('old-agent');
    // the previous version: it does not know `noop` (as an agent from before a job type existed)
    const older = jobTypes.filter((t) => t !== 'noop');
    expect((await api.call('POST', '/v1/agent/heartbeat', { token: host.agentToken, body: { facts: facts('0.1.9', older) } })).status).toBe(200);

    const known = await api.call<JobBody>('POST', '/v1/jobs', { body: { type: 'sleep', hostId: host.id, payload: { seconds: 0.01 } } });
    expect(known.status).toBe(202);
    expect(known.body.state).toBe('queued');

    const unknown = await api.call<JobBody>('POST', '/v1/jobs', { body: { type: 'noop', hostId: host.id, payload: {} } });
    expect(unknown.status).toBe(202);
    const batch = await api.call<{ items: JobBody[] }>('POST', '/v1/jobs/batch', { body: { jobs: [{ type: 'noop', hostId: host.id, payload: {} }, { type: 'sleep', hostId: host.id, payload: { seconds: 0.01 } }] } });
    expect(batch.body.items.map((j) => j.state)).toEqual(['pending', 'queued']);
    await new Promise((r) => setTimeout(r, 500)); // several sweeps: still held
    for (const id of [unknown.body.id, batch.body.items[0]?.id ?? '']) {
      const j = await job(id);
      expect(j.state).toBe('pending');
      expect(j.waiting).toMatch(/^the agent of host old-agent \(virtfleet-agent 0\.1\.9\) does not run noop jobs; the job is sent when the agent is upgraded/);
    }
    // nothing of it reached the host's queue
    expect(await api.redis.exists(`bull:{host-${host.id}}:${unknown.body.id}`)).toBe(0);

    // the agent is upgraded: its next heartbeat announces noop, and the held jobs go out
    await api.call('POST', '/v1/agent/heartbeat', { token: host.agentToken, body: { facts: facts('0.2.0', jobTypes) } });
    await waitFor('held jobs queued', async () => (await job(unknown.body.id)).state === 'queued' && (await job(batch.body.items[0]?.id ?? '')).state === 'queued', { timeoutMs: 10_000 });
    expect((await job(unknown.body.id)).waiting).toBeUndefined();
    expect(await api.redis.exists(`bull:{host-${host.id}}:${unknown.body.id}`)).toBe(1);
  });

  it('an agent that announces no job types (before 0.2.0) is sent every type', async () => {
    const host = await api.host('older-agent');
    await api.call('POST', '/v1/agent/heartbeat', { token: host.agentToken, body: { facts: facts('0.1.0', undefined) } });
    const r = await api.call<JobBody>('POST', '/v1/jobs', { body: { type: 'noop', hostId: host.id, payload: {} } });
    expect(r.body.state).toBe('queued');
  });

  it('a job held behind an earlier one on the same thing says which', async () => {
    const host = await api.host('locks');
    const first = await api.call<JobBody>('POST', '/v1/jobs', { body: { type: 'sleep', hostId: host.id, payload: { seconds: 1, key: 'vm-x' } } });
    const second = await api.call<JobBody>('POST', '/v1/jobs', { body: { type: 'sleep', hostId: host.id, payload: { seconds: 1, key: 'vm-x' } } });
    expect(second.body.state).toBe('pending');
    expect((await job(second.body.id)).waiting).toBe(`waits for job ${first.body.id} (sleep), an earlier job on sleep:vm-x: jobs on one thing run one at a time, in order`);
  });
});
