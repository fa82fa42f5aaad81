import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ApiError, ApiUnreachableError } from './errors';
import { FakeFetch, fakeJob, jsonResponse } from './fake-fetch';
import { SDK_VERSION } from './http';
import { VirtfleetClient } from './client';

const URL_ = 'http://api.test:8080';

/** A port nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('HTTP: headers, bodies and errors', () => {
  it('submit sends the job with Authorization, Idempotency-Key, content-type and a User-Agent', async () => {
    const fake = new FakeFetch().on('POST', '/v1/jobs', jsonResponse(202, fakeJob('create-disk'), { location: '/v1/jobs/x' }));
    const vf = new VirtfleetClient({ url: `${URL_}/`, token: 'vfa_secret', fetch: fake.fetch, userAgent: 'svc/1.2' });
    const job = await vf.submit('create-disk', { name: 'd1', sizeGiB: 1 }, { hostId: 'h1', idempotencyKey: 'key-1', expiresInSeconds: 600, timeoutSeconds: 30 });
    expect(job.type).toBe('create-disk');
    const [req] = fake.requests;
    expect(req?.url.href).toBe(`${URL_}/v1/jobs`);
    expect(req?.headers).toMatchObject({
      authorization: 'Bearer vfa_secret',
      'idempotency-key': 'key-1',
      'content-type': 'application/json',
      accept: 'application/json',
    });
    expect(req?.headers['user-agent']).toMatch(/^svc\/1\.2 virtfleet-sdk\/0\.1\.0 node\//);
    expect(req?.body).toEqual({ type: 'create-disk', payload: { name: 'd1', sizeGiB: 1 }, hostId: 'h1', expiresInSeconds: 600, timeoutSeconds: 30 });
  });

  it('sends no Idempotency-Key, content-type or Authorization it was not given', async () => {
    const fake = new FakeFetch().on('GET', '/v1/jobs/j1', jsonResponse(200, fakeJob('noop')));
    await new VirtfleetClient({ url: URL_, fetch: fake.fetch }).job('j1');
    expect(Object.keys(fake.requests[0]?.headers ?? {}).sort()).toEqual(['accept', 'user-agent']);
  });

  it('in a browser (no process) it sends no User-Agent: the browser keeps its own', async () => {
    const fake = new FakeFetch().on('GET', '/v1/jobs/j1', jsonResponse(200, fakeJob('noop')));
    const g = globalThis as { process?: unknown };
    const saved = g.process;
    let vf: VirtfleetClient;
    g.process = undefined; // the headers are settled when the client is made
    try {
      vf = new VirtfleetClient({ url: URL_, token: 't', fetch: fake.fetch, userAgent: 'web/1' });
    } finally {
      g.process = saved;
    }
    await vf.job('j1');
    expect(Object.keys(fake.requests[0]?.headers ?? {}).sort()).toEqual(['accept', 'authorization']);
  });

  it('the browser entry (package.json "browser") reaches no Node built-in, process or Buffer', () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(join(__dirname, file), 'utf8');
      expect({ file, node: /from '(node:|fs|path|crypto|http)/.test(src), globals: /\b(process|Buffer)\./.test(src) }).toEqual({ file, node: false, globals: false });
      for (const m of src.matchAll(/from '\.\/([\w.-]+)'/g)) visit(`${m[1]}.ts`);
    };
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { browser: string };
    visit(pkg.browser.replace(/^src\//, ''));
    expect(seen.has('client.ts')).toBe(true);
    expect(seen.has('webhook-signature.ts')).toBe(false);
  });

  it('a replayed Idempotency-Key (200) answers the first job like a 202 does', async () => {
    const first = fakeJob('create-disk', { idempotencyKey: 'k' });
    const fake = new FakeFetch().on('POST', '/v1/jobs', jsonResponse(202, first), jsonResponse(200, first));
    const vf = new VirtfleetClient({ url: URL_, token: 't', fetch: fake.fetch });
    const a = await vf.submit('create-disk', { name: 'd1', sizeGiB: 1 }, { idempotencyKey: 'k' });
    const b = await vf.submit('create-disk', { name: 'd1', sizeGiB: 1 }, { idempotencyKey: 'k' });
    expect(b.id).toBe(a.id);
  });

  it('turns the API error body into a typed ApiError (409 idempotency_key_reused)', async () => {
    const fake = new FakeFetch().on(
      'POST',
      '/v1/jobs',
      jsonResponse(409, { error: { code: 'idempotency_key_reused', message: 'this Idempotency-Key was used with a different request', details: { jobId: 'j0' } } }),
    );
    const vf = new VirtfleetClient({ url: URL_, token: 't', fetch: fake.fetch });
    const err = await vf.submit('create-disk', { name: 'd2', sizeGiB: 1 }, { idempotencyKey: 'k' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({
      status: 409,
      code: 'idempotency_key_reused',
      message: 'this Idempotency-Key was used with a different request',
      details: { jobId: 'j0' },
      request: 'POST /v1/jobs',
    });
    expect(ApiError.is(err, 'idempotency_key_reused')).toBe(true);
    expect(ApiError.is(err, 'job_final')).toBe(false);
    expect((err as ApiError).transient).toBe(false);
  });

  it('names the fields of a 400 payload_invalid in issues', async () => {
    const issues = [{ path: 'payload.sizeGiB', message: 'Too small' }];
    const fake = new FakeFetch().on('POST', '/v1/disks', jsonResponse(400, { error: { code: 'payload_invalid', message: 'payload.sizeGiB: Too small', details: { issues } } }));
    const err = await new VirtfleetClient({ url: URL_, fetch: fake.fetch }).disks.create({ name: 'x', sizeGiB: 1 }).catch((e: unknown) => e);
    expect((err as ApiError).issues).toEqual(issues);
  });

  it('keeps Retry-After of a 503 and calls it transient; a proxy page without the error body gets a code from the status', async () => {
    const fake = new FakeFetch()
      .on('GET', '/v1/hosts', jsonResponse(503, { error: { code: 'database_unavailable', message: 'PostgreSQL is not reachable; retry shortly' } }, { 'retry-after': '2' }))
      .on('GET', '/v1/vms', new Response('<html><body>Bad Gateway</body></html>', { status: 502, headers: { 'content-type': 'text/html' } }));
    const vf = new VirtfleetClient({ url: URL_, fetch: fake.fetch });
    const db = (await vf.hosts.list().catch((e: unknown) => e)) as ApiError;
    expect(db).toMatchObject({ status: 503, code: 'database_unavailable', retryAfterSeconds: 2, transient: true });
    const proxy = (await vf.vms.list().catch((e: unknown) => e)) as ApiError;
    expect(proxy).toMatchObject({ status: 502, code: 'http_502' });
    expect(proxy.message).toContain('Bad Gateway');
  });

  it('a refused connection is ApiUnreachableError with the URL, the code and a hint', async () => {
    const port = await closedPort();
    const vf = new VirtfleetClient({ url: `http://127.0.0.1:${port}`, token: 't' });
    const err = await vf.job('11111111-1111-4111-8111-111111111111').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiUnreachableError);
    const e = err as ApiUnreachableError;
    expect(e.errno).toBe('ECONNREFUSED');
    expect(e.transient).toBe(true);
    expect(e.message).toBe(
      `cannot reach the virtfleet API at http://127.0.0.1:${port} (ECONNREFUSED): nothing listens there: is the API running (npm run up) and is the URL right (VIRTFLEET_URL)?`,
    );
    expect((e.cause as Error).message).toBe('fetch failed');
  });

  it('port 1 never gets a connection: fetch refuses it, and the hint says so', async () => {
    const err = (await new VirtfleetClient({ url: 'http://127.0.0.1:1' }).health().catch((e: unknown) => e)) as ApiUnreachableError;
    expect(err).toBeInstanceOf(ApiUnreachableError);
    expect(err.message).toBe('cannot reach the virtfleet API at http://127.0.0.1:1: fetch refuses this port (the Fetch standard blocks it): run the API on another one');
  });

  it("an aborted call throws the caller's abort, not ApiUnreachableError", async () => {
    const fake = new FakeFetch().on('GET', '/v1/jobs/j1', jsonResponse(200, fakeJob('noop')));
    const ctl = new AbortController();
    ctl.abort();
    const err = await new VirtfleetClient({ url: URL_, fetch: fake.fetch }).job('j1', { signal: ctl.signal }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ApiUnreachableError);
    expect((err as Error).name).toBe('AbortError');
  });

  it('refuses a URL that is not http(s) when it is made', () => {
    expect(() => new VirtfleetClient({ url: 'localhost:8080' })).toThrow(TypeError);
    expect(() => new VirtfleetClient({ url: 'ftp://x' })).toThrow('must be http(s)');
  });

  it('keeps a path prefix of the base URL and leaves undefined query values out', async () => {
    const fake = new FakeFetch().on('GET', '/fleet/v1/jobs', jsonResponse(200, { items: [], nextCursor: null }));
    await new VirtfleetClient({ url: 'http://api.test/fleet/', fetch: fake.fetch }).jobs.list({ state: 'failed', limit: 10 });
    expect(fake.requests[0]?.url.href).toBe('http://api.test/fleet/v1/jobs?state=failed&limit=10');
  });

  it('SDK_VERSION is the package version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(SDK_VERSION).toBe(pkg.version);
  });
});
