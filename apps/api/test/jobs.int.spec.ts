import { ApiHarness } from './harness';

interface JobBody {
  id: string;
  state: string;
  type: string;
  hostId: string;
  attempt: number;
  progress: number;
  result: unknown;
  error: { code: string; message: string; command?: string[]; exitCode?: number; stderrTail?: string } | null;
}
interface ErrorBody {
  error: { code: string; message: string; details?: { issues?: Array<{ path: string }> } };
}

describe('jobs API (real PostgreSQL + Redis)', () => {
  let api: ApiHarness;
  let host: { id: string; agentToken: string };

  beforeAll(async () => {
    api = await ApiHarness.start({ VIRTFLEET_TEST_JOBS: '1' });
    host = await api.host('alpha');
  });
  afterAll(() => api.close(), 60_000); // closing drops the test database: slow on a loaded machine

  const submit = (payload: unknown, extra: Record<string, unknown> = {}, headers?: Record<string, string>) =>
    api.call<JobBody & ErrorBody>('POST', '/v1/jobs', {
      body: { type: 'create-disk', hostId: host.id, payload, ...extra },
      ...(headers ? { headers } : {}),
    });

  describe('a bad payload is a 400 naming the field, and writes and enqueues nothing', () => {
    it.each([
      ['../x', 'payload.name'],
      ['a;b', 'payload.name'],
      ['-f', 'payload.name'],
      ['x,y=z', 'payload.name'],
    ])('name %j', async (name, field) => {
      const r = await submit({ name, sizeGiB: 1, format: 'qcow2' });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('payload_invalid');
      expect(r.body.error.message).toContain(field);
      expect(r.body.error.details?.issues?.map((i) => i.path)).toContain(field);
    });

    it('size 0', async () => {
      const r = await submit({ name: 'zero', sizeGiB: 0 });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('payload.sizeGiB');
    });

    it('left no row and no queue entry', async () => {
      expect(await api.db.job.count({ where: { hostId: host.id } })).toBe(0);
      expect(await api.db.disk.count()).toBe(0);
      const counts = await api.queue(host.id).getJobCounts();
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    });
  });

  it('refuses unknown job types, unknown hosts, bodies that are not JSON and unknown routes', async () => {
    const unknown = await api.call<ErrorBody>('POST', '/v1/jobs', { body: { type: 'format-c', hostId: host.id, payload: {} } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('job_type_unknown');
    const noHost = await api.call<ErrorBody>('POST', '/v1/jobs', {
      body: { type: 'refresh-host', hostId: '00000000-0000-4000-8000-000000000000', payload: {} },
    });
    expect(noHost.status).toBe(404);
    expect(noHost.body.error.code).toBe('host_not_found');
    const broken = await api.call<ErrorBody>('POST', '/v1/jobs', { raw: '{"type":' });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBeDefined();
    // An unknown route answers in the same shape as every other error.
    const noRoute = await api.call<ErrorBody>('GET', '/v1/no-such-thing');
    expect([noRoute.status, noRoute.body]).toEqual([404, { error: { code: 'not_found', message: expect.stringContaining('/v1/no-such-thing') } }]);
  });

  it('create-disk: 202 with Location, the row, the disk it implies, and a BullMQ job with the row id', async () => {
    const r = await submit({ name: 'd1', sizeGiB: 1 });
    expect(r.status).toBe(202);
    expect(r.headers.get('location')).toBe(`/v1/jobs/${r.body.id}`);
    expect(r.body).toMatchObject({ type: 'create-disk', hostId: host.id, state: 'queued' });
    const queued = await api.queue(host.id).getJob(r.body.id);
    expect(queued?.data).toEqual({ type: 'create-disk', payload: { name: 'd1', sizeGiB: 1, format: 'qcow2' }, requestId: r.headers.get('x-request-id') });
    expect(await api.db.disk.findFirst({ where: { hostId: host.id, name: 'd1' } })).toMatchObject({ state: 'creating' });

    const again = await submit({ name: 'd1', sizeGiB: 2 });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('disk_exists');
    expect(await api.db.job.count({ where: { hostId: host.id, type: 'create-disk' } })).toBe(1);
  });

  it('Idempotency-Key: the same key and body give the same job; another body is a 409', async () => {
    const key = { 'idempotency-key': 'req-42' };
    const first = await submit({ name: 'idem', sizeMiB: 64 }, {}, key);
    const second = await submit({ name: 'idem', sizeMiB: 64 }, {}, key);
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    const other = await submit({ name: 'idem2', sizeMiB: 64 }, {}, key);
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('idempotency_key_reused');
  });

  it('1,000 concurrent POSTs with one Idempotency-Key make exactly one job', async () => {
    const key = { 'idempotency-key': `burst-${Date.now()}` };
    const answers = await Promise.all(
      Array.from({ length: 1000 }, () =>
        api.call<JobBody>('POST', '/v1/jobs', { body: { type: 'refresh-host', hostId: host.id, payload: {} }, headers: key }),
      ),
    );
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set(answers.some((a) => a.status === 200) ? [202, 200] : [202]));
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await api.db.job.count({ where: { idempotencyKey: key['idempotency-key'] } })).toBe(1);
  }, 60_000);

  it('needs a token with the right scope', async () => {
    expect((await api.call('GET', '/v1/jobs', { token: null })).status).toBe(401);
    expect((await api.call('GET', '/v1/jobs', { token: 'vfa_nope_nope_nope_nope_nope' })).status).toBe(401);
    const reader = await ApiHarness.token(api.db, 'reader', ['read']);
    expect((await api.call('GET', '/v1/jobs', { token: reader })).status).toBe(200);
    const post = await api.call<ErrorBody>('POST', '/v1/jobs', { token: reader, body: { type: 'refresh-host', hostId: host.id } });
    expect(post.status).toBe(403);
    expect(post.body.error.code).toBe('forbidden');
    expect((await api.call('GET', '/v1/jobs', { token: host.agentToken })).status).toBe(403);
    expect((await api.call('GET', '/healthz', { token: null })).status).toBe(200);
  });

  it('lists newest first with cursor paging', async () => {
    const other = await api.host('paging');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await api.call<JobBody>('POST', '/v1/jobs', { body: { type: 'refresh-host', hostId: other.id, payload: {} } });
      ids.push(r.body.id);
    }
    const seen: string[] = [];
    type Page = { items: JobBody[]; nextCursor: string | null };
    const pageAt = (cursor: string | null) =>
      api.call<Page>('GET', `/v1/jobs?hostId=${other.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof pageAt>> = await pageAt(cursor);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((j) => j.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    expect((await api.call('GET', '/v1/jobs?cursor=garbage')).status).toBe(400);
  });

  it('serves OpenAPI with every job type in the submit schema', async () => {
    const doc = await api.call<{ paths: Record<string, unknown>; openapi: string }>('GET', '/docs-json', { token: null });
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/logs', '/v1/hosts', '/healthz', '/readyz']),
    );
    expect(JSON.stringify(doc.body.paths['/v1/jobs'])).toContain('create-disk');
  });

  describe('POST /v1/jobs/batch', () => {
    const batch = (jobs: unknown[], headers?: Record<string, string>) =>
      api.call<{ items: JobBody[] } & ErrorBody>('POST', '/v1/jobs/batch', { body: { jobs }, ...(headers ? { headers } : {}) });
    let other: { id: string };
    beforeAll(async () => {
      other = await api.host('batch-b');
    });

    it('one bad item is a 400 naming its index, and nothing of the batch is written', async () => {
      const r = await batch([
        { type: 'noop', hostId: other.id, payload: {} },
        { type: 'create-disk', hostId: other.id, payload: { name: '../x', sizeGiB: 1 } },
      ]);
      expect(r.status).toBe(400);
      expect(r.body.error.details?.issues?.map((i) => i.path)).toContain('jobs.1.payload.name');
      const unknown = await batch([{ type: 'no-such-job', hostId: other.id, payload: {} }]);
      expect(unknown.body.error).toMatchObject({ code: 'job_type_unknown', message: expect.stringContaining('jobs.0:') });
      expect(await api.db.job.count({ where: { hostId: other.id } })).toBe(0);
    });

    it('writes every job in order, queues those that wait for nothing in bulk, and replays with its Idempotency-Key', async () => {
      const jobs = [
        { type: 'noop', hostId: other.id, payload: {} },
        { type: 'noop', hostId: other.id, payload: {} },
        { type: 'sleep', hostId: other.id, payload: { seconds: 1, key: 'k' } },
        { type: 'sleep', hostId: other.id, payload: { seconds: 1, key: 'k' } },
      ];
      const r = await batch(jobs, { 'idempotency-key': 'batch-1' });
      expect(r.status).toBe(202);
      expect(r.body.items.map((j) => [j.type, j.state])).toEqual([
        ['noop', 'queued'],
        ['noop', 'queued'],
        ['sleep', 'queued'],
        ['sleep', 'pending'], // the same lock key as the one before: it waits for it
      ]);
      const rows = await api.db.job.findMany({ where: { hostId: other.id }, orderBy: { seq: 'asc' } });
      expect(rows.map((j) => j.id)).toEqual(r.body.items.map((j) => j.id));
      expect(await api.queue(other.id).getJobCounts('wait')).toEqual({ wait: 3 });

      const again = await batch(jobs, { 'idempotency-key': 'batch-1' });
      expect(again.status).toBe(200);
      expect(again.body.items.map((j) => j.id)).toEqual(r.body.items.map((j) => j.id));
      expect((await batch(jobs.slice(1), { 'idempotency-key': 'batch-1' })).status).toBe(409);
      expect(await api.db.job.count({ where: { hostId: other.id } })).toBe(4);
    });

    it('a type that changes the inventory on submit goes in one transaction with the rest; an unknown host is a 404', async () => {
      const r = await batch([
        { type: 'create-disk', hostId: other.id, payload: { name: 'batch-d1', sizeGiB: 1 } },
        { type: 'noop', hostId: other.id, payload: {} },
      ]);
      expect(r.status).toBe(202);
      expect(await api.db.disk.findFirst({ where: { hostId: other.id, name: 'batch-d1' } })).toMatchObject({ state: 'creating' });
      const missing = await batch([{ type: 'noop', hostId: '00000000-0000-4000-8000-000000000000', payload: {} }]);
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('host_not_found');
    });
  });

  describe('jobs with one key submitted at one instant', () => {
    // Each submit inserts under a lock on its keys (lockJobKeys): seq follows commit order, so a
    // later job always sees an earlier one, and a submit's own checks see what an earlier one wrote.
    let racer: { id: string };
    beforeAll(async () => {
      racer = await api.host('racer');
    });

    it('a lock key: exactly one goes out, the others wait for it (no two run at once), for single and batch submits', async () => {
      const sleep = (key: string) => ({ type: 'sleep', hostId: racer.id, payload: { seconds: 1, key } });
      for (let round = 0; round < 5; round++) {
        const key = `race-${round}`;
        const answers = await Promise.all([
          ...Array.from({ length: 12 }, () => api.call<JobBody>('POST', '/v1/jobs', { body: sleep(key) })),
          ...Array.from({ length: 4 }, () => api.call<{ items: JobBody[] }>('POST', '/v1/jobs/batch', { body: { jobs: [sleep(key), sleep(key)] } })),
        ]);
        expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
        const rows = await api.db.job.findMany({ where: { hostId: racer.id, lockKey: `sleep:${key}` }, orderBy: { seq: 'asc' } });
        expect(rows).toHaveLength(20);
        // The first in seq order is the one sent; every other waits.
        expect(rows.map((j) => j.state)).toEqual(['queued', ...Array(19).fill('pending')]);
      }
    });

    it('a create-vm name: one 202, every other a 409 vm_exists (the name is reserved under the key)', async () => {
      const body = { type: 'create-vm', hostId: racer.id, payload: { name: 'twin', memoryMiB: 128, vcpus: 1, install: { kind: 'kernel', kernel: 'vmlinuz' } } };
      const answers = await Promise.all(Array.from({ length: 8 }, () => api.call<JobBody & ErrorBody>('POST', '/v1/jobs', { body })));
      expect(answers.map((a) => a.status).sort()).toEqual([202, ...Array(7).fill(409)]);
      expect(answers.filter((a) => a.status === 409).map((a) => a.body.error.code)).toEqual(Array(7).fill('vm_exists'));
      expect(await api.db.vm.count({ where: { hostId: racer.id, name: 'twin' } })).toBe(1);
    });

    it('a create-disk name: one 202, every other a 409 disk_exists', async () => {
      const body = { type: 'create-disk', hostId: racer.id, payload: { name: 'twin-disk', sizeGiB: 1 } };
      const answers = await Promise.all(Array.from({ length: 8 }, () => api.call<JobBody & ErrorBody>('POST', '/v1/jobs', { body })));
      expect(answers.map((a) => a.status).sort()).toEqual([202, ...Array(7).fill(409)]);
      expect(answers.filter((a) => a.status === 409).map((a) => a.body.error.code)).toEqual(Array(7).fill('disk_exists'));
    });
  });
});
