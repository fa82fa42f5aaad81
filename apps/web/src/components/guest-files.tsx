import { isFinalJobState, type GuestFilesystemEntry, type GuestFilesystemUsage, type JobType } from '@virtfleet/contracts';
import type { Job, Vm } from '@virtfleet/sdk';
import { useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useActivity } from '../activity';
import { bytes, jobDuration } from '../format';
import { useCanOperate, useClient } from '../session';
import { JobStateBadge } from './badge';
import { ProgressBar, UsageBar } from './bars';
import { ErrorMessage, JobErrorMessage } from './error-message';
import { Section } from './layout';
import { canWriteFiles, mountChoices, readFileBody, readView, writeFileBody, type GuestFileDraft } from './guest-files-bodies';
import { useFollowedJob } from './use-followed-job';
import './vm-tasks.css';

/** One guest-file job the section shows: submitted, followed live, or refused by the API. */
function useGuestTask<T extends JobType>() {
  const activity = useActivity();
  const { job, follow } = useFollowedJob<T>();
  const [error, setError] = useState<unknown>(undefined);
  const [sending, setSending] = useState(false);
  // The latest request: the answer to an earlier one is not shown.
  const latest = useRef(0);
  const start = async (submit: () => Promise<Job<T>>, label: string) => {
    const n = ++latest.current;
    setError(undefined);
    setSending(true);
    follow(null);
    try {
      const j = await submit();
      activity.track(j, label);
      if (latest.current === n) follow(j);
    } catch (err) {
      if (latest.current === n) setError(err);
    } finally {
      if (latest.current === n) setSending(false);
    }
  };
  return { job, error, start, busy: sending || (job !== null && !isFinalJobState(job.state)) };
}

/** A followed job on one line (state, progress, time, link), then its error in the agent's words. */
function JobLine({ job, label }: { job: Job; label: string }) {
  return (
    <>
      <div className="vm-task-job">
        <JobStateBadge state={job.state} />
        <ProgressBar value={job.progress} label={label} state={job.state} />
        <span className="muted small">{jobDuration(job)}</span>
        <Link to={`/jobs/${job.id}`}>Job details</Link>
      </div>
      <JobErrorMessage error={job.error} />
    </>
  );
}

/**
 * Files inside a VM's disks through libguestfs on its host: read a file (read-guest-file, as
 * virt-cat), edit it in the page and write it back whole (write-guest-file; only while the VM is
 * shut off), filesystem usage (guest-disk-usage, virt-df) and the filesystems found
 * (list-guest-filesystems, virt-filesystems). Each is a job, followed here and in the tray.
 */
export function GuestFiles({ vm }: { vm: Vm }) {
  const canOperate = useCanOperate();
  const diskCount = vm.disks.filter((d) => d.device === 'disk').length;
  const why = !canOperate
    ? 'Reading and writing files inside the guest takes a token with the operate scope.'
    : vm.status === 'unmanaged'
      ? 'virtfleet does not touch a VM it did not make: adopt it first.'
      : vm.status !== 'managed'
        ? 'The domain is not on its host: there is nothing to read.'
        : diskCount === 0
          ? 'The VM has no disk: there is no file to read.'
          : null;
  return (
    <Section title="Guest files" id="guest-files">
      {why ? <p className="muted">{why}</p> : <GuestFileTasks vm={vm} />}
    </Section>
  );
}

function GuestFileTasks({ vm }: { vm: Vm }) {
  const client = useClient();
  const read = useGuestTask<'read-guest-file'>();
  const write = useGuestTask<'write-guest-file'>();
  const usage = useGuestTask<'guest-disk-usage'>();
  const list = useGuestTask<'list-guest-filesystems'>();
  const [draft, setDraft] = useState<GuestFileDraft>({ mount: '', path: '' });
  const [editing, setEditing] = useState<{ from: GuestFileDraft; text: string } | null>(null);
  const [savedId, setSavedId] = useState<string | null>(null);
  const [staleReadId, setStaleReadId] = useState<string | null>(null);
  const writable = canWriteFiles(vm);
  const opts = { hostId: vm.hostId };

  // A save that succeeded ends the editing, and the content read before it is no longer what the disk holds.
  if (write.job?.state === 'succeeded' && savedId !== write.job.id) {
    setSavedId(write.job.id);
    setEditing(null);
    setStaleReadId(read.job?.id ?? null);
  }

  const readFile = (e: FormEvent) => {
    e.preventDefault();
    const body = readFileBody(vm, draft);
    void read.start(() => client.submit('read-guest-file', body, opts), `Read ${body.path || 'a file'} in ${vm.name}`);
  };
  const save = () => {
    if (!editing) return;
    const body = writeFileBody(vm, editing.from, editing.text);
    void write.start(() => client.submit('write-guest-file', body, opts), `Write ${body.path} in ${vm.name}`);
  };

  const readJob = read.job && read.job.id !== staleReadId ? read.job : null;
  const result = readJob?.state === 'succeeded' ? readJob.result : null;
  const view = result ? readView(result) : null;
  const readFrom: GuestFileDraft | null = readJob ? { mount: readJob.payload.mount ?? '', path: readJob.payload.path } : null;
  const written = write.job?.state === 'succeeded' ? write.job.result : null;
  const usageResult = usage.job?.state === 'succeeded' ? usage.job.result : null;
  const listResult = list.job?.state === 'succeeded' ? list.job.result : null;
  const choices = listResult ? mountChoices(listResult.entries) : [];

  return (
    <div className="form-stack">
      <p className="hint">
        Through libguestfs on the VM&rsquo;s host: each step starts its small appliance (15&ndash;60 s under TCG).{' '}
        {writable
          ? 'The VM is shut off: a file read here can be edited and written back.'
          : 'The VM is not shut off: files are read as its disks hold them now (the guest may not have written everything yet); they can only be written while it is shut off.'}
      </p>

      <form className="inline-form guest-file-form" onSubmit={readFile} aria-label="Read a file in the guest">
        <div className="field">
          <label htmlFor="guest-mount">Filesystem (optional)</label>
          <input
            id="guest-mount"
            className="mono"
            list="guest-mount-choices"
            value={draft.mount}
            onChange={(e) => setDraft({ ...draft, mount: e.target.value })}
            placeholder="find the OS's (/dev/sda1 …)"
            spellCheck={false}
            aria-describedby="guest-mount-hint"
          />
          <datalist id="guest-mount-choices">
            {choices.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </div>
        <div className="field field-grow">
          <label htmlFor="guest-path">File path</label>
          <input id="guest-path" className="mono" value={draft.path} onChange={(e) => setDraft({ ...draft, path: e.target.value })} placeholder="/etc/hostname" spellCheck={false} />
        </div>
        <button type="submit" className="button" disabled={read.busy || editing !== null}>
          Read file
        </button>
      </form>
      <p className="hint" id="guest-mount-hint">
        The filesystem mounted at &ldquo;/&rdquo;, as libguestfs names the VM&rsquo;s devices (its first disk is <code>/dev/sda</code>); empty, libguestfs looks
        for an operating system, which a data disk does not have. <strong>List filesystems</strong> below says which there are.
      </p>

      <ErrorMessage error={read.error} title="The API refused the read" />
      {readJob && readFrom ? (
        <div className="guest-task" aria-live="polite">
          <JobLine job={readJob} label={`read-guest-file ${readFrom.path}`} />
          {view && result ? (
            <>
              <p className="hint">
                <code>{result.path}</code>: {view.extent}
                {view.binary ? ', not UTF-8 text: shown as base64' : ''}.{' '}
                {!view.editable && writable ? (view.binary ? 'A binary file cannot be edited here.' : 'Only a whole file can be edited here.') : null}
              </p>
              {editing ? null : (
                <pre className="code-block small" aria-label={`Content of ${result.path}`} tabIndex={0}>
                  {view.text}
                </pre>
              )}
              {writable && view.editable && !editing ? (
                <div className="button-row compact">
                  <button type="button" className="button button-small" onClick={() => setEditing({ from: readFrom, text: view.text })}>
                    Edit file
                  </button>
                </div>
              ) : null}
            </>
          ) : null}
        </div>
      ) : null}

      {editing ? (
        <div className="form-stack guest-task">
          <div className="field">
            <label htmlFor="guest-edit">New content of {editing.from.path}</label>
            <textarea
              id="guest-edit"
              className="mono guest-editor"
              rows={12}
              value={editing.text}
              readOnly={write.busy}
              onChange={(e) => setEditing({ ...editing, text: e.target.value })}
              spellCheck={false}
            />
          </div>
          <p className="hint">Saved whole (write-guest-file): an existing file keeps its permissions.</p>
          <div className="button-row compact">
            <button type="button" className="button button-small button-primary" disabled={write.busy} onClick={save}>
              Save file
            </button>
            <button type="button" className="button button-small" disabled={write.busy} onClick={() => setEditing(null)}>
              Cancel editing
            </button>
          </div>
        </div>
      ) : null}
      <ErrorMessage error={write.error} title="The API refused the write" />
      {write.job ? (
        <div className="guest-task" aria-live="polite">
          <JobLine job={write.job} label={`write-guest-file ${write.job.payload.path}`} />
          {written ? (
            <p role="status">
              Saved <code>{written.path}</code>: {written.size} bytes. <strong>Read file</strong> shows it as the disk holds it now.
            </p>
          ) : null}
        </div>
      ) : null}

      <div className="button-row compact" role="group" aria-label={`Filesystems of ${vm.name}`}>
        <button
          type="button"
          className="button button-small"
          disabled={usage.busy}
          onClick={() => void usage.start(() => client.submit('guest-disk-usage', { vm: { uuid: vm.uuid, name: vm.name } }, opts), `Disk usage of ${vm.name}`)}
        >
          Disk usage
        </button>
        <button
          type="button"
          className="button button-small"
          disabled={list.busy}
          onClick={() => void list.start(() => client.submit('list-guest-filesystems', { vm: { uuid: vm.uuid, name: vm.name } }, opts), `Filesystems of ${vm.name}`)}
        >
          List filesystems
        </button>
      </div>

      <ErrorMessage error={usage.error} title="The API refused disk usage" />
      {usage.job ? (
        <div className="guest-task" aria-live="polite">
          <JobLine job={usage.job} label={`guest-disk-usage ${vm.name}`} />
          {usageResult ? <UsageTable vm={vm} filesystems={usageResult.filesystems} /> : null}
        </div>
      ) : null}

      <ErrorMessage error={list.error} title="The API refused the listing" />
      {list.job ? (
        <div className="guest-task" aria-live="polite">
          <JobLine job={list.job} label={`list-guest-filesystems ${vm.name}`} />
          {listResult ? <FilesystemTable entries={listResult.entries} onUse={(mount) => setDraft({ ...draft, mount })} /> : null}
        </div>
      ) : null}
    </div>
  );
}

function UsageTable({ vm, filesystems }: { vm: Vm; filesystems: GuestFilesystemUsage[] }) {
  if (!filesystems.length) return <p className="empty">virt-df found no filesystem.</p>;
  return (
    <div className="table-wrap">
      <table className="table" aria-label={`Disk usage inside ${vm.name}`}>
        <thead>
          <tr>
            <th scope="col">Filesystem</th>
            <th scope="col" className="num">
              Size
            </th>
            <th scope="col" className="num">
              Used
            </th>
            <th scope="col" className="num">
              Available
            </th>
            <th scope="col" className="bar-cell">
              Use
            </th>
          </tr>
        </thead>
        <tbody>
          {filesystems.map((f) => (
            <tr key={f.device}>
              <td className="mono">{f.device}</td>
              <td className="num">{bytes(f.sizeBytes)}</td>
              <td className="num">{bytes(f.usedBytes)}</td>
              <td className="num">{bytes(f.availableBytes)}</td>
              <td className="bar-cell">
                <UsageBar used={f.usedBytes} total={f.sizeBytes} label={`Use of ${f.device}`} text={`${bytes(f.usedBytes)} of ${bytes(f.sizeBytes)}`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function FilesystemTable({ entries, onUse }: { entries: GuestFilesystemEntry[]; onUse: (mount: string) => void }) {
  if (!entries.length) return <p className="empty">virt-filesystems found nothing.</p>;
  const mountable = new Set(mountChoices(entries));
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Devices and filesystems">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Filesystem</th>
            <th scope="col">Label</th>
            <th scope="col" className="num">
              Size
            </th>
            <th scope="col">Parent</th>
            <th scope="col">Read from it</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={`${e.type}:${e.name}`}>
              <td className="mono">{e.name}</td>
              <td>{e.type}</td>
              <td>{e.vfs ?? '—'}</td>
              <td>{e.label ?? '—'}</td>
              <td className="num">{e.sizeBytes === undefined ? '—' : bytes(e.sizeBytes)}</td>
              <td className="mono">{e.parent ?? '—'}</td>
              <td>
                {e.type === 'filesystem' && mountable.has(e.name) ? (
                  <button type="button" className="button button-small" aria-label={`Use ${e.name}`} onClick={() => onUse(e.name)}>
                    Use
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
