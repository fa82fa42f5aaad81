import { defineNetworkJob } from '@virtfleet/contracts';
import { CliError } from '../exit-codes';
import { networkSpecOf } from './networks';

const flags = { kind: 'nat' as const, start: true, autostart: true };

describe('networks create: flags → the network spec', () => {
  it('the operation guide’s NAT network, with its DHCP range, passes define-network’s schema', () => {
    const spec = networkSpecOf('natbr0', { ...flags, cidr: '192.168.122.1/24', dhcp: '192.168.122.2-192.168.122.254' });
    expect(spec).toEqual({ kind: 'nat', name: 'natbr0', cidr: '192.168.122.1/24', dhcp: { start: '192.168.122.2', end: '192.168.122.254' } });
    expect(defineNetworkJob.payload.safeParse({ network: spec }).success).toBe(true);
  });

  it('bridge and ovs networks name the host bridge and nothing routed', () => {
    expect(networkSpecOf('lan', { ...flags, kind: 'bridge', bridge: 'br1' })).toEqual({ kind: 'bridge', name: 'lan', bridge: 'br1' });
    expect(() => networkSpecOf('lan', { ...flags, kind: 'bridge' })).toThrow(CliError);
    expect(() => networkSpecOf('lan', { ...flags, kind: 'ovs', bridge: 'ovs0', cidr: '10.0.0.1/24' })).toThrow(/not ovs/);
  });

  it('refuses a NAT network without its address, a malformed range, forward-dev off NAT', () => {
    expect(() => networkSpecOf('n', flags)).toThrow(/--cidr/);
    expect(() => networkSpecOf('n', { ...flags, cidr: '10.0.0.1/24', dhcp: '10.0.0.5' })).toThrow(/START-END/);
    expect(() => networkSpecOf('n', { ...flags, kind: 'isolated', cidr: '10.0.0.1/24', forwardDev: 'eth0' })).toThrow(/nat networks/);
  });
});
