import type { Disk, Host } from '@virtfleet/sdk';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useActivity } from '../activity';
import { bytes } from '../format';
import { useCanOperate, useClient } from '../session';
import { Badge } from './badge';
import { ConfirmDialog, Dialog } from './dialog';
import { InspectDialog, ResizeDialog, useInspection } from './disk-dialogs';
import { ErrorMessage } from './error-message';
import { SortHeader, useSorted } from './sort';

/** Disks of the hosts' store roots: size, allocation, which VMs use them; convert, resize, inspect and delete. */
export function DiskTable({ disks, hosts, showHost = true }: { disks: readonly Disk[]; hosts: readonly Host[]; showHost?: boolean }) {
  const client = useClient();
  const activity = useActivity();
  const canOperate = useCanOperate();
  const [converting, setConverting] = useState<Disk | null>(null);
  const [deleting, setDeleting] = useState<Disk | null>(null);
  const [resizing, setResizing] = useState<Disk | null>(null);
  const inspection = useInspection();
  const hostName = (id: string) => hosts.find((h) => h.id === id)?.name ?? id.slice(0, 8);
  const { sorted, sort, toggle } = useSorted(disks, {
    name: (d: Disk) => d.name,
    host: (d) => hostName(d.hostId),
    format: (d) => d.format,
    size: (d) => d.virtualSize,
    used: (d) => d.actualSize,
  });

  // A disk another one is an overlay of stays: deleting it would break that one.
  const backs = (d: Disk) => disks.some((o) => o.hostId === d.hostId && o.backingFile !== null && o.backingFile.endsWith(`/${d.name}.${d.format}`));

  const remove = async (d: Disk) => {
    const label = `Delete disk ${d.name}`;
    try {
      activity.track(await client.disks.delete(d.id), label);
    } catch (err) {
      activity.refused(label, err);
    }
  };

  return (
    <div className="table-wrap">
      <table className="table" aria-label="Disks">
        <thead>
          <tr>
            <SortHeader label="Name" k="name" sort={sort} onSort={toggle} />
            {showHost ? <SortHeader label="Host" k="host" sort={sort} onSort={toggle} /> : null}
            <SortHeader label="Format" k="format" sort={sort} onSort={toggle} />
            <th scope="col">State</th>
            <SortHeader label="Size" k="size" sort={sort} onSort={toggle} className="num" />
            <SortHeader label="Allocated" k="used" sort={sort} onSort={toggle} className="num" />
            <th scope="col">Used by</th>
            <th scope="col">Backing file</th>
            {canOperate ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {sorted.map((d) => (
            <tr key={d.id} data-disk={d.name}>
              <td className="nowrap" title={d.path ?? undefined}>
                <span className="strong">{d.name}</span>
              </td>
              {showHost ? (
                <td className="nowrap">
                  <Link to={`/hosts/${d.hostId}`}>{hostName(d.hostId)}</Link>
                </td>
              ) : null}
              <td>{d.format}</td>
              <td>
                {d.refused ? (
                  <Badge tone="bad" title={d.refused}>
                    refused
                  </Badge>
                ) : d.state === 'ready' ? (
                  <Badge tone="ok">ready</Badge>
                ) : (
                  <Badge tone="busy">creating</Badge>
                )}
              </td>
              <td className="num">{bytes(d.virtualSize)}</td>
              <td className="num">{bytes(d.actualSize)}</td>
              <td className="nowrap">
                {d.usedBy.length
                  ? d.usedBy.map((v, i) => (
                      <span key={v.id}>
                        {i ? ', ' : ''}
                        <Link to={`/vms/${v.id}`}>{v.name}</Link>
                      </span>
                    ))
                  : <span className="muted">—</span>}
              </td>
              <td className="mono small nowrap" title={d.backingFile ?? undefined}>
                {d.backingFile ? `${d.backingFile.slice(d.backingFile.lastIndexOf('/') + 1)}${d.backingFormat ? ` (${d.backingFormat})` : ''}` : '—'}
              </td>
              {canOperate ? (
                <td>
                  {d.state === 'ready' && !d.refused ? (
                    <div className="button-row compact">
                      <button type="button" className="button button-small" aria-label={`Convert ${d.name}`} onClick={() => setConverting(d)}>
                        Convert
                      </button>
                      <button type="button" className="button button-small" aria-label={`Resize ${d.name}`} onClick={() => setResizing(d)}>
                        Resize
                      </button>
                      <button type="button" className="button button-small" aria-label={`Inspect ${d.name}`} onClick={() => void inspection.start(d)}>
                        Inspect
                      </button>
                      {!d.usedBy.length && !backs(d) ? (
                        <button type="button" className="button button-small button-danger-quiet" aria-label={`Delete ${d.name}`} onClick={() => setDeleting(d)}>
                          Delete
                        </button>
                      ) : null}
                    </div>
                  ) : null}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      <ConvertDialog disk={converting} onClose={() => setConverting(null)} />
      <ResizeDialog disk={resizing} onClose={() => setResizing(null)} />
      <InspectDialog inspection={inspection} />
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete disk ${deleting?.name ?? ''}?`}
        message={<p>The file {deleting?.path ? <code>{deleting.path}</code> : null} is deleted from its host. This cannot be undone.</p>}
        confirm="Delete disk"
        onConfirm={() => deleting && void remove(deleting)}
        onClose={() => setDeleting(null)}
      />
    </div>
  );
}

/** convert-disk: qemu-img convert into a new disk, progress reported as it goes. */
function ConvertDialog({ disk, onClose }: { disk: Disk | null; onClose: () => void }) {
  const client = useClient();
  const activity = useActivity();
  const [target, setTarget] = useState('');
  const [format, setFormat] = useState<'qcow2' | 'raw'>('qcow2');
  const [compress, setCompress] = useState(false);
  const [deleteSource, setDeleteSource] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [shownFor, setShownFor] = useState<string | null>(null);
  if (disk && shownFor !== disk.id) {
    // A new disk to convert: start from its name and the other format.
    setShownFor(disk.id);
    setTarget(`${disk.name}-${disk.format === 'qcow2' ? 'raw' : 'qcow2'}`);
    setFormat(disk.format === 'qcow2' ? 'raw' : 'qcow2');
    setCompress(false);
    setDeleteSource(false);
    setError(undefined);
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!disk) return;
    setError(undefined);
    try {
      const job = await client.disks.convert(disk.id, { target: target.trim(), format, compress: format === 'qcow2' && compress, deleteSource });
      activity.track(job, `Convert ${disk.name} → ${target.trim()}`);
      setShownFor(null);
      onClose();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Dialog
      open={disk !== null}
      title={`Convert ${disk?.name ?? ''}`}
      onClose={() => {
        setShownFor(null);
        onClose();
      }}
    >
      <form onSubmit={(e) => void submit(e)} className="form-stack">
        <p className="muted">
          A new disk from this one with <code>qemu-img convert</code>; the job&rsquo;s progress bar follows qemu-img&rsquo;s.
        </p>
        <div className="field">
          <label htmlFor="convert-target">New disk name</label>
          <input id="convert-target" required value={target} onChange={(e) => setTarget(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="convert-format">Format</label>
          <select id="convert-format" value={format} onChange={(e) => setFormat(e.target.value as 'qcow2' | 'raw')}>
            <option value="qcow2">qcow2</option>
            <option value="raw">raw</option>
          </select>
        </div>
        {format === 'qcow2' ? (
          <label className="check">
            <input type="checkbox" checked={compress} onChange={(e) => setCompress(e.target.checked)} /> Compress (smaller, slower)
          </label>
        ) : null}
        <label className="check">
          <input type="checkbox" checked={deleteSource} onChange={(e) => setDeleteSource(e.target.checked)} /> Delete {disk?.name} once converted
        </label>
        <ErrorMessage error={error} />
        <div className="form-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary">
            Convert
          </button>
        </div>
      </form>
    </Dialog>
  );
}
