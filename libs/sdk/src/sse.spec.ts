import { parseEventStream, type ServerSentEvent } from './sse';

/** A body that delivers these byte chunks one read at a time. */
function body(chunks: Array<string | Uint8Array>): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(ctl) {
      for (const c of chunks) ctl.enqueue(typeof c === 'string' ? enc.encode(c) : c);
      ctl.close();
    },
  });
}

async function all(chunks: Array<string | Uint8Array>): Promise<ServerSentEvent[]> {
  const out: ServerSentEvent[] = [];
  for await (const e of parseEventStream(body(chunks))) out.push(e);
  return out;
}

describe('parseEventStream', () => {
  it('reads events the way the API sends them (Nest: event, id, data, blank line)', async () => {
    const stream = '\nevent: job.created\nid: j1\ndata: {"id":"j1"}\n\nevent: job.finished\nid: j1\ndata: {"id":"j1","state":"succeeded"}\n\n';
    expect(await all([stream])).toEqual([
      { event: 'job.created', id: 'j1', data: '{"id":"j1"}' },
      { event: 'job.finished', id: 'j1', data: '{"id":"j1","state":"succeeded"}' },
    ]);
  });

  it('gives the same events however the body is chunked (mid-field, mid-line, between \\r and \\n)', async () => {
    const stream = 'event: job.progress\r\ndata: {"id":"a","progress":40}\r\n\r\nevent: job.progress\r\ndata: {"id":"a","progress":80}\r\n\r\n';
    const whole = await all([stream]);
    expect(whole).toHaveLength(2);
    for (let cut = 1; cut < stream.length; cut++) {
      expect(await all([stream.slice(0, cut), stream.slice(cut)])).toEqual(whole);
    }
    expect(await all([...stream])).toEqual(whole); // one character per chunk
  });

  it('keeps a character split across chunks whole', async () => {
    const bytes = new TextEncoder().encode('data: raw↔qcow2\n\n');
    const at = bytes.indexOf(0x86); // inside the three bytes of ↔
    expect(await all([bytes.slice(0, at), bytes.slice(at)])).toEqual([{ event: 'message', data: 'raw↔qcow2' }]);
  });

  it('skips comment lines and keeps the keepalive events for the caller to drop', async () => {
    const events = await all([': ping\n\n', 'event: keepalive\nid: 7\ndata: \n\n', ':\n', 'data: x\n\n']);
    expect(events).toEqual([
      { event: 'keepalive', id: '7', data: '' },
      { event: 'message', id: '7', data: 'x' },
    ]);
  });

  it('joins data lines with newlines, takes "field:value" without a space, and drops blocks without data', async () => {
    expect(await all(['event: a\ndata:one\ndata: two\n\nevent: empty\n\nretry: 5\ndata\n\n'])).toEqual([
      { event: 'a', data: 'one\ntwo' },
      { event: 'message', data: '' },
    ]);
  });

  it('drops an event the stream ends in the middle of', async () => {
    expect(await all(['data: whole\n\ndata: half'])).toEqual([{ event: 'message', data: 'whole' }]);
  });

  it('cancels the body when the reader stops early', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(new TextEncoder().encode('data: 1\n\ndata: 2\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const e of parseEventStream(stream)) {
      expect(e.data).toBe('1');
      break;
    }
    expect(cancelled).toBe(true);
  });
});
