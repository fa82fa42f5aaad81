import WebSocket from 'ws';
import { CliError, EXIT } from '../exit-codes';

const ESCAPE = 0x1d; // Ctrl-], as virsh console

/** Why the API closed the console socket (docs/vms.md#console), as the CLI's exit code. */
function closeError(code: number, reason: string, vm: string): CliError | undefined {
  if (code === 1000 || code === 1005) return undefined;
  const why = reason || `closed with code ${code}`;
  if (code === 4504) return new CliError(EXIT.unreachable, `console of ${vm}: ${why}`, 'is its host online? virtfleet hosts ls');
  if (code === 4502) return new CliError(EXIT.apiError, `console of ${vm}: ${why}`, 'a shut-off VM has no console: virtfleet vms start first');
  return new CliError(EXIT.apiError, `console of ${vm}: ${why}`);
}

/**
 * The serial console over the API's WebSocket: the guest's bytes to stdout, stdin to the guest.
 * On a terminal stdin is raw (Ctrl-C goes to the guest) and Ctrl-] leaves; otherwise (a script
 * piping commands in) the session lasts until SIGINT/SIGTERM or the API closes it. Resolves
 * when it ends well.
 */
export async function openConsole(target: { url: string; headers: Record<string, string> }, vm: string): Promise<void> {
  const ws = new WebSocket(target.url, { headers: target.headers });
  const stdin = process.stdin;
  const raw = Boolean(stdin.isTTY);
  // Input waits for the guest's first bytes (or 1.5 s of silence): until then the host's agent
  // may not have the pty open, and what was typed (or piped in) would be lost.
  let attached = false;
  const held: Buffer[] = [];
  const attach = () => {
    if (attached) return;
    attached = true;
    for (const chunk of held.splice(0)) if (ws.readyState === WebSocket.OPEN) ws.send(chunk);
  };
  const onInput = (chunk: Buffer) => {
    if (raw && chunk.includes(ESCAPE)) return ws.close(1000);
    if (!attached) held.push(chunk);
    else if (ws.readyState === WebSocket.OPEN) ws.send(chunk);
  };
  const leave = () => ws.close(1000);
  process.on('SIGINT', leave).on('SIGTERM', leave);
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => {
      if (raw) {
        process.stderr.write(`Connected to the console of ${vm}; Ctrl-] leaves\r\n`);
        stdin.setRawMode(true);
      }
      stdin.on('data', onInput);
      stdin.resume();
      setTimeout(attach, 1500).unref();
    });
    ws.on('message', (data: Buffer) => {
      process.stdout.write(data);
      attach();
    });
    ws.on('error', (err) => reject(new CliError(EXIT.unreachable, `console of ${vm}: ${err.message}`, 'is the API running? virtfleet hosts ls')));
    ws.on('close', (code, reason) => {
      const err = closeError(code, reason.toString(), vm);
      if (err) reject(err);
      else resolve();
    });
  }).finally(() => {
    process.off('SIGINT', leave).off('SIGTERM', leave);
    stdin.off('data', onInput);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
  });
  if (raw) process.stderr.write('\r\n');
}
