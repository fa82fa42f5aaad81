import { isFinalJobState } from '@virtfleet/contracts';
import type { Job } from '@virtfleet/sdk';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { JobStateBadge } from './components/badge';
import { ProgressBar } from './components/bars';
import { ErrorMessage } from './components/error-message';
import { useLive } from './live';
import { useClient } from './session';
import { jobTarget } from './format';
import { newerJob, withProgress } from './job-merge';

// The jobs this tab submitted, bottom right, followed live until they end: what a button did
// is never more than a glance away, whatever page one goes to next.

interface Tracked {
  job: Job;
  label: string;
}

interface Refused {
  id: string;
  label: string;
  error: unknown;
}

interface Activity {
  /** Follow a job the API just accepted; `label` says what was asked ("Shut down web1"). */
  track(job: Job, label: string): void;
  /** The API refused what a button asked: its words stay in the tray until closed. */
  refused(label: string, error: unknown): void;
}

const ActivityContext = createContext<Activity | null>(null);
/** How long a job that succeeded stays in the tray; failed ones stay until closed. */
const KEEP_SUCCEEDED_MS = 20_000;
const MAX_SHOWN = 6;

export function ActivityProvider({ children }: { children: ReactNode }) {
  const client = useClient();
  const [items, setItems] = useState<Tracked[]>([]);
  const [errors, setErrors] = useState<Refused[]>([]);
  const timers = useRef(new Map<string, number>());
  const tray = useTrayRoom();

  const dismiss = useCallback((id: string) => {
    setItems((all) => all.filter((t) => t.job.id !== id));
    window.clearTimeout(timers.current.get(id));
    timers.current.delete(id);
  }, []);

  const update = useCallback(
    (id: string, patch: (j: Job) => Job) => {
      setItems((all) => all.map((t) => (t.job.id === id ? { ...t, job: patch(t.job) } : t)));
    },
    [],
  );

  // A succeeded job leaves the tray after a while.
  useEffect(() => {
    for (const { job } of items) {
      if (job.state === 'succeeded' && !timers.current.has(job.id)) {
        timers.current.set(job.id, window.setTimeout(() => dismiss(job.id), KEEP_SUCCEEDED_MS));
      }
    }
  }, [items, dismiss]);

  useEffect(() => {
    const all = timers.current;
    return () => all.forEach((t) => window.clearTimeout(t));
  }, []);

  useLive((m) => {
    if (m.event === 'resync') {
      for (const { job } of items) if (!isFinalJobState(job.state)) void client.job(job.id).then((j) => update(j.id, (old) => newerJob(old, j)), () => undefined);
      return;
    }
    if (!('job' in m) || !items.some((t) => t.job.id === m.id)) return;
    if (m.event === 'job.progress') update(m.id, (j) => withProgress(j, m.job.progress, m.job.attempt));
    else update(m.id, (j) => newerJob(j, m.job));
  });

  const track = useCallback(
    (job: Job, label: string) => {
      setItems((all) => [{ job, label }, ...all.filter((t) => t.job.id !== job.id)].slice(0, MAX_SHOWN));
      // Its first events may have come before the API's answer did (a quick job can even have
      // ended): read it once more now that it is followed.
      void client.job(job.id).then(
        (j) => update(j.id, (old) => newerJob(old, j)),
        () => undefined,
      );
    },
    [client, update],
  );

  const refused = useCallback((label: string, error: unknown) => {
    setErrors((all) => [{ id: `${Date.now()}-${Math.random()}`, label, error }, ...all].slice(0, 3));
  }, []);

  const value = useMemo(() => ({ track, refused }), [track, refused]);
  return (
    <ActivityContext.Provider value={value}>
      {children}
      <section ref={tray} className="activity" aria-label="Jobs started from this page" aria-live="polite">
        {errors.map((e) => (
          <article key={e.id} className="activity-item activity-failed">
            <header>
              <strong>{e.label}</strong>
              <button type="button" className="icon-button" aria-label={`Close ${e.label}`} onClick={() => setErrors((all) => all.filter((x) => x.id !== e.id))}>
                ×
              </button>
            </header>
            <ErrorMessage error={e.error} />
          </article>
        ))}
        {items.map(({ job, label }) => (
          <article key={job.id} className={`activity-item activity-${job.state}`} data-job-id={job.id} data-job-type={job.type}>
            <header>
              <strong>{label}</strong>
              <button type="button" className="icon-button" aria-label={`Close ${label}`} onClick={() => dismiss(job.id)}>
                ×
              </button>
            </header>
            <div className="activity-row">
              <JobStateBadge state={job.state} />
              <ProgressBar value={job.progress} label={`${job.type} ${jobTarget(job)}`} state={job.state} />
            </div>
            {job.error ? <p className="activity-error">{job.error.message}</p> : null}
            <Link to={`/jobs/${job.id}`}>Job details</Link>
          </article>
        ))}
      </section>
    </ActivityContext.Provider>
  );
}

/**
 * The tray floats over the page's bottom right, where the last rows' action buttons are: its
 * height goes to --tray-height, and the page keeps that much room below its content, so anything
 * under the tray can be scrolled above it.
 */
function useTrayRoom() {
  const ref = useRef<HTMLElement | null>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const root = document.documentElement;
    const observer = new ResizeObserver(() => root.style.setProperty('--tray-height', `${el.offsetHeight}px`));
    observer.observe(el);
    return () => {
      observer.disconnect();
      root.style.removeProperty('--tray-height');
    };
  }, []);
  return ref;
}

export function useActivity(): Activity {
  const ctx = useContext(ActivityContext);
  if (!ctx) throw new Error('useActivity outside ActivityProvider');
  return ctx;
}
