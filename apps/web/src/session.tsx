import { ApiError, VirtfleetClient, type Scope } from '@virtfleet/sdk';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

// The signed-in token: kept in sessionStorage (gone with the tab, never in localStorage or a
// cookie), checked with a call, and its scope found out so that a read token gets no buttons
// that would answer 403.

const TOKEN_KEY = 'virtfleet.token';

/**
 * A well-formed job id no job has. POST /v1/jobs/:id/cancel needs the operate scope, and the auth
 * guard answers before anything else runs: 403 for a read token, 404 job_not_found (nothing
 * cancelled, nothing audited) for an operate one.
 */
const PROBE_JOB_ID = 'ffffffff-ffff-4fff-bfff-ffffffffffff';

export interface Session {
  client: VirtfleetClient;
  /** The widest scope the token has (admin ⊇ operate ⊇ read). */
  scope: Scope;
  /** Enough of the token to tell two apart ("vfa_Ab3d…"). */
  tokenHint: string;
  /** The token itself: the serial console's WebSocket carries it in its URL (a browser WebSocket sends no Authorization header). */
  token: string;
}

/**
 * What a token may do. The API has no "who am I" route, so the console asks the cheapest calls
 * that tell: GET /v1/tokens (admin only), then a cancel of a job that does not exist (operate).
 */
export async function probeScope(client: VirtfleetClient): Promise<Scope> {
  try {
    await client.tokens.list();
    return 'admin';
  } catch (err) {
    if (!ApiError.is(err, 'forbidden')) throw err;
  }
  try {
    await client.jobs.cancel(PROBE_JOB_ID);
    return 'operate';
  } catch (err) {
    if (ApiError.is(err, 'job_not_found')) return 'operate';
    if (ApiError.is(err, 'forbidden')) return 'read';
    throw err;
  }
}

/** A client for this page's origin (the API serves the console) with the token, checked. */
export async function openSession(token: string): Promise<Session> {
  const client = new VirtfleetClient({ url: window.location.origin, token });
  await client.hosts.list(); // 401 unauthorized for an unknown or revoked token
  const scope = await probeScope(client);
  return { client, scope, token, tokenHint: `${token.slice(0, 8)}…` };
}

interface SessionState {
  session: Session | null;
  /** Checking a stored token after a reload. */
  restoring: boolean;
  /** Why the last session ended (a revoked token), shown on the login page. */
  endedBecause: string | null;
  signIn(token: string): Promise<void>;
  signOut(reason?: string): void;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(null);
  const [restoring, setRestoring] = useState(() => Boolean(sessionStorage.getItem(TOKEN_KEY)));
  const [endedBecause, setEndedBecause] = useState<string | null>(null);

  const signIn = useCallback(async (token: string) => {
    const s = await openSession(token.trim());
    sessionStorage.setItem(TOKEN_KEY, token.trim());
    setEndedBecause(null);
    setSession(s);
  }, []);

  const signOut = useCallback((reason?: string) => {
    sessionStorage.removeItem(TOKEN_KEY);
    setSession(null);
    setEndedBecause(reason ?? null);
  }, []);

  useEffect(() => {
    const stored = sessionStorage.getItem(TOKEN_KEY);
    if (!stored) return;
    let live = true;
    openSession(stored)
      .then((s) => live && setSession(s))
      .catch((err: unknown) => {
        if (!live) return;
        // An unreachable API keeps the token (try again with a reload); a refused one is dropped.
        if (err instanceof ApiError) sessionStorage.removeItem(TOKEN_KEY);
        setEndedBecause(err instanceof Error ? err.message : String(err));
      })
      .finally(() => live && setRestoring(false));
    return () => {
      live = false;
    };
  }, []);

  const value = useMemo(() => ({ session, restoring, endedBecause, signIn, signOut }), [session, restoring, endedBecause, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSessionState(): SessionState {
  const ctx = useContext(SessionContext);
  if (!ctx) throw new Error('useSessionState outside SessionProvider');
  return ctx;
}

/** The signed-in session (pages only render inside one). */
export function useSession(): Session & { signOut: SessionState['signOut'] } {
  const { session, signOut } = useSessionState();
  if (!session) throw new Error('useSession without a session');
  return { ...session, signOut };
}

/** The client of the signed-in session. */
export function useClient(): VirtfleetClient {
  return useSession().client;
}

/** Whether the token may submit jobs (every button that changes a host needs operate). */
export function useCanOperate(): boolean {
  const { scope } = useSession();
  return scope === 'operate' || scope === 'admin';
}
