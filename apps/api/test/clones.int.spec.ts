import { randomUUID } from 'node:crypto';
import type { DomainInventory } from '@virtfleet/contracts';
import { waitFor } from '@virtfleet/testing';
import { ApiHarness, agentFacts } from './harness';

interface JobBody {
  id: string;
  type: string;
  state: string;
  progress: number;
  group: boolean;
  parentId: string | null;
  lockKey: string | null;
  concurrencyKey: string | null;
  payload: Record<string, unknown>;
  result: Record<string, unknown> | null;
  error: { code: string; message: string; details?: Record<string, unknown> } | null;
}
interface ErrorBody {
  error: { code: string; message: string };
}
interface Page<T> {
  items: T[];
}

const STORE = '/var/lib/virtfleet/store';

function source(name: string): DomainInventory {
  return {
    uuid: randomUUID(),
    name,
    state: 'shutoff',
    persistent: true,
    autostart: false,
    vcpus: 1,
    maxVcpus: 1,
    memoryMiB: 256,
    maxMemoryMiB: 256,
    disks: [
      { target: 'vda', device: 'disk', type: 'file', source: `${STORE}/${name}-root.qcow2`, format: 'qcow2' },
      { target: 'vdb', device: 'disk', type: 'file', source: `${STORE}/scratch.raw`, format: 'raw' },
      { target: 'sda', device: 'cdrom', type: 'file', source: '/var/lib/virtfleet/iso/install.iso', format: 'raw', readonly: true },
    ],
    interfaces: [],
    graphics: [],
    snapshots: [],
    xml: `<domain type='qemu'><name>${name}</name></domain>`,
  };
}

describe('clone routes: names, disk names, bulk clones under a parent, per-host clone concurrency', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await ApiHarness.start();
  });
  afterAll(() => api.close(), 60_000);

  /** A host whose inventory holds one managed, shut-off VM to clone. */
  async function hostWithSource(hostName: string, vmName: string) {
    const host = await api.host(hostName);
    const d = source(vmName);
    await api.call('POST', '/v1/agent/inventory', { token: host.agentToken, body: { kind: 'full', takenAt: new Date().toISOString(), domains: [d], networks: [], pools: [] } });
    const vm = (await api.call<Page<{ id: string; name: string }>>('GET', `/v1/vms?hostId=${host.id}`)).body.items[0];
    if (!vm) throw new Error('no source VM');
    await api.call('POST', `/v1/vms/${vm.id}/adopt`);
    return { host, vm, d };
  }
  const clone = (vmId: string, body: unknown, headers: Record<string, string> = {}) => api.call<JobBody & ErrorBody>('POST', `/v1/vms/${vmId}/clone`, { body, headers });
  const children = async (parentId: string) => (await api.call<Page<JobBody>>('GET', `/v1/jobs?parentId=${parentId}&limit=500`)).body.items.reverse();

  it('one clone: the API picks the UUID and disk names, reserves the name, and refuses bad requests before writing anything', async () => {
    const { host, vm, d } = await hostWithSource('cl1', 'src-1');
    const r = await clone(vm.id, { name: 'c1', forceCopy: ['sda'] });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ type: 'clone-vm', lockKey: 'vm:c1', concurrencyKey: 'clone', group: false });
    expect(r.body.payload).toMatchObject({
      source: { uuid: d.uuid, name: 'src-1' },
      name: 'c1',
      // The source's name swapped for the clone's; else <clone>-<target>.
      disks: [
        { target: 'vda', name: 'c1-root' },
        { target: 'vdb', name: 'c1-vdb' },
        { target: 'sda', name: 'c1-sda' },
      ],
    });
    expect(r.body.payload['uuid']).toMatch(/^[0-9a-f-]{36}$/);
    const rows = (await api.call<Page<{ name: string; status: string }>>('GET', `/v1/vms?hostId=${host.id}`)).body.items;
    expect(rows.find((v) => v.name === 'c1')).toMatchObject({ status: 'creating' });

    // virt-clone --auto-clone naming: the first free <source>-clone, -clone1 …
    const auto1 = await clone(vm.id, { autoClone: true });
    const auto2 = await clone(vm.id, { autoClone: true });
    expect([auto1.body.payload['name'], auto2.body.payload['name']]).toEqual(['src-1-clone', 'src-1-clone1']);

    const before = (await api.call<Page<JobBody>>('GET', `/v1/jobs?hostId=${host.id}`)).body.items.length;
    const bad: Array<[unknown, number, string]> = [
      [{}, 400, 'request_invalid'],
      [{ name: 'x', autoClone: true }, 400, 'request_invalid'],
      [{ name: 'x', count: 3 }, 400, 'request_invalid'],
      [{ namePattern: 'b{n}', count: 3, shutdownSource: true }, 400, 'request_invalid'],
      [{ namePattern: 'b{n}', count: 2, macs: ['52:54:00:00:00:01'] }, 400, 'request_invalid'],
      [{ name: 'x', forceCopy: ['vdz'] }, 400, 'request_invalid'],
      [{ name: 'x', macs: ['01:00:5e:00:00:01'] }, 400, 'request_invalid'],
      [{ name: 'x', waitFor: 'guest-ready' }, 400, 'payload_invalid'],
      [{ name: '../etc' }, 400, 'request_invalid'],
      [{ namePattern: 'a/{n}', count: 2 }, 400, 'request_invalid'],
      [{ name: 'src-1' }, 409, 'vm_exists'],
      [{ name: 'c1' }, 409, 'vm_exists'],
      [{ name: 'x', disks: [{ target: 'vda', name: 'x-a' }, { target: 'vdb', name: 'x-a' }] }, 409, 'disk_exists'],
    ];
    for (const [body, status, code] of bad) {
      const res = await clone(vm.id, body);
      expect([JSON.stringify(body), res.status, res.body.error?.code]).toEqual([JSON.stringify(body), status, code]);
    }
    expect((await api.call<Page<JobBody>>('GET', `/v1/jobs?hostId=${host.id}`)).body.items.length).toBe(before);
  });

  it('a bulk clone: one parent, N children, at most the host clone concurrency live at once; progress and end follow the children', async () => {
    const { host, vm } = await hostWithSource('cl2', 'tmpl');
    const key = `bulk-${randomUUID()}`;
    const r = await clone(vm.id, { count: 5, namePattern: 'web-{n}', startIndex: 10 }, { 'idempotency-key': key });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ type: 'clone-vm', group: true, state: 'running', parentId: null });
    const again = await clone(vm.id, { count: 5, namePattern: 'web-{n}', startIndex: 10 }, { 'idempotency-key': key });
    expect([again.status, again.body.id]).toEqual([200, r.body.id]);

    let kids = await children(r.body.id);
    expect(kids.map((k) => k.payload['name'])).toEqual(['web-10', 'web-11', 'web-12', 'web-13', 'web-14']);
    // The host's default clone concurrency is 2: the first two are on the queue, the rest wait.
    expect(kids.map((k) => k.state)).toEqual(['queued', 'queued', 'pending', 'pending', 'pending']);
    const queue = api.queue(host.id);
    expect(await queue.getWaitingCount()).toBe(2);

    const report = (reports: unknown[]) => api.call('POST', '/v1/agent/reports', { token: host.agentToken, body: { reports } });
    const [k0, k1] = kids;
    if (!k0 || !k1) throw new Error('children missing');
    await report([{ kind: 'started', jobId: k0.id }]);
    await report([{ kind: 'progress', jobId: k0.id, attempt: 1, progress: 50 }]);
    expect((await api.call<JobBody>('GET', `/v1/jobs/${r.body.id}`)).body.progress).toBe(10); // (50 + 0 × 4) / 5
    await report([{ kind: 'failed', jobId: k0.id, attempt: 1, error: { code: 'vm_running', message: 'tmpl is running' } }]);
    // One slot free: the third goes out, in order.
    await waitFor('the third child to be queued', async () => (await children(r.body.id))[2]?.state === 'queued');
    kids = await children(r.body.id);
    expect(kids.map((k) => k.state)).toEqual(['failed', 'queued', 'queued', 'pending', 'pending']);

    // Cancelling the parent cancels its children; it ends when they all have.
    await api.call('POST', `/v1/jobs/${r.body.id}/cancel`);
    const parent = await api.call<JobBody>('GET', `/v1/jobs/${r.body.id}?wait=5`);
    expect(parent.body.state).toBe('failed'); // one child failed, the others were cancelled
    expect(parent.body.error?.code).toBe('children_failed');
    expect(parent.body.error?.message).toContain('web-10');
    expect((await children(r.body.id)).map((k) => k.state)).toEqual(['failed', 'cancelled', 'cancelled', 'cancelled', 'cancelled']);
    const rows = (await api.call<Page<{ name: string }>>('GET', `/v1/vms?hostId=${host.id}`)).body.items.map((v) => v.name);
    expect(rows).toEqual(['tmpl']);
  });

  it("a host's own clone concurrency (its agent's VIRTFLEET_CLONE_CONCURRENCY) is the limit", async () => {
    const { host, vm } = await hostWithSource('cl3', 'base');
    const facts = agentFacts({ storage: { root: STORE, totalBytes: 1, freeBytes: 1 }, concurrency: { clone: 3 } });
    await api.call('POST', '/v1/agent/heartbeat', { token: host.agentToken, body: { facts } });
    const r = await clone(vm.id, { count: 4, autoClone: true });
    expect(r.status).toBe(202);
    const kids = await children(r.body.id);
    expect(kids.map((k) => k.payload['name'])).toEqual(['base-clone', 'base-clone1', 'base-clone2', 'base-clone3']);
    expect(kids.map((k) => k.state)).toEqual(['queued', 'queued', 'queued', 'pending']);
  });
});
