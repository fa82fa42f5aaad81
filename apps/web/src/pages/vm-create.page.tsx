import { diskBus, nicModel } from '@virtfleet/contracts';
import type { PlacementDecision } from '@virtfleet/sdk';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useActivity } from '../activity';
import { Badge } from '../components/badge';
import { ErrorMessage } from '../components/error-message';
import { PageHeader, Section, useTitle } from '../components/layout';
import { bytes, mib } from '../format';
import { useCanOperate, useClient } from '../session';
import { useData } from '../use-data';
import { emptyDraft, toBody, type Bus, type DiskRow, type Draft, type Kind, type Model, type NicRow } from './vm-create-body';

// The create-vm job's choices (libs/contracts create-vm.job.ts), as virt-install offers them:
// install source, disks, NICs, graphics, serial console, when the job counts as done. The API
// checks every value; its words for a refused field are shown as they come.

const INSTALL_KINDS: Array<{ kind: Kind; label: string; hint: string; flag: string }> = [
  { kind: 'cdrom', label: 'CD-ROM', hint: 'Boot an ISO from the host’s iso root.', flag: '--cdrom' },
  { kind: 'location', label: 'Install tree', hint: 'A distribution tree by URL or an ISO, with kernel arguments.', flag: '--location' },
  { kind: 'import', label: 'Import disk', hint: 'Boot the first disk as it is.', flag: '--import' },
  { kind: 'kernel', label: 'Direct kernel', hint: 'A kernel and initrd from the iso root, with a command line.', flag: '--boot kernel=…' },
  { kind: 'pxe', label: 'Network (PXE)', hint: 'Boot from the network; needs a NIC.', flag: '--pxe' },
];

const OS_VARIANTS = ['generic', 'linux2022', 'debian12', 'debian11', 'ubuntu24.04', 'ubuntu22.04', 'rhel9.0', 'almalinux9', 'fedora40', 'win2k22', 'win11'];


export function VmCreatePage() {
  useTitle('Create a VM');
  if (!useCanOperate()) {
    return (
      <>
        <PageHeader title="Create a VM" />
        <p className="notice">This token may only read: creating a VM needs the operate scope.</p>
      </>
    );
  }
  return <VmCreateForm />;
}

function VmCreateForm() {
  const client = useClient();
  const activity = useActivity();
  const navigate = useNavigate();
  const [d, setD] = useState<Draft>(emptyDraft);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [placement, setPlacement] = useState<PlacementDecision | null>(null);
  const hosts = useData((signal) => client.hosts.list({}, { signal }), [client]);
  const isos = useData((signal) => client.disks.isos(d.hostId ? { hostId: d.hostId } : {}, { signal }), [client, d.hostId]);
  const networks = useData((signal) => client.networks.list(d.hostId ? { hostId: d.hostId } : {}, { signal }), [client, d.hostId]);

  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setD((old) => ({ ...old, [key]: value }));
  const setDisk = (i: number, patch: Partial<DiskRow>) => set('disks', d.disks.map((x, j) => (j === i ? { ...x, ...patch } : x)));
  const setNic = (i: number, patch: Partial<NicRow>) => set('nics', d.nics.map((x, j) => (j === i ? { ...x, ...patch } : x)));
  const isoNames = [...new Set((isos.data ?? []).map((i) => i.name))].sort();
  const isoHint = (name: string) => {
    const f = (isos.data ?? []).find((i) => i.name === name);
    return f ? `${bytes(f.sizeBytes)} on ${f.host}` : '';
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = toBody(d);
      const job = await client.vms.create(body);
      activity.track(job, `Create VM ${body.name}`);
      void navigate(`/vms?name=${encodeURIComponent(body.name)}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const dryRun = async () => {
    setError(undefined);
    try {
      setPlacement(await client.vms.place(toBody(d)));
    } catch (err) {
      setPlacement(null);
      setError(err);
    }
  };

  const onlineHosts = (hosts.data ?? []).filter((h) => h.state === 'online');
  return (
    <>
      <PageHeader title="Create a VM" sub="virt-install on the chosen host (or where it fits best), as a create-vm job.">
        <Link className="button button-quiet" to="/vms">
          Back to VMs
        </Link>
      </PageHeader>
      <form className="form" onSubmit={(e) => void submit(e)} aria-label="Create a VM">
        <Section title="Machine">
          <div className="form-grid">
            <div className="field">
              <label htmlFor="vm-name">Name</label>
              <input id="vm-name" required value={d.name} onChange={(e) => set('name', e.target.value)} placeholder="web1" />
              <span className="hint">Letters, digits, “.”, “_”, “-”; the libvirt domain name.</span>
            </div>
            <div className="field">
              <label htmlFor="vm-host">Host</label>
              <select id="vm-host" value={d.hostId} onChange={(e) => set('hostId', e.target.value)}>
                <option value="">Any: the API picks</option>
                {onlineHosts.map((h) => (
                  <option key={h.id} value={h.id}>
                    {h.name}
                    {h.maintenance ? ' (maintenance)' : ''}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="vm-vcpus">vCPUs</label>
              <input id="vm-vcpus" type="number" min={1} max={512} required value={d.vcpus} onChange={(e) => set('vcpus', e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="vm-memory">Memory (MiB)</label>
              <input id="vm-memory" type="number" min={16} step={1} required value={d.memoryMiB} onChange={(e) => set('memoryMiB', e.target.value)} />
              <span className="hint">{Number(d.memoryMiB) > 0 ? mib(Number(d.memoryMiB)) : ''}</span>
            </div>
            <div className="field">
              <label htmlFor="vm-os">OS variant (osinfo)</label>
              <input id="vm-os" list="os-variants" value={d.osVariant} onChange={(e) => set('osVariant', e.target.value)} />
              <datalist id="os-variants">
                {OS_VARIANTS.map((o) => (
                  <option key={o} value={o} />
                ))}
              </datalist>
            </div>
            <div className="field">
              <label htmlFor="vm-labels">Labels</label>
              <input id="vm-labels" value={d.labels} onChange={(e) => set('labels', e.target.value)} placeholder="tier=web, team=payments" />
            </div>
          </div>
        </Section>

        <Section title="Install from">
          <fieldset className="choice-row">
            <legend className="sr-only">Install source</legend>
            {INSTALL_KINDS.map((k) => (
              <label key={k.kind} className={`choice${d.kind === k.kind ? ' chosen' : ''}`}>
                <input type="radio" name="install-kind" value={k.kind} checked={d.kind === k.kind} onChange={() => set('kind', k.kind)} />
                <span className="choice-title">{k.label}</span>
                <span className="hint">
                  {k.hint} <code className="nowrap">{k.flag}</code>
                </span>
              </label>
            ))}
          </fieldset>
          <div className="form-grid">
            {d.kind === 'cdrom' || (d.kind === 'location' && !d.url) ? (
              <div className="field">
                <label htmlFor="vm-iso">ISO</label>
                <select id="vm-iso" required={d.kind === 'cdrom'} value={d.iso} onChange={(e) => set('iso', e.target.value)}>
                  <option value="">Choose an ISO…</option>
                  {isoNames.map((n) => (
                    <option key={n} value={n}>
                      {n}
                    </option>
                  ))}
                </select>
                <span className="hint">{d.iso ? isoHint(d.iso) : isoNames.length ? 'Files in the hosts’ iso roots.' : 'No files in the iso roots yet.'}</span>
              </div>
            ) : null}
            {d.kind === 'location' ? (
              <>
                <div className="field">
                  <label htmlFor="vm-url">Or a tree URL</label>
                  <input id="vm-url" type="url" value={d.url} onChange={(e) => set('url', e.target.value)} placeholder="http://mirror.example/debian/dists/bookworm/main/installer-amd64/" />
                </div>
                <div className="field field-wide">
                  <label htmlFor="vm-extra">Kernel arguments (--extra-args)</label>
                  <input id="vm-extra" value={d.extraArgs} onChange={(e) => set('extraArgs', e.target.value)} placeholder="console=ttyS0 auto=true" />
                </div>
              </>
            ) : null}
            {d.kind === 'kernel' ? (
              <>
                <div className="field">
                  <label htmlFor="vm-kernel">Kernel</label>
                  <input id="vm-kernel" required list="iso-files" value={d.kernel} onChange={(e) => set('kernel', e.target.value)} placeholder="vmlinuz" />
                </div>
                <div className="field">
                  <label htmlFor="vm-initrd">Initrd (optional)</label>
                  <input id="vm-initrd" list="iso-files" value={d.initrd} onChange={(e) => set('initrd', e.target.value)} placeholder="initrd.gz" />
                </div>
                <div className="field field-wide">
                  <label htmlFor="vm-cmdline">Kernel command line</label>
                  <input id="vm-cmdline" value={d.cmdline} onChange={(e) => set('cmdline', e.target.value)} />
                </div>
                <datalist id="iso-files">
                  {isoNames.map((n) => (
                    <option key={n} value={n} />
                  ))}
                </datalist>
              </>
            ) : null}
          </div>
        </Section>

        <Section
          title="Disks"
          actions={
            <button type="button" className="button button-small" onClick={() => set('disks', [...d.disks, { name: '', sizeGiB: '10', format: 'qcow2', bus: 'virtio' }])}>
              Add disk
            </button>
          }
        >
          <p className="hint">A size makes a new disk in the store root; leave it empty to use an existing disk of that name.</p>
          {d.disks.map((x, i) => (
            <fieldset key={i} className="row-fields">
              <legend className="sr-only">Disk {i + 1}</legend>
              <div className="field">
                <label htmlFor={`disk-${i}-name`}>Disk {i + 1} name</label>
                <input id={`disk-${i}-name`} value={x.name} onChange={(e) => setDisk(i, { name: e.target.value })} placeholder={d.name ? `${d.name}-disk${i}` : 'web1-root'} />
              </div>
              <div className="field field-small">
                <label htmlFor={`disk-${i}-size`}>Size (GiB)</label>
                <input id={`disk-${i}-size`} type="number" min={1} value={x.sizeGiB} onChange={(e) => setDisk(i, { sizeGiB: e.target.value })} />
              </div>
              <div className="field field-small">
                <label htmlFor={`disk-${i}-format`}>Format</label>
                <select id={`disk-${i}-format`} value={x.format} onChange={(e) => setDisk(i, { format: e.target.value as DiskRow['format'] })}>
                  <option value="qcow2">qcow2</option>
                  <option value="raw">raw</option>
                </select>
              </div>
              <div className="field field-small">
                <label htmlFor={`disk-${i}-bus`}>Bus</label>
                <select id={`disk-${i}-bus`} value={x.bus} onChange={(e) => setDisk(i, { bus: e.target.value as Bus })}>
                  {diskBus.options.map((b) => (
                    <option key={b} value={b}>
                      {b}
                    </option>
                  ))}
                </select>
              </div>
              <button type="button" className="button button-small button-quiet" aria-label={`Remove disk ${i + 1}`} onClick={() => set('disks', d.disks.filter((_, j) => j !== i))}>
                Remove
              </button>
            </fieldset>
          ))}
        </Section>

        <Section
          title="Network interfaces"
          actions={
            <button type="button" className="button button-small" onClick={() => set('nics', [...d.nics, { kind: 'network', value: 'default', model: 'virtio', mac: '' }])}>
              Add interface
            </button>
          }
        >
          {!d.nics.length ? <p className="hint">No NIC: the VM gets no network (add one on a libvirt network or a host bridge).</p> : null}
          {d.nics.map((n, i) => (
            <fieldset key={i} className="row-fields">
              <legend className="sr-only">Interface {i + 1}</legend>
              <div className="field field-small">
                <label htmlFor={`nic-${i}-kind`}>Attach to</label>
                <select id={`nic-${i}-kind`} value={n.kind} onChange={(e) => setNic(i, { kind: e.target.value as NicRow['kind'], value: '' })}>
                  <option value="network">libvirt network</option>
                  <option value="bridge">host bridge</option>
                </select>
              </div>
              <div className="field">
                <label htmlFor={`nic-${i}-value`}>{n.kind === 'network' ? 'Network' : 'Bridge'}</label>
                {n.kind === 'network' ? (
                  <select id={`nic-${i}-value`} value={n.value} onChange={(e) => setNic(i, { value: e.target.value })}>
                    <option value="">Choose…</option>
                    {[...new Set((networks.data ?? []).map((x) => x.name))].map((name) => (
                      <option key={name} value={name}>
                        {name}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input id={`nic-${i}-value`} value={n.value} onChange={(e) => setNic(i, { value: e.target.value })} placeholder="br0" />
                )}
              </div>
              <div className="field field-small">
                <label htmlFor={`nic-${i}-model`}>Model</label>
                <select id={`nic-${i}-model`} value={n.model} onChange={(e) => setNic(i, { model: e.target.value as Model })}>
                  {nicModel.options.map((m) => (
                    <option key={m} value={m}>
                      {m}
                    </option>
                  ))}
                </select>
              </div>
              <div className="field field-small">
                <label htmlFor={`nic-${i}-mac`}>MAC (optional)</label>
                <input id={`nic-${i}-mac`} value={n.mac} onChange={(e) => setNic(i, { mac: e.target.value })} placeholder="52:54:00:…" />
              </div>
              <button type="button" className="button button-small button-quiet" aria-label={`Remove interface ${i + 1}`} onClick={() => set('nics', d.nics.filter((_, j) => j !== i))}>
                Remove
              </button>
            </fieldset>
          ))}
        </Section>

        <Section title="Console and start">
          <div className="form-grid">
            <div className="field">
              <label htmlFor="vm-graphics">Graphics</label>
              <select id="vm-graphics" value={d.graphics} onChange={(e) => set('graphics', e.target.value as Draft['graphics'])}>
                <option value="none">None (serial console only)</option>
                <option value="vnc">VNC</option>
              </select>
            </div>
            {d.graphics === 'vnc' ? (
              <>
                <div className="field">
                  <label htmlFor="vm-vnc-listen">VNC listens on</label>
                  <input id="vm-vnc-listen" value={d.vncListen} onChange={(e) => set('vncListen', e.target.value)} />
                  <span className="hint">All addresses (0.0.0.0) only with a password.</span>
                </div>
                <div className="field">
                  <label htmlFor="vm-vnc-password">VNC password</label>
                  <input id="vm-vnc-password" type="password" autoComplete="new-password" maxLength={8} value={d.vncPassword} onChange={(e) => set('vncPassword', e.target.value)} />
                </div>
              </>
            ) : null}
            <div className="field">
              <label htmlFor="vm-wait">The job ends when</label>
              <select id="vm-wait" value={d.waitFor} onChange={(e) => set('waitFor', e.target.value as Draft['waitFor'])}>
                <option value="running">the domain runs</option>
                <option value="guest-ready">the guest shows life</option>
              </select>
            </div>
            {d.waitFor === 'guest-ready' ? (
              <>
                <div className="field">
                  <label htmlFor="vm-marker">Ready marker (serial console text)</label>
                  <input id="vm-marker" value={d.readyMarker} onChange={(e) => set('readyMarker', e.target.value)} />
                </div>
                <div className="field field-small">
                  <label htmlFor="vm-ready-timeout">Ready within (s)</label>
                  <input id="vm-ready-timeout" type="number" min={1} max={3600} value={d.readyTimeoutSeconds} onChange={(e) => set('readyTimeoutSeconds', e.target.value)} />
                </div>
              </>
            ) : null}
          </div>
          <div className="checks">
            <label className="check">
              <input type="checkbox" checked={d.serial} onChange={(e) => set('serial', e.target.checked)} /> Serial console, logged on the host
            </label>
            <label className="check">
              <input type="checkbox" checked={d.autostart} onChange={(e) => set('autostart', e.target.checked)} /> Start with the host (autostart)
            </label>
          </div>
        </Section>

        <ErrorMessage error={error} title="The API refused the VM" />
        {placement ? <PlacementTable placement={placement} /> : null}
        <div className="form-actions">
          <button type="button" className="button" onClick={() => void dryRun()}>
            Check placement
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Submitting…' : 'Create VM'}
          </button>
        </div>
      </form>
    </>
  );
}

/** POST /v1/vms?dryRun=true: where the VM would go and why the other hosts would not take it. */
function PlacementTable({ placement }: { placement: PlacementDecision }) {
  return (
    <Section title="Placement (dry run)">
      <p>
        {placement.hostName ? (
          <>
            Would go to <strong>{placement.hostName}</strong>: {placement.reason}
          </>
        ) : (
          <>No host fits: {placement.reason}</>
        )}
      </p>
      <div className="table-wrap">
        <table className="table" aria-label="Placement">
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col">Fits</th>
              <th scope="col" className="num">
                Free memory
              </th>
              <th scope="col" className="num">
                Free vCPUs
              </th>
              <th scope="col">Why not</th>
            </tr>
          </thead>
          <tbody>
            {placement.hosts.map((h) => (
              <tr key={h.hostId}>
                <td>{h.name}</td>
                <td>{h.fits ? <Badge tone="ok">fits</Badge> : <Badge tone="bad">no</Badge>}</td>
                <td className="num">{mib(h.freeMemoryMiB)}</td>
                <td className="num">{h.freeVcpus}</td>
                <td>{h.reasons.join('; ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}
