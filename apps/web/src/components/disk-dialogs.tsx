import type { DiskInfo } from '@virtfleet/contracts';
import type { Disk, Job } from '@virtfleet/sdk';
import { useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useActivity } from '../activity';
import { bytes, jobDuration } from '../format';
import { useClient } from '../session';
import { JobStateBadge, YesNo } from './badge';
import { ProgressBar } from './bars';
import { Dialog } from './dialog';
import { ErrorMessage, JobErrorMessage } from './error-message';
import { useFollowedJob } from './use-followed-job';
import { DialogActions } from './vm-settings-dialog';
import { resizeBody, sizeDraft, type SizeUnit } from './vm-task-bodies';
import './vm-tasks.css';

/** resize-disk: qemu-img resize to a new size; smaller only when asked (the data past the new end is lost). */
export function ResizeDialog({ disk, onClose }: { disk: Disk | null; onClose: () => void }) {
  const client = useClient();
  const activity = useActivity();
  const [size, setSize] = useState('');
  const [unit, setUnit] = useState<SizeUnit>('GiB');
  const [allowShrink, setAllowShrink] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [shownFor, setShownFor] = useState<string | null>(null);
  if (disk && shownFor !== disk.id) {
    // A new disk to resize: start from its size now.
    setShownFor(disk.id);
    const start = sizeDraft(disk.virtualSize);
    setSize(start.size);
    setUnit(start.unit);
    setAllowShrink(false);
    setError(undefined);
  }
  const close = () => {
    setShownFor(null);
    onClose();
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!disk) return;
    setError(undefined);
    try {
      activity.track(await client.disks.resize(disk.id, resizeBody({ size, unit, allowShrink })), `Resize ${disk.name} to ${size.trim()} ${unit}`);
      close();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Dialog open={disk !== null} title={`Resize ${disk?.name ?? ''}`} onClose={close}>
      <form className="form-stack" onSubmit={(e) => void submit(e)}>
        <p className="muted">
          Now {bytes(disk?.virtualSize)}. Only the image changes (<code>qemu-img resize</code>): the guest grows its partitions and file systems itself. A
          disk a running VM uses cannot be resized.
        </p>
        <div className="inline-form">
          <div className="field field-small">
            <label htmlFor="resize-size">New size</label>
            <input id="resize-size" type="number" min={1} value={size} onChange={(e) => setSize(e.target.value)} data-autofocus />
          </div>
          <div className="field field-small">
            <label htmlFor="resize-unit">Unit</label>
            <select id="resize-unit" value={unit} onChange={(e) => setUnit(e.target.value as SizeUnit)}>
              <option value="GiB">GiB</option>
              <option value="MiB">MiB</option>
            </select>
          </div>
        </div>
        <label className="check">
          <input type="checkbox" checked={allowShrink} onChange={(e) => setAllowShrink(e.target.checked)} /> Allow shrinking (the data past the new end is lost)
        </label>
        <ErrorMessage error={error} title="The API refused the resize" />
        <DialogActions onCancel={close} submit="Resize" />
      </form>
    </Dialog>
  );
}

/** The disk being inspected, its inspect-disk job (followed live) or the API's refusal. */
export interface Inspection {
  disk: Disk | null;
  job: Job<'inspect-disk'> | null;
  error: unknown;
  /** Submits inspect-disk for the disk (the job goes to the activity tray too) and opens the dialog. */
  start(disk: Disk): Promise<void>;
  close(): void;
}

export function useInspection(): Inspection {
  const client = useClient();
  const activity = useActivity();
  const { job, follow } = useFollowedJob<'inspect-disk'>();
  const [disk, setDisk] = useState<Disk | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  // The latest request: an answer to an earlier one (the dialog closed, another disk asked) is not shown.
  const latest = useRef(0);

  const start = async (d: Disk) => {
    const n = ++latest.current;
    setDisk(d);
    setError(undefined);
    follow(null);
    try {
      const j = await client.disks.inspect(d.id);
      activity.track(j, `Inspect ${d.name}`);
      if (latest.current === n) follow(j);
    } catch (err) {
      if (latest.current === n) setError(err);
    }
  };
  const close = () => {
    latest.current++;
    setDisk(null);
    follow(null);
  };
  return { disk, job, error, start, close };
}

/**
 * inspect-disk: the image guard's qemu-img info, read now on the host. The dialog follows the job
 * live and shows its result when it ends.
 */
export function InspectDialog({ inspection }: { inspection: Inspection }) {
  const { disk, job, error, close } = inspection;
  const result = job?.state === 'succeeded' ? job.result : null;

  return (
    <Dialog open={disk !== null} title={`Inspect ${disk?.name ?? ''}`} onClose={close}>
      <div className="form-stack">
        <ErrorMessage error={error} title="The API refused the inspection" />
        {job ? (
          <div className="vm-task-job">
            <JobStateBadge state={job.state} />
            <ProgressBar value={job.progress} label={`inspect-disk ${disk?.name ?? ''}`} state={job.state} />
            <span className="muted small">{jobDuration(job)}</span>
            <Link to={`/jobs/${job.id}`} onClick={close}>
              Job details
            </Link>
          </div>
        ) : !error ? (
          <p className="loading" role="status">
            Asking the host…
          </p>
        ) : null}
        <JobErrorMessage error={job?.error} />
        <div aria-live="polite">
          {result ? <DiskFacts info={result} /> : job && !job.error ? <p className="hint">qemu-img info runs on the host, through the image guard.</p> : null}
        </div>
        <div className="form-actions">
          <button type="button" className="button" onClick={close} data-autofocus>
            Close
          </button>
        </div>
      </div>
    </Dialog>
  );
}

/** What qemu-img info told, in the disk list's words. */
function DiskFacts({ info }: { info: DiskInfo }) {
  return (
    <dl className="facts" aria-label={`What qemu-img info says about ${info.name}`}>
      <dt>Path</dt>
      <dd className="mono wrap">{info.path}</dd>
      <dt>Format</dt>
      <dd>{info.format}</dd>
      <dt>Virtual size</dt>
      <dd title={`${info.virtualSize} bytes`}>{bytes(info.virtualSize)}</dd>
      <dt>Allocated</dt>
      <dd title={`${info.actualSize} bytes`}>{bytes(info.actualSize)}</dd>
      {info.clusterSize !== undefined ? (
        <>
          <dt>Cluster size</dt>
          <dd>{bytes(info.clusterSize)}</dd>
        </>
      ) : null}
      {info.dirty !== undefined ? (
        <>
          <dt>Dirty</dt>
          <dd>
            <YesNo value={info.dirty} />
          </dd>
        </>
      ) : null}
      <dt>Backing file</dt>
      <dd className="mono wrap">{info.backingFile ? `${info.backingFile}${info.backingFormat ? ` (${info.backingFormat})` : ''}` : '—'}</dd>
      <dt>Snapshots</dt>
      <dd>
        {info.snapshots?.length ? (
          <ul className="plain-list">
            {info.snapshots.map((s) => (
              <li key={s.id}>
                {s.name} <span className="muted">({s.date})</span>
              </li>
            ))}
          </ul>
        ) : (
          'none'
        )}
      </dd>
    </dl>
  );
}
