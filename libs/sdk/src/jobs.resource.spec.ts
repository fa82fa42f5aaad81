import { VirtfleetClient } from './client';
import { ApiError, JobFailedError, TimeoutError } from './errors';
import { FakeFetch, fakeJob, jsonResponse, sseResponse } from './fake-fetch';
import type { JobEvent, WatchEvent } from './job';

const ID = '11111111-1111-4111-8111-111111111111';
const OTHER = '33333333-3333-4333-8333-333333333333';
const JOB_PATH = `/v1/jobs/${ID}`;

function client(fake: FakeFetch): VirtfleetClient {
  return new VirtfleetClient({ url: 'http://api.test', token: 't', fetch: fake.fetch });
}

const sse = (event: string, data: unknown) => `event: ${event}\nid: x\ndata: ${JSON.stringify(data)}\n\n`;

describe('wait', () => {
  it('looks once, then long-polls ?wait=N until the job has ended', async () => {
    const fake = new FakeFetch().on(
      'GET',
      JOB_PATH,
      jsonResponse(200, fakeJob('create-disk', { state: 'queued' })),
      jsonResponse(200, fakeJob('create-disk', { state: 'running', progress: 10 })),
      jsonResponse(200, fakeJob('create-disk', { state: 'succeeded', progress: 100, result: { name: 'd1', virtualSize: 1073741824 } })),
    );
    const job = await client(fake).wait<'create-disk'>(ID, { pollSeconds: 45 });
    expect(job.state).toBe('succeeded');
    expect(job.type === 'create-disk' && job.result?.virtualSize).toBe(1073741824);
    expect(fake.to('GET', JOB_PATH).map((r) => r.url.search)).toEqual(['', '?wait=45', '?wait=45']);
  });

  it("holds a poll 240 s at most: Node's fetch gives up on headers after 300 s", async () => {
    const fake = new FakeFetch().on('GET', JOB_PATH, jsonResponse(200, fakeJob('noop')), jsonResponse(200, fakeJob('noop', { state: 'succeeded', result: {} })));
    await client(fake).wait(ID, { pollSeconds: 1000 });
    expect(fake.requests.map((r) => r.url.search)).toEqual(['', '?wait=240']);
  });

  it('asks for no more than the time left, and throws TimeoutError with the job as last seen', async () => {
    const fake = new FakeFetch().on('GET', JOB_PATH, jsonResponse(200, fakeJob('sleep', { state: 'running', progress: 50 })));
    const started = Date.now();
    const err = await client(fake).wait(ID, { timeoutSeconds: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).job).toMatchObject({ id: ID, state: 'running', progress: 50 });
    expect((err as TimeoutError).message).toBe(`job ${ID} (sleep) is still running after 1 s`);
    // The fake answers at once instead of holding the poll: the loop keeps asking until the deadline.
    expect(fake.to('GET', JOB_PATH)[1]?.url.search).toBe('?wait=1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
  });

  it('rides out an API restart (503, refused) and goes on polling', async () => {
    const fake = new FakeFetch().on(
      'GET',
      JOB_PATH,
      jsonResponse(200, fakeJob('noop')),
      jsonResponse(503, { error: { code: 'database_unavailable', message: 'retry shortly' } }, { 'retry-after': '0' }),
      jsonResponse(200, fakeJob('noop', { state: 'succeeded', result: {} })),
    );
    expect((await client(fake).wait(ID)).state).toBe('succeeded');
  });

  it('does not retry what is no outage (404)', async () => {
    const fake = new FakeFetch().on('GET', JOB_PATH, jsonResponse(404, { error: { code: 'job_not_found', message: `no job ${ID}` } }));
    const err = await client(fake).wait(ID).catch((e: unknown) => e);
    expect(ApiError.is(err, 'job_not_found')).toBe(true);
    expect(fake.requests).toHaveLength(1);
  });

  it('with onProgress, follows this job on GET /v1/events (filtered by its host and type) and closes the stream at the end', async () => {
    const running = fakeJob('convert-disk', { state: 'running', progress: 0 });
    let closed = false;
    let release: () => void = () => undefined;
    const progressSeen = new Promise<void>((r) => (release = r));
    const fake = new FakeFetch()
      .on(
        'GET',
        JOB_PATH,
        jsonResponse(200, running),
        // The long poll ends only after the events have been seen, as a real one would.
        async () => {
          await progressSeen;
          return jsonResponse(200, fakeJob('convert-disk', { state: 'succeeded', progress: 100 }));
        },
      )
      .on('GET', '/v1/events', (req) =>
        sseResponse(
          [
            ': hello\n\n',
            'event: keepalive\ndata: \n\n',
            sse('job.progress', { id: OTHER, type: 'convert-disk', hostId: 'h', progress: 99, attempt: 1 }),
            sse('job.progress', { id: ID, type: 'convert-disk', hostId: 'h', progress: 40, attempt: 1 }).slice(0, 30),
            sse('job.progress', { id: ID, type: 'convert-disk', hostId: 'h', progress: 40, attempt: 1 }).slice(30),
            sse('vm.updated', { id: 'vm1', hostId: 'h', uuid: 'u', name: 'n', status: 'managed', state: 'running' }),
            sse('job.finished', { ...running, state: 'succeeded', progress: 100 }),
          ],
          { signal: req.signal, onCancel: () => (closed = true) },
        ),
      );
    const seen: Array<JobEvent<'convert-disk'>> = [];
    const job = await client(fake).wait<'convert-disk'>(ID, {
      onProgress: (e) => {
        seen.push(e);
        if (e.event === 'job.finished') release();
      },
    });
    expect(job.state).toBe('succeeded');
    expect(seen.map((e) => [e.event, e.job.progress])).toEqual([
      ['job.progress', 40],
      ['job.finished', 100],
    ]);
    const [events] = fake.to('GET', '/v1/events');
    expect(events?.url.searchParams.get('hostId')).toBe(running['hostId']);
    expect(events?.url.searchParams.get('type')).toBe('convert-disk');
    expect(events?.headers['accept']).toBe('text/event-stream');
    expect(events?.signal?.aborted || closed).toBe(true);
  });

  it('an onProgress that throws ends the wait with its error', async () => {
    const fake = new FakeFetch()
      .on('GET', JOB_PATH, jsonResponse(200, fakeJob('noop', { state: 'running' })), (req) => new Promise<Response>((_, reject) => req.signal?.addEventListener('abort', () => reject(req.signal?.reason))))
      .on('GET', '/v1/events', (req) => sseResponse([sse('job.progress', { id: ID, type: 'noop', hostId: 'h', progress: 5, attempt: 1 })], { signal: req.signal }));
    const boom = new Error('boom');
    const err = await client(fake)
      .wait(ID, {
        onProgress: () => {
          throw boom;
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBe(boom);
  });

  it('waitSucceeded throws JobFailedError carrying the failed job', async () => {
    const failed = fakeJob('create-disk', { state: 'failed', error: { code: 'disk_exists', message: 'd1 exists' } });
    const fake = new FakeFetch().on('GET', JOB_PATH, jsonResponse(200, failed));
    const err = await client(fake).waitSucceeded(ID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect((err as JobFailedError).code).toBe('disk_exists');
    expect((err as JobFailedError).job).toEqual(failed);
    expect((err as JobFailedError).message).toBe(`job ${ID} (create-disk) ended failed: disk_exists: d1 exists`);
  });

  it('run submits, waits and answers the succeeded job with its result', async () => {
    const fake = new FakeFetch()
      .on('POST', '/v1/jobs', jsonResponse(202, fakeJob('create-disk')))
      .on('GET', JOB_PATH, jsonResponse(200, fakeJob('create-disk', { state: 'succeeded', result: { name: 'd1', virtualSize: 5 } })));
    const done = await client(fake).run('create-disk', { name: 'd1', sizeGiB: 1 }, { timeoutSeconds: 30, waitTimeoutSeconds: 60, idempotencyKey: 'k' });
    expect(done.result.virtualSize).toBe(5);
    // timeoutSeconds is the job's own limit, sent with it; waitTimeoutSeconds stays here.
    expect(fake.to('POST', '/v1/jobs')[0]?.body).toEqual({ type: 'create-disk', payload: { name: 'd1', sizeGiB: 1 }, timeoutSeconds: 30 });
    expect(fake.to('POST', '/v1/jobs')[0]?.headers['idempotency-key']).toBe('k');
  });
});

describe('watch', () => {
  it('yields typed events, skips keepalives and other jobs, and closes the stream when the loop breaks', async () => {
    let closed = false;
    const fake = new FakeFetch().on('GET', '/v1/events', (req) =>
      sseResponse(
        [
          'event: keepalive\nid: 1\ndata: \n\n',
          sse('job.created', fakeJob('create-disk', { id: OTHER })),
          sse('job.created', fakeJob('create-disk')),
          sse('job.updated', fakeJob('create-disk', { state: 'running' })),
          sse('job.finished', fakeJob('create-disk', { state: 'succeeded' })),
        ],
        { signal: req.signal, onCancel: () => (closed = true) },
      ),
    );
    const got: Array<WatchEvent<'create-disk'>> = [];
    for await (const e of client(fake).watch({ jobId: ID, hostId: 'h1', type: 'create-disk' })) {
      got.push(e);
      if (e.event === 'job.updated') break;
    }
    expect(got.map((e) => e.event)).toEqual(['job.created', 'job.updated']);
    expect(got[1]).toMatchObject({ id: ID, job: { id: ID, state: 'running' } });
    expect(fake.requests[0]?.url.search).toBe(`?hostId=h1&type=create-disk&jobId=${ID}`);
    expect(closed || fake.requests[0]?.signal?.aborted).toBe(true);
  });

  it('passes VM events through, and ends when the API closes the stream', async () => {
    const fake = new FakeFetch().on('GET', '/v1/events', sseResponse([sse('vm.removed', { id: 'vm1', hostId: 'h', uuid: 'u', name: 'web', status: 'missing', state: 'shutoff' })], { end: true }));
    const got: WatchEvent[] = [];
    for await (const e of client(fake).watch()) got.push(e);
    expect(got).toEqual([{ event: 'vm.removed', id: 'vm1', vm: { id: 'vm1', hostId: 'h', uuid: 'u', name: 'web', status: 'missing', state: 'shutoff' } }]);
  });

  it('ends quietly when the signal aborts', async () => {
    const fake = new FakeFetch().on('GET', '/v1/events', (req) => sseResponse([sse('job.created', fakeJob('noop'))], { signal: req.signal }));
    const ctl = new AbortController();
    const got: WatchEvent[] = [];
    for await (const e of client(fake).watch({}, ctl.signal)) {
      got.push(e);
      ctl.abort();
    }
    expect(got).toHaveLength(1);
  });

  it('a refused stream is an ApiError', async () => {
    const fake = new FakeFetch().on('GET', '/v1/events', jsonResponse(401, { error: { code: 'unauthorized', message: 'a token is required' } }));
    const it = client(fake).watch();
    await expect(it.next()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });
});

describe('lists and the other job routes', () => {
  it('iterate follows nextCursor page after page and stops at null', async () => {
    const a = fakeJob('noop', { id: 'a' });
    const b = fakeJob('noop', { id: 'b' });
    const c = fakeJob('noop', { id: 'c' });
    const fake = new FakeFetch().on(
      'GET',
      '/v1/jobs',
      jsonResponse(200, { items: [a, b], nextCursor: 'c1' }),
      jsonResponse(200, { items: [c], nextCursor: null }),
    );
    const ids: string[] = [];
    for await (const job of client(fake).jobs.iterate({ type: 'noop', state: 'succeeded', limit: 2 })) ids.push(job.id);
    expect(ids).toEqual(['a', 'b', 'c']);
    expect(fake.requests.map((r) => r.url.search)).toEqual(['?type=noop&state=succeeded&limit=2', '?type=noop&state=succeeded&limit=2&cursor=c1']);
  });

  it('iterate asks for a page only when the caller gets that far', async () => {
    const fake = new FakeFetch().on('GET', '/v1/jobs', jsonResponse(200, { items: [fakeJob('noop')], nextCursor: 'more' }));
    for await (const job of client(fake).jobs.iterate({ parentId: ID })) {
      expect(job.type).toBe('noop');
      break;
    }
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.url.searchParams.get('parentId')).toBe(ID);
  });

  it('logs, cancel and stats', async () => {
    const log = { attempt: 1, seq: 0, argv: ['qemu-img', 'create'], exitCode: 0, signal: null, durationMs: 12, startedAt: 'T', stdoutTail: '', stderrTail: '' };
    const fake = new FakeFetch()
      .on('GET', `${JOB_PATH}/logs`, jsonResponse(200, { items: [log] }))
      .on('POST', `${JOB_PATH}/cancel`, jsonResponse(202, fakeJob('sleep', { state: 'cancelled' })), jsonResponse(409, { error: { code: 'job_final', message: 'already ended', details: { state: 'cancelled' } } }))
      .on('GET', '/v1/jobs/stats', jsonResponse(200, { byState: { pending: 0, queued: 2, running: 1, succeeded: 5, failed: 0, cancelled: 0, timed_out: 0 } }));
    const vf = client(fake);
    expect(await vf.jobs.logs(ID)).toEqual([log]);
    expect((await vf.jobs.cancel(ID)).state).toBe('cancelled');
    await expect(vf.jobs.cancel(ID)).rejects.toMatchObject({ status: 409, code: 'job_final', details: { state: 'cancelled' } });
    expect((await vf.jobs.stats({ hostId: 'h1' })).queued).toBe(2);
    expect(fake.to('GET', '/v1/jobs/stats')[0]?.url.search).toBe('?hostId=h1');
  });
});
