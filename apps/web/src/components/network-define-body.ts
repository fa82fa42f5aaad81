import type { NetworkSpec } from '@virtfleet/contracts';
import type { DefineNetworkBody } from '@virtfleet/sdk';

// The define-network form's state and the POST /v1/networks body made from it: define-network's
// payload (libs/contracts network.jobs.ts) plus where it goes. Kept apart from the form so a unit
// test checks every kind against the contract's own schema. Nothing is checked here: the API
// says which field is wrong.

export type NetworkKind = NetworkSpec['kind'];

/** The kinds define-network takes, in the form's words. */
export const NETWORK_KINDS: ReadonlyArray<{ kind: NetworkKind; label: string; hint: string }> = [
  { kind: 'nat', label: 'NAT', hint: 'libvirt makes a bridge, serves DHCP and masquerades guests out of the host' },
  { kind: 'isolated', label: 'Isolated', hint: 'a bridge and DHCP, no way out: guests reach only the host and each other' },
  { kind: 'bridge', label: 'Host bridge', hint: "an existing Linux bridge (br1): guests sit on the host's LAN" },
  { kind: 'ovs', label: 'Open vSwitch', hint: 'an existing OVS bridge; interfaces get an openvswitch virtualport' },
];

export interface NetworkDraft {
  /** A host's id, or SELECTOR: every host whose labels match `selector`. */
  where: string;
  /** "rack=r3,zone=a": the hosts a selector names. */
  selector: string;
  kind: NetworkKind;
  name: string;
  bridge: string;
  cidr: string;
  dhcpStart: string;
  dhcpEnd: string;
  forwardDev: string;
  start: boolean;
  autostart: boolean;
}

export const SELECTOR = 'selector';

export const emptyNetworkDraft: NetworkDraft = {
  where: '',
  selector: '',
  kind: 'nat',
  name: '',
  bridge: '',
  cidr: '',
  dhcpStart: '',
  dhcpEnd: '',
  forwardDev: '',
  start: true,
  autostart: true,
};

/** Whether a kind makes its own bridge with an address and DHCP (nat, isolated) or uses one the host has. */
export function routed(kind: NetworkKind): kind is 'nat' | 'isolated' {
  return kind === 'nat' || kind === 'isolated';
}

/** "k=v, k2=v2" → { k: 'v', k2: 'v2' } (a pair without "=" has an empty value, which the API judges). */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(/[,\n]/)) {
    const [k, ...v] = pair.split('=');
    if (k?.trim()) labels[k.trim()] = v.join('=').trim();
  }
  return labels;
}

const opt = (s: string) => (s.trim() ? s.trim() : undefined);

function specOf(d: NetworkDraft): NetworkSpec {
  const name = d.name.trim();
  const bridge = opt(d.bridge);
  if (!routed(d.kind)) return { kind: d.kind, name, bridge: bridge ?? '' };
  const dhcp = opt(d.dhcpStart) || opt(d.dhcpEnd) ? { dhcp: { start: d.dhcpStart.trim(), end: d.dhcpEnd.trim() } } : {};
  const common = { name, ...(bridge ? { bridge } : {}), cidr: d.cidr.trim(), ...dhcp };
  if (d.kind === 'isolated') return { kind: 'isolated', ...common };
  const forwardDev = opt(d.forwardDev);
  return { kind: 'nat', ...common, ...(forwardDev ? { forwardDev } : {}) };
}

/** The request body from the form; with no host chosen yet, `firstHostId` (the one the select shows first). */
export function toDefineNetworkBody(d: NetworkDraft, firstHostId = ''): DefineNetworkBody {
  const fields = { network: specOf(d), start: d.start, autostart: d.autostart };
  return d.where === SELECTOR ? { ...fields, hostSelector: parseLabels(d.selector) } : { ...fields, hostId: d.where || firstHostId };
}
