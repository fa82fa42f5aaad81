import { defineNetworkJob } from '@virtfleet/contracts';
import { emptyNetworkDraft, parseLabels, SELECTOR, toDefineNetworkBody, type NetworkDraft } from './network-define-body';

// Every kind the define-network form offers gives a body whose payload define-network's own
// schema (libs/contracts) takes, and where it goes is exactly one of hostId or hostSelector.

const HOST = '6f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f';
const base: NetworkDraft = { ...emptyNetworkDraft, where: HOST, name: 'lab', cidr: '10.213.0.1/24' };

function payloadOf(d: NetworkDraft) {
  const { network, start, autostart } = toDefineNetworkBody(d);
  return defineNetworkJob.payload.safeParse({ network, start, autostart });
}

describe('the define-network form body', () => {
  it.each<[string, Partial<NetworkDraft>, Record<string, unknown>]>([
    ['nat with DHCP and a forward device', { kind: 'nat', dhcpStart: '10.213.0.100', dhcpEnd: '10.213.0.200', forwardDev: 'eth0' }, { kind: 'nat', name: 'lab', cidr: '10.213.0.1/24', dhcp: { start: '10.213.0.100', end: '10.213.0.200' }, forwardDev: 'eth0' }],
    ['nat without DHCP, own bridge name', { kind: 'nat', bridge: 'virbr-lab0' }, { kind: 'nat', name: 'lab', cidr: '10.213.0.1/24', bridge: 'virbr-lab0' }],
    ['isolated', { kind: 'isolated', dhcpStart: '10.213.0.10', dhcpEnd: '10.213.0.20', forwardDev: 'eth0' }, { kind: 'isolated', name: 'lab', cidr: '10.213.0.1/24', dhcp: { start: '10.213.0.10', end: '10.213.0.20' } }],
    ['host bridge', { kind: 'bridge', bridge: 'br1', dhcpStart: '10.213.0.10' }, { kind: 'bridge', name: 'lab', bridge: 'br1' }],
    ['open vswitch', { kind: 'ovs', bridge: 'ovsbr0' }, { kind: 'ovs', name: 'lab', bridge: 'ovsbr0' }],
  ])('%s', (_, patch, network) => {
    const parsed = payloadOf({ ...base, ...patch });
    expect(parsed.error?.issues).toBeUndefined();
    expect(parsed.data?.network).toEqual(network);
  });

  it('carries start and autostart as chosen', () => {
    expect(payloadOf({ ...base, start: false, autostart: false }).data).toMatchObject({ start: false, autostart: false });
  });

  it('leaves judging to the API: a half DHCP range or a missing bridge is sent as typed, and the schema refuses it', () => {
    expect(toDefineNetworkBody({ ...base, dhcpStart: '10.213.0.10' }).network).toMatchObject({ dhcp: { start: '10.213.0.10', end: '' } });
    expect(payloadOf({ ...base, dhcpStart: '10.213.0.10' }).success).toBe(false);
    expect(payloadOf({ ...base, kind: 'bridge' }).success).toBe(false);
  });

  it('goes to the chosen host, the first host when none was chosen, or every host a selector matches', () => {
    expect(toDefineNetworkBody(base)).toMatchObject({ hostId: HOST });
    expect(toDefineNetworkBody({ ...base, where: '' }, HOST)).toMatchObject({ hostId: HOST });
    const bySelector = toDefineNetworkBody({ ...base, where: SELECTOR, selector: 'rack=r3, zone=a' });
    expect(bySelector).toMatchObject({ hostSelector: { rack: 'r3', zone: 'a' } });
    expect('hostId' in bySelector).toBe(false);
  });

  it('reads labels as key=value pairs split by commas or lines', () => {
    expect(parseLabels('rack=r3,zone = a\nrole=a=b, ,bare')).toEqual({ rack: 'r3', zone: 'a', role: 'a=b', bare: '' });
  });
});
