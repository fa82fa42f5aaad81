import type { Network, NetworkAction } from '@virtfleet/sdk';
import { useState } from 'react';
import { Link } from 'react-router';
import { useActivity } from '../activity';
import { useCanOperate, useClient } from '../session';
import { Badge, YesNo } from './badge';
import { ConfirmDialog } from './dialog';

/** libvirt networks, each on its host: state, forward mode, bridge, subnet and DHCP leases; start and stop. */
export function NetworkTable({ networks, showHost = true }: { networks: readonly Network[]; showHost?: boolean }) {
  const client = useClient();
  const activity = useActivity();
  const canOperate = useCanOperate();
  const [stopping, setStopping] = useState<Network | null>(null);

  const act = async (n: Network, action: Extract<NetworkAction, 'start' | 'stop'>) => {
    const label = `${action === 'start' ? 'Start' : 'Stop'} network ${n.name} on ${n.hostName}`;
    try {
      activity.track(await client.networks.action(n.hostId, n.name, action), label);
    } catch (err) {
      activity.refused(label, err);
    }
  };

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
              <td>
                <YesNo value={n.autostart} />
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
                  {n.active ? (
                    <button type="button" className="button button-small button-danger-quiet" aria-label={`Stop network ${n.name} on ${n.hostName}`} onClick={() => setStopping(n)}>
                      Stop
                    </button>
                  ) : (
                    <button type="button" className="button button-small" aria-label={`Start network ${n.name} on ${n.hostName}`} onClick={() => void act(n, 'start')}>
                      Start
                    </button>
                  )}
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
    </div>
  );
}
