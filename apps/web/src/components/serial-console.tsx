import type { Vm } from '@virtfleet/sdk';
import { useEffect, useRef, useState } from 'react';
import { useCanOperate, useSession } from '../session';
import type { ConsoleTerminal } from './terminal';

// GET /v1/vms/:id/console is a WebSocket (operate scope). A browser's WebSocket cannot send an
// Authorization header, so the token goes in the query (the API accepts ?token= there and keeps
// it out of its request log). Bytes from the guest go to the terminal, keys to the guest.

/** WebSocket close codes of the console route (apps/api/src/vms/console.service.ts) in words. */
const CLOSED: Record<number, string> = {
  1000: 'closed',
  1006: 'the connection dropped',
  1011: 'the console is unavailable',
  4401: 'the token was refused',
  4403: 'the console needs the operate scope',
  4404: 'no such VM',
  4409: 'the VM is not managed',
  4502: 'the host closed the console',
  4504: 'the host’s agent did not open the console',
};

type Status = { kind: 'idle' } | { kind: 'connecting' } | { kind: 'open' } | { kind: 'closed'; why: string };

export function SerialConsole({ vm }: { vm: Vm }) {
  const { client, token } = useSession();
  const canOperate = useCanOperate();
  const [status, setStatus] = useState<Status>({ kind: 'idle' });
  const [wanted, setWanted] = useState(false);
  const screen = useRef<HTMLDivElement>(null);
  const disconnect = useRef<HTMLButtonElement>(null);
  const active = vm.status === 'managed' && (vm.state === 'running' || vm.state === 'paused' || vm.state === 'blocked');

  useEffect(() => {
    if (!wanted || !screen.current) return;
    const host = screen.current;
    let term: ConsoleTerminal | undefined;
    let ws: WebSocket | undefined;
    let gone = false;
    void import('./terminal').then(({ openTerminal }) => {
      if (gone) return;
      term = openTerminal(host);
      term.onLeave(() => disconnect.current?.focus());
      const url = `${client.vms.console(vm.id).url}?token=${encodeURIComponent(token)}`;
      ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => {
        setStatus({ kind: 'open' });
        term?.focus();
      };
      ws.onmessage = (m: MessageEvent<ArrayBuffer | string>) => term?.write(typeof m.data === 'string' ? m.data : new Uint8Array(m.data));
      ws.onclose = (e) => {
        if (!gone) setStatus({ kind: 'closed', why: `${e.reason || CLOSED[e.code] || 'closed'} (${e.code})` });
      };
      term.onInput((data) => {
        if (ws?.readyState === WebSocket.OPEN) ws.send(data);
      });
    });
    const onResize = () => term?.fit();
    window.addEventListener('resize', onResize);
    return () => {
      gone = true;
      window.removeEventListener('resize', onResize);
      ws?.close(1000);
      term?.dispose();
    };
  }, [wanted, client, token, vm.id]);

  if (!canOperate) return <p className="muted">The serial console needs a token with the operate scope.</p>;
  const open = () => {
    setStatus({ kind: 'connecting' });
    setWanted(true);
  };
  const close = () => {
    setWanted(false);
    setStatus({ kind: 'idle' });
  };
  return (
    <div className="serial-console">
      <div className="console-bar">
        {wanted ? (
          <button ref={disconnect} type="button" className="button button-small" onClick={close}>
            {status.kind === 'closed' ? 'Close' : 'Disconnect'}
          </button>
        ) : (
          <button type="button" className="button button-small" onClick={open} disabled={!active}>
            Connect
          </button>
        )}
        <span className="muted small" role="status">
          {status.kind === 'open'
            ? 'Connected: keys go to the guest; Ctrl+] returns to the page.'
            : status.kind === 'connecting'
              ? 'Connecting…'
              : status.kind === 'closed'
                ? `Disconnected: ${status.why}.`
                : active
                  ? 'The guest’s serial console (ttyS0), through its host’s agent; the last 16 KiB of its log first.'
                  : 'The VM is not running: it has no console now.'}
        </span>
      </div>
      {wanted ? <div ref={screen} className="console-screen" aria-label={`Serial console of ${vm.name}`} role="region" /> : null}
    </div>
  );
}
