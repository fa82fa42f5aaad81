import { randomUUID } from 'node:crypto';
import type { DomainInventory, HostFacts } from '@virtfleet/contracts';
import { eventStream, waitFor } from '@virtfleet/testing';
import { ApiHarness } from './harness';

interface VmBody {
  id: string;
  name: string;
  uuid: string;
  status: string;
  state: string;
  hostId: string;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface JobBody {
  id: string;
  state: string;
  hostId: string;
  payload: Record<string, unknown>;
  placement: { hostId: string; reason: string; hosts: Array<{ name: string; fits: boolean; reasons: string[] }> } | null;
}
interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

function domain(name: string, over: Partial<DomainInventory> = {}): DomainInventory {
  return {
    uuid: randomUUID(),
    name,
    state: 'running',
    persistent: true,
    autostart: false,
    vcpus: 1,
    maxVcpus: 1,
    memoryMiB: 256,
    maxMemoryMiB: 256,
    disks: [],
    interfaces: [],
    graphics: [],
    snapshots: [],
    xml: `<domain type='qemu'><name>${name}</name></domain>`,
    ...over,
  };
}

function facts(memGiB: number, cpus: number): HostFacts {
  return {
    hostname: 'h',
    kernel: '6',
    arch: 'x86_64',
    cpu: { model: 'x', count: cpus, vmx: false, svm: false },
    memory: { totalBytes: memGiB * 1024 ** 3, availableBytes: memGiB * 1024 ** 3 },
    kvm: { device: false, usable: false, probe: 'none' },
    virtType: 'qemu',
    libvirt: { uri: 'qemu:///system', reachable: true },
    versions: { agent: '0' },
    storage: { root: '/var/lib/virtfleet/store', totalBytes: 1, freeBytes: 1 },
    collectedAt: new Date().toISOString(),
  };
}

describe('VM inventory and the VM routes', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await ApiHarness.start();
  });
  afterAll(() => api.close(), 60_000); // closing drops the test database: slow on a loaded machine

  const inventory = (token: string, body: unknown) => api.call<{ changed: number }>('POST', '/v1/agent/inventory', { token, body });
  const vmsOf = async (hostId: string) => (await api.call<Page<VmBody>>('GET', `/v1/vms?hostId=${hostId}&limit=500`)).body.items;

  it('a full inventory makes unknown domains unmanaged, events update them, vanished ones go', async () => {
    const host = await api.host('inv-a');
    const a = domain('a');
    const b = domain('b', { state: 'shutoff' });
    const t0 = Date.now();
    const first = await inventory(host.agentToken, { kind: 'full', takenAt: new Date(t0).toISOString(), domains: [a, b], networks: [], pools: [] });
    expect(first.status).toBe(200);
    expect(first.body.changed).toBe(2);
    const vms = await vmsOf(host.id);
    expect(vms.map((v) => [v.name, v.status, v.state]).sort()).toEqual([
      ['a', 'unmanaged', 'running'],
      ['b', 'unmanaged', 'shutoff'],
    ]);

    // The same snapshot again changes nothing (no row is rewritten).
    const again = await inventory(host.agentToken, { kind: 'full', takenAt: new Date(t0 + 1).toISOString(), domains: [a, b], networks: [], pools: [] });
    expect(again.body.changed).toBe(0);

    // An event: a destroyed.
    await inventory(host.agentToken, { kind: 'domain', takenAt: new Date(t0 + 2).toISOString(), domain: { ...a, state: 'shutoff', reason: 'destroyed' } });
    const aRow = (await vmsOf(host.id)).find((v) => v.name === 'a');
    expect(aRow?.state).toBe('shutoff');

    // Older news (a late snapshot) does not undo it.
    await inventory(host.agentToken, { kind: 'domain', takenAt: new Date(t0 + 1).toISOString(), domain: a });
    expect((await api.call<VmBody>('GET', `/v1/vms/${aRow?.id}`)).body.state).toBe('shutoff');

    // Adopt a; then b vanishes (unmanaged: its row goes) and a vanishes (ours: missing).
    const adopted = await api.call<VmBody>('POST', `/v1/vms/${aRow?.id}/adopt`);
    expect(adopted.body.status).toBe('managed');
    expect((await api.call<ErrorBody>('POST', `/v1/vms/${aRow?.id}/adopt`)).body.error.code).toBe('vm_not_unmanaged');
    await inventory(host.agentToken, { kind: 'full', takenAt: new Date(t0 + 3).toISOString(), domains: [], networks: [{ name: 'default', active: false, autostart: false, persistent: true }], pools: [] });
    const left = await vmsOf(host.id);
    expect(left.map((v) => [v.name, v.status])).toEqual([['a', 'missing']]);
    const h = await api.call<{ networks?: unknown }>('GET', `/v1/hosts/${host.id}`);
    expect(h.status).toBe(200);

    // It comes back: managed again.
    await inventory(host.agentToken, { kind: 'domain', takenAt: new Date(t0 + 4).toISOString(), domain: a });
    expect((await vmsOf(host.id))[0]?.status).toBe('managed');
    await inventory(host.agentToken, { kind: 'domain-gone', takenAt: new Date(t0 + 5).toISOString(), name: 'a' });
    expect((await vmsOf(host.id))[0]?.status).toBe('missing');

    // Another host's agent cannot speak for this one: its report lands on its own host.
    const other = await api.host('inv-b');
    await inventory(other.agentToken, { kind: 'full', takenAt: new Date().toISOString(), domains: [], networks: [], pools: [] });
    expect((await vmsOf(host.id)).length).toBe(1);
  });

  it('an inventory of 1,000 domains is applied in well under a second or two', async () => {
    const host = await api.host('inv-big');
    const domains = Array.from({ length: 1000 }, (_, i) => domain(`big-${i}`, { xml: `<domain>${'x'.repeat(2000)}</domain>` }));
    const t = performance.now();
    const r = await inventory(host.agentToken, { kind: 'full', takenAt: new Date().toISOString(), domains, networks: [], pools: [] });
    const ms = performance.now() - t;
    expect(r.body.changed).toBe(1000);
    expect(ms).toBeLessThan(5000);
    const page = await api.call<Page<VmBody>>('GET', `/v1/vms?hostId=${host.id}&limit=500`);
    expect(page.body.items).toHaveLength(500);
    const next = await api.call<Page<VmBody>>('GET', `/v1/vms?hostId=${host.id}&limit=500&cursor=${page.body.nextCursor}`);
    expect(next.body.items).toHaveLength(500);
    expect(next.body.nextCursor).toBeNull();
  });

  it('actions on unmanaged VMs are refused until adopted, and bad action bodies change nothing', async () => {
    const host = await api.host('act');
    const d = domain('act-1');
    await inventory(host.agentToken, { kind: 'full', takenAt: new Date().toISOString(), domains: [d], networks: [], pools: [] });
    const vm = (await vmsOf(host.id))[0] as VmBody;
    const refused = await api.call<ErrorBody>('POST', `/v1/vms/${vm.id}/actions/start`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('vm_unmanaged');
    // Nor through POST /v1/jobs, one by one or in a batch, as a power action or a guest-file write.
    const ref = { uuid: d.uuid, name: 'act-1' };
    const direct = await api.call<ErrorBody>('POST', '/v1/jobs', { body: { type: 'start-vm', hostId: host.id, payload: { vm: ref } } });
    expect([direct.status, direct.body.error.code]).toEqual([409, 'vm_unmanaged']);
    const write = { type: 'write-guest-file', hostId: host.id, payload: { vm: ref, path: '/etc/motd', content: 'hi' } };
    const batch = await api.call<ErrorBody>('POST', '/v1/jobs/batch', { body: { jobs: [{ type: 'refresh-host', hostId: host.id, payload: {} }, write] } });
    expect([batch.status, batch.body.error.code]).toEqual([409, 'vm_unmanaged']);
    await api.call('POST', `/v1/vms/${vm.id}/adopt`);
    const start = await api.call<JobBody>('POST', `/v1/vms/${vm.id}/actions/start`);
    expect(start.status).toBe(202);
    expect(start.body.payload).toEqual({ vm: { uuid: d.uuid, name: 'act-1' } });
    const badShutdown = await api.call<ErrorBody>('POST', `/v1/vms/${vm.id}/actions/shutdown`, { body: { timeoutSeconds: -1 } });
    expect(badShutdown.status).toBe(400);
    expect((await api.call<ErrorBody>('POST', `/v1/vms/${vm.id}/actions/explode`)).status).toBe(400);
    const vcpus = await api.call<ErrorBody>('POST', `/v1/vms/${vm.id}/actions/set-vcpus`, { body: { vcpus: 4, maxVcpus: 2 } });
    expect(vcpus.status).toBe(400);
    const jobs = await api.call<Page<JobBody>>('GET', `/v1/jobs?hostId=${host.id}`);
    expect(jobs.body.items).toHaveLength(1);
  });

  it('create-vm: the API picks the UUID, refuses a taken name and injection, and records placement', async () => {
    const host = await api.host('cv');
    await api.call('POST', '/v1/agent/heartbeat', { token: host.agentToken, body: { facts: facts(8, 4) } });
    const body = { hostId: host.id, name: 'web-1', memoryMiB: 256, vcpus: 1, install: { kind: 'cdrom', iso: 'install.iso' } };
    const created = await api.call<JobBody>('POST', '/v1/vms', { body });
    expect(created.status).toBe(202);
    expect(created.body.payload['uuid']).toMatch(/^[0-9a-f-]{36}$/);
    const row = (await vmsOf(host.id)).find((v) => v.name === 'web-1');
    expect(row).toMatchObject({ status: 'creating', uuid: created.body.payload['uuid'] });

    const taken = await api.call<ErrorBody>('POST', '/v1/vms', { body });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('vm_exists');

    for (const bad of ['x,backing_store=/etc/shadow', '--foo', '$(id)', '"q"', '../etc']) {
      const r = await api.call<ErrorBody>('POST', '/v1/vms', { body: { ...body, name: 'ok', disks: [{ name: bad, sizeGiB: 1 }], install: { kind: 'import' } } });
      expect(r.status).toBe(400);
    }
    expect((await vmsOf(host.id)).length).toBe(1);
  });

  it('placement spreads VMs by free capacity, explains a dry run, and answers 409 with reasons', async () => {
    const big = await api.host('place-big');
    const small = await api.host('place-small');
    await api.call('POST', '/v1/agent/heartbeat', { token: big.agentToken, body: { facts: facts(16, 8) } });
    await api.call('POST', '/v1/agent/heartbeat', { token: small.agentToken, body: { facts: facts(2, 2) } });
    // Only these two hosts take placements in this test.
    const others = await api.db.host.findMany({ where: { id: { notIn: [big.id, small.id] } } });
    await api.db.host.updateMany({ where: { id: { in: others.map((o) => o.id) } }, data: { maintenance: true } });

    const spec = { memoryMiB: 1024, vcpus: 1, install: { kind: 'cdrom', iso: 'install.iso' } };
    const dry = await api.call<{ dryRun: boolean; placement: JobBody['placement'] }>('POST', '/v1/vms?dryRun=true', { body: { ...spec, name: 'p-dry' } });
    expect(dry.status).toBe(200);
    expect(dry.body.placement?.hostId).toBe(big.id);
    expect(dry.body.placement?.hosts.find((h) => h.name === 'act')?.reasons).toContain('host is in maintenance');
    expect(await api.db.vm.count({ where: { name: 'p-dry' } })).toBe(0);

    const placedOn: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await api.call<JobBody>('POST', '/v1/vms', { body: { ...spec, memoryMiB: 3072, name: `p-${i}` } });
      expect(r.status).toBe(202);
      expect(r.body.placement?.reason).toMatch(/most room/);
      placedOn.push(r.body.hostId);
    }
    expect(placedOn.every((h) => h === big.id)).toBe(true); // small (2 GiB) cannot hold 3 GiB
    const spread = await api.call<JobBody>('POST', '/v1/vms', { body: { ...spec, memoryMiB: 1024, name: 'p-small' } });
    // big has 16-12 = 4 GiB left (25 %), small 2 GiB (50 % before, 0 % after 1 GiB? no: 1 GiB left = 50 %)
    expect(spread.body.hostId).toBe(small.id);

    // A retried request with the same Idempotency-Key answers the first job, even when placement would now differ.
    const keyed = { ...spec, name: 'p-key', graphics: { type: 'vnc', password: 'pw123' } };
    const k1 = await api.call<JobBody>('POST', '/v1/vms', { body: keyed, headers: { 'idempotency-key': 'vm-key-1' } });
    const k2 = await api.call<JobBody>('POST', '/v1/vms', { body: keyed, headers: { 'idempotency-key': 'vm-key-1' } });
    expect([k1.status, k2.status]).toEqual([202, 200]);
    expect(k2.body.id).toBe(k1.body.id);
    expect(JSON.stringify(k1.body.payload)).not.toContain('pw123'); // secrets never leave the API

    const tooBig = await api.call<ErrorBody>('POST', '/v1/vms', { body: { ...spec, memoryMiB: 64 * 1024, name: 'p-huge' } });
    expect(tooBig.status).toBe(409);
    expect(tooBig.body.error.code).toBe('no_host_fits');
    const reasons = tooBig.body.error.details?.['hosts'] as Array<{ name: string; reasons: string[] }>;
    expect(reasons.find((h) => h.name === 'place-big')?.reasons.join()).toMatch(/needs 65536 MiB memory/);
    const selector = await api.call<ErrorBody>('POST', '/v1/vms', { body: { ...spec, name: 'p-sel', hostSelector: { zone: 'b' } } });
    expect(selector.status).toBe(409);
    await api.db.host.update({ where: { id: big.id }, data: { labels: { zone: 'b' } } });
    const labelled = await api.call<{ items: Array<{ id: string }> }>('GET', '/v1/hosts?label=zone=b');
    expect(labelled.body.items.map((h) => h.id)).toEqual([big.id]);
    const selected = await api.call<JobBody>('POST', '/v1/vms', { body: { ...spec, name: 'p-sel', hostSelector: { zone: 'b' } } });
    expect(selected.body.hostId).toBe(big.id);
    const withNet = await api.call<ErrorBody>('POST', '/v1/vms', { body: { ...spec, name: 'p-net', networks: [{ network: 'nat0' }] } });
    expect(withNet.status).toBe(409);
    expect(JSON.stringify(withNet.body.error.details)).toMatch(/no libvirt network nat0/);
    await api.db.host.updateMany({ where: { id: { in: others.map((o) => o.id) } }, data: { maintenance: false } });
  });

  it('define-vm refuses XML outside the allowlist', async () => {
    const host = await api.host('def');
    const bad = [
      `<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>d1</name><qemu:commandline><qemu:arg value='-x'/></qemu:commandline></domain>`,
      `<domain type='qemu'><name>d2</name><devices><hostdev mode='subsystem' type='pci'/></devices></domain>`,
      `<domain type='qemu'><name>d3</name><devices><emulator>/bin/sh</emulator></devices></domain>`,
      `<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/shadow">]><domain type='qemu'><name>&x;</name></domain>`,
      `<domain type='qemu'><name>d5</name><devices><disk type='file' device='disk'><source file='/etc/shadow'/><target dev='vda'/></disk></devices></domain>`,
    ];
    for (const xml of bad) {
      const r = await api.call<ErrorBody>('POST', '/v1/vms/define', { body: { hostId: host.id, xml } });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('domain_xml_refused');
    }
    await api.call('POST', '/v1/agent/heartbeat', { token: host.agentToken, body: { facts: facts(4, 2) } });
    const inRoot = await api.call<JobBody>('POST', '/v1/vms/define', {
      body: {
        hostId: host.id,
        xml: `<domain type='qemu'><name>d-root</name><memory unit='MiB'>64</memory><os><type>hvm</type></os><devices><disk type='file' device='disk'><source file='/var/lib/virtfleet/store/d.qcow2'/><target dev='vda'/></disk></devices></domain>`,
      },
    });
    expect(inRoot.status).toBe(202);
    const ok = await api.call<JobBody>('POST', '/v1/vms/define', {
      body: { hostId: host.id, xml: `<domain type='qemu'><name>d-ok</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>` },
    });
    expect(ok.status).toBe(202);
    expect(ok.body.payload['uuid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(String(ok.body.payload['xml'])).toContain(`<uuid>${String(ok.body.payload['uuid'])}</uuid>`);
  });

  it('the VM list filters by host, state, status, name and labels, newest first, and pages with its cursor', async () => {
    const host = await api.host('list-f');
    const names = ['web-1', 'web-2', 'db-1', 'db-2', 'cache-1'];
    const takenAt = new Date().toISOString();
    const domains = names.map((n, i) => domain(n, { state: i % 2 ? 'shutoff' : 'running' }));
    expect((await inventory(host.agentToken, { kind: 'full', takenAt, domains, networks: [], pools: [] })).status).toBe(200);
    const all = await vmsOf(host.id);
    const byName = new Map(all.map((v) => [v.name, v]));
    const list = async (query: string) => (await api.call<Page<VmBody>>('GET', `/v1/vms?hostId=${host.id}&${query}`)).body.items.map((v) => v.name).sort();
    expect(await list('state=shutoff')).toEqual(['db-2', 'web-2']);
    expect(await list('name=web')).toEqual(['web-1', 'web-2']);
    expect(await list('name=WEB')).toEqual([]); // case-sensitive
    expect(await list('name=%25')).toEqual([]); // a % in the text is a character, not a wildcard
    expect(await list('status=unmanaged')).toHaveLength(5);
    expect(await list('status=managed')).toEqual([]);
    // A label change is a vm.updated event: open pages and SSE clients read the row again.
    const stream = await eventStream(new URL(`/v1/events?hostId=${host.id}`, api.url).toString(), api.adminToken);
    for (const [n, labels] of [['web-1', { tier: 'web', zone: 'a' }], ['web-2', { tier: 'web', zone: 'b' }], ['db-1', { tier: 'db', zone: 'a' }]] as const) {
      expect((await api.call('PATCH', `/v1/vms/${byName.get(n)?.id}`, { body: { labels } })).status).toBe(200);
    }
    const updated = () => stream.events.filter((e) => e.event === 'vm.updated').map((e) => (JSON.parse(e.data) as { name: string }).name);
    await waitFor('three vm.updated events', () => updated().length >= 3, { timeoutMs: 5_000 });
    await stream.close();
    expect(updated().sort()).toEqual(['db-1', 'web-1', 'web-2']);
    expect(await list('label=tier=web')).toEqual(['web-1', 'web-2']);
    expect(await list(`label=${encodeURIComponent('tier=web,zone=a')}`)).toEqual(['web-1']);
    expect(await list(`label=${encodeURIComponent('zone=a,zone=b')}`)).toEqual([]);
    expect((await api.call<ErrorBody>('GET', '/v1/vms?label=novalue')).body.error.code).toBe('label_invalid');

    // Two at a time: every VM once, newest first, the cursor ending the walk.
    const seen: VmBody[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<VmBody> = (await api.call<Page<VmBody>>('GET', `/v1/vms?hostId=${host.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((v) => v.id)).toEqual(all.map((v) => v.id));
    expect(new Set(seen.map((v) => v.name))).toEqual(new Set(names));
    expect((await api.call<ErrorBody>('GET', '/v1/vms?cursor=bogus')).body.error.code).toBe('cursor_invalid');
  });
});
