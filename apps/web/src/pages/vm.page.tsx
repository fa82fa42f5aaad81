import type { Job, Vm } from '@virtfleet/sdk';
import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { useActivity } from '../activity';
import { Badge, JobStateBadge, VmStateBadge, YesNo } from '../components/badge';
import { ProgressBar } from '../components/bars';
import { ConfirmDialog } from '../components/dialog';
import { ErrorMessage } from '../components/error-message';
import { Empty, Loading, PageHeader, Section, useTitle } from '../components/layout';
import { CloneButton } from '../components/clone-dialog';
import { AdoptButton } from '../components/adopt-button';
import { AttachInterfaceButton, DetachInterfaceButton } from '../components/nic-dialog';
import { VmSettingsButtons } from '../components/vm-settings-dialog';
import { SerialConsole } from '../components/serial-console';
import { GuestFiles } from '../components/guest-files';
import { useFollowedJob } from '../components/use-followed-job';
import { DeleteVmButton } from '../components/vm-delete';
import { EditLabelsButton, LabelChips } from '../components/vm-labels';
import { VmPowerButtons } from '../components/vm-actions';
import { ago, dateTime, mib } from '../format';
import { useLive } from '../live';
import { useCanOperate, useClient } from '../session';
import { useData, useNow, useThrottled } from '../use-data';

/** One VM: what its host last reported, its NICs with addresses, disks, snapshots and domain XML. */
export function VmPage() {
  const { id = '' } = useParams();
  const client = useClient();
  const canOperate = useCanOperate();
  const now = useNow();
  const vm = useData((signal) => client.vms.get(id, { signal }), [client, id]);
  const hosts = useData((signal) => client.hosts.list({}, { signal }), [client]);
  const reload = useThrottled(vm.reload, 500);
  // Deleted from this page (undefine-vm, followed here and in the tray), or removed elsewhere (vm.removed).
  const deletion = useFollowedJob<'undefine-vm'>();
  const [removedId, setRemovedId] = useState<string | null>(null);
  const removed = removedId === id || (deletion.job?.state === 'succeeded' && deletion.job.payload.vm.uuid === vm.data?.uuid);
  useTitle(vm.data ? `${vm.data.name} (VM${removed ? ', removed' : ''})` : 'VM');
  useLive((m) => {
    if (removedId === id) return;
    if (m.event === 'resync') return vm.reload();
    if (m.event === 'vm.removed' && m.id === id) return setRemovedId(id);
    if (m.event === 'vm.updated' && m.id === id) {
      vm.set((v) => ({ ...v, state: m.vm.state as Vm['state'], status: m.vm.status as Vm['status'] }));
      reload();
    }
    // Snapshot jobs change the row without a power-state event.
    if (m.event === 'job.finished' && vm.data && (m.job.payload as { vm?: { uuid?: string } }).vm?.uuid === vm.data.uuid) reload();
  });

  if (!vm.data) return vm.error ? <ErrorMessage error={vm.error} /> : <Loading what="the VM" />;
  const v = vm.data;
  const host = hosts.data?.find((h) => h.id === v.hostId);
  if (removed) return <RemovedVm vm={v} hostName={host?.name} job={deletion.job?.state === 'succeeded' ? deletion.job : null} />;
  const nicActions = canOperate && v.status === 'managed';
  return (
    <>
      <PageHeader
        title={
          <>
            {v.name} <VmStateBadge vm={v} />
          </>
        }
        sub={
          <>
            VM on <Link to={`/hosts/${v.hostId}`}>{host?.name ?? 'its host'}</Link> · <span className="mono">{v.uuid}</span>
          </>
        }
      >
        <AdoptButton vm={v} onAdopted={() => vm.reload()} />
        <VmPowerButtons vm={v} />
        <CloneButton vm={v} />
        <DeleteVmButton vm={v} onSubmitted={deletion.follow} />
      </PageHeader>
      {deletion.job && deletion.job.state !== 'succeeded' ? (
        <div className="notice vm-deleting" role="status">
          <span>{deletion.job.state === 'queued' || deletion.job.state === 'running' ? `Deleting ${v.name}…` : `${v.name} was not deleted:`}</span>
          <JobStateBadge state={deletion.job.state} />
          <ProgressBar value={deletion.job.progress} label={`undefine-vm ${v.name}`} state={deletion.job.state} />
          <Link to={`/jobs/${deletion.job.id}`}>Job details</Link>
          {deletion.job.error ? (
            <span>
              {deletion.job.error.message} <code className="error-code">{deletion.job.error.code}</code>
            </span>
          ) : null}
        </div>
      ) : null}
      <ErrorMessage error={vm.error} />
      <Section title="Details" id="details" actions={<VmSettingsButtons vm={v} />}>
        <dl className="facts">
          <dt>State</dt>
          <dd>
            <VmStateBadge vm={v} /> {v.reason ? <span className="muted">({v.reason})</span> : null}
          </dd>
          <dt>State since</dt>
          <dd title={dateTime(v.stateChangedAt)}>{ago(v.stateChangedAt, now)}</dd>
          <dt>Status</dt>
          <dd>{v.status}</dd>
          <dt>vCPUs</dt>
          <dd>
            {v.vcpus} <span className="muted">(max {v.maxVcpus})</span>
          </dd>
          <dt>Memory</dt>
          <dd>
            {mib(v.memoryMiB)} <span className="muted">(max {mib(v.maxMemoryMiB)})</span>
          </dd>
          <dt>Virtualization</dt>
          <dd>{v.virtType === 'kvm' ? <Badge tone="ok">KVM</Badge> : v.virtType === 'qemu' ? <Badge tone="warn">TCG (qemu)</Badge> : (v.virtType ?? '—')}</dd>
          <dt>Autostart</dt>
          <dd>
            <YesNo value={v.autostart} />
          </dd>
          <dt>Persistent</dt>
          <dd>
            <YesNo value={v.persistent} />
          </dd>
          <dt>Graphics</dt>
          <dd>{v.graphics.length ? v.graphics.map((g) => `${g.type}${g.listen ? ` on ${g.listen}` : ''}${g.port && g.port > 0 ? `:${g.port}` : ''}`).join(', ') : 'none'}</dd>
          <dt>Serial log</dt>
          <dd className="mono">{v.serialLog ?? '—'}</dd>
          <dt>Labels</dt>
          <dd className="labels-fact">
            <LabelChips labels={v.labels} /> <EditLabelsButton vm={v} onSaved={(saved) => vm.set(() => saved)} />
          </dd>
          <dt>Last report</dt>
          <dd title={dateTime(v.seenAt)}>{ago(v.seenAt, now)}</dd>
        </dl>
      </Section>
      <Section title="Network interfaces" id="interfaces" actions={<AttachInterfaceButton vm={v} />}>
        {v.interfaces.length ? (
          <div className="table-wrap">
            <table className="table" aria-label="Network interfaces">
              <thead>
                <tr>
                  <th scope="col">MAC</th>
                  <th scope="col">Type</th>
                  <th scope="col">Network / bridge</th>
                  <th scope="col">Model</th>
                  <th scope="col">Host device</th>
                  <th scope="col">Addresses</th>
                  {nicActions ? <th scope="col">Actions</th> : null}
                </tr>
              </thead>
              <tbody>
                {v.interfaces.map((i, n) => (
                  <tr key={i.mac ?? n}>
                    <td className="mono">{i.mac ?? '—'}</td>
                    <td>{i.type}</td>
                    <td>
                      {i.network ?? i.bridge ?? '—'}
                      {i.virtualport ? <span className="muted"> ({i.virtualport})</span> : null}
                    </td>
                    <td>{i.model ?? '—'}</td>
                    <td className="mono">{i.target ?? '—'}</td>
                    <td className="mono">{i.addresses?.length ? i.addresses.join(', ') : <span className="muted">none leased</span>}</td>
                    {nicActions ? <td>{i.mac ? <DetachInterfaceButton vm={v} mac={i.mac} /> : null}</td> : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <Empty>No network interface.</Empty>
        )}
      </Section>
      <Section title="Disks" id="disks">
        {v.disks.length ? (
          <div className="table-wrap">
            <table className="table" aria-label="Disks">
              <thead>
                <tr>
                  <th scope="col">Target</th>
                  <th scope="col">Device</th>
                  <th scope="col">Bus</th>
                  <th scope="col">Format</th>
                  <th scope="col">Source</th>
                  <th scope="col">Boot</th>
                </tr>
              </thead>
              <tbody>
                {v.disks.map((d) => (
                  <tr key={d.target}>
                    <td className="mono">{d.target}</td>
                    <td>
                      {d.device}
                      {d.readonly ? <span className="muted"> (read-only)</span> : null}
                    </td>
                    <td>{d.bus ?? '—'}</td>
                    <td>{d.format ?? '—'}</td>
                    <td className="mono wrap">{d.source ?? '—'}</td>
                    <td>{d.bootOrder ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <Empty>No disk.</Empty>
        )}
      </Section>
      <Snapshots vm={v} />
      <GuestFiles vm={v} />
      <Section title="Serial console" id="console">
        <SerialConsole vm={v} />
      </Section>
      <DomainXml vm={v} />
    </>
  );
}

/** What is left to say of a VM once it is removed: its name, where it was, and what went with it. */
function RemovedVm({ vm, hostName, job }: { vm: Vm; hostName: string | undefined; job: Job<'undefine-vm'> | null }) {
  const result = job?.state === 'succeeded' ? job.result : null;
  return (
    <>
      <PageHeader
        title={
          <>
            {vm.name} <Badge tone="warn">removed</Badge>
          </>
        }
        sub={
          <>
            Was on <Link to={`/hosts/${vm.hostId}`}>{hostName ?? 'its host'}</Link> · <span className="mono">{vm.uuid}</span>
          </>
        }
      />
      <Section title="Removed" id="removed">
        <p role="status">
          {vm.name} is gone: its domain is no longer defined on its host, and virtfleet no longer lists it.
          {job ? (
            <>
              {' '}
              <Link to={`/jobs/${job.id}`}>The undefine-vm job</Link>
            </>
          ) : null}
        </p>
        {result ? (
          <dl className="facts">
            <dt>Disks deleted</dt>
            <dd className="mono wrap">{result.deleted.length ? result.deleted.join(', ') : 'none'}</dd>
            <dt>Disks kept</dt>
            <dd className="mono wrap">{result.kept.length ? result.kept.join(', ') : 'none'}</dd>
          </dl>
        ) : null}
        <p>
          <Link to="/vms">Back to the VMs</Link>
        </p>
      </Section>
    </>
  );
}

function Snapshots({ vm }: { vm: Vm }) {
  const client = useClient();
  const activity = useActivity();
  const canOperate = useCanOperate();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [confirm, setConfirm] = useState<{ action: 'revert' | 'delete'; name: string } | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const job = await client.vms.createSnapshot(vm.id, { ...(name.trim() ? { name: name.trim() } : {}), ...(description.trim() ? { description: description.trim() } : {}) });
      activity.track(job, `Snapshot ${vm.name}`);
      setName('');
      setDescription('');
    } catch (err) {
      setError(err);
    }
  };
  const act = async (action: 'revert' | 'delete', snapshot: string) => {
    const label = `${action === 'revert' ? 'Revert' : 'Delete snapshot'} ${vm.name} @ ${snapshot}`;
    try {
      activity.track(action === 'revert' ? await client.vms.revertSnapshot(vm.id, snapshot) : await client.vms.deleteSnapshot(vm.id, snapshot), label);
    } catch (err) {
      activity.refused(label, err);
    }
  };

  return (
    <Section title="Snapshots" id="snapshots">
      {vm.snapshots.length ? (
        <div className="table-wrap">
          <table className="table" aria-label="Snapshots">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Taken</th>
                <th scope="col">VM was</th>
                <th scope="col">Parent</th>
                <th scope="col">Description</th>
                {canOperate ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {vm.snapshots.map((s) => (
                <tr key={s.name}>
                  <td>
                    {s.name} {s.current ? <Badge tone="info">current</Badge> : null}
                  </td>
                  <td>{dateTime(s.createdAt)}</td>
                  <td>{s.state ?? '—'}</td>
                  <td>{s.parent ?? '—'}</td>
                  <td>{s.description ?? '—'}</td>
                  {canOperate ? (
                    <td>
                      <div className="button-row compact">
                        <button type="button" className="button button-small" onClick={() => setConfirm({ action: 'revert', name: s.name })}>
                          Revert
                        </button>
                        <button type="button" className="button button-small button-danger-quiet" onClick={() => setConfirm({ action: 'delete', name: s.name })}>
                          Delete
                        </button>
                      </div>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Empty>No snapshot.</Empty>
      )}
      {canOperate && vm.status === 'managed' ? (
        <form className="inline-form" onSubmit={(e) => void create(e)} aria-label="Take a snapshot">
          <div className="field">
            <label htmlFor="snap-name">Snapshot name (optional)</label>
            <input id="snap-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="the API names it" />
          </div>
          <div className="field field-grow">
            <label htmlFor="snap-desc">Description (optional)</label>
            <input id="snap-desc" value={description} onChange={(e) => setDescription(e.target.value)} />
          </div>
          <button type="submit" className="button">
            Take snapshot
          </button>
        </form>
      ) : null}
      <ErrorMessage error={error} />
      <ConfirmDialog
        open={confirm !== null}
        title={confirm?.action === 'revert' ? `Revert ${vm.name} to ${confirm.name}?` : `Delete snapshot ${confirm?.name ?? ''}?`}
        message={
          confirm?.action === 'revert' ? (
            <p>The VM goes back to the snapshot: what changed since is lost. It runs afterwards if it ran when the snapshot was taken.</p>
          ) : (
            <p>The snapshot is deleted from the VM; the VM itself is not changed.</p>
          )
        }
        confirm={confirm?.action === 'revert' ? 'Revert' : 'Delete'}
        onConfirm={() => confirm && void act(confirm.action, confirm.name)}
        onClose={() => setConfirm(null)}
      />
    </Section>
  );
}

/** GET /v1/vms/:id/xml, read when opened. */
function DomainXml({ vm }: { vm: Vm }) {
  const client = useClient();
  const [open, setOpen] = useState(false);
  const xml = useData((signal) => (open ? client.vms.xml(vm.id, { signal }) : Promise.resolve(undefined)), [client, vm.id, open, vm.seenAt]);
  return (
    <Section
      title="Domain XML"
      id="xml"
      actions={
        <button type="button" className="button button-small" aria-expanded={open} aria-controls="xml-view" onClick={() => setOpen(!open)}>
          {open ? 'Hide XML' : 'Show XML'}
        </button>
      }
    >
      <div id="xml-view">
        {open ? (
          <>
            <ErrorMessage error={xml.error} />
            {xml.data ? <pre className="code-block" aria-label={`Domain XML of ${vm.name}`} tabIndex={0}>{xml.data}</pre> : xml.loading ? <Loading what="the XML" /> : null}
          </>
        ) : (
          <p className="muted">virsh dumpxml as the host last reported it.</p>
        )}
      </div>
    </Section>
  );
}
