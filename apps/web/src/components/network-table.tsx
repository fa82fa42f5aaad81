import type { Job, Network, NetworkAction } from '@virtfleet/sdk';
import { useState } from 'react';
import { Link } from 'react-router';
import { useActivity } from '../activity';
import { useCanOperate, useClient } from '../session';
import { Badge, YesNo } from './badge';
import { ConfirmDialog } from './dialog';

/** libvirt networks, each on its host: state, forward mode, bridge, subnet and DHCP leases; start, stop, autostart, undefine. */
export function NetworkTable({ networks, showHost = true }: { networks: readonly Network[]; showHost?: boolean }) {
  const client = useClient();
  const activity = useActivity();
  const canOperate = useCanOperate();
  const [stopping, setStopping] = useState<Network | null>(null);
  const [undefining, setUndefining] = useState<Network | null>(null);
  const [force, setForce] = useState(false);

  /** Submits a job and follows it in the tray; a refusal is said there in the API's words. */
  const run = async (label: string, submit: () => Promise<Job>) => {
    try {
      activity.track(await submit(), label);
    } catch (err) {
      activity.refused(label, err);
    }
  };
  const act = (n: Network, action: Extract<NetworkAction, 'start' | 'stop'>) =>
    run(`${action === 'start' ? 'Start' : 'Stop'} network ${n.name} on ${n.hostName}`, () => client.networks.action(n.hostId, n.name, action));
  const setAutostart = (n: Network, enabled: boolean) =>
    run(`Autostart ${enabled ? 'on' : 'off'} for network ${n.name} on ${n.hostName}`, () => client.networks.action(n.hostId, n.name, 'set-autostart', { enabled }));
  const undefine = (n: Network, withForce: boolean) =>
    run(`Undefine network ${n.name} on ${n.hostName}`, () => client.networks.undefine(n.hostId, n.name, withForce ? { force: true } : {}));

  return (
    <div className="table-wrap">
      <table className="table" aria-label="Networks">
        <thead>
          <tr>
            <th scope="col">Name</th>
            {showHost ? <th scope="col">Host</th> : null}
            <th scope="col">State</th>
            <th scope="col">Autostart</th>
            <th scope="col">Forward</th>
            <th scope="col">Bridge</th>
            <th scope="col">Subnet</th>
            <th scope="col">Leases</th>
            {canOperate ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {networks.map((n) => (
            <tr key={`${n.hostId}:${n.name}`} data-network={n.name}>
              <td className="strong">{n.name}</td>
              {showHost ? (
                <td className="nowrap">
                  <Link to={`/hosts/${n.hostId}`}>{n.hostName}</Link>
                </td>
              ) : null}
              <td>{n.active ? <Badge tone="ok">active</Badge> : <Badge tone="muted">inactive</Badge>}</td>
              <td className="nowrap">
                <YesNo value={n.autostart} />
                {canOperate ? (
                  <button
                    type="button"
                    className="button button-small button-quiet"
                    aria-label={`Turn autostart ${n.autostart ? 'off' : 'on'} for network ${n.name} on ${n.hostName}`}
                    onClick={() => void setAutostart(n, !n.autostart)}
                  >
                    {n.autostart ? 'Turn off' : 'Turn on'}
                  </button>
                ) : null}
              </td>
              <td>{n.forward ?? 'isolated'}</td>
              <td className="mono">
                {n.bridge ?? '—'}
                {n.virtualport ? <span className="muted"> ({n.virtualport})</span> : null}
              </td>
              <td className="mono">{n.cidr ?? '—'}</td>
              <td>
                {n.leases?.length ? (
                  <details>
                    <summary>{n.leases.length}</summary>
                    <ul className="plain-list mono small">
                      {n.leases.map((l) => (
                        <li key={l.mac}>
                          {l.ip} {l.hostname ? `(${l.hostname})` : ''} {l.mac}
                        </li>
                      ))}
                    </ul>
                  </details>
                ) : (
                  <span className="muted">0</span>
                )}
              </td>
              {canOperate ? (
                <td>
                  <div className="button-row compact">
                    {n.active ? (
                      <button type="button" className="button button-small button-danger-quiet" aria-label={`Stop network ${n.name} on ${n.hostName}`} onClick={() => setStopping(n)}>
                        Stop
                      </button>
                    ) : (
                      <button type="button" className="button button-small" aria-label={`Start network ${n.name} on ${n.hostName}`} onClick={() => void act(n, 'start')}>
                        Start
                      </button>
                    )}
                    <button
                      type="button"
                      className="button button-small button-danger-quiet"
                      aria-label={`Undefine network ${n.name} on ${n.hostName}`}
                      onClick={() => {
                        setForce(false);
                        setUndefining(n);
                      }}
                    >
                      Undefine
                    </button>
                  </div>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      <ConfirmDialog
        open={stopping !== null}
        title={`Stop network ${stopping?.name ?? ''}?`}
        message={<p>Running VMs on it lose their link until it is started again. Its definition stays.</p>}
        confirm="Stop network"
        onConfirm={() => stopping && void act(stopping, 'stop')}
        onClose={() => setStopping(null)}
      />
      <ConfirmDialog
        open={undefining !== null}
        title={`Undefine network ${undefining?.name ?? ''}?`}
        message={
          <>
            <p>
              It is stopped and its definition removed from {undefining?.hostName ?? 'its host'} (<code>virsh net-destroy</code>, <code>net-undefine</code>). VMs
              keep their interfaces on it but have no link. The API refuses while a running VM uses it, unless forced.
            </p>
            <label className="check">
              <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> Even if running VMs use it (force)
            </label>
          </>
        }
        confirm="Undefine network"
        onConfirm={() => undefining && void undefine(undefining, force)}
        onClose={() => setUndefining(null)}
      />
    </div>
  );
}
