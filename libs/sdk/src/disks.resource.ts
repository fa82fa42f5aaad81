import type { JobPayloadInput } from '@virtfleet/contracts';
import type { CallOptions, Http } from './http';
import type { LeafJob } from './job';
import { pages, type ListFilter } from './paging';
import type { Disk, Iso, Page } from './views';

/** POST /v1/disks: the create-disk payload, and the host (may be left out while one host is online). */
export type CreateDiskBody = JobPayloadInput<'create-disk'> & { hostId?: string };
/** POST /v1/disks/:id/convert: convert-disk's payload, the source being the route's disk; attachTo is a VM id here. */
export type ConvertDiskBody = Omit<JobPayloadInput<'convert-disk'>, 'source' | 'sourceFormat' | 'attachTo'> & {
  /** A shut-off VM (its id) whose disk this is: afterwards it uses the new disk. */
  attachTo?: string;
};
/** POST /v1/disks/:id/resize: resize-disk's payload, the disk being the route's. */
export type ResizeDiskBody = Omit<JobPayloadInput<'resize-disk'>, 'name' | 'format'>;

export interface DiskFilter extends ListFilter {
  hostId?: string;
  /** Names containing this text. */
  name?: string;
}

const enc = encodeURIComponent;

/** Disks in the hosts' store roots, and the install media in their iso roots. */
export class DisksResource {
  constructor(private readonly http: Http) {}

  /** GET /v1/disks: one page, newest first, as the agents last scanned them. */
  list(filter: DiskFilter = {}, opts: { signal?: AbortSignal } = {}): Promise<Page<Disk>> {
    return this.http.json('GET', '/v1/disks', { query: { ...filter }, signal: opts.signal });
  }

  iterate(filter: DiskFilter = {}, opts: { signal?: AbortSignal } = {}): AsyncGenerator<Disk> {
    return pages((cursor) => this.list({ ...filter, cursor }, opts), filter.cursor);
  }

  get(id: string, opts: { signal?: AbortSignal } = {}): Promise<Disk> {
    return this.http.json('GET', `/v1/disks/${enc(id)}`, { signal: opts.signal });
  }

  /** GET /v1/isos: files in the hosts' iso roots (what create-vm's cdrom, location and kernel name). */
  async isos(filter: { hostId?: string } = {}, opts: { signal?: AbortSignal } = {}): Promise<Iso[]> {
    return (await this.http.json<{ items: Iso[] }>('GET', '/v1/isos', { query: { ...filter }, signal: opts.signal })).items;
  }

  /** POST /v1/disks: job create-disk (an overlay with backing). */
  create(body: CreateDiskBody, opts: CallOptions = {}): Promise<LeafJob<'create-disk'>> {
    return this.http.json('POST', '/v1/disks', { body, ...opts });
  }

  /** POST /v1/disks/:id/inspect: job inspect-disk (qemu-img info through the image guard). */
  inspect(id: string, opts: CallOptions = {}): Promise<LeafJob<'inspect-disk'>> {
    return this.http.json('POST', `/v1/disks/${enc(id)}/inspect`, opts);
  }

  /** POST /v1/disks/:id/convert: job convert-disk into a new disk, with live progress. */
  convert(id: string, body: ConvertDiskBody, opts: CallOptions = {}): Promise<LeafJob<'convert-disk'>> {
    return this.http.json('POST', `/v1/disks/${enc(id)}/convert`, { body, ...opts });
  }

  /** POST /v1/disks/:id/resize: job resize-disk (shrinking needs allowShrink). */
  resize(id: string, body: ResizeDiskBody, opts: CallOptions = {}): Promise<LeafJob<'resize-disk'>> {
    return this.http.json('POST', `/v1/disks/${enc(id)}/resize`, { body, ...opts });
  }

  /** DELETE /v1/disks/:id: job delete-disk (409 disk_in_use while a VM has it). */
  delete(id: string, opts: CallOptions = {}): Promise<LeafJob<'delete-disk'>> {
    return this.http.json('DELETE', `/v1/disks/${enc(id)}`, opts);
  }
}
