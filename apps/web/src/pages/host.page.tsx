import { Link, useParams } from 'react-router';
import { useActivity } from '../activity';
import { CheckCells, DoctorBadge, HostStateBadge, VirtBadge, YesNo } from '../components/badge';
import { DiskTable } from '../components/disk-table';
import { ErrorMessage } from '../components/error-message';
import { CpuBar, MemoryBar, StorageBar } from '../components/host-usage';
import { Empty, Loading, PageHeader, Section, useTitle } from '../components/layout';
import { NetworkTable } from '../components/network-table';
import { RevokeHostButton } from '../components/revoke-host';
import { useVmList, VmTable } from '../components/vm-table';
import { ago, bytes, dateTime } from '../format';
import { useCanOperate, useClient } from '../session';
import { useData, useInterval, useNow } from '../use-data';
import { useDiskList } from './disks.page';

/** One host: how full it is, its facts and doctor report, and its VMs, networks, disks and pools. */
export function HostPage() {
  const { id = '' } = useParams();
  const client = useClient();
  const activity = useActivity();
  const canOperate = useCanOperate();
  const now = useNow();
  const host = useData((signal) => client.hosts.get(id, { signal }), [client, id]);
  const vms = useVmList({ hostId: id });
  const disks = useDiskList(id);
  useInterval(host.reload, 5000);
  useTitle(host.data ? `${host.data.name} (host)` : 'Host');

  if (!host.data) return host.error ? <ErrorMessage error={host.error} /> : <Loading what="the host" />;
  const h = host.data;
  const f = h.facts;
  const toggleMaintenance = async () => {
    try {
      await client.hosts.maintenance(h.id, !h.maintenance);
      host.reload();
    } catch (err) {
      activity.refused(`${h.maintenance ? 'End' : 'Start'} maintenance on ${h.name}`, err);
    }
  };

  return (
    <>
      <PageHeader
        title={
          <>
            {h.name} <HostStateBadge host={h} /> <VirtBadge host={h} />
          </>
        }
        sub={
          <>
            {f.hostname ?? 'no facts yet'} · last heartbeat <span title={dateTime(h.lastHeartbeatAt)}>{ago(h.lastHeartbeatAt, now)}</span>
          </>
        }
      >
        {canOperate ? (
          <button type="button" className="button" onClick={() => void toggleMaintenance()}>
            {h.maintenance ? 'End maintenance' : 'Start maintenance'}
          </button>
        ) : null}
        <RevokeHostButton host={h} onRevoked={host.reload} />
      </PageHeader>
      <nav className="subnav" aria-label="On this page">
        <a href="#usage">Usage</a>
        <a href="#vms">VMs</a>
        <a href="#networks">Networks</a>
        <a href="#disks">Disks</a>
        <a href="#facts">Facts</a>
        <a href="#doctor">Doctor</a>
      </nav>
      <Section title="Usage" id="usage">
        <div className="usage-grid">
          <div>
            <h3>vCPUs of running VMs</h3>
            <CpuBar host={h} vms={vms.items} />
          </div>
          <div>
            <h3>Memory</h3>
            <MemoryBar host={h} />
          </div>
          <div>
            <h3>Storage root</h3>
            <StorageBar host={h} />
          </div>
        </div>
      </Section>
      <Section
        title="VMs"
        id="vms"
        actions={
          <Link to={`/vms?hostId=${h.id}`} className="button button-small button-quiet">
            Filter in VMs
          </Link>
        }
      >
        <ErrorMessage error={vms.error} />
        {vms.loaded && !vms.items.length ? <Empty>No VM on this host.</Empty> : null}
        {vms.items.length ? <VmTable vms={vms.items} hosts={[h]} showHost={false} label={`VMs on ${h.name}`} /> : null}
      </Section>
      <Section title="Networks" id="networks">
        {h.networks.length ? <NetworkTable networks={h.networks.map((n) => ({ ...n, hostId: h.id, hostName: h.name }))} showHost={false} /> : <Empty>No libvirt network.</Empty>}
      </Section>
      <Section title="Disks" id="disks">
        <ErrorMessage error={disks.error} />
        {disks.loaded && !disks.items.length ? <Empty>No disk in the store root.</Empty> : null}
        {disks.items.length ? <DiskTable disks={disks.items} hosts={[h]} showHost={false} /> : null}
      </Section>
      <Section title="Storage pools" id="pools">
        {h.pools.length ? (
          <div className="table-wrap">
            <table className="table" aria-label="Storage pools">
              <thead>
                <tr>
                  <th scope="col">Pool</th>
                  <th scope="col">State</th>
                  <th scope="col">Path</th>
                  <th scope="col" className="num">
                    Capacity
                  </th>
                  <th scope="col" className="num">
                    Available
                  </th>
                </tr>
              </thead>
              <tbody>
                {h.pools.map((p) => (
                  <tr key={p.name}>
                    <td>{p.name}</td>
                    <td>
                      <YesNo value={p.active} yes="active" no="inactive" />
                    </td>
                    <td className="mono">{p.path ?? '—'}</td>
                    <td className="num">{bytes(p.capacityBytes)}</td>
                    <td className="num">{bytes(p.availableBytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <Empty>No storage pool.</Empty>
        )}
      </Section>
      <Section title="Facts" id="facts">
        <dl className="facts">
          <dt>Hostname</dt>
          <dd>{f.hostname ?? '—'}</dd>
          <dt>Kernel</dt>
          <dd className="mono">
            {f.kernel ?? '—'} {f.arch ? `(${f.arch})` : ''}
          </dd>
          <dt>CPU</dt>
          <dd>{f.cpu ? `${f.cpu.count} × ${f.cpu.model}${f.cpu.vmx ? ' (vmx)' : f.cpu.svm ? ' (svm)' : ''}` : '—'}</dd>
          <dt>Memory</dt>
          <dd>{f.memory ? `${bytes(f.memory.availableBytes)} available of ${bytes(f.memory.totalBytes)}` : '—'}</dd>
          <dt>Virtualization</dt>
          <dd>
            <VirtBadge host={h} /> {f.kvm ? <span className="muted">{f.kvm.probe}</span> : null}
          </dd>
          <dt>libvirt</dt>
          <dd className="mono">
            {f.libvirt?.uri ?? '—'} {f.versions?.libvirt ? `· ${f.versions.libvirt}` : ''} {f.libvirt && !f.libvirt.reachable ? `· unreachable: ${f.libvirt.error ?? ''}` : ''}
          </dd>
          <dt>QEMU</dt>
          <dd className="mono">{f.versions?.qemu ?? '—'}</dd>
          <dt>virt-install</dt>
          <dd className="mono">{f.versions?.virtInstall ?? '—'}</dd>
          <dt>Agent</dt>
          <dd className="mono">{f.versions?.agent ?? '—'}</dd>
          <dt>Storage root</dt>
          <dd className="mono">{f.storage ? `${f.storage.root} (${bytes(f.storage.freeBytes)} free of ${bytes(f.storage.totalBytes)})` : '—'}</dd>
          <dt>ISO root</dt>
          <dd className="mono">{f.storage?.isoRoot ?? '—'}</dd>
          <dt>IPv4 forwarding</dt>
          <dd>{f.ipForwarding === undefined ? '—' : <YesNo value={f.ipForwarding} yes="on" no="off" />}</dd>
          <dt>Labels</dt>
          <dd>
            {Object.keys(h.labels).length
              ? Object.entries(h.labels).map(([k, v]) => (
                  <code key={k} className="label-chip">
                    {k}={v}
                  </code>
                ))
              : '—'}
          </dd>
          <dt>Enrolled</dt>
          <dd>{dateTime(h.enrolledAt)}</dd>
          <dt>Inventory</dt>
          <dd title={dateTime(h.inventoryAt)}>{ago(h.inventoryAt, now)}</dd>
          <dt>Facts collected</dt>
          <dd title={dateTime(f.collectedAt)}>{ago(f.collectedAt, now)}</dd>
        </dl>
      </Section>
      <Section title="Doctor" id="doctor" actions={<DoctorBadge host={h} />}>
        {h.doctor ? (
          <>
            <p className="muted">virtfleet-agent doctor, run {ago(h.doctor.ranAt, now)}.</p>
            <div className="table-wrap">
              <table className="table" aria-label="Doctor report">
                <thead>
                  <tr>
                    <th scope="col">Check</th>
                    <th scope="col">Status</th>
                    <th scope="col">Finding</th>
                    <th scope="col">Fix</th>
                  </tr>
                </thead>
                <tbody>
                  {h.doctor.checks.map((c) => (
                    <tr key={c.id}>
                      <CheckCells check={c} />
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        ) : (
          <Empty>The agent has not sent a doctor report.</Empty>
        )}
      </Section>
    </>
  );
}
