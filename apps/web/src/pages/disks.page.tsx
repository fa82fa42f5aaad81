import type { CreateDiskBody, Disk } from '@virtfleet/sdk';
import { useCallback, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { useActivity } from '../activity';
import { DiskTable } from '../components/disk-table';
import { ErrorMessage } from '../components/error-message';
import { Empty, Loading, PageHeader, Section, useTitle } from '../components/layout';
import { useLive } from '../live';
import { useCanOperate, useClient } from '../session';
import { useData, useThrottled } from '../use-data';
import { HostFilter } from '../components/host-filter';

const DISK_JOBS: ReadonlySet<string> = new Set(['create-disk', 'convert-disk', 'resize-disk', 'delete-disk', 'inspect-disk', 'create-vm', 'undefine-vm', 'clone-vm']);

/** Disks in the hosts' store roots: make one, convert one, with the job's progress live. */
export function DisksPage() {
  useTitle('Disks');
  const client = useClient();
  const canOperate = useCanOperate();
  const [params, setParams] = useSearchParams();
  const hostId = params.get('hostId') ?? '';
  const name = params.get('name') ?? '';
  const hosts = useData((signal) => client.hosts.list({}, { signal }), [client]);
  const disks = useDiskList(hostId, name);

  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };

  return (
    <>
      <PageHeader title="Disks" sub="Images in each host's store root, as its agent last scanned them." />
      {canOperate ? <CreateDiskForm hosts={(hosts.data ?? []).filter((h) => h.state === 'online')} /> : null}
      <Section title="All disks" id="disks">
        <form className="filters" role="search" aria-label="Filter disks" onSubmit={(e) => e.preventDefault()}>
          <div className="field">
            <label htmlFor="d-name">Name contains</label>
            <input id="d-name" type="search" value={name} onChange={(e) => set('name', e.target.value)} />
          </div>
          <HostFilter id="d-host" hosts={hosts.data} value={hostId} onChange={(v) => set('hostId', v)} />
        </form>
        <ErrorMessage error={disks.error ?? hosts.error} />
        {!disks.loaded && disks.loading ? <Loading what="disks" /> : null}
        {disks.loaded && !disks.items.length ? <Empty>No disk{name || hostId ? ' matches' : ' yet'}.</Empty> : null}
        {disks.items.length ? <DiskTable disks={disks.items} hosts={hosts.data ?? []} /> : null}
        {disks.hasMore ? (
          <button type="button" className="button load-more" onClick={() => void disks.loadMore()}>
            Load more
          </button>
        ) : null}
      </Section>
    </>
  );
}

/** GET /v1/disks for a host and name, read again when a job that changes disks ends. */
export function useDiskList(hostId: string, name = '') {
  const client = useClient();
  const key = `${hostId}|${name}`;
  const [more, setMore] = useState<{ key: string; items: Disk[]; cursor: string | null } | null>(null);
  const first = useData(
    (signal) => client.disks.list({ limit: 200, ...(hostId ? { hostId } : {}), ...(name ? { name } : {}) }, { signal }),
    [client, hostId, name],
  );
  const reload = useThrottled(first.reload, 500);
  useLive((m) => {
    if (m.event === 'resync') return first.reload();
    if ((m.event === 'job.created' || m.event === 'job.finished') && DISK_JOBS.has(m.job.type)) reload();
  });
  const extra = more?.key === key ? more : null;
  const cursor = extra ? extra.cursor : (first.data?.nextCursor ?? null);
  const loadMore = useCallback(async () => {
    if (!cursor) return;
    const page = await client.disks.list({ limit: 200, cursor, ...(hostId ? { hostId } : {}), ...(name ? { name } : {}) });
    setMore((x) => ({ key, items: [...(x?.key === key ? x.items : []), ...page.items], cursor: page.nextCursor }));
  }, [client, cursor, key, hostId, name]);
  return {
    items: [...(first.data?.items ?? []), ...(extra?.items ?? [])],
    loaded: first.data !== undefined,
    loading: first.loading,
    error: first.error,
    hasMore: Boolean(cursor),
    loadMore,
  };
}

function CreateDiskForm({ hosts }: { hosts: ReadonlyArray<{ id: string; name: string }> }) {
  const client = useClient();
  const activity = useActivity();
  const [hostId, setHostId] = useState('');
  const [name, setName] = useState('');
  const [size, setSize] = useState('10');
  const [format, setFormat] = useState<'qcow2' | 'raw'>('qcow2');
  const [backing, setBacking] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const body: CreateDiskBody = {
      name: name.trim(),
      format,
      ...(size.trim() ? { sizeGiB: Number(size) } : {}),
      ...(backing.trim() ? { backing: backing.trim() } : {}),
      ...(hostId ? { hostId } : {}),
    };
    try {
      activity.track(await client.disks.create(body), `Create disk ${body.name}`);
      setName('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Create a disk" id="create">
      <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label="Create a disk">
        <div className="field">
          <label htmlFor="disk-host">Host</label>
          <select id="disk-host" value={hostId} onChange={(e) => setHostId(e.target.value)}>
            <option value="">{hosts.length === 1 ? hosts[0]?.name : 'The only online host'}</option>
            {hosts.length > 1
              ? hosts.map((h) => (
                  <option key={h.id} value={h.id}>
                    {h.name}
                  </option>
                ))
              : null}
          </select>
        </div>
        <div className="field">
          <label htmlFor="disk-name">Name</label>
          <input id="disk-name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="web1-data" />
        </div>
        <div className="field field-small">
          <label htmlFor="disk-size">Size (GiB)</label>
          <input id="disk-size" type="number" min={1} value={size} onChange={(e) => setSize(e.target.value)} />
        </div>
        <div className="field field-small">
          <label htmlFor="disk-format">Format</label>
          <select id="disk-format" value={format} onChange={(e) => setFormat(e.target.value as 'qcow2' | 'raw')}>
            <option value="qcow2">qcow2</option>
            <option value="raw">raw</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="disk-backing">Backing disk (optional)</label>
          <input id="disk-backing" value={backing} onChange={(e) => setBacking(e.target.value)} placeholder="debian12-base" />
        </div>
        <button type="submit" className="button button-primary" disabled={busy}>
          Create disk
        </button>
      </form>
      <ErrorMessage error={error} title="The API refused the disk" />
    </Section>
  );
}
