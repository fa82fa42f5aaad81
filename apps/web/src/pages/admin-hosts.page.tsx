import type { Host, JoinToken } from '@virtfleet/sdk';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { HostStateBadge } from '../components/badge';
import { CopyButton } from '../components/copy-button';
import { enrollCommand } from '../components/enroll-command';
import { ErrorMessage } from '../components/error-message';
import { Empty, Loading, PageHeader, Section, useTitle } from '../components/layout';
import { RevokeHostButton } from '../components/revoke-host';
import { ago, dateTime } from '../format';
import { useClient } from '../session';
import { useData, useInterval, useNow } from '../use-data';

/** How long a join token lasts: the API's default (VIRTFLEET_JOIN_TOKEN_TTL_SECONDS) or a choice. */
const TTLS: ReadonlyArray<{ seconds: number | undefined; label: string }> = [
  { seconds: undefined, label: 'The API’s default' },
  { seconds: 15 * 60, label: '15 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86_400, label: '1 day' },
  { seconds: 7 * 86_400, label: '7 days' },
];

/** Hosts (admin): make a join token for a new host, see the command it runs; revoke a host. */
export function AdminHostsPage() {
  useTitle('Hosts');
  const client = useClient();
  const now = useNow();
  const hosts = useData((signal) => client.hosts.list({}, { signal }), [client]);
  useInterval(hosts.reload, 5000);
  return (
    <>
      <PageHeader title="Hosts" sub="Enroll a new KVM host with a one-time join token; revoke a host that leaves." />
      <AddHost />
      <Section title="Enrolled hosts" id="hosts">
        <ErrorMessage error={hosts.error} />
        {!hosts.data && hosts.loading ? <Loading what="hosts" /> : null}
        {hosts.data && !hosts.data.length ? <Empty>No host yet: add one above.</Empty> : null}
        {hosts.data?.length ? <HostsTable hosts={hosts.data} now={now} onRevoked={hosts.reload} /> : null}
      </Section>
    </>
  );
}

function AddHost() {
  const client = useClient();
  const [ttl, setTtl] = useState('');
  const [name, setName] = useState('');
  const [labels, setLabels] = useState('');
  const [join, setJoin] = useState<JoinToken | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setJoin(await client.hosts.joinToken(ttl ? { ttlSeconds: Number(ttl) } : {}));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const command = join ? enrollCommand({ api: window.location.origin, token: join.token, name, labels }) : '';
  return (
    <Section title="Add a host" id="add">
      <p className="section-intro">
        A join token lets one new host enroll, once, before it expires. The host gets its own agent token and a Redis user that reaches only its own queue.
        Name and labels only go into the command below; they can be changed there too.
      </p>
      <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label="Make a join token">
        <div className="field">
          <label htmlFor="join-ttl">Valid for</label>
          <select id="join-ttl" value={ttl} onChange={(e) => setTtl(e.target.value)}>
            {TTLS.map((t) => (
              <option key={t.label} value={t.seconds ?? ''}>
                {t.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="join-name">Host name (optional)</label>
          <input id="join-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="kvm-07" spellCheck={false} />
        </div>
        <div className="field field-grow">
          <label htmlFor="join-labels">Labels (optional)</label>
          <input id="join-labels" value={labels} onChange={(e) => setLabels(e.target.value)} placeholder="rack=r3, zone=a" spellCheck={false} />
        </div>
        <button type="submit" className="button button-primary" disabled={busy}>
          Make join token
        </button>
      </form>
      <ErrorMessage error={error} title="The API refused the join token" />
      {join ? (
        <div className="secret-once" role="region" aria-label="Enroll the new host">
          <div className="section-header">
            <h3 className="secret-title">Run this on the new host</h3>
            <button type="button" className="button button-small" onClick={() => setJoin(null)}>
              Done, hide it
            </button>
          </div>
          <p className="secret-warning">
            <strong>Shown this once.</strong> The join token is in the command; the API never shows it again. It works once, until{' '}
            <time dateTime={join.expiresAt}>{dateTime(join.expiresAt)}</time>.
          </p>
          <ol className="steps">
            <li>
              As root, on a machine with libvirt, QEMU and <code>virtfleet-agent</code> installed (optional first: <code>virtfleet-agent doctor</code> says what
              it lacks).
            </li>
            <li>
              <div className="command-row">
                <pre className="code-block small" aria-label="Enroll command">
                  {command}
                </pre>
                <CopyButton text={command} label="Copy the enroll command" />
              </div>
            </li>
            <li>
              Then <code>virtfleet-agent run</code>: the host appears below, online, with its first heartbeat.
            </li>
          </ol>
        </div>
      ) : null}
    </Section>
  );
}

function HostsTable({ hosts, now, onRevoked }: { hosts: readonly Host[]; now: number; onRevoked: () => void }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Enrolled hosts">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">State</th>
            <th scope="col">Labels</th>
            <th scope="col">Enrolled</th>
            <th scope="col">Last heartbeat</th>
            <th scope="col">Agent</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {hosts.map((h) => (
            <tr key={h.id} data-host={h.name}>
              <td className="nowrap">
                <Link to={`/hosts/${h.id}`} className="strong-link">
                  {h.name}
                </Link>
              </td>
              <td>
                <HostStateBadge host={h} />
              </td>
              <td className="mono small">
                {Object.entries(h.labels).map(([k, v]) => (
                  <span key={k} className="label-chip">
                    {k}={v}
                  </span>
                ))}
                {Object.keys(h.labels).length ? null : <span className="muted">—</span>}
              </td>
              <td className="nowrap">{dateTime(h.enrolledAt)}</td>
              <td className="nowrap" title={dateTime(h.lastHeartbeatAt)}>
                {ago(h.lastHeartbeatAt, now)}
              </td>
              <td className="mono small">{h.facts.versions?.agent ?? '—'}</td>
              <td>{h.state === 'revoked' ? <span className="muted">revoked</span> : <RevokeHostButton host={h} onRevoked={onRevoked} small />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
