import type { DoctorReport } from '@virtfleet/contracts';
import type { Http } from './http';
import { labelSelector, type LabelSelector } from './labels';
import type { Host, JoinToken } from './views';

const enc = encodeURIComponent;

/** KVM hosts: /v1/hosts… */
export class HostsResource {
  constructor(private readonly http: Http) {}

  /** GET /v1/hosts: every host, by name (not paged); label: all must match. */
  async list(filter: { label?: LabelSelector } = {}, opts: { signal?: AbortSignal } = {}): Promise<Host[]> {
    return (await this.http.json<{ items: Host[] }>('GET', '/v1/hosts', { query: { label: labelSelector(filter.label) }, signal: opts.signal })).items;
  }

  get(id: string, opts: { signal?: AbortSignal } = {}): Promise<Host> {
    return this.http.json('GET', `/v1/hosts/${enc(id)}`, { signal: opts.signal });
  }

  /** The host's last `virtfleet-agent doctor` report (sent with its heartbeats; there is no route of its own). */
  async doctor(id: string, opts: { signal?: AbortSignal } = {}): Promise<DoctorReport | null> {
    return (await this.get(id, opts)).doctor;
  }

  /** POST /v1/hosts/:id/maintenance: no new placements on it while on; what runs is not touched. */
  maintenance(id: string, enabled = true, opts: { signal?: AbortSignal } = {}): Promise<Host> {
    return this.http.json('POST', `/v1/hosts/${enc(id)}/maintenance`, { body: { enabled }, signal: opts.signal });
  }

  /** POST /v1/hosts/join-tokens (admin): a one-time token a new host enrolls with; shown once. */
  joinToken(body: { ttlSeconds?: number } = {}, opts: { signal?: AbortSignal } = {}): Promise<JoinToken> {
    return this.http.json('POST', '/v1/hosts/join-tokens', { body, signal: opts.signal });
  }

  /** DELETE /v1/hosts/:id (admin): its agent token and Redis user stop working; its history stays. */
  async revoke(id: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.http.send('DELETE', `/v1/hosts/${enc(id)}`, { signal: opts.signal });
  }
}
