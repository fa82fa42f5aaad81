import type { Host, Vm } from '@virtfleet/sdk';
import { Link } from 'react-router';
import { CheckCells, DoctorBadge, HostStateBadge, VirtBadge } from '../components/badge';
import { ErrorMessage } from '../components/error-message';
import { CpuBar, MemoryBar, StorageBar } from '../components/host-usage';
import { Empty, Loading, PageHeader, Section, useTitle } from '../components/layout';
import { SortHeader, useSorted } from '../components/sort';
import { ago, dateTime } from '../format';
import { useLive } from '../live';
import { useClient } from '../session';
import { useData, useInterval, useNow, useThrottled } from '../use-data';

/** How many VMs the console reads for the fleet's counts and vCPU bars (pages of 500). */
const VM_SAMPLE = 2000;

async function allVms(client: ReturnType<typeof useClient>, signal: AbortSignal): Promise<Vm[]> {
  const vms: Vm[] = [];
  for await (const vm of client.vms.iterate({ limit: 500 }, { signal })) {
    vms.push(vm);
    if (vms.length >= VM_SAMPLE) break;
  }
  return vms;
}

/** The fleet at a glance: every host, its state, KVM or TCG, how full it is, its last heartbeat and the doctor's warnings. */
export function FleetPage() {
  useTitle('Fleet');
  const client = useClient();
  const now = useNow();
  const hosts = useData((signal) => client.hosts.list({}, { signal }), [client]);
  const vms = useData((signal) => allVms(client, signal), [client]);
  const stats = useData((signal) => client.jobs.stats({}, { signal }), [client]);
  // Heartbeats are not events: the host list is read again every few seconds.
  useInterval(hosts.reload, 5000);
  const reloadVms = useThrottled(vms.reload, 1000);
  const reloadStats = useThrottled(stats.reload, 1000);
  useLive((m) => {
    if (m.event === 'resync') {
      hosts.reload();
      reloadVms();
      reloadStats();
    } else if (m.event === 'vm.updated' || m.event === 'vm.removed') reloadVms();
    else if (m.event !== 'job.progress') reloadStats();
  });

  const list = hosts.data ?? [];
  const vmList = vms.data ?? [];
  const { sorted, sort, toggle } = useSorted(list, {
    name: (h: Host) => h.name,
    state: (h) => h.state,
    virt: (h) => h.facts.virtType,
    heartbeat: (h) => h.lastHeartbeatAt,
    vms: (h) => vmList.filter((v) => v.hostId === h.id).length,
  });
  const online = list.filter((h) => h.state === 'online').length;
  const running = vmList.filter((v) => v.state === 'running').length;
  const s = stats.data;

  return (
    <>
      <PageHeader title="Fleet" sub="Every KVM host, as its agent last reported it." />
      <div className="cards">
        <Link className="card" to="/">
          <span className="card-label">Hosts online</span>
          <span className="card-value">
            {hosts.data ? online : '…'} <small>/ {hosts.data ? list.length : '…'}</small>
          </span>
        </Link>
        <Link className="card" to="/vms">
          <span className="card-label">VMs running</span>
          <span className="card-value">
            {vms.data ? running : '…'} <small>/ {vms.data ? vmList.length : '…'}</small>
          </span>
        </Link>
        <Link className="card" to="/jobs?state=running">
          <span className="card-label">Jobs running</span>
          <span className="card-value">
            {s ? s.running : '…'} <small>{s ? `${s.queued + s.pending} waiting` : ''}</small>
          </span>
        </Link>
        <Link className={`card${s?.failed ? ' card-bad' : ''}`} to="/jobs?state=failed">
          <span className="card-label">Jobs failed</span>
          <span className="card-value">{s ? s.failed + s.timed_out : '…'}</span>
        </Link>
      </div>
      <Section title="Hosts" id="hosts">
        <ErrorMessage error={hosts.error} />
        {!hosts.data && hosts.loading ? <Loading what="hosts" /> : null}
        {hosts.data && !list.length ? <Empty>No host has enrolled yet: make a join token (virtfleet hosts join-token) and run the agent's enroll on a KVM host.</Empty> : null}
        {list.length ? (
          <div className="table-wrap">
            <table className="table" aria-label="Hosts">
              <thead>
                <tr>
                  <SortHeader label="Host" k="name" sort={sort} onSort={toggle} />
                  <SortHeader label="State" k="state" sort={sort} onSort={toggle} />
                  <SortHeader label="Virt" k="virt" sort={sort} onSort={toggle} />
                  <th scope="col">CPU</th>
                  <th scope="col">Memory</th>
                  <th scope="col">Storage</th>
                  <SortHeader label="VMs" k="vms" sort={sort} onSort={toggle} className="num" />
                  <SortHeader label="Last heartbeat" k="heartbeat" sort={sort} onSort={toggle} />
                  <th scope="col">Doctor</th>
                </tr>
              </thead>
              <tbody>
                {sorted.map((h) => {
                  const mine = vmList.filter((v) => v.hostId === h.id);
                  return (
                    <tr key={h.id} data-host={h.name}>
                      <td className="nowrap">
                        <Link to={`/hosts/${h.id}`} className="strong-link">
                          {h.name}
                        </Link>
                        <div className="sub">{[h.facts.hostname, h.facts.cpu ? `${h.facts.cpu.count} CPUs` : null, h.facts.versions?.agent ? `agent ${h.facts.versions.agent}` : null].filter(Boolean).join(' · ')}</div>
                      </td>
                      <td>
                        <HostStateBadge host={h} />
                      </td>
                      <td>
                        <VirtBadge host={h} />
                      </td>
                      <td className="bar-cell">
                        <CpuBar host={h} vms={vmList} />
                      </td>
                      <td className="bar-cell">
                        <MemoryBar host={h} />
                      </td>
                      <td className="bar-cell">
                        <StorageBar host={h} />
                      </td>
                      <td className="num">
                        {mine.filter((v) => v.state === 'running').length} / {mine.length}
                      </td>
                      <td title={dateTime(h.lastHeartbeatAt)}>{ago(h.lastHeartbeatAt, now)}</td>
                      <td>
                        <DoctorBadge host={h} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : null}
        {vms.data && vmList.length >= VM_SAMPLE ? <p className="muted">VM counts and vCPU bars count the newest {VM_SAMPLE} VMs.</p> : null}
      </Section>
      <DoctorWarnings hosts={list} />
      <ErrorMessage error={vms.error ?? stats.error} />
    </>
  );
}

/** What the hosts' doctors found wrong, with the fix each suggests. */
function DoctorWarnings({ hosts }: { hosts: readonly Host[] }) {
  const rows = hosts.flatMap((h) => (h.doctor?.checks ?? []).filter((c) => c.status !== 'pass').map((c) => ({ host: h, check: c })));
  if (!rows.length) return null;
  return (
    <Section title="Doctor warnings" id="doctor">
      <div className="table-wrap">
        <table className="table" aria-label="Doctor warnings">
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col">Check</th>
              <th scope="col">Status</th>
              <th scope="col">Finding</th>
              <th scope="col">Fix</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ host, check }) => (
              <tr key={`${host.id}:${check.id}`}>
                <td className="nowrap">
                  <Link to={`/hosts/${host.id}#doctor`}>{host.name}</Link>
                </td>
                <CheckCells check={check} />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}
