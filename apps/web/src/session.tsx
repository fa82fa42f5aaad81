import { ApiError, VirtfleetClient, type Scope } from '@virtfleet/sdk';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

// The signed-in token: kept in sessionStorage (gone with the tab, never in localStorage or a
// cookie), checked with GET /v1/whoami, whose scopes decide which buttons exist: a read token
// gets none that would answer 403.

const TOKEN_KEY = 'virtfleet.token';

/** The widest of a token's scopes (admin ⊇ operate ⊇ read). */
export function widestScope(scopes: readonly Scope[]): Scope {
  return scopes.includes('admin') ? 'admin' : scopes.includes('operate') ? 'operate' : 'read';
}

export interface Session {
  client: VirtfleetClient;
  /** The widest scope the token has (admin ⊇ operate ⊇ read), from GET /v1/whoami. */
  scope: Scope;
  /** The token's name (GET /v1/whoami). */
  tokenName: string;
  /** Enough of the token to tell two apart ("vfa_Ab3d…"). */
  tokenHint: string;
  /** The token itself: the serial console's WebSocket carries it in its URL (a browser WebSocket sends no Authorization header). */
  token: string;
}

/** A client for this page's origin (the API serves the console) with the token, checked. */
export async function openSession(token: string): Promise<Session> {
  const client = new VirtfleetClient({ url: window.location.origin, token });
  const me = await client.whoami(); // 401 unauthorized for an unknown or revoked token
  return { client, scope: widestScope(me.scopes), tokenName: me.name, token, tokenHint: `${token.slice(0, 8)}…` };
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
