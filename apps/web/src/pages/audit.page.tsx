import type { AuditEvent, AuditFilter } from '@virtfleet/sdk';
import { useCallback, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ErrorMessage } from '../components/error-message';
import { Empty, Loading, PageHeader, useTitle } from '../components/layout';
import { ago, dateTime } from '../format';
import { useClient } from '../session';
import { useData, useNow } from '../use-data';
import { describeRef, type Names } from './audit-names';

const PAGE = 100;

/** A datetime-local value (the browser's zone) as the API's ISO time; empty or unreadable: none. */
function isoOf(local: string): string | undefined {
  const t = local ? new Date(local).getTime() : NaN;
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** The audit log (admin): who did what to what, newest first; filter by actor, action and target (exactly, as the API does) and time. */
export function AuditPage() {
  useTitle('Audit log');
  const client = useClient();
  const now = useNow();
  const [params, setParams] = useSearchParams();
  const actor = params.get('actor') ?? '';
  const action = params.get('action') ?? '';
  const target = params.get('target') ?? '';
  const since = params.get('since') ?? '';
  const until = params.get('until') ?? '';
  const sinceIso = isoOf(since);
  const untilIso = isoOf(until);
  const events = useAuditList({
    ...(actor ? { actor } : {}),
    ...(action ? { action } : {}),
    ...(target ? { target } : {}),
    ...(sinceIso ? { since: sinceIso } : {}),
    ...(untilIso ? { until: untilIso } : {}),
  });
  const filtered = Boolean(actor || action || target || since || until);
  const tokens = useData((signal) => client.tokens.list({ signal }), [client]);
  const hosts = useData((signal) => client.hosts.list({}, { signal }), [client]);
  const hooks = useData((signal) => client.webhooks.list({ signal }), [client]);
  const names: Names = { tokens: tokens.data ?? [], hosts: hosts.data ?? [], webhooks: hooks.data ?? [] };
  const actions = [...new Set(events.items.map((e) => e.action))].sort();

  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v.trim()) next.set(k, v.trim());
    else next.delete(k);
    setParams(next, { replace: true });
  };

  return (
    <>
      <PageHeader title="Audit log" sub="Every change made through the API: tokens, join tokens, enrollments, revocations, webhooks, cancels, maintenance.">
        <button type="button" className="button" onClick={events.reload}>
          Read again
        </button>
      </PageHeader>
      <form className="filters" role="search" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <div className="field field-wide-input">
          <label htmlFor="a-actor">Actor (exactly)</label>
          <input id="a-actor" list="a-actors" value={actor} onChange={(e) => set('actor', e.target.value)} placeholder="token:<id>, host:<id>" spellCheck={false} />
          <datalist id="a-actors">
            {names.tokens.map((t) => (
              <option key={t.id} value={`token:${t.id}`} label={`token ${t.name}`} />
            ))}
            {names.hosts.map((h) => (
              <option key={h.id} value={`host:${h.id}`} label={`host ${h.name}`} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="a-action">Action (exactly)</label>
          <input id="a-action" list="a-actions" value={action} onChange={(e) => set('action', e.target.value)} placeholder="token.create" spellCheck={false} />
          <datalist id="a-actions">
            {actions.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="a-target">Target (exactly)</label>
          <input id="a-target" value={target} onChange={(e) => set('target', e.target.value)} placeholder="job:<id>, vm:<id>" spellCheck={false} />
        </div>
        <div className="field">
          <label htmlFor="a-since">From</label>
          <input id="a-since" type="datetime-local" value={since} onChange={(e) => set('since', e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="a-until">Until</label>
          <input id="a-until" type="datetime-local" value={until} onChange={(e) => set('until', e.target.value)} />
        </div>
        {filtered ? (
          <button type="button" className="button button-quiet" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
            Clear filters
          </button>
        ) : null}
      </form>
      <ErrorMessage error={events.error} />
      {!events.loaded && events.loading ? <Loading what="the audit log" /> : null}
      {events.loaded && !events.items.length ? <Empty>No audit event{filtered ? ' matches' : ' yet'}.</Empty> : null}
      {events.items.length ? <AuditTable events={events.items} names={names} now={now} onFilter={set} /> : null}
      {events.hasMore ? (
        <button type="button" className="button load-more" onClick={() => void events.loadMore()}>
          Load more
        </button>
      ) : null}
    </>
  );
}

/** GET /v1/audit pages for a filter (newest first); Load more reads the next one. */
function useAuditList(filter: AuditFilter) {
  const client = useClient();
  const key = JSON.stringify(filter);
  const [more, setMore] = useState<{ key: string; items: AuditEvent[]; cursor: string | null; error?: unknown } | null>(null);
  const first = useData((signal) => client.audit.list({ ...filter, limit: PAGE }, { signal }), [client, key]);
  const extra = more?.key === key ? more : null;
  const cursor = extra ? extra.cursor : (first.data?.nextCursor ?? null);
  const loadMore = useCallback(async () => {
    if (!cursor) return;
    try {
      const page = await client.audit.list({ ...filter, limit: PAGE, cursor });
      setMore((x) => ({ key, items: [...(x?.key === key ? x.items : []), ...page.items], cursor: page.nextCursor }));
    } catch (err) {
      setMore((x) => (x?.key === key ? { ...x, error: err } : { key, items: [], cursor, error: err }));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- key stands for filter
  }, [client, cursor, key]);
  const reload = useCallback(() => {
    setMore(null);
    first.reload();
  }, [first]);
  return {
    items: [...(first.data?.items ?? []), ...(extra?.items ?? [])],
    loaded: first.data !== undefined,
    loading: first.loading,
    error: first.error ?? extra?.error,
    hasMore: Boolean(cursor),
    loadMore,
    reload,
  };
}

function AuditTable({ events, names, now, onFilter }: { events: readonly AuditEvent[]; names: Names; now: number; onFilter: (k: string, v: string) => void }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Audit log">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => {
            const who = describeRef(e.actor, names);
            const what = e.target ? describeRef(e.target, names) : null;
            return (
              <tr key={e.id} data-audit-action={e.action}>
                <td className="nowrap" title={dateTime(e.at)}>
                  {dateTime(e.at)}
                  <div className="sub">{ago(e.at, now)}</div>
                </td>
                <td>
                  <button type="button" className="link-button" title={`Show only ${e.actor}`} onClick={() => onFilter('actor', e.actor)}>
                    {who.name}
                  </button>
                  <div className="sub mono">{e.actor}</div>
                </td>
                <td>
                  <button type="button" className="link-button mono" title={`Show only ${e.action}`} onClick={() => onFilter('action', e.action)}>
                    {e.action}
                  </button>
                </td>
                <td>
                  {what ? (
                    <>
                      {what.href ? <Link to={what.href}>{what.name}</Link> : what.name}
                      <div className="sub mono">
                        <button type="button" className="link-button mono" title={`Show only ${e.target}`} onClick={() => onFilter('target', e.target ?? '')}>
                          {e.target}
                        </button>
                      </div>
                    </>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td className="mono small details-cell">{e.details === null || e.details === undefined ? '' : JSON.stringify(e.details)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
