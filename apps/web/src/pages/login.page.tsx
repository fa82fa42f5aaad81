import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '../components/error-message';
import { useTitle } from '../components/layout';
import { useSessionState } from '../session';

/** Paste an API token; it is checked with a call and kept for this tab only (sessionStorage). */
export function LoginPage() {
  useTitle('Sign in');
  const { signIn, endedBecause } = useSessionState();
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(token);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <div className="login">
      <form className="login-card" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <div className="brand brand-large">
          <img src="/favicon.svg" alt="" width="36" height="36" />
          <span>virtfleet</span>
        </div>
        <h1 id="login-title">Sign in with an API token</h1>
        <p className="muted">
          A token made with <code>virtfleet tokens create</code> (or <code>POST /v1/tokens</code>); after <code>npm run up</code> the admin token is in{' '}
          <code>.virtfleet/admin-token</code>. It stays in this tab only.
        </p>
        {endedBecause && !error ? <ErrorMessage error={endedBecause} title="Signed out" /> : null}
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          autoFocus
          value={token}
          onChange={(e) => setToken(e.target.value)}
          placeholder="vfa_…"
        />
        <ErrorMessage error={error} />
        <button type="submit" className="button button-primary button-wide" disabled={busy || !token.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
