// A scripted fetch for the SDK's unit tests: routes answer in turn (the last answer repeats) and
// every request is recorded with its headers and JSON body.

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: unknown;
  signal: AbortSignal | undefined;
}

type Answer = Response | ((req: RecordedRequest) => Response | Promise<Response>);

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/**
 * A text/event-stream response that sends `chunks` as they are (split anywhere the test likes),
 * then stays open until the request is aborted (as the API's stream does), or ends when `end` is set.
 */
export function sseResponse(chunks: string[], opts: { signal?: AbortSignal | undefined; end?: boolean; onCancel?: () => void } = {}): Response {
  const bytes = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(ctl) {
      for (const c of chunks) ctl.enqueue(bytes.encode(c));
      if (opts.end) ctl.close();
      else opts.signal?.addEventListener('abort', () => ctl.error(opts.signal?.reason), { once: true });
    },
    cancel() {
      opts.onCancel?.();
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

export class FakeFetch {
  readonly requests: RecordedRequest[] = [];
  private readonly routes: Array<{ method: string; path: string; answers: Answer[] }> = [];

  /** Answers `method path` (the path without its query) with these, in turn; the last repeats. */
  on(method: string, path: string, ...answers: Answer[]): this {
    this.routes.push({ method, path, answers });
    return this;
  }

  /** The requests to one route. */
  to(method: string, path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.url.pathname === path);
  }

  readonly fetch: typeof fetch = async (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const req: RecordedRequest = {
      method: init.method ?? 'GET',
      url,
      headers,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      signal: init.signal ?? undefined,
    };
    this.requests.push(req);
    if (req.signal?.aborted) throw req.signal.reason;
    const route = this.routes.find((r) => r.method === req.method && r.path === url.pathname);
    if (!route) return jsonResponse(404, { error: { code: 'not_found', message: `no fake route ${req.method} ${url.pathname}` } });
    const answer = route.answers.length > 1 ? route.answers.shift() : route.answers[0];
    if (!answer) throw new Error(`fake route ${req.method} ${url.pathname} has no answer`);
    return typeof answer === 'function' ? answer(req) : answer.clone();
  };
}

/** A job as the API shows it, for answers; state queued unless told otherwise. */
export function fakeJob(type: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '11111111-1111-4111-8111-111111111111',
    type,
    hostId: '22222222-2222-4222-8222-222222222222',
    state: 'queued',
    progress: 0,
    attempt: 0,
    payload: {},
    result: null,
    error: null,
    idempotencyKey: null,
    lockKey: null,
    concurrencyKey: null,
    parentId: null,
    group: false,
    submittedBy: 'token:t',
    requestId: null,
    cancelRequestedAt: null,
    expiresAt: null,
    timeoutMs: null,
    placement: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    queuedAt: '2026-01-01T00:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    ...fields,
  };
}
