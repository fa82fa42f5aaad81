import { isFinalJobState } from '@virtfleet/contracts';
import type { JobLog } from '@virtfleet/sdk';
import { Link, useParams } from 'react-router';
import { Badge, JobStateBadge } from '../components/badge';
import { ProgressBar } from '../components/bars';
import { ErrorMessage } from '../components/error-message';
import { CancelJobButton } from '../components/job-cancel';
import { Empty, Loading, PageHeader, Section, useTitle } from '../components/layout';
import { ago, dateTime, duration, jobDuration, jobTarget } from '../format';
import { useLive } from '../live';
import { useClient } from '../session';
import { newerJob, withProgress } from '../job-merge';
import { useData, useNow, useThrottled } from '../use-data';

/** One job: its state and progress live, its payload and result, and every command the agent ran with its output. */
export function JobPage() {
  const { id = '' } = useParams();
  const client = useClient();
  const now = useNow(1000);
  const job = useData((signal) => client.job(id, { signal }), [client, id]);
  const logs = useData((signal) => client.jobs.logs(id, { signal }), [client, id]);
  const hosts = useData((signal) => client.hosts.list({}, { signal }), [client]);
  const reloadLogs = useThrottled(logs.reload, 700);
  useTitle(job.data ? `${job.data.type} ${jobTarget(job.data)} (job)` : 'Job');

  useLive((m) => {
    if (m.event === 'resync') {
      job.reload();
      logs.reload();
      return;
    }
    if (!('job' in m) || m.id !== id) return;
    if (m.event === 'job.progress') job.set((j) => withProgress(j, m.job.progress, m.job.attempt));
    else {
      job.set((j) => newerJob(j, m.job));
      reloadLogs();
    }
  });

  if (!job.data) return job.error ? <ErrorMessage error={job.error} /> : <Loading what="the job" />;
  const j = job.data;
  const hostName = hosts.data?.find((h) => h.id === j.hostId)?.name;
  const live = !isFinalJobState(j.state);
  return (
    <>
      <PageHeader
        title={
          <>
            <span className="mono">{j.type}</span> {jobTarget(j)} <JobStateBadge state={j.state} />
          </>
        }
        sub={
          <>
            Job <span className="mono">{j.id}</span> on <Link to={`/hosts/${j.hostId}`}>{hostName ?? 'its host'}</Link>
          </>
        }
      >
        <CancelJobButton job={j} small={false} />
        <Link className="button button-quiet" to="/jobs">
          All jobs
        </Link>
      </PageHeader>
      <div className="job-progress-large">
        <ProgressBar value={j.progress} state={j.state} label={`Progress of ${j.type} ${jobTarget(j)}`} />
      </div>
      {j.waiting ? <p className="notice">Waiting: {j.waiting}</p> : null}
      {j.cancelRequestedAt && live ? <p className="notice">Cancel asked {ago(j.cancelRequestedAt, now)}: the host is stopping its commands.</p> : null}
      {j.error ? (
        <div className="error" role="alert">
          <p>
            <strong>{j.state === 'cancelled' ? 'Cancelled' : 'Failed'}: </strong>
            {j.error.message}
            <code className="error-code">{j.error.code}</code>
          </p>
          {j.error.command ? <pre className="code-block small">$ {j.error.command.join(' ')}</pre> : null}
          {j.error.stderrTail ? <pre className="code-block small">{j.error.stderrTail}</pre> : null}
        </div>
      ) : null}
      <Section title="Details" id="details">
        <dl className="facts">
          <dt>State</dt>
          <dd>
            <JobStateBadge state={j.state} />
          </dd>
          <dt>Attempt</dt>
          <dd>{j.attempt}</dd>
          <dt>Submitted</dt>
          <dd title={dateTime(j.createdAt)}>{ago(j.createdAt, now)}</dd>
          <dt>Started</dt>
          <dd title={dateTime(j.startedAt)}>{ago(j.startedAt, now)}</dd>
          <dt>Finished</dt>
          <dd title={dateTime(j.finishedAt)}>{ago(j.finishedAt, now)}</dd>
          <dt>Ran for</dt>
          <dd>{jobDuration(j, now)}</dd>
          <dt>Lock</dt>
          <dd className="mono">{j.lockKey ?? '—'}</dd>
          <dt>Submitted by</dt>
          <dd className="mono">{j.submittedBy ?? '—'}</dd>
          <dt>Request id</dt>
          <dd className="mono">{j.requestId ?? '—'}</dd>
          {j.parentId ? (
            <>
              <dt>Parent job</dt>
              <dd>
                <Link to={`/jobs/${j.parentId}`} className="mono">
                  {j.parentId}
                </Link>
              </dd>
            </>
          ) : null}
          {j.placement ? (
            <>
              <dt>Placement</dt>
              <dd>{j.placement.reason}</dd>
            </>
          ) : null}
        </dl>
      </Section>
      <Section title="Commands run on the host" id="logs">
        <ErrorMessage error={logs.error} />
        {logs.data && !logs.data.length ? <Empty>{live ? 'No command has run yet.' : 'This job ran no command on its host.'}</Empty> : null}
        {logs.data?.map((l) => <CommandLog key={`${l.attempt}:${l.seq}`} log={l} />)}
      </Section>
      <div className="two-columns">
        <Section title="Payload" id="payload">
          <pre className="code-block" tabIndex={0}>
            {JSON.stringify(j.payload, null, 2)}
          </pre>
        </Section>
        <Section title="Result" id="result">
          {j.result ? (
            <pre className="code-block" tabIndex={0}>
              {JSON.stringify(j.result, withoutXml, 2)}
            </pre>
          ) : (
            <Empty>{live ? 'Not yet.' : 'None.'}</Empty>
          )}
        </Section>
      </div>
    </>
  );
}

/** A domain's XML in a result is long and on the VM page already. */
function withoutXml(key: string, value: unknown): unknown {
  return key === 'xml' && typeof value === 'string' ? `(${value.length} characters of XML: see the VM page)` : value;
}

function CommandLog({ log }: { log: JobLog }) {
  const ok = log.exitCode === 0;
  return (
    <article className="command" aria-label={`Command ${log.argv[0] ?? ''}`}>
      <header className="command-header">
        <code className="command-argv">$ {log.argv.join(' ')}</code>
        <span className="command-meta">
          {log.signal ? <Badge tone="bad">killed by {log.signal}</Badge> : <Badge tone={ok ? 'ok' : 'bad'}>exit {log.exitCode ?? '?'}</Badge>}
          <span>{duration(log.durationMs)}</span>
          <span className="muted">attempt {log.attempt}</span>
          <span className="muted" title={dateTime(log.startedAt)}>
            {dateTime(log.startedAt)}
          </span>
        </span>
      </header>
      {log.stdoutTail ? (
        <div className="command-output">
          <span className="output-label">stdout</span>
          <pre className="code-block small" tabIndex={0}>
            {log.stdoutTail}
          </pre>
        </div>
      ) : null}
      {log.stderrTail ? (
        <div className="command-output">
          <span className="output-label">stderr</span>
          <pre className="code-block small stderr" tabIndex={0}>
            {log.stderrTail}
          </pre>
        </div>
      ) : null}
      {!log.stdoutTail && !log.stderrTail ? <p className="muted small">No output.</p> : null}
    </article>
  );
}
