import { waitFor, webhookReceiver } from '@virtfleet/testing';
import { verifySignature } from '../src/webhooks/signature';
import { ApiHarness } from './harness';

describe('webhooks', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await ApiHarness.start({ VIRTFLEET_WEBHOOK_INTERVAL_MS: '100', VIRTFLEET_WEBHOOK_BACKOFF_MS: '100' });
  });
  afterAll(() => api.close(), 60_000); // closing drops the test database: slow on a loaded machine

  it('POSTs every job end, signed, retried with backoff until answered 2xx, with a delivery log', async () => {
    const host = await api.host('hooked');
    const rx = await webhookReceiver([500, 503]);
    const created = await api.call<{ webhook: { id: string }; secret: string }>('POST', '/v1/webhooks', {
      body: { url: rx.url, hostId: host.id },
    });
    expect(created.status).toBe(201);
    const { secret } = created.body;

    const job = await api.call<{ id: string }>('POST', '/v1/jobs', { body: { type: 'refresh-host', hostId: host.id, payload: {} } });
    await api.call('POST', '/v1/agent/reports', {
      token: host.agentToken,
      body: {
        reports: [
          { kind: 'started', jobId: job.body.id },
          { kind: 'failed', jobId: job.body.id, attempt: 1, error: { code: 'command_failed', message: 'virsh failed' } },
        ],
      },
    });

    await waitFor('three attempts', () => rx.got.length >= 3, { timeoutMs: 10_000 });
    for (const r of rx.got) {
      expect(r.headers['x-virtfleet-event']).toBe('job.finished');
      expect(verifySignature(secret, r.body, String(r.headers['x-virtfleet-signature']))).toBe(true);
      expect(verifySignature('whsec_wrong', r.body, String(r.headers['x-virtfleet-signature']))).toBe(false);
    }
    const sent = JSON.parse(rx.got[2]?.body ?? '{}') as { event: string; job: { id: string; state: string } };
    expect(sent).toMatchObject({ event: 'job.finished', job: { id: job.body.id, state: 'failed' } });

    const log = await api.call<{ items: Array<{ state: string; attempts: number; lastStatus: number }> }>(
      'GET',
      `/v1/webhooks/${created.body.webhook.id}/deliveries`,
    );
    expect(log.body.items).toEqual([expect.objectContaining({ state: 'succeeded', attempts: 3, lastStatus: 200 })]);
    rx.close();
  });

  it('refuses a URL that is not http(s) and needs the admin scope', async () => {
    expect((await api.call('POST', '/v1/webhooks', { body: { url: 'file:///etc/passwd' } })).status).toBe(400);
    const operator = await ApiHarness.token(api.db, 'operator', ['operate']);
    expect((await api.call('GET', '/v1/webhooks', { token: operator })).status).toBe(403);
  });
});
