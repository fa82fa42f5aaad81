import { defaultBridgeName } from '@virtfleet/contracts';
import type { Host } from '@virtfleet/sdk';
import { useState, type FormEvent } from 'react';
import { useActivity } from '../activity';
import { useClient } from '../session';
import { ErrorMessage } from './error-message';
import { Section } from './layout';
import { emptyNetworkDraft, NETWORK_KINDS, routed, SELECTOR, toDefineNetworkBody, type NetworkDraft } from './network-define-body';

/**
 * The define-network job's fields (libs/contracts network.jobs.ts): a NAT or isolated network
 * libvirt makes (bridge, subnet, DHCP range), or one on a bridge the host has (Linux or OVS); on
 * one host or on every host whose labels match. The job defines, starts and autostarts it.
 */
export function NetworkDefineForm({ hosts }: { hosts: readonly Host[] }) {
  const client = useClient();
  const activity = useActivity();
  const [d, setDraft] = useState<NetworkDraft>(emptyNetworkDraft);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof NetworkDraft>(k: K, v: NetworkDraft[K]) => setDraft((old) => ({ ...old, [k]: v }));
  const firstHost = hosts[0];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const body = toDefineNetworkBody(d, firstHost?.id);
    const where = d.where === SELECTOR ? `hosts with ${d.selector.trim() || 'any labels'}` : (hosts.find((h) => h.id === body.hostId)?.name ?? 'its host');
    try {
      activity.track(await client.networks.define(body), `Define network ${body.network.name} on ${where}`);
      setDraft((old) => ({ ...old, name: '', bridge: '' }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const isRouted = routed(d.kind);
  return (
    <Section title="Define a network" id="define">
      <form onSubmit={(e) => void submit(e)} aria-label="Define a network">
        <fieldset className="choice-row">
          <legend className="sr-only">Kind of network</legend>
          {NETWORK_KINDS.map((k) => (
            <label key={k.kind} className={`choice${d.kind === k.kind ? ' chosen' : ''}`}>
              <input type="radio" name="network-kind" value={k.kind} checked={d.kind === k.kind} onChange={() => set('kind', k.kind)} />
              <span className="choice-title">{k.label}</span>
              <span className="hint">{k.hint}</span>
            </label>
          ))}
        </fieldset>
        <div className="form-grid">
          <div className="field">
            <label htmlFor="net-name">Name</label>
            <input id="net-name" value={d.name} onChange={(e) => set('name', e.target.value)} placeholder="lab" spellCheck={false} />
          </div>
          <div className="field">
            <label htmlFor="net-host">Host</label>
            <select id="net-host" value={d.where || firstHost?.id || ''} onChange={(e) => set('where', e.target.value)}>
              {hosts.map((h) => (
                <option key={h.id} value={h.id}>
                  {h.name}
                  {h.state !== 'online' ? ` (${h.state})` : ''}
                </option>
              ))}
              <option value={SELECTOR}>Every host whose labels match…</option>
            </select>
          </div>
          {d.where === SELECTOR ? (
            <div className="field">
              <label htmlFor="net-selector">Host labels</label>
              <input id="net-selector" value={d.selector} onChange={(e) => set('selector', e.target.value)} placeholder="rack=r3, zone=a" spellCheck={false} />
              <span className="hint">One job per matching host, under a parent job.</span>
            </div>
          ) : null}
          <div className="field">
            <label htmlFor="net-bridge">{isRouted ? 'Bridge name (optional)' : d.kind === 'ovs' ? 'Open vSwitch bridge' : 'Host bridge'}</label>
            <input
              id="net-bridge"
              className="mono"
              value={d.bridge}
              onChange={(e) => set('bridge', e.target.value)}
              placeholder={isRouted ? defaultBridgeName(d.name.trim() || 'name') : d.kind === 'ovs' ? 'ovsbr0' : 'br1'}
              spellCheck={false}
            />
            <span className="hint">{isRouted ? 'libvirt creates it; at most 15 characters.' : 'It must exist on the host already.'}</span>
          </div>
          {isRouted ? (
            <>
              <div className="field">
                <label htmlFor="net-cidr">Subnet (host address/prefix)</label>
                <input id="net-cidr" className="mono" value={d.cidr} onChange={(e) => set('cidr', e.target.value)} placeholder="10.213.0.1/24" spellCheck={false} />
                <span className="hint">The host’s own address on it: the gateway and DHCP server.</span>
              </div>
              <div className="field">
                <label htmlFor="net-dhcp-start">DHCP range start (optional)</label>
                <input id="net-dhcp-start" className="mono" value={d.dhcpStart} onChange={(e) => set('dhcpStart', e.target.value)} placeholder="10.213.0.100" spellCheck={false} />
              </div>
              <div className="field">
                <label htmlFor="net-dhcp-end">DHCP range end (optional)</label>
                <input id="net-dhcp-end" className="mono" value={d.dhcpEnd} onChange={(e) => set('dhcpEnd', e.target.value)} placeholder="10.213.0.200" spellCheck={false} />
                <span className="hint">No range: no DHCP server on the network.</span>
              </div>
            </>
          ) : null}
          {d.kind === 'nat' ? (
            <div className="field">
              <label htmlFor="net-forward-dev">Forward device (optional)</label>
              <input id="net-forward-dev" className="mono" value={d.forwardDev} onChange={(e) => set('forwardDev', e.target.value)} placeholder="eth0" spellCheck={false} />
              <span className="hint">NAT only out of this host interface; none: any.</span>
            </div>
          ) : null}
        </div>
        <div className="checks">
          <label className="check">
            <input type="checkbox" checked={d.start} onChange={(e) => set('start', e.target.checked)} /> Start it now
          </label>
          <label className="check">
            <input type="checkbox" checked={d.autostart} onChange={(e) => set('autostart', e.target.checked)} /> Start with libvirtd (autostart)
          </label>
        </div>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            Define network
          </button>
        </div>
      </form>
      <ErrorMessage error={error} title="The API refused the network" />
    </Section>
  );
}
