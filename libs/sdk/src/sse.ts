/** One server-sent event (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export interface ServerSentEvent {
  /** The event name; "message" when the server gave none. */
  event: string;
  data: string;
  id?: string;
}

/**
 * Reads a text/event-stream body into events, as the server sends them: lines may end in \n,
 * \r\n or \r, and a chunk may end anywhere (mid-line, mid-character). Comment lines (": …") and
 * retry fields are skipped; a block without data lines is not an event. Ends when the body does.
 */
export async function* parseEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buf += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        const end = lineEnd(buf, done);
        if (!end) break;
        const line = buf.slice(0, end.at);
        buf = buf.slice(end.at + end.length);
        if (line === '') {
          if (data.length) yield { event: event || 'message', data: data.join('\n'), ...(id !== undefined ? { id } : {}) };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id' && !value.includes('\0')) id = value;
      }
      if (done) return; // an event not closed by a blank line is dropped, as the spec says
    }
  } finally {
    // Breaking out of the loop (or an error) lets go of the body; aborting the request closes it.
    await reader.cancel().catch(() => undefined);
  }
}

/** Where the first line of `buf` ends; a trailing \r waits for the next chunk (it may be half of \r\n). */
function lineEnd(buf: string, done: boolean): { at: number; length: number } | undefined {
  const at = buf.search(/[\r\n]/);
  if (at < 0) return undefined;
  if (buf[at] === '\n') return { at, length: 1 };
  if (at + 1 < buf.length) return { at, length: buf[at + 1] === '\n' ? 2 : 1 };
  return done ? { at, length: 1 } : undefined;
}
