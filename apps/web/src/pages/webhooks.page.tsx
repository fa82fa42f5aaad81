import { jobTypes } from '@virtfleet/contracts';
import type { CreateWebhookBody, Host, Webhook, WebhookDelivery } from '@virtfleet/sdk';
import { Fragment, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useActivity } from '../activity';
import { Badge, type Tone } from '../components/badge';
import { ConfirmDialog } from '../components/dialog';
import { ErrorMessage } from '../components/error-message';
import { Empty, Loading, PageHeader, Section, useTitle } from '../components/layout';
import { SecretOnce } from '../components/secret-once';
import { ago, dateTime } from '../format';
import { useLive } from '../live';
import { useClient } from '../session';
import { useData, useInterval, useNow, useThrottled } from '../use-data';

/** The events a webhook may ask for (the SDK's Webhook type names them). */
const EVENTS: Webhook['events'] = ['job.finished'];

const DELIVERY_TONES: Record<WebhookDelivery['state'], Tone> = { pending: 'busy', succeeded: 'ok', failed: 'bad' };

/** Webhooks (admin): signed POSTs when jobs end. List, create (the secret shown once), delete, deliveries. */
export function WebhooksPage() {
  useTitle('Webhooks');
  const client = useClient();
  const hooks = useData((signal) => client.webhooks.list({ signal }), [client]);
  const hosts = useData((signal) => client.hosts.list({}, { signal }), [client]);
  const [made, setMade] = useState<{ webhook: Webhook; secret: string } | null>(null);

  return (
    <>
      <PageHeader title="Webhooks" sub="Signed POSTs to your URL when jobs end, retried with backoff until it answers 2xx." />
      <CreateWebhook
        hosts={hosts.data ?? []}
        onMade={(m) => {
          setMade(m);
          hooks.reload();
        }}
      />
      {made ? (
        <SecretOnce title={`Webhook to ${made.webhook.url} made`} label="Signing secret" value={made.secret} onDismiss={() => setMade(null)}>
          <p className="hint">
            Each delivery carries <code>X-Virtfleet-Signature: t=&lt;unix&gt;,v1=&lt;hex HMAC-SHA256(secret, "&lt;t&gt;.&lt;body&gt;")&gt;</code>; check it with
            the SDK’s <code>verifyWebhookSignature</code>.
          </p>
        </SecretOnce>
      ) : null}
      <Section title="Webhooks" id="webhooks">
        <ErrorMessage error={hooks.error ?? hosts.error} />
        {!hooks.data && hooks.loading ? <Loading what="webhooks" /> : null}
        {hooks.data && !hooks.data.length ? <Empty>No webhook.</Empty> : null}
        {hooks.data?.length ? <WebhookTable hooks={hooks.data} hosts={hosts.data ?? []} onDeleted={hooks.reload} /> : null}
      </Section>
    </>
  );
}

function CreateWebhook({ hosts, onMade }: { hosts: readonly Host[]; onMade: (m: { webhook: Webhook; secret: string }) => void }) {
  const client = useClient();
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<ReadonlySet<string>>(new Set(EVENTS));
  const [hostId, setHostId] = useState('');
  const [jobType, setJobType] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const body: CreateWebhookBody = {
      url: url.trim(),
      events: EVENTS.filter((ev) => events.has(ev)),
      ...(hostId ? { hostId } : {}),
      ...(jobType ? { jobType: jobTypes.find((t) => t === jobType) } : {}),
    };
    try {
      onMade(await client.webhooks.create(body));
      setUrl('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Create a webhook" id="create">
      <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label="Create a webhook">
        <div className="field field-grow">
          <label htmlFor="hook-url">URL</label>
          <input id="hook-url" inputMode="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://ci.example/hooks/virtfleet" spellCheck={false} />
        </div>
        <fieldset className="scope-choices">
          <legend className="field-label">Events</legend>
          {EVENTS.map((ev) => (
            <label key={ev} className="check">
              <input
                type="checkbox"
                checked={events.has(ev)}
                onChange={(e) =>
                  setEvents((old) => {
                    const next = new Set(old);
                    if (e.target.checked) next.add(ev);
                    else next.delete(ev);
                    return next;
                  })
                }
              />{' '}
              <code>{ev}</code>
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor="hook-host">Only jobs on host</label>
          <select id="hook-host" value={hostId} onChange={(e) => setHostId(e.target.value)}>
            <option value="">Any host</option>
            {hosts.map((h) => (
              <option key={h.id} value={h.id}>
                {h.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="hook-type">Only jobs of type</label>
          <select id="hook-type" value={jobType} onChange={(e) => setJobType(e.target.value)}>
            <option value="">Any type</option>
            {jobTypes.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button button-primary" disabled={busy}>
          Create webhook
        </button>
      </form>
      <ErrorMessage error={error} title="The API refused the webhook" />
    </Section>
  );
}

function WebhookTable({ hooks, hosts, onDeleted }: { hooks: readonly Webhook[]; hosts: readonly Host[]; onDeleted: () => void }) {
  const client = useClient();
  const activity = useActivity();
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const hostName = (id: string) => hosts.find((h) => h.id === id)?.name ?? id.slice(0, 8);

  const remove = async (w: Webhook) => {
    try {
      await client.webhooks.delete(w.id);
      onDeleted();
    } catch (err) {
      activity.refused(`Delete webhook to ${w.url}`, err);
    }
  };
  const toggle = (id: string) =>
    setOpen((old) => {
      const next = new Set(old);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  return (
    <div className="table-wrap">
      <table className="table" aria-label="Webhooks">
        <thead>
          <tr>
            <th scope="col">URL</th>
            <th scope="col">Events</th>
            <th scope="col">Host</th>
            <th scope="col">Job type</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {hooks.map((w) => (
            <Fragment key={w.id}>
              <tr data-webhook={w.url}>
                <td className="mono wrap strong">{w.url}</td>
                <td className="mono">{w.events.join(', ')}</td>
                <td className="nowrap">{w.hostId ? <Link to={`/hosts/${w.hostId}`}>{hostName(w.hostId)}</Link> : <span className="muted">any</span>}</td>
                <td className="mono">{w.jobType ?? <span className="muted">any</span>}</td>
                <td className="nowrap">{dateTime(w.createdAt)}</td>
                <td>
                  <div className="button-row compact">
                    <button
                      type="button"
                      className="button button-small"
                      aria-expanded={open.has(w.id)}
                      aria-controls={`deliveries-${w.id}`}
                      aria-label={`Deliveries of the webhook to ${w.url}`}
                      onClick={() => toggle(w.id)}
                    >
                      {open.has(w.id) ? 'Hide deliveries' : 'Deliveries'}
                    </button>
                    <button type="button" className="button button-small button-danger-quiet" aria-label={`Delete webhook to ${w.url}`} onClick={() => setDeleting(w)}>
                      Delete
                    </button>
                  </div>
                </td>
              </tr>
              {open.has(w.id) ? (
                <tr className="expanded-row" id={`deliveries-${w.id}`}>
                  <td colSpan={6}>
                    <Deliveries webhook={w} />
                  </td>
                </tr>
              ) : null}
            </Fragment>
          ))}
        </tbody>
      </table>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this webhook?"
        message={
          <p>
            <code className="wrap">{deleting?.url}</code> gets no more deliveries, pending retries included, and its delivery log goes with it.
          </p>
        }
        confirm="Delete webhook"
        onConfirm={() => deleting && void remove(deleting)}
        onClose={() => setDeleting(null)}
      />
    </div>
  );
}

/** A webhook's delivery log, newest first: read again when a job ends and every few seconds while open (retries are not events). */
function Deliveries({ webhook }: { webhook: Webhook }) {
  const client = useClient();
  const now = useNow();
  const list = useData((signal) => client.webhooks.deliveries(webhook.id, { signal }), [client, webhook.id]);
  const reload = useThrottled(list.reload, 1000);
  useInterval(list.reload, 3000);
  useLive((m) => {
    if (m.event === 'resync' || m.event === 'job.finished') reload();
  });

  if (!list.data) return list.error ? <ErrorMessage error={list.error} /> : <Loading what="deliveries" />;
  if (!list.data.length) return <Empty>No delivery yet: one is made when a job it asks for ends.</Empty>;
  return (
    <table className="table table-inner" aria-label={`Deliveries to ${webhook.url}`}>
      <thead>
        <tr>
          <th scope="col">Made</th>
          <th scope="col">Event</th>
          <th scope="col">Job</th>
          <th scope="col">State</th>
          <th scope="col" className="num">
            Attempts
          </th>
          <th scope="col" className="num">
            Response
          </th>
          <th scope="col">Last error</th>
          <th scope="col">Delivered / next try</th>
        </tr>
      </thead>
      <tbody>
        {list.data.map((d) => (
          <tr key={d.id} data-delivery={d.id}>
            <td className="nowrap" title={dateTime(d.createdAt)}>
              {ago(d.createdAt, now)}
            </td>
            <td className="mono">{d.event}</td>
            <td className="mono">
              <Link to={`/jobs/${d.jobId}`}>{d.jobId.slice(0, 8)}</Link>
            </td>
            <td>
              <Badge tone={DELIVERY_TONES[d.state]}>{d.state}</Badge>
            </td>
            <td className="num">{d.attempts}</td>
            <td className="num mono">{d.lastStatus ?? '—'}</td>
            <td className="error-text small">{d.lastError ?? ''}</td>
            <td className="nowrap">
              {d.deliveredAt ? dateTime(d.deliveredAt) : d.nextAttemptAt ? <span className="muted">next {dateTime(d.nextAttemptAt)}</span> : '—'}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
