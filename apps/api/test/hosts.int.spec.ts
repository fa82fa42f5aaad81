import { connect } from 'node:net';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { hostQueueName } from '@virtfleet/contracts';
import { ApiHarness } from './harness';

interface ErrorBody {
  error: { code: string; message: string };
}

describe('host enrollment, per-host Redis users, tokens and audit', () => {
  let api: ApiHarness;
  const opened: Array<{ close(): Promise<unknown> } | Redis> = [];
  const redisAs = (url: string) => {
    const r = new Redis(url, { maxRetriesPerRequest: 0, lazyConnect: true, enableOfflineQueue: false });
    opened.push(r);
    return r;
  };

  /** AUTH with a URL's user and password over a bare socket: Redis's own answer, "+OK" or "-WRONGPASS …". */
  const auth = (url: string) =>
    new Promise<string>((resolve, reject) => {
      const u = new URL(url);
      const sock = connect(Number(u.port), u.hostname);
      const arg = (v: string) => `$${Buffer.byteLength(v)}\r\n${v}\r\n`;
      sock.on('error', reject);
      sock.once('data', (d) => {
        sock.end();
        resolve(d.toString().trim());
      });
      sock.write(`*3\r\n${arg('AUTH')}${arg(decodeURIComponent(u.username))}${arg(decodeURIComponent(u.password))}`);
    });

  beforeAll(async () => {
    api = await ApiHarness.start();
  });
  afterAll(async () => {
    for (const o of opened) await (o instanceof Redis ? Promise.resolve(o.disconnect()) : o.close()).catch(() => undefined);
    await api.close();
  }, 60_000);

  it('a join token works once and expires', async () => {
    const join = await api.call<{ token: string; expiresAt: string }>('POST', '/v1/hosts/join-tokens', { body: {} });
    expect(join.status).toBe(201);
    const enroll = (name: string, token = join.body.token) =>
      api.call<ErrorBody & { hostId: string }>('POST', '/v1/agent/enroll', { token: null, body: { joinToken: token, name } });
    expect((await enroll('once-1')).status).toBe(201);
    const again = await enroll('once-2');
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('join_token_invalid');

    const old = await api.call<{ token: string; id: string }>('POST', '/v1/hosts/join-tokens', { body: { ttlSeconds: 60 } });
    await api.db.joinToken.update({ where: { id: old.body.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await enroll('expired', old.body.token)).status).toBe(401);
    expect((await enroll('Bad_Name')).status).toBe(400);
  });

  it("host A's Redis user gets NOPERM on host B's queue, every way, and works on its own", async () => {
    const a = await api.host('acl-a');
    const b = await api.host('acl-b');
    const asA = redisAs(a.redisUrl);
    await asA.connect();

    // Its own queue: add, then consume, as its agent does.
    const own = new Queue(hostQueueName(a.id), { connection: asA });
    opened.push(own);
    await own.add('noop', { type: 'noop', payload: {} }, { jobId: 'own-1' });
    const done = new Promise<string>((resolve) => {
      const w: Worker = new Worker(hostQueueName(a.id), async (job) => resolve(job.id ?? ''), { connection: redisAs(a.redisUrl) });
      opened.push(w);
    });
    expect(await done).toBe('own-1');

    // Host B's queue, with host A's credentials.
    const other = new Queue(hostQueueName(b.id), { connection: asA });
    opened.push(other);
    const noperm = /NOPERM/;
    await expect(other.add('noop', { type: 'noop', payload: {} })).rejects.toThrow(noperm);
    await expect(other.getJobCounts()).rejects.toThrow(noperm);
    await expect(asA.lrange(`bull:${hostQueueName(b.id)}:wait`, 0, -1)).rejects.toThrow(noperm);
    await expect(asA.hgetall(`bull:${hostQueueName(b.id)}:meta`)).rejects.toThrow(noperm);
    await expect(asA.keys('*')).rejects.toThrow(noperm);
    await expect(asA.flushall()).rejects.toThrow(noperm);
    await expect(asA.call('ACL', 'LIST')).rejects.toThrow(noperm);
    // Consuming B's queue: the worker's fetch is refused (it reports the error instead of a job).
    const errors: string[] = [];
    const thief = new Worker(hostQueueName(b.id), async () => 'stolen', { connection: redisAs(a.redisUrl), autorun: false });
    opened.push(thief);
    thief.on('error', (e) => errors.push(e.message));
    await api.call('POST', '/v1/jobs', { body: { type: 'refresh-host', hostId: b.id, payload: {} } });
    await expect(thief.getNextJob('x')).rejects.toThrow(noperm);
    // B's job is still there, untouched
    const asAdmin = new Queue(hostQueueName(b.id), { connection: api.redis });
    opened.push(asAdmin);
    expect((await asAdmin.getJobCounts('wait')).wait).toBe(1);
  });

  it('re-enrolling rotates both credentials; revoking deletes the Redis user and the token stops working', async () => {
    const first = await api.host('rotor');
    const second = await api.host('rotor');
    expect(second.id).toBe(first.id);
    const beat = (token: string) => api.call('POST', '/v1/agent/heartbeat', { token, body: {} });
    expect((await beat(second.agentToken)).status).toBe(200);
    expect((await beat(first.agentToken)).status).toBe(401);
    expect(await auth(first.redisUrl)).toMatch(/^-WRONGPASS/);
    expect(await auth(second.redisUrl)).toBe('+OK');

    expect((await api.call('DELETE', `/v1/hosts/${first.id}`)).status).toBe(204);
    expect((await beat(second.agentToken)).status).toBe(401);
    expect(await auth(second.redisUrl)).toMatch(/^-WRONGPASS/);
    expect((await api.call<{ state: string }>('GET', `/v1/hosts/${first.id}`)).body.state).toBe('revoked');
  });

  it('tokens: made with scopes, stored hashed, revoked; the audit log says who did what', async () => {
    const made = await api.call<{ token: string; id: string; scopes: string[] }>('POST', '/v1/tokens', {
      body: { name: 'ci-reader', scopes: ['read'] },
    });
    expect(made.status).toBe(201);
    const reader = made.body.token;
    const row = await api.db.apiToken.findUnique({ where: { id: made.body.id } });
    expect(row?.tokenHash).not.toContain(reader);
    expect(JSON.stringify(row)).not.toContain(reader);

    expect((await api.call('GET', '/v1/hosts', { token: reader })).status).toBe(200);
    expect((await api.call('GET', '/v1/whoami', { token: reader })).body).toEqual({ tokenId: made.body.id, name: 'ci-reader', scopes: ['read'] });
    expect((await api.call('POST', '/v1/tokens', { token: reader, body: { name: 'x', scopes: ['admin'] } })).status).toBe(403);
    expect((await api.call('GET', '/v1/hosts', { token: null })).status).toBe(401);

    const op = await api.call<{ token: string; id: string }>('POST', '/v1/tokens', { body: { name: 'ci-operator', scopes: ['operate'] } });
    const host = await api.host('audited');
    const job = await api.call<{ id: string; submittedBy: string }>('POST', '/v1/jobs', {
      token: op.body.token,
      body: { type: 'refresh-host', hostId: host.id, payload: {} },
    });
    expect(job.body.submittedBy).toBe(`token:${op.body.id}`);
    await api.call('POST', `/v1/jobs/${job.body.id}/cancel`, { token: op.body.token });

    expect((await api.call('DELETE', `/v1/tokens/${made.body.id}`)).status).toBe(204);
    expect((await api.call('GET', '/v1/hosts', { token: reader })).status).toBe(401);
    expect((await api.call('GET', '/v1/whoami', { token: reader })).status).toBe(401);
    // An agent's token is no API token: it may not ask.
    const agent = await api.call<{ error: { code: string } }>('GET', '/v1/whoami', { token: host.agentToken });
    expect([agent.status, agent.body.error.code]).toEqual([403, 'forbidden']);

    const audit = await api.call<{ items: Array<{ actor: string; action: string; target: string }> }>('GET', '/v1/audit');
    const actions = audit.body.items.map((e) => `${e.action} ${e.target}`);
    expect(actions).toEqual(
      expect.arrayContaining([`token.create token:${made.body.id}`, `token.revoke token:${made.body.id}`, `job.cancel job:${job.body.id}`, `host.enroll host:${host.id}`]),
    );
    expect(audit.body.items.find((e) => e.action === 'job.cancel')?.actor).toBe(`token:${op.body.id}`);

    // Filters: by target exactly, and by time.
    type Audit = { items: Array<{ action: string; target: string; at: string }> };
    const byTarget = await api.call<Audit>('GET', `/v1/audit?target=token:${made.body.id}`);
    expect(byTarget.body.items.map((e) => e.action)).toEqual(['token.revoke', 'token.create']);
    const createdAt = byTarget.body.items[1]?.at ?? '';
    const since = await api.call<Audit>('GET', `/v1/audit?target=token:${made.body.id}&since=${encodeURIComponent(createdAt)}`);
    expect(since.body.items).toHaveLength(2);
    const until = await api.call<Audit>('GET', `/v1/audit?target=token:${made.body.id}&until=${encodeURIComponent(createdAt)}`);
    expect(until.body.items).toHaveLength(0);
    expect((await api.call('GET', '/v1/audit?since=yesterday')).status).toBe(400);

    // A token's last use is recorded (to the minute); one never used has none.
    const tokens = await api.call<{ items: Array<{ name: string; lastUsedAt: string | null }> }>('GET', '/v1/tokens');
    const lastUsed = (name: string) => tokens.body.items.find((t) => t.name === name)?.lastUsedAt;
    expect(Date.parse(lastUsed('ci-reader') ?? '')).toBeGreaterThan(Date.now() - 120_000);
    expect(Date.parse(lastUsed('ci-operator') ?? '')).toBeGreaterThan(Date.now() - 120_000);
    await api.call('POST', '/v1/tokens', { body: { name: 'never-used', scopes: ['read'] } });
    expect((await api.call<{ items: Array<{ name: string; lastUsedAt: string | null }> }>('GET', '/v1/tokens')).body.items.find((t) => t.name === 'never-used')?.lastUsedAt).toBeNull();
  });
});
