import { ApiError, ApiUnreachableError } from './errors';

/** Kept in step with package.json by a unit test. */
export const SDK_VERSION = '0.1.0';

export interface ClientOptions {
  /** The API's base URL, e.g. http://127.0.0.1:8080 (VIRTFLEET_URL after `npm run up`). */
  url: string;
  /** An API token (POST /v1/tokens; .virtfleet/admin-token); sent as Authorization: Bearer. */
  token?: string;
  /** Another fetch (a test double, one with a proxy agent); default: the global one. */
  fetch?: typeof fetch;
  /** Put in front of the SDK's own User-Agent, e.g. "virtfleet-cli/0.1.0" (not sent from a browser: it keeps its own). */
  userAgent?: string;
}

export type QueryValue = string | number | boolean | undefined | null;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  /** The same key with the same request answers the job made the first time (200), never a second one. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  accept?: string;
}

/** Per-call options of every route that makes a job. */
export interface CallOptions {
  /** Idempotency-Key: a retry with the same key and body gets the first job back, not a new one. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** One HTTP call: JSON in and out, the API's error body as ApiError, a failed connection as ApiUnreachableError. */
export class Http {
  readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly headers: Record<string, string>;

  constructor(opts: ClientOptions) {
    const base = new URL(opts.url); // a bad URL fails here, not on the first call
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError(`virtfleet API URL must be http(s): ${opts.url}`);
    this.baseUrl = base.href.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    // A browser owns its User-Agent (a page may not set one); elsewhere the SDK names itself and Node.
    const node = nodeVersion();
    const agent = `virtfleet-sdk/${SDK_VERSION} node/${node}`;
    this.headers = {
      ...(node ? { 'user-agent': opts.userAgent ? `${opts.userAgent} ${agent}` : agent } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    };
  }

  /** The full URL of an API path with its query (undefined values left out). */
  url(path: string, query: Record<string, QueryValue> = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) params.set(k, String(v));
    const qs = params.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  /** The headers every call carries (for a WebSocket or an EventSource made elsewhere). */
  authHeaders(): Record<string, string> {
    return { ...this.headers };
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    const text = await res.text();
    if (!text) return undefined as T; // 204
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(res.status, 'response_not_json', `${method} ${path} answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`, undefined, `${method} ${path}`);
    }
  }

  async text(method: string, path: string, opts: RequestOptions = {}): Promise<string> {
    return (await this.send(method, path, opts)).text();
  }

  /** The response of a call that succeeded (2xx); anything else is thrown as ApiError. */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const res = await this.raw(method, path, opts);
    if (!res.ok) throw await apiError(res, `${method} ${path}`);
    return res;
  }

  /** The response whatever its status (GET /readyz answers 503 with a body worth reading). */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...this.headers, accept: opts.accept ?? 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
    const init: RequestInit = { method, headers };
    if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
    if (opts.signal) init.signal = opts.signal;
    try {
      return await this.fetchFn(this.url(path, opts.query), init);
    } catch (err) {
      if (opts.signal?.aborted) throw err; // the caller's abort, not the network's
      throw new ApiUnreachableError(this.baseUrl, { cause: err });
    }
  }
}

/** Node's version, or undefined in a browser (which has no `process`). */
function nodeVersion(): string | undefined {
  return (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
}

/** The API's `{ error: { code, message, details? } }`; a proxy's HTML or an empty body gets a code from the status. */
async function apiError(res: Response, request: string): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
  const retryAfterSeconds = Number.isFinite(retryAfter) ? retryAfter : undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && typeof error.code === 'string') {
    const details = error.details && typeof error.details === 'object' ? (error.details as Record<string, unknown>) : undefined;
    return new ApiError(res.status, error.code, typeof error.message === 'string' ? error.message : error.code, details, request, retryAfterSeconds);
  }
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return new ApiError(res.status, `http_${res.status}`, `${request} answered ${res.status}${snippet ? `: ${snippet}` : ''}`, undefined, request, retryAfterSeconds);
}
