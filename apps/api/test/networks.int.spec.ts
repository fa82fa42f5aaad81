import { randomUUID } from 'node:crypto';
import { ApiHarness } from './harness';

interface JobBody {
  id: string;
  type: string;
  hostId: string;
  state: string;
  group: boolean;
  lockKey: string | null;
  payload: Record<string, unknown>;
}
interface ErrorBody {
  error: { code: string; message: string };
}
interface Page<T> {
  items: T[];
}

describe('network routes: the list from inventories, define on a host or a label selector, actions, NIC jobs', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await ApiHarness.start();
  });
  afterAll(() => api.close(), 60_000);

  async function enroll(name: string, labels: Record<string, string>) {
    const join = await api.call<{ token: string }>('POST', '/v1/hosts/join-tokens', { body: {} });
    const r = await api.call<{ hostId: string; agentToken: string }>('POST', '/v1/agent/enroll', { token: null, body: { joinToken: join.body.token, name, labels } });
    return { id: r.body.hostId, agentToken: r.body.agentToken };
  }
  const report = (token: string, networks: unknown[], domains: unknown[] = []) =>
    api.call('POST', '/v1/agent/inventory', { token, body: { kind: 'full', takenAt: new Date().toISOString(), domains, networks, pools: [] } });
  const nat = { kind: 'nat', name: 'nat0', cidr: '10.213.5.1/24', dhcp: { start: '10.213.5.100', end: '10.213.5.200' } };

  it('lists what the hosts reported, and turns changes into jobs on the right host', async () => {
    const a = await enroll('net-a', { zone: 'z1' });
    const b = await enroll('net-b', { zone: 'z1' });
    const c = await enroll('net-c', { zone: 'z2' });
    const leases = [{ mac: '52:54:00:00:00:01', ip: '10.213.5.101', expiry: '2030-01-26 05:09:20' }];
    await report(a.agentToken, [{ name: 'nat0', active: true, autostart: true, persistent: true, bridge: 'virbr-nat0', forward: 'nat', cidr: '10.213.5.1/24', leases }]);
    await report(b.agentToken, [{ name: 'default', active: false, autostart: false, persistent: true, bridge: 'virbr0', forward: 'nat' }]);

    const all = (await api.call<Page<{ name: string; hostName: string; leases?: unknown[] }>>('GET', '/v1/networks')).body.items;
    expect(all.filter((n) => n.hostName.startsWith('net-')).map((n) => [n.hostName, n.name])).toEqual([
      ['net-a', 'nat0'],
      ['net-b', 'default'],
    ]);
    expect((await api.call<{ leases: unknown[] }>('GET', `/v1/hosts/${a.id}/networks/nat0`)).body.leases).toEqual(leases);
    expect((await api.call<ErrorBody>('GET', `/v1/hosts/${c.id}/networks/nat0`)).body.error.code).toBe('network_not_found');

    // One host.
    const one = await api.call<JobBody>('POST', '/v1/networks', { body: { hostId: c.id, network: nat } });
    expect(one.status).toBe(202);
    expect(one.body).toMatchObject({ type: 'define-network', hostId: c.id, lockKey: 'net:nat0', payload: { network: nat, start: true, autostart: true } });
    // A selector: one child per matching host under a parent.
    const key = randomUUID();
    const many = await api.call<JobBody>('POST', '/v1/networks', { body: { hostSelector: { zone: 'z1' }, network: nat }, headers: { 'idempotency-key': key } });
    expect(many.status).toBe(202);
    expect(many.body).toMatchObject({ group: true, type: 'define-network' });
    const kids = (await api.call<Page<JobBody>>('GET', `/v1/jobs?parentId=${many.body.id}`)).body.items;
    expect(kids.map((k) => k.hostId).sort()).toEqual([a.id, b.id].sort());
    const replay = await api.call<JobBody>('POST', '/v1/networks', { body: { hostSelector: { zone: 'z1' }, network: nat }, headers: { 'idempotency-key': key } });
    expect([replay.status, replay.body.id]).toEqual([200, many.body.id]);
    const none = await api.call<ErrorBody>('POST', '/v1/networks', { body: { hostSelector: { zone: 'nowhere' }, network: nat } });
    expect([none.status, none.body.error.code]).toEqual([409, 'no_host_matches']);

    // Actions and undefine name the network on its host.
    const stop = await api.call<JobBody>('POST', `/v1/hosts/${b.id}/networks/default/actions/stop`);
    expect(stop.body).toMatchObject({ type: 'stop-network', hostId: b.id, payload: { name: 'default' } });
    const auto = await api.call<JobBody>('POST', `/v1/hosts/${b.id}/networks/default/actions/set-autostart`, { body: { enabled: true } });
    expect(auto.body).toMatchObject({ type: 'set-network-autostart', payload: { name: 'default', enabled: true } });
    expect((await api.call<ErrorBody>('POST', `/v1/hosts/${b.id}/networks/default/actions/set-autostart`, { body: {} })).status).toBe(400);
    expect((await api.call<ErrorBody>('POST', `/v1/hosts/${b.id}/networks/default/actions/explode`)).status).toBe(400);
    const gone = await api.call<JobBody>('DELETE', `/v1/hosts/${b.id}/networks/default?force=true`);
    expect(gone.body).toMatchObject({ type: 'undefine-network', payload: { name: 'default', force: true } });
    expect((await api.call<ErrorBody>('DELETE', `/v1/hosts/${b.id}/networks/nosuch`)).body.error.code).toBe('network_not_found');
  });

  it('attach-interface gets a MAC from the API; bad NIC bodies are refused before anything is written', async () => {
    const h = await enroll('nic-h', {});
    const uuid = randomUUID();
    const dom = {
      uuid,
      name: 'nic-vm',
      state: 'running',
      persistent: true,
      autostart: false,
      vcpus: 1,
      maxVcpus: 1,
      memoryMiB: 128,
      maxMemoryMiB: 128,
      disks: [],
      interfaces: [],
      graphics: [],
      snapshots: [],
      xml: `<domain type='qemu'><name>nic-vm</name></domain>`,
    };
    await report(h.agentToken, [], [dom]);
    const vm = (await api.call<Page<{ id: string }>>('GET', `/v1/vms?hostId=${h.id}`)).body.items[0];
    if (!vm) throw new Error('no VM');
    await api.call('POST', `/v1/vms/${vm.id}/adopt`);
    const r = await api.call<JobBody>('POST', `/v1/vms/${vm.id}/interfaces`, { body: { network: 'nat0' } });
    expect(r.status).toBe(202);
    expect(r.body.payload).toMatchObject({ vm: { uuid, name: 'nic-vm' }, nic: { network: 'nat0', model: 'virtio' }, config: true });
    expect(String((r.body.payload['nic'] as { mac: string }).mac)).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    for (const body of [{}, { network: 'a', bridge: 'b' }, { bridge: 'a-bridge-name-too-long' }, { network: 'n', mac: '01:00:5e:00:00:01' }, { network: 'n', live: 'yes' }]) {
      expect((await api.call('POST', `/v1/vms/${vm.id}/interfaces`, { body })).status).toBe(400);
    }
    const d = await api.call<JobBody>('DELETE', `/v1/vms/${vm.id}/interfaces/52:54:00:AA:00:01?live=false`);
    expect(d.body).toMatchObject({ type: 'detach-interface', payload: { mac: '52:54:00:aa:00:01', live: false } });
    expect((await api.call('DELETE', `/v1/vms/${vm.id}/interfaces/not-a-mac`)).status).toBe(400);
    const jobs = (await api.call<Page<JobBody>>('GET', `/v1/jobs?hostId=${h.id}`)).body.items;
    expect(jobs.map((j) => j.type)).toEqual(['detach-interface', 'attach-interface']);
  });
});
