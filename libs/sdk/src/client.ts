import type { JobPayloadInput, JobType } from '@virtfleet/contracts';
import { AuditResource, TokensResource, WebhooksResource } from './admin.resource';
import { DisksResource } from './disks.resource';
import { HostsResource } from './hosts.resource';
import { Http, type ClientOptions } from './http';
import type { Job, JobRef, LeafJob, Succeeded, WatchEvent } from './job';
import { JobsResource, type RunOptions, type SubmitOptions, type WaitOptions, type WatchFilter } from './jobs.resource';
import { NetworksResource } from './networks.resource';
import { VmsResource } from './vms.resource';
import type { Whoami } from './views';

/**
 * A typed client for the virtfleet REST API. Job payloads and results are libs/contracts' types:
 *
 *   const vf = new VirtfleetClient({ url: config.apiUrl, token: config.apiToken }); // from your service's own config
 *   const disk = await vf.run('create-disk', { name: 'd1', sizeGiB: 1 });
 *   disk.result.virtualSize;
 */
export class VirtfleetClient {
  readonly jobs: JobsResource;
  readonly hosts: HostsResource;
  readonly vms: VmsResource;
  readonly disks: DisksResource;
  readonly networks: NetworksResource;
  readonly tokens: TokensResource;
  readonly webhooks: WebhooksResource;
  readonly audit: AuditResource;
  private readonly http: Http;

  constructor(opts: ClientOptions) {
    this.http = new Http(opts);
    this.jobs = new JobsResource(this.http);
    this.hosts = new HostsResource(this.http);
    this.vms = new VmsResource(this.http);
    this.disks = new DisksResource(this.http);
    this.networks = new NetworksResource(this.http);
    this.tokens = new TokensResource(this.http);
    this.webhooks = new WebhooksResource(this.http);
    this.audit = new AuditResource(this.http);
  }

  /** The API's base URL, as given (without a trailing slash). */
  get url(): string {
    return this.http.baseUrl;
  }

  /** POST /v1/jobs: a job of any type in the catalog, its payload typed by the type. */
  submit<T extends JobType>(type: T, payload: JobPayloadInput<T>, opts?: SubmitOptions): Promise<LeafJob<T>> {
    return this.jobs.submit(type, payload, opts);
  }

  /** GET /v1/jobs/:id. */
  job<T extends JobType = JobType>(id: string, opts?: { signal?: AbortSignal }): Promise<Job<T>> {
    return this.jobs.get<T>(id, opts);
  }

  /** The job once it has ended (long polls, progress events meanwhile with onProgress); TimeoutError after timeoutSeconds. */
  wait<T extends JobType = JobType>(job: string | JobRef<T>, opts?: WaitOptions<T>): Promise<Job<T>> {
    return this.jobs.wait(job, opts);
  }

  /** wait, and JobFailedError unless the job succeeded. */
  waitSucceeded<T extends JobType = JobType>(job: string | JobRef<T>, opts?: WaitOptions<T>): Promise<Succeeded<Job<T>>> {
    return this.jobs.waitSucceeded(job, opts);
  }

  /** submit, then waitSucceeded: the succeeded job with its typed result, or JobFailedError. */
  run<T extends JobType>(type: T, payload: JobPayloadInput<T>, opts?: RunOptions<T>): Promise<Succeeded<LeafJob<T>>> {
    return this.jobs.run(type, payload, opts);
  }

  /** GET /v1/events: typed job and VM events until the signal aborts or the loop breaks. */
  watch<T extends JobType = JobType>(filter?: WatchFilter<T>, signal?: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    return this.jobs.watch(filter, signal);
  }

  /** GET /v1/whoami: the calling token's id, name and scopes (any scope may ask). */
  whoami(opts: { signal?: AbortSignal } = {}): Promise<Whoami> {
    return this.http.json('GET', '/v1/whoami', { signal: opts.signal });
  }

  /** GET /healthz: the process answers. */
  health(opts: { signal?: AbortSignal } = {}): Promise<{ status: 'ok' }> {
    return this.http.json('GET', '/healthz', { signal: opts.signal });
  }

  /** GET /readyz: whether PostgreSQL answers (ready) and Redis does; a 503 is answered, not thrown. */
  async ready(opts: { signal?: AbortSignal } = {}): Promise<{ status: 'ready' | 'not_ready'; checks: { postgres: boolean; redis: boolean } }> {
    const res = await this.http.raw('GET', '/readyz', { signal: opts.signal });
    return (await res.json()) as { status: 'ready' | 'not_ready'; checks: { postgres: boolean; redis: boolean } };
  }
}
