import type { JobType } from '@virtfleet/contracts';
import type { Http } from './http';
import { pages, type ListFilter } from './paging';
import type { ApiToken, AuditEvent, Page, Scope, Webhook, WebhookDelivery } from './views';

const enc = encodeURIComponent;

/** API tokens (admin): /v1/tokens. */
export class TokensResource {
  constructor(private readonly http: Http) {}

  /** POST /v1/tokens: the token itself is in the answer, once (409 token_name_taken). */
  create(body: { name: string; scopes: Scope[] }, opts: { signal?: AbortSignal } = {}): Promise<ApiToken & { token: string }> {
    return this.http.json('POST', '/v1/tokens', { body, signal: opts.signal });
  }

  async list(opts: { signal?: AbortSignal } = {}): Promise<ApiToken[]> {
    return (await this.http.json<{ items: ApiToken[] }>('GET', '/v1/tokens', { signal: opts.signal })).items;
  }

  /** DELETE /v1/tokens/:id: at once on the API that answers, within 5 s on the others. */
  async revoke(id: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.http.send('DELETE', `/v1/tokens/${enc(id)}`, { signal: opts.signal });
  }
}

export interface CreateWebhookBody {
  url: string;
  events?: Array<Webhook['events'][number]>;
  hostId?: string;
  jobType?: JobType;
}

/** Webhooks (admin): signed POSTs when jobs end (verify them with verifyWebhookSignature). */
export class WebhooksResource {
  constructor(private readonly http: Http) {}

  /** POST /v1/webhooks: the signing secret is in the answer, once. */
  create(body: CreateWebhookBody, opts: { signal?: AbortSignal } = {}): Promise<{ webhook: Webhook; secret: string }> {
    return this.http.json('POST', '/v1/webhooks', { body, signal: opts.signal });
  }

  async list(opts: { signal?: AbortSignal } = {}): Promise<Webhook[]> {
    return (await this.http.json<{ items: Webhook[] }>('GET', '/v1/webhooks', { signal: opts.signal })).items;
  }

  async delete(id: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.http.send('DELETE', `/v1/webhooks/${enc(id)}`, { signal: opts.signal });
  }

  /** GET /v1/webhooks/:id/deliveries: each event, its attempts, the last answer. */
  async deliveries(id: string, opts: { signal?: AbortSignal } = {}): Promise<WebhookDelivery[]> {
    return (await this.http.json<{ items: WebhookDelivery[] }>('GET', `/v1/webhooks/${enc(id)}/deliveries`, { signal: opts.signal })).items;
  }
}

export interface AuditFilter extends ListFilter {
  /** "token:<id>:<name>", "host:<id>" … exactly. */
  actor?: string;
  /** job.cancel, token.create, host.maintenance.on … exactly. */
  action?: string;
  /** "token:<id>", "host:<id>", "job:<id>" … exactly. */
  target?: string;
  /** ISO 8601: events at or after it. */
  since?: string;
  /** ISO 8601: events before it. */
  until?: string;
}

/** The audit log (admin): GET /v1/audit, newest first. */
export class AuditResource {
  constructor(private readonly http: Http) {}

  list(filter: AuditFilter = {}, opts: { signal?: AbortSignal } = {}): Promise<Page<AuditEvent>> {
    return this.http.json('GET', '/v1/audit', { query: { ...filter }, signal: opts.signal });
  }

  iterate(filter: AuditFilter = {}, opts: { signal?: AbortSignal } = {}): AsyncGenerator<AuditEvent> {
    return pages((cursor) => this.list({ ...filter, cursor }, opts), filter.cursor);
  }
}
