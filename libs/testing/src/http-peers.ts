import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPost {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1: answers the scripted statuses in turn, then 200. */
export async function webhookReceiver(statuses: number[] = []): Promise<{ url: string; got: ReceivedPost[]; close(): void }> {
  const got: ReceivedPost[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, close: () => server.close() };
}

export interface ServerSentEvent {
  event: string;
  data: string;
}

/** Reads a server-sent event stream into `events` until close() is called. */
export async function eventStream(url: string, token: string): Promise<{ events: ServerSentEvent[]; close(): Promise<void> }> {
  const ctl = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: ctl.signal });
  if (!res.ok || !res.body) throw new Error(`event stream ${url}: ${res.status}`);
  if (!res.headers.get('content-type')?.includes('text/event-stream')) throw new Error('not an event stream');
  const events: ServerSentEvent[] = [];
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const reading = (async () => {
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data !== undefined && event !== 'keepalive') events.push({ event, data });
      }
    }
  })().catch(() => undefined);
  return {
    events,
    async close() {
      ctl.abort();
      await reading;
    },
  };
}
