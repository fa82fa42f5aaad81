import { ApiError, type WatchEvent } from '@virtfleet/sdk';
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useSessionState } from './session';

// One GET /v1/events stream for the whole console, read with the SDK (fetch with the token in
// Authorization: EventSource cannot send that header). Pages subscribe to its events; after a
// reconnect they get a `resync` and reload what they show, since events in between were missed.

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';
export type LiveMessage = WatchEvent | { event: 'resync' };
type Listener = (m: LiveMessage) => void;

interface Live {
  status: LiveStatus;
  subscribe(fn: Listener): () => void;
}

const LiveContext = createContext<Live | null>(null);

export function LiveProvider({ children }: { children: ReactNode }) {
  const { session, signOut } = useSessionState();
  const listeners = useRef(new Set<Listener>());
  const [status, setStatus] = useState<LiveStatus>('connecting');

  useEffect(() => {
    if (!session) return;
    const ctl = new AbortController();
    const emit = (m: LiveMessage) => {
      for (const fn of listeners.current) fn(m);
    };
    void (async () => {
      let failures = 0;
      let connectedBefore = false;
      while (!ctl.signal.aborted) {
        try {
          const stream = session.client.watch({}, ctl.signal);
          // The first event may be a while away: the stream is open once the generator got its answer.
          const first = stream.next();
          setStatus('live');
          if (connectedBefore) emit({ event: 'resync' });
          connectedBefore = true;
          failures = 0;
          const r = await first;
          if (!r.done) emit(r.value);
          for await (const e of stream) emit(e);
        } catch (err) {
          if (ApiError.is(err, 'unauthorized')) return signOut(err.message);
          failures++;
        }
        if (ctl.signal.aborted) return;
        setStatus('reconnecting');
        await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** Math.min(failures, 5))));
      }
    })();
    return () => ctl.abort();
  }, [session, signOut]);

  const value = useMemo<Live>(
    () => ({
      status,
      subscribe(fn) {
        listeners.current.add(fn);
        return () => listeners.current.delete(fn);
      },
    }),
    [status],
  );
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLiveStatus(): LiveStatus {
  const live = useContext(LiveContext);
  return live?.status ?? 'connecting';
}

/** Calls `fn` with every live event (and `resync` after a reconnect) while the component is mounted. */
export function useLive(fn: Listener): void {
  const live = useContext(LiveContext);
  const latest = useRef(fn);
  useEffect(() => {
    latest.current = fn;
  });
  useEffect(() => live?.subscribe((m) => latest.current(m)), [live]);
}
