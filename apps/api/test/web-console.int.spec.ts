import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findWebRoot } from '../src/web/web-console';
import { ApiHarness } from './harness';

// The API serves the web console (apps/web, built into dist/web) at /: its files, index.html for
// the console's own routes, and nothing of it over the API's paths.

async function get(base: string, path: string): Promise<{ status: number; type: string; body: string; headers: Headers }> {
  const res = await fetch(new URL(path, base));
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text(), headers: res.headers };
}

describe('the web console at /', () => {
  let api: ApiHarness;
  let root: string;
  const INDEX = '<!doctype html><title>virtfleet</title><div id="root"></div><script type="module" src="/assets/index-abc123.js"></script>';

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vf-web-'));
    await mkdir(join(root, 'assets'));
    await writeFile(join(root, 'index.html'), INDEX);
    await writeFile(join(root, 'assets/index-abc123.js'), 'console.log("console")');
    await writeFile(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(join(root, '.build-stamp'), 'hash');
    api = await ApiHarness.start({}, { webRoot: root });
  });
  afterAll(async () => {
    await api.close();
    await rm(root, { recursive: true, force: true });
  }, 60_000);

  it('answers index.html at / and at the console routes, uncached, with a same-origin-only CSP', async () => {
    for (const path of ['/', '/vms', '/vms/7d3c5f0e-1111-4111-8111-111111111111', '/jobs?state=running', '/hosts/abc']) {
      const r = await get(api.url, path);
      expect({ path, status: r.status, type: r.type, body: r.body }).toEqual({ path, status: 200, type: expect.stringContaining('text/html'), body: INDEX });
      expect(r.headers.get('cache-control')).toBe('no-cache');
      expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(r.headers.get('content-security-policy')).toContain("connect-src 'self'");
    }
  });

  it('serves the bundle: hashed assets cached for good, other files revalidated, dotfiles and missing files 404', async () => {
    const js = await get(api.url, '/assets/index-abc123.js');
    expect(js).toMatchObject({ status: 200, body: 'console.log("console")' });
    expect(js.type).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const icon = await get(api.url, '/favicon.svg');
    expect(icon).toMatchObject({ status: 200, type: expect.stringContaining('image/svg+xml') });
    expect(icon.headers.get('cache-control')).toBe('no-cache');
    for (const path of ['/assets/nope.js', '/.build-stamp', '/favicon.ico']) {
      expect({ path, status: (await get(api.url, path)).status }).toEqual({ path, status: 404 });
    }
    expect((await get(api.url, '/assets/..%2f..%2fetc%2fpasswd')).status).toBe(403); // send refuses to leave the root
  });

  it('leaves the API its paths: /v1 (a wrong one is a JSON 404), /healthz, /readyz, /metrics, /docs', async () => {
    const missing = await get(api.url, '/v1/no-such-route');
    expect(missing.status).toBe(404);
    expect(missing.type).toContain('application/json'); // Nest's own 404, as for any unknown route
    expect(missing.body).toContain('Cannot GET /v1/no-such-route');
    expect((await get(api.url, '/v1/hosts')).status).toBe(401);
    expect(await api.call('GET', '/v1/hosts')).toMatchObject({ status: 200, body: { items: [] } });
    expect(JSON.parse((await get(api.url, '/healthz')).body)).toEqual({ status: 'ok' });
    expect((await get(api.url, '/readyz')).status).toBe(200);
    expect((await get(api.url, '/metrics')).body).toContain('virtfleet_');
    const docs = await get(api.url, '/docs');
    expect(docs.status).toBe(200);
    expect(docs.body).toContain('swagger');
    expect(JSON.parse((await get(api.url, '/docs-json')).body)).toMatchObject({ info: { title: 'virtfleet API' } });
  });
});

describe('the API without a web console build', () => {
  it('starts, says so once in its log, and answers 404 at / while the API works', async () => {
    const written: string[] = [];
    const api = await ApiHarness.start({ VIRTFLEET_LOG_LEVEL: 'info' }, { webRoot: join(tmpdir(), 'vf-web-never-built'), logTo: { write: (s: string) => void written.push(s) } });
    try {
      expect((await get(api.url, '/')).status).toBe(404);
      expect((await get(api.url, '/vms')).status).toBe(404);
      expect(JSON.parse((await get(api.url, '/healthz')).body)).toEqual({ status: 'ok' });
      const lines = written.join('').split('\n').filter((l) => l.includes('web console not built'));
      expect(lines).toHaveLength(1);
    } finally {
      await api.close();
    }
  }, 60_000);

  it('finds dist/web beside the built API and from the sources', () => {
    const dist = findWebRoot(join(__dirname, '../../../dist/apps/api/src/web'));
    const sources = findWebRoot(join(__dirname, '../src/web'));
    // Both point at the checkout's dist/web (when it is built, as the test run's build step does).
    expect(dist).toBe(sources);
    if (sources) expect(sources).toBe(join(__dirname, '../../../dist/web'));
  });
});
