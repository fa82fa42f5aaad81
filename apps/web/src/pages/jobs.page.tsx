import { jobState, jobTypes, type JobState, type JobType } from '@virtfleet/contracts';
import type { Job, JobFilter } from '@virtfleet/sdk';
import { useCallback, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { JobStateBadge } from '../components/badge';
import { ProgressBar } from '../components/bars';
import { ErrorMessage } from '../components/error-message';
import { CancelJobButton } from '../components/job-cancel';
import { Empty, Loading, PageHeader, useTitle } from '../components/layout';
import { ago, dateTime, jobDuration, jobTarget } from '../format';
import { useLive } from '../live';
import { useCanOperate, useClient } from '../session';
import { upsertJob, withProgress } from '../job-merge';
import { useData, useNow } from '../use-data';
import { HostFilter } from '../components/host-filter';

function matches(job: Pick<Job, 'hostId' | 'type' | 'state'>, f: JobFilter): boolean {
  return (!f.hostId || job.hostId === f.hostId) && (!f.type || job.type === f.type) && (!f.state || job.state === f.state);
}

/** Every job, newest first, live from the event stream: states and progress bars move as the agents report. */
export function JobsPage() {
  useTitle('Jobs');
  const client = useClient();
  const canOperate = useCanOperate();
  const now = useNow(2000);
  const [params, setParams] = useSearchParams();
  const filter: JobFilter = { limit: 50 };
  const hostId = params.get('hostId') ?? '';
  const type = params.get('type') ?? '';
  const state = params.get('state') ?? '';
  if (hostId) filter.hostId = hostId;
  if (type) filter.type = type as JobType;
  if (state) filter.state = state as JobState;
  const key = JSON.stringify(filter);
  const hosts = useData((signal) => client.hosts.list({}, { signal }), [client]);
  const page = useData((signal) => client.jobs.list(filter, { signal }), [client, key]);
  const [more, setMore] = useState<{ key: string; items: Job[]; cursor: string | null } | null>(null);
  const extra = more?.key === key ? more : null;

  useLive((m) => {
    if (m.event === 'resync') return page.reload();
    if (!('job' in m)) return;
    if (m.event === 'job.progress') {
      const patch = (j: Job) => (j.id === m.id ? withProgress(j, m.job.progress, m.job.attempt) : j);
      page.set((p) => ({ ...p, items: p.items.map(patch) }));
      setMore((x) => x && { ...x, items: x.items.map(patch) });
      return;
    }
    const job = m.job;
    const onLaterPage = (extra?.items ?? []).some((j) => j.id === job.id);
    if (onLaterPage) setMore((x) => x && { ...x, items: upsertJob(x.items, job, false) });
    // Merged where it is; a new job that matches the filter goes on top.
    else page.set((p) => ({ ...p, items: upsertJob(p.items, job, matches(job, filter) && !job.parentId) }));
  });

  const items = [...(page.data?.items ?? []), ...(extra?.items ?? [])];
  const cursor = extra ? extra.cursor : (page.data?.nextCursor ?? null);
  const loadMore = useCallback(async () => {
    if (!cursor) return;
    const next = await client.jobs.list({ ...filter, cursor });
    setMore((x) => ({ key, items: [...(x?.key === key ? x.items : []), ...next.items], cursor: next.nextCursor }));
    // eslint-disable-next-line react-hooks/exhaustive-deps -- key stands for filter
  }, [client, cursor, key]);

  const set = (k: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(k, value);
    else next.delete(k);
    setParams(next, { replace: true });
  };
  const hostName = (id: string) => hosts.data?.find((h) => h.id === id)?.name ?? id.slice(0, 8);

  return (
    <>
      <PageHeader title="Jobs" sub="Every change to a host is a job. The list follows the event stream: no reload needed." />
      <form className="filters" role="search" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
        <HostFilter id="j-host" hosts={hosts.data} value={hostId} onChange={(v) => set('hostId', v)} />
        <div className="field">
          <label htmlFor="j-type">Type</label>
          <select id="j-type" value={type} onChange={(e) => set('type', e.target.value)}>
            <option value="">All types</option>
            {[...jobTypes].sort().map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="j-state">State</label>
          <select id="j-state" value={state} onChange={(e) => set('state', e.target.value)}>
            <option value="">Any state</option>
            {jobState.options.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        {hostId || type || state ? (
          <button type="button" className="button button-quiet" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
            Clear filters
          </button>
        ) : null}
      </form>
      <ErrorMessage error={page.error ?? hosts.error} />
      {!page.data && page.loading ? <Loading what="jobs" /> : null}
      {page.data && !items.length ? <Empty>No job matches.</Empty> : null}
      {items.length ? (
        <div className="table-wrap">
          <table className="table" aria-label="Jobs">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Target</th>
                <th scope="col">Host</th>
                <th scope="col">State</th>
                <th scope="col" className="progress-col">
                  Progress
                </th>
                <th scope="col" className="num">
                  Attempt
                </th>
                <th scope="col">Submitted</th>
                <th scope="col">Ran for</th>
                {canOperate ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {items.map((j) => (
                <tr key={j.id} data-job-id={j.id} data-job-type={j.type}>
                  <td>
                    <Link to={`/jobs/${j.id}`} className="strong-link mono">
                      {j.type}
                    </Link>
                    <div className="sub mono">{j.id.slice(0, 8)}</div>
                  </td>
                  <td>{jobTarget(j) || <span className="muted">—</span>}</td>
                  <td className="nowrap">{hostName(j.hostId)}</td>
                  <td>
                    <JobStateBadge state={j.state} />
                    {j.error && j.error.code !== j.state ? <div className="sub error-text">{j.error.code}</div> : null}
                  </td>
                  <td>
                    <ProgressBar value={j.progress} state={j.state} label={`Progress of ${j.type} ${jobTarget(j)}`} />
                  </td>
                  <td className="num">{j.attempt}</td>
                  <td title={dateTime(j.createdAt)}>{ago(j.createdAt, now)}</td>
                  <td>{jobDuration(j, now)}</td>
                  {canOperate ? (
                    <td>
                      <CancelJobButton job={j} />
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {cursor ? (
        <button type="button" className="button load-more" onClick={() => void loadMore()}>
          Load more
        </button>
      ) : null}
    </>
  );
}
