import type { JobType } from '@virtfleet/contracts';
import type { Job } from './job';

/** Every error this SDK throws (an aborted call throws the signal's AbortError as fetch does). */
export class VirtfleetError extends Error {
  override name = 'VirtfleetError';
}

/**
 * The API answered an error: `{ error: { code, message, details? } }` (apps/api/src/common/api-error.ts).
 * Codes are wire data (`job_not_found`, `payload_invalid`, `idempotency_key_reused` …): branch on `code`, not on `message`.
 */
export class ApiError extends VirtfleetError {
  override name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | undefined,
    /** The call that failed, e.g. "POST /v1/jobs". */
    readonly request: string,
    /** From Retry-After (a 503 `database_unavailable` says when to try again). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** Whether `err` is an ApiError, with this code when one is given. */
  static is(err: unknown, code?: string): err is ApiError {
    return err instanceof ApiError && (code === undefined || err.code === code);
  }

  /** A 400 `payload_invalid`/`request_invalid` lists every field that failed: `[{ path, message }]`. */
  get issues(): Array<{ path: string; message: string }> {
    const issues = this.details?.['issues'];
    return Array.isArray(issues) ? (issues as Array<{ path: string; message: string }>) : [];
  }

  /** Worth trying again later: the database or a proxy in front of the API is down for a moment. */
  get transient(): boolean {
    return this.status === 502 || this.status === 503 || this.status === 504;
  }
}

// Node's fetch puts the socket error (or, for a name with several addresses, an AggregateError of them) in `cause`.
const HINTS: Record<string, string> = {
  ECONNREFUSED: 'nothing listens there: is the API running (npm run up) and is the URL right (VIRTFLEET_URL)?',
  ECONNRESET: 'the connection was cut: the API restarted or a proxy dropped it; try again',
  ENOTFOUND: 'the host name does not resolve: check the URL',
  EAI_AGAIN: 'the host name could not be resolved right now: check DNS and the URL',
  ETIMEDOUT: 'no answer: a firewall, or the API listens on 127.0.0.1 only (VIRTFLEET_API_HOST=0.0.0.0 opens it)',
  UND_ERR_CONNECT_TIMEOUT: 'no answer: a firewall, or the API listens on 127.0.0.1 only (VIRTFLEET_API_HOST=0.0.0.0 opens it)',
  EHOSTUNREACH: 'the host is unreachable from here: check the URL and the network',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the TLS certificate is self-signed: trust its CA (NODE_EXTRA_CA_CERTS)',
  SELF_SIGNED_CERT_IN_CHAIN: 'the TLS certificate chain ends in a self-signed CA: trust it (NODE_EXTRA_CA_CERTS)',
  CERT_HAS_EXPIRED: 'the TLS certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the TLS certificate is for another host name: check the URL',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the TLS certificate's issuer is unknown: trust its CA (NODE_EXTRA_CA_CERTS)",
};

/** The request never got an answer: connection refused, DNS, TLS, a reset. The message ends with a one-line hint. */
export class ApiUnreachableError extends VirtfleetError {
  override name = 'ApiUnreachableError';
  /** The socket error's code (ECONNREFUSED, ENOTFOUND …), when Node gave one. */
  readonly errno: string | undefined;

  constructor(
    readonly url: string,
    options: { cause: unknown },
  ) {
    const errno = socketErrorCode(options.cause);
    const hint =
      (errno && HINTS[errno]) ??
      // fetch itself refuses ports the Fetch standard blocks (1, 25, 6000 …) before connecting.
      (causeMessage(options.cause) === 'bad port' ? 'fetch refuses this port (the Fetch standard blocks it): run the API on another one' : undefined) ??
      'check the URL and that the API is running';
    super(`cannot reach the virtfleet API at ${url}${errno ? ` (${errno})` : ''}: ${hint}`, options);
    this.errno = errno;
  }

  /** A refused or reset connection may be an API restart: worth trying again. */
  get transient(): boolean {
    return this.errno === 'ECONNREFUSED' || this.errno === 'ECONNRESET' || this.errno === 'UND_ERR_SOCKET';
  }
}

// Duck-typed: fetch's errors may come from another realm (a test sandbox), where instanceof Error fails.
function causeMessage(err: unknown): string | undefined {
  const cause = (err as { cause?: { message?: unknown } } | undefined)?.cause;
  return typeof cause?.message === 'string' ? cause.message : undefined;
}

function socketErrorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const inner = (e as { errors?: unknown[] }).errors?.[0];
    e = inner ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A job the caller needed to succeed ended failed, timed_out or cancelled (`run`, `waitSucceeded`). */
export class JobFailedError<T extends JobType = JobType> extends VirtfleetError {
  override name = 'JobFailedError';

  constructor(readonly job: Job<T>) {
    const why = job.error ? `: ${job.error.code}: ${job.error.message}` : '';
    super(`job ${job.id} (${job.type}) ended ${job.state}${why}`);
  }

  /** The job's error code (`disk_exists`, `expired`, `children_failed` …), when it has one. */
  get code(): string | undefined {
    return this.job.error?.code;
  }
}

/** `wait` gave up after its timeoutSeconds; the job goes on (cancel it with jobs.cancel if you mean to). */
export class TimeoutError<T extends JobType = JobType> extends VirtfleetError {
  override name = 'TimeoutError';

  constructor(
    readonly job: Job<T>,
    readonly timeoutSeconds: number,
  ) {
    super(`job ${job.id} (${job.type}) is still ${job.state} after ${timeoutSeconds} s`);
  }
}
