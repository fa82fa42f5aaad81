import { join } from 'node:path';
import type { ManagedProcess } from '@virtfleet/exec';
import { waitFor, Fleet } from '@virtfleet/testing';

describe('hosts of one fleet', () => {
  let fleet: Fleet;
  let other: { hostId: string; configFile: string };
  let otherAgent: ManagedProcess;

  beforeAll(async () => {
    // The API at its production defaults: 10 s heartbeats, offline after 3 missed.
    fleet = await Fleet.start({ name: 'hosts-a', apiEnv: { VIRTFLEET_TEST_JOBS: '1', VIRTFLEET_HEARTBEAT_INTERVAL_MS: '10000' } });
    other = await fleet.enrollHost('hosts-b', join(fleet.dir, 'store-b'));
    otherAgent = fleet.startExtraAgent(other.configFile, 'agent-b');
    await waitFor('host b online', async () => (await fleet.get<{ state: string }>(`/v1/hosts/${other.hostId}`)).state === 'online', {
      timeoutMs: 60_000,
    });
  }, 120_000);
  afterAll(async () => {
    await otherAgent?.stop();
    await fleet?.stop();
  }, 120_000);

  it('two enrolled agents each process only their own queue', async () => {
    const onA = await Promise.all([1, 2, 3].map(() => fleet.submit('create-disk', { name: `a-${Math.random().toString(36).slice(2, 8)}`, sizeMiB: 1 })));
    const onB = await Promise.all(
      [1, 2, 3].map(async () => {
        const r = await fleet.post('/v1/jobs', { type: 'create-disk', hostId: other.hostId, payload: { name: `b-${Math.random().toString(36).slice(2, 8)}`, sizeMiB: 1 } });
        return String(r.body['id']);
      }),
    );
    const ends = await Promise.all([...onA, ...onB].map((id) => fleet.job(id, 60)));
    expect(ends.map((j) => j.state)).toEqual(ends.map(() => 'succeeded'));
    // each disk landed in its own host's storage root
    for (const j of ends.slice(0, 3)) expect(String(j.result?.['path'])).toContain(`${fleet.storeRoot}/`);
    for (const j of ends.slice(3)) expect(String(j.result?.['path'])).toContain(join(fleet.dir, 'store-b/'));
  });

  it('a stopped agent makes its host offline within 35 s (10 s heartbeats, 3 missed); back online when it returns; jobs wait for it', async () => {
    await otherAgent.stop();
    const t0 = Date.now();
    await waitFor('host b offline', async () => (await fleet.get<{ state: string }>(`/v1/hosts/${other.hostId}`)).state === 'offline', {
      timeoutMs: 40_000,
      intervalMs: 250,
    });
    expect(Date.now() - t0).toBeLessThan(35_000);
    const r = await fleet.post('/v1/jobs', { type: 'sleep', hostId: other.hostId, payload: { seconds: 0.1 } });
    const id = String(r.body['id']);
    expect((await fleet.job(id, 2)).state).toBe('queued');
    otherAgent = fleet.startExtraAgent(other.configFile, 'agent-b2');
    await waitFor('host b online', async () => (await fleet.get<{ state: string }>(`/v1/hosts/${other.hostId}`)).state === 'online', { timeoutMs: 60_000 });
    expect((await fleet.job(id, 30)).state).toBe('succeeded');
  }, 120_000);
});
