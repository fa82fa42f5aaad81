import { VirtfleetClient } from './client';
import { FakeFetch, fakeJob, jsonResponse, type RecordedRequest } from './fake-fetch';
import type { BatchItem } from './jobs.resource';

const VM = '44444444-4444-4444-8444-444444444444';
const DISK = '55555555-5555-4555-8555-555555555555';
const HOST = '22222222-2222-4222-8222-222222222222';

/** A client whose every route answers `answer`; the requests it made, as "METHOD path?query" and bodies. */
function recorder(answer: (req: RecordedRequest) => Response = () => jsonResponse(202, fakeJob('noop'))) {
  const requests: RecordedRequest[] = [];
  const vf = new VirtfleetClient({
    url: 'http://api.test',
    token: 't',
    fetch: async (input, init) => {
      const fake = new FakeFetch();
      const url = new URL(String(input));
      fake.on(init?.method ?? 'GET', url.pathname, answer);
      const res = await fake.fetch(input, init);
      requests.push(...fake.requests);
      return res;
    },
  });
  const calls = () => requests.map((r) => `${r.method} ${r.url.pathname}${r.url.search}`);
  return { vf, requests, calls };
}

describe('VMs', () => {
  it('create, place (dryRun) and define go to their routes with the typed body and Idempotency-Key', async () => {
    const { vf, requests, calls } = recorder((req) =>
      req.url.searchParams.get('dryRun') ? jsonResponse(200, { dryRun: true, placement: { hostId: HOST, hostName: 'a', reason: 'most room', hosts: [] } }) : jsonResponse(202, fakeJob('create-vm')),
    );
    const body = { name: 'web1', memoryMiB: 256, vcpus: 1, install: { kind: 'pxe' as const }, networks: [{ network: 'nat0' }], hostSelector: { zone: 'a' } };
    await vf.vms.create(body, { idempotencyKey: 'vm-web1' });
    expect((await vf.vms.place(body)).hostId).toBe(HOST);
    await vf.vms.define({ xml: '<domain type="kvm"><name>x</name></domain>', hostId: HOST });
    expect(calls()).toEqual(['POST /v1/vms', 'POST /v1/vms?dryRun=true', 'POST /v1/vms/define']);
    expect(requests[0]?.body).toEqual(body);
    expect(requests[0]?.headers['idempotency-key']).toBe('vm-web1');
  });

  it('actions send the job payload without vm, and an empty object when the action takes nothing', async () => {
    const { vf, requests, calls } = recorder();
    await vf.vms.action(VM, 'start');
    await vf.vms.action(VM, 'shutdown', { timeoutSeconds: 60, force: true }, { idempotencyKey: 'stop-1' });
    await vf.vms.action(VM, 'set-autostart', { enabled: true });
    await vf.vms.action(VM, 'set-vcpus', { vcpus: 2 });
    expect(calls()).toEqual([
      `POST /v1/vms/${VM}/actions/start`,
      `POST /v1/vms/${VM}/actions/shutdown`,
      `POST /v1/vms/${VM}/actions/set-autostart`,
      `POST /v1/vms/${VM}/actions/set-vcpus`,
    ]);
    expect(requests.map((r) => r.body)).toEqual([{}, { timeoutSeconds: 60, force: true }, { enabled: true }, { vcpus: 2 }]);
    expect(requests[1]?.headers['idempotency-key']).toBe('stop-1');
  });

  it('undefine, clone, interfaces and snapshots', async () => {
    const { vf, requests, calls } = recorder();
    await vf.vms.undefine(VM, { removeStorage: true, deleteSnapshots: true, idempotencyKey: 'rm' });
    await vf.vms.undefine(VM);
    await vf.vms.clone(VM, { namePattern: 'web-{n}', count: 3 });
    await vf.vms.attachInterface(VM, { network: 'nat0', model: 'e1000', live: false });
    await vf.vms.detachInterface(VM, '52:54:00:aa:bb:cc', { config: false });
    await vf.vms.createSnapshot(VM, { name: 'before-upgrade' });
    await vf.vms.createSnapshot(VM);
    await vf.vms.revertSnapshot(VM, 'before-upgrade');
    await vf.vms.deleteSnapshot(VM, 'before-upgrade');
    expect(calls()).toEqual([
      `DELETE /v1/vms/${VM}?removeStorage=true&deleteSnapshots=true`,
      `DELETE /v1/vms/${VM}`,
      `POST /v1/vms/${VM}/clone`,
      `POST /v1/vms/${VM}/interfaces`,
      `DELETE /v1/vms/${VM}/interfaces/52%3A54%3A00%3Aaa%3Abb%3Acc?config=false`,
      `POST /v1/vms/${VM}/snapshots`,
      `POST /v1/vms/${VM}/snapshots`,
      `POST /v1/vms/${VM}/snapshots/before-upgrade/revert`,
      `DELETE /v1/vms/${VM}/snapshots/before-upgrade`,
    ]);
    expect(requests[0]?.headers['idempotency-key']).toBe('rm');
    expect(requests[2]?.body).toEqual({ namePattern: 'web-{n}', count: 3 });
    expect(requests[3]?.body).toEqual({ network: 'nat0', model: 'e1000', live: false });
    expect(requests[5]?.body).toEqual({ name: 'before-upgrade' });
    expect(requests[6]?.body).toEqual({});
  });

  it('lists with a label selector, reads one, its XML and snapshots, adopts and patches labels', async () => {
    const vm = { id: VM, name: 'web1' };
    const { vf, requests, calls } = recorder((req) => {
      if (req.url.pathname.endsWith('/xml')) return new Response('<domain/>', { headers: { 'content-type': 'application/xml' } });
      if (req.url.pathname.endsWith('/snapshots')) return jsonResponse(200, { items: [{ name: 's1', current: true }] });
      if (req.url.pathname === '/v1/vms') return jsonResponse(200, { items: [vm], nextCursor: null });
      return jsonResponse(200, vm);
    });
    expect((await vf.vms.list({ label: { zone: 'a', tier: 'web' }, status: 'managed' })).items).toEqual([vm]);
    expect((await vf.vms.get(VM)).name).toBe('web1');
    expect(await vf.vms.xml(VM)).toBe('<domain/>');
    expect(await vf.vms.snapshots(VM)).toEqual([{ name: 's1', current: true }]);
    await vf.vms.adopt(VM);
    await vf.vms.patch(VM, { labels: { tier: 'db' } });
    expect(calls()).toEqual([
      '/v1/vms?label=zone%3Da%2Ctier%3Dweb&status=managed',
      `/v1/vms/${VM}`,
      `/v1/vms/${VM}/xml`,
      `/v1/vms/${VM}/snapshots`,
      `/v1/vms/${VM}/adopt`,
      `/v1/vms/${VM}`,
    ].map((p, i) => `${['GET', 'GET', 'GET', 'GET', 'POST', 'PATCH'][i]} ${p}`));
    expect(requests[2]?.headers['accept']).toBe('application/xml');
    expect(requests[5]?.body).toEqual({ labels: { tier: 'db' } });
  });

  it('console gives the WebSocket URL and the headers to open it with', () => {
    const { vf } = recorder();
    expect(vf.vms.console(VM)).toEqual({
      url: `ws://api.test/v1/vms/${VM}/console`,
      headers: expect.objectContaining({ authorization: 'Bearer t' }),
    });
  });
});

describe('disks, networks, hosts', () => {
  it('disk routes', async () => {
    const { vf, requests, calls } = recorder((req) =>
      req.url.pathname === '/v1/isos' ? jsonResponse(200, { items: [{ hostId: HOST, host: 'a', name: 'x.iso', sizeBytes: 1, modifiedAt: 'T' }] }) : jsonResponse(202, fakeJob('noop')),
    );
    await vf.disks.create({ name: 'd1', sizeGiB: 1, hostId: HOST }, { idempotencyKey: 'd1' });
    await vf.disks.inspect(DISK);
    await vf.disks.convert(DISK, { target: 'd1-q', format: 'qcow2', compress: true, attachTo: VM });
    await vf.disks.resize(DISK, { sizeGiB: 2 });
    await vf.disks.delete(DISK);
    expect((await vf.disks.isos({ hostId: HOST }))[0]?.name).toBe('x.iso');
    expect(calls()).toEqual([
      'POST /v1/disks',
      `POST /v1/disks/${DISK}/inspect`,
      `POST /v1/disks/${DISK}/convert`,
      `POST /v1/disks/${DISK}/resize`,
      `DELETE /v1/disks/${DISK}`,
      `GET /v1/isos?hostId=${HOST}`,
    ]);
    expect(requests.map((r) => r.body)).toEqual([
      { name: 'd1', sizeGiB: 1, hostId: HOST },
      undefined,
      { target: 'd1-q', format: 'qcow2', compress: true, attachTo: VM },
      { sizeGiB: 2 },
      undefined,
      undefined,
    ]);
    expect(requests[1]?.headers['content-type']).toBeUndefined();
  });

  it('network routes', async () => {
    const { vf, requests, calls } = recorder();
    await vf.networks.define({ network: { kind: 'nat', name: 'nat0', cidr: '10.213.0.1/24' }, hostSelector: { zone: 'a' } }, { idempotencyKey: 'n' });
    await vf.networks.action(HOST, 'nat0', 'stop');
    await vf.networks.action(HOST, 'nat0', 'set-autostart', { enabled: false });
    await vf.networks.undefine(HOST, 'nat0', { force: true });
    expect(calls()).toEqual([
      'POST /v1/networks',
      `POST /v1/hosts/${HOST}/networks/nat0/actions/stop`,
      `POST /v1/hosts/${HOST}/networks/nat0/actions/set-autostart`,
      `DELETE /v1/hosts/${HOST}/networks/nat0?force=true`,
    ]);
    expect(requests[2]?.body).toEqual({ enabled: false });
  });

  it('host routes; a 204 answers undefined', async () => {
    const host = { id: HOST, name: 'a', doctor: { checks: [], ranAt: 'T' } };
    const { vf, requests, calls } = recorder((req) => {
      if (req.method === 'DELETE') return new Response(null, { status: 204 });
      if (req.url.pathname === '/v1/hosts') return jsonResponse(200, { items: [host] });
      if (req.url.pathname === '/v1/hosts/join-tokens') return jsonResponse(201, { id: 'j', token: 'vfj_x', expiresAt: 'T' });
      return jsonResponse(200, host);
    });
    expect(await vf.hosts.list({ label: 'zone=a' })).toEqual([host]);
    expect(await vf.hosts.doctor(HOST)).toEqual({ checks: [], ranAt: 'T' });
    await vf.hosts.maintenance(HOST);
    await vf.hosts.maintenance(HOST, false);
    expect((await vf.hosts.joinToken({ ttlSeconds: 600 })).token).toBe('vfj_x');
    expect(await vf.hosts.revoke(HOST)).toBeUndefined();
    expect(calls()).toEqual([
      'GET /v1/hosts?label=zone%3Da',
      `GET /v1/hosts/${HOST}`,
      `POST /v1/hosts/${HOST}/maintenance`,
      `POST /v1/hosts/${HOST}/maintenance`,
      'POST /v1/hosts/join-tokens',
      `DELETE /v1/hosts/${HOST}`,
    ]);
    expect(requests.map((r) => r.body).slice(2, 5)).toEqual([{ enabled: true }, { enabled: false }, { ttlSeconds: 600 }]);
  });

  it('a label value holding "," cannot be filtered on: said before any request', async () => {
    const { vf, requests } = recorder();
    await expect(vf.hosts.list({ label: { zone: 'a,b' } })).rejects.toThrow('a value with "," cannot be used in a label filter');
    expect(requests).toHaveLength(0);
  });
});

describe('tokens, webhooks, audit, health', () => {
  it('admin routes', async () => {
    const { vf, calls } = recorder((req) => {
      if (req.method === 'DELETE') return new Response(null, { status: 204 });
      if (req.url.pathname === '/v1/audit') {
        return req.url.searchParams.get('cursor')
          ? jsonResponse(200, { items: [{ id: '1' }], nextCursor: null })
          : jsonResponse(200, { items: [{ id: '3' }, { id: '2' }], nextCursor: '2' });
      }
      if (req.method === 'POST' && req.url.pathname === '/v1/webhooks') return jsonResponse(201, { webhook: { id: 'w' }, secret: 's' });
      if (req.method === 'POST') return jsonResponse(201, { id: 't', token: 'vfa_x' });
      return jsonResponse(200, { items: [] });
    });
    expect((await vf.tokens.create({ name: 'ci', scopes: ['operate'] })).token).toBe('vfa_x');
    await vf.tokens.list();
    await vf.tokens.revoke('t');
    expect((await vf.webhooks.create({ url: 'https://hooks.test/x', jobType: 'create-vm' })).secret).toBe('s');
    await vf.webhooks.list();
    await vf.webhooks.deliveries('w');
    await vf.webhooks.delete('w');
    const audit: string[] = [];
    for await (const e of vf.audit.iterate({ action: 'job.cancel', limit: 2 })) audit.push(e.id);
    expect(audit).toEqual(['3', '2', '1']);
    expect(calls()).toEqual([
      'POST /v1/tokens',
      'GET /v1/tokens',
      'DELETE /v1/tokens/t',
      'POST /v1/webhooks',
      'GET /v1/webhooks',
      'GET /v1/webhooks/w/deliveries',
      'DELETE /v1/webhooks/w',
      'GET /v1/audit?action=job.cancel&limit=2',
      'GET /v1/audit?action=job.cancel&limit=2&cursor=2',
    ]);
  });

  it('ready answers a 503 instead of throwing it', async () => {
    const { vf } = recorder(() => jsonResponse(503, { status: 'not_ready', checks: { postgres: false, redis: true } }));
    expect(await vf.ready()).toEqual({ status: 'not_ready', checks: { postgres: false, redis: true } });
  });
});

describe('jobs.submitMany', () => {
  it('posts the batch to /v1/jobs/batch with its Idempotency-Key and answers the jobs in order', async () => {
    const { vf, requests, calls } = recorder(() => jsonResponse(202, { items: [fakeJob('create-disk'), fakeJob('noop')] }));
    const items: BatchItem[] = [
      { type: 'create-disk', payload: { name: 'd1', sizeGiB: 1 }, hostId: HOST },
      { type: 'noop', payload: {}, hostId: HOST, expiresInSeconds: 60 },
    ];
    const jobs = await vf.jobs.submitMany(items, { idempotencyKey: 'b1' });
    expect(jobs.map((j) => j.type)).toEqual(['create-disk', 'noop']);
    expect(calls()).toEqual(['POST /v1/jobs/batch']);
    expect(requests[0]?.body).toEqual({ jobs: items });
    expect(requests[0]?.headers['idempotency-key']).toBe('b1');
  });
});
