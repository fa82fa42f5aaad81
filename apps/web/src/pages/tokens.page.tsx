import type { ApiToken, Scope } from '@virtfleet/sdk';
import { useState, type FormEvent } from 'react';
import { useActivity } from '../activity';
import { Badge } from '../components/badge';
import { ConfirmDialog } from '../components/dialog';
import { ErrorMessage } from '../components/error-message';
import { Empty, Loading, PageHeader, Section, useTitle } from '../components/layout';
import { SecretOnce } from '../components/secret-once';
import { ago, dateTime } from '../format';
import { useClient } from '../session';
import { useData, useNow } from '../use-data';

/** What each scope allows (a Record: a scope the SDK adds is a compile error here until described). */
const SCOPE_HINTS: Record<Scope, string> = {
  read: 'see everything',
  operate: 'submit and cancel jobs',
  admin: 'tokens, hosts, webhooks, the audit log',
};
const SCOPES = Object.keys(SCOPE_HINTS) as Scope[];

/** API tokens (admin): list, create (the token shown once), revoke. */
export function TokensPage() {
  useTitle('API tokens');
  const client = useClient();
  const now = useNow();
  const tokens = useData((signal) => client.tokens.list({ signal }), [client]);
  const [made, setMade] = useState<(ApiToken & { token: string }) | null>(null);

  return (
    <>
      <PageHeader title="API tokens" sub="For the CLI, the SDK, scripts and this console. The API keeps only their SHA-256." />
      <CreateToken
        onMade={(t) => {
          setMade(t);
          tokens.reload();
        }}
      />
      {made ? (
        <SecretOnce title={`Token ${made.name} made`} label={`Token ${made.name}`} value={made.token} onDismiss={() => setMade(null)}>
          <p className="hint">
            Use it as <code>VIRTFLEET_TOKEN</code> for the CLI, <code>Authorization: Bearer …</code> for the API, or sign in here with it.
          </p>
        </SecretOnce>
      ) : null}
      <Section title="Tokens" id="tokens">
        <ErrorMessage error={tokens.error} />
        {!tokens.data && tokens.loading ? <Loading what="tokens" /> : null}
        {tokens.data && !tokens.data.length ? <Empty>No token.</Empty> : null}
        {tokens.data?.length ? <TokenTable tokens={tokens.data} now={now} onRevoked={tokens.reload} /> : null}
      </Section>
    </>
  );
}

function CreateToken({ onMade }: { onMade: (t: ApiToken & { token: string }) => void }) {
  const client = useClient();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ReadonlySet<Scope>>(new Set<Scope>(['read']));
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const toggle = (s: Scope, on: boolean) =>
    setScopes((old) => {
      const next = new Set(old);
      if (on) next.add(s);
      else next.delete(s);
      return next;
    });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onMade(await client.tokens.create({ name: name.trim(), scopes: SCOPES.filter((s) => scopes.has(s)) }));
      setName('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Create a token" id="create">
      <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label="Create a token">
        <div className="field">
          <label htmlFor="token-name">Name</label>
          <input id="token-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="ci-deploy" spellCheck={false} />
        </div>
        <fieldset className="scope-choices">
          <legend className="field-label">Scopes</legend>
          {SCOPES.map((s) => (
            <label key={s} className="check" title={SCOPE_HINTS[s]}>
              <input type="checkbox" checked={scopes.has(s)} onChange={(e) => toggle(s, e.target.checked)} /> {s}
              <span className="hint">{SCOPE_HINTS[s]}</span>
            </label>
          ))}
        </fieldset>
        <button type="submit" className="button button-primary" disabled={busy}>
          Create token
        </button>
      </form>
      <ErrorMessage error={error} title="The API refused the token" />
    </Section>
  );
}

function TokenTable({ tokens, now, onRevoked }: { tokens: readonly ApiToken[]; now: number; onRevoked: () => void }) {
  const client = useClient();
  const activity = useActivity();
  const [revoking, setRevoking] = useState<ApiToken | null>(null);

  const revoke = async (t: ApiToken) => {
    try {
      await client.tokens.revoke(t.id);
      onRevoked();
    } catch (err) {
      activity.refused(`Revoke token ${t.name}`, err);
    }
  };

  return (
    <div className="table-wrap">
      <table className="table" aria-label="API tokens">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Scopes</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id} data-token={t.name}>
              <td className="strong">
                {t.name}
                <div className="sub mono">{t.id}</div>
              </td>
              <td>
                <span className="badge-group">
                  {t.scopes.map((s) => (
                    <span key={s} className={`scope scope-${s}`}>
                      {s}
                    </span>
                  ))}
                </span>
              </td>
              <td className="nowrap">{dateTime(t.createdAt)}</td>
              <td className="nowrap" title={t.lastUsedAt ? dateTime(t.lastUsedAt) : 'The API has no record of its use'}>
                {t.lastUsedAt ? ago(t.lastUsedAt, now) : <span className="muted">—</span>}
              </td>
              <td className="nowrap">
                {t.revokedAt ? (
                  <Badge tone="muted" title={`Revoked ${dateTime(t.revokedAt)}`}>
                    revoked {ago(t.revokedAt, now)}
                  </Badge>
                ) : (
                  <Badge tone="ok">live</Badge>
                )}
              </td>
              <td>
                {t.revokedAt ? null : (
                  <button type="button" className="button button-small button-danger-quiet" aria-label={`Revoke token ${t.name}`} onClick={() => setRevoking(t)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke token ${revoking?.name ?? ''}?`}
        message={
          <p>
            Everything that uses it (the CLI, scripts, a console signed in with it) is refused from now on: at once on this API, within 5 s on the others. It
            cannot be undone; make a new token instead.
          </p>
        }
        confirm="Revoke token"
        onConfirm={() => revoking && void revoke(revoking)}
        onClose={() => setRevoking(null)}
      />
    </div>
  );
}
