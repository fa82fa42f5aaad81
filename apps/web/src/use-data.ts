import { ApiError } from '@virtfleet/sdk';
import { useCallback, useEffect, useRef, useState, type DependencyList } from 'react';
import { useSessionState } from './session';

export interface Data<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Load again, keeping what is shown until the answer is there. */
  reload(): void;
  /**
   * Change what is shown (a live event) without a call. A change made while a load is on its way
   * is made again to what that load answers, so an event is never lost to a load that was sent
   * before it happened: `fn` must give the same result when applied twice.
   */
  set(fn: (old: T) => T): void;
}

/**
 * What `load` answers, loaded when the dependencies change and again on reload(); the call in
 * flight is aborted when the component goes or the dependencies change. A 401 (the token was
 * revoked) ends the session.
 */
export function useData<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): Data<T> {
  const { signOut } = useSessionState();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  const loadRef = useRef(load);
  /** Changes made since the load in flight was sent (null: none in flight). */
  const pending = useRef<Array<(old: T) => T> | null>(null);
  useEffect(() => {
    loadRef.current = load;
  });

  useEffect(() => {
    const ctl = new AbortController();
    // eslint-disable-next-line react-hooks/set-state-in-effect -- a new request starts here; what is shown stays until it answers
    setLoading(true);
    const changes: Array<(old: T) => T> = [];
    pending.current = changes;
    loadRef.current(ctl.signal).then(
      (d) => {
        if (ctl.signal.aborted) return;
        if (pending.current === changes) pending.current = null;
        setData(changes.reduce((acc, fn) => fn(acc), d));
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (ctl.signal.aborted) return;
        if (pending.current === changes) pending.current = null;
        if (ApiError.is(err, 'unauthorized')) signOut(err.message);
        setError(err);
        setLoading(false);
      },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the caller's deps decide
  }, [...deps, round, signOut]);

  // A page's deps change: what it showed belongs to the old deps.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    setData(undefined);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the caller's deps decide
  }, deps);

  const reload = useCallback(() => setRound((r) => r + 1), []);
  const set = useCallback((fn: (old: T) => T) => {
    pending.current?.push(fn);
    setData((old) => (old === undefined ? old : fn(old)));
  }, []);
  return { data, error, loading, reload, set };
}

/**
 * A function that calls `fn` at most once per `ms` (the last call wins, run at the end of the
 * window): many live events in a burst become one reload.
 */
export function useThrottled(fn: () => void, ms: number): () => void {
  const latest = useRef(fn);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => {
    latest.current = fn;
  });
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, ms);
  }, [ms]);
}

/** Re-renders every `ms` (relative times such as "12 s ago"). */
export function useNow(ms = 5000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(t);
  }, [ms]);
  return now;
}

/** Calls `fn` every `ms` while the tab is visible. */
export function useInterval(fn: () => void, ms: number): void {
  const latest = useRef(fn);
  useEffect(() => {
    latest.current = fn;
  });
  useEffect(() => {
    const t = window.setInterval(() => {
      if (document.visibilityState === 'visible') latest.current();
    }, ms);
    return () => window.clearInterval(t);
  }, [ms]);
}
