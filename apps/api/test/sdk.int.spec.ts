import { randomUUID } from 'node:crypto';
import {
  ApiError,
  JobFailedError,
  TimeoutError,
  verifyWebhookSignature,
  VirtfleetClient,
  type Disk,
  type Host,
  type Job,
  type JobEvent,
  type JobFields,
  type JobLog,
  type Vm,
  type WatchEvent,
} from '@virtfleet/sdk';
import { waitFor } from '@virtfleet/testing';
import type { diskView } from '../src/disks/disk.view';
import type { hostView } from '../src/hosts/host.view';
import type { JobView, jobLogView } from '../src/jobs/job.view';
import type { VmView } from '../src/vms/vm.view';
import { signBody } from '../src/webhooks/signature';
import { ApiHarness } from './harness';

// The SDK writes the API's own views (job, VM, disk, host) as types of its own: they must keep the
// fields the API answers. A field added to or dropped from a view breaks this file at compile time.
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function sameFields<T extends true>(..._: T extends true ? [] : [never]): void {
  return undefined;
}
sameFields<Equal<keyof JobFields | 'type' | 'group' | 'payload' | 'result', keyof JobView>>();
sameFields<Equal<keyof Job, keyof JobView>>();
sameFields<Equal<keyof JobLog, keyof ReturnType<typeof jobLogView>>>();
sameFields<Equal<keyof Vm, keyof VmView>>();
sameFields<Equal<keyof Disk, keyof ReturnType<typeof diskView>>>();
sameFields<Equal<keyof Host, keyof ReturnType<typeof hostView>>>();

const diskResult = { name: 'sdk-done', path: '/var/lib/virtfleet/store/sdk-done.qcow2', format: 'qcow2', virtualSize: 1073741824, actualSize: 200704, created: true };

describe('@virtfleet/sdk against the real API (no agent: jobs stay queued unless a test reports for one)', () => {
  let api: ApiHarness;
  let host: { id: string; agentToken: string };
  let vf: VirtfleetClient;

  beforeAll(async () => {
    api = await ApiHarness.start();
    host = await api.host('sdk');
    vf = new VirtfleetClient({ url: api.url, token: api.adminToken, userAgent: 'sdk-int-test' });
  });
  afterAll(() => api.close(), 60_000); // closing drops the test database: slow on a loaded machine

  const report = (reports: unknown[]) => api.call<{ outcomes: string[] }>('POST', '/v1/agent/reports', { token: host.agentToken, body: { reports } });

  it('submits a typed create-disk job; the same Idempotency-Key answers the same job, another body a 409', async () => {
    const key = `sdk-${randomUUID()}`;
    const job = await vf.submit('create-disk', { name: 'sdk-d1', sizeGiB: 1 }, { hostId: host.id, idempotencyKey: key, expiresInSeconds: 600 });
    expect(job).toMatchObject({ type: 'create-disk', hostId: host.id, group: false, idempotencyKey: key, lockKey: 'disk:sdk-d1', result: null, error: null });
    expect(['pending', 'queued']).toContain(job.state);
    expect(job.payload.format).toBe('qcow2'); // the schema's default, filled in by the API
    expect(job.expiresAt).not.toBeNull();

    const again = await vf.submit('create-disk', { name: 'sdk-d1', sizeGiB: 1 }, { hostId: host.id, idempotencyKey: key, expiresInSeconds: 600 });
    expect(again.id).toBe(job.id);
    const reused = await vf.submit('create-disk', { name: 'sdk-d1', sizeGiB: 2 }, { hostId: host.id, idempotencyKey: key }).catch((e: unknown) => e);
    expect(reused).toBeInstanceOf(ApiError);
    expect(reused).toMatchObject({ status: 409, code: 'idempotency_key_reused', details: { jobId: job.id } });

    const read = await vf.job<'create-disk'>(job.id);
    expect(read.type === 'create-disk' && read.payload.name).toBe('sdk-d1');
  });

  it('the disk route makes the same kind of job, and the disk shows up creating', async () => {
    const job = await vf.disks.create({ name: 'sdk-d2', sizeMiB: 64, hostId: host.id });
    expect(job.type).toBe('create-disk');
    const { items } = await vf.disks.list({ name: 'sdk-d2' });
    expect(items).toEqual([expect.objectContaining({ name: 'sdk-d2', hostId: host.id, state: 'creating', usedBy: [] })]);
  });

  it('iterates every job over pages', async () => {
    const ids: string[] = [];
    for await (const job of vf.jobs.iterate({ hostId: host.id, type: 'create-disk', limit: 1 })) ids.push(job.id);
    const all = await vf.jobs.list({ hostId: host.id, limit: 500 });
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(ids).toEqual(all.items.filter((j) => j.type === 'create-disk').map((j) => j.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect((await vf.jobs.stats({ hostId: host.id })).queued + (await vf.jobs.stats({ hostId: host.id })).pending).toBeGreaterThanOrEqual(2);
  });

  it('answers a 404 and a 400 as ApiError with their codes', async () => {
    const missing = await vf.job(randomUUID()).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiError);
    expect(missing).toMatchObject({ status: 404, code: 'job_not_found' });
    await expect(vf.vms.get(randomUUID())).rejects.toMatchObject({ status: 404, code: 'vm_not_found' });

    const invalid = (await vf.submit('create-disk', { name: '../x', sizeGiB: 1 }, { hostId: host.id }).catch((e: unknown) => e)) as ApiError;
    expect(invalid).toBeInstanceOf(ApiError);
    expect(invalid).toMatchObject({ status: 400, code: 'payload_invalid' });
    expect(invalid.issues.map((i) => i.path)).toContain('payload.name');
    await expect(vf.jobs.list({ cursor: 'not-a-cursor' })).rejects.toMatchObject({ status: 400, code: 'cursor_invalid' });
    await expect(vf.hosts.list({ label: 'no-equals-sign' })).rejects.toMatchObject({ status: 400, code: 'label_invalid' });
  });

  it('wait long-polls ?wait and gives up with TimeoutError; a cancelled job fails waitSucceeded', async () => {
    const job = await vf.submit('create-disk', { name: 'sdk-d3', sizeGiB: 1 }, { hostId: host.id });
    const timedOut = await vf.wait(job, { timeoutSeconds: 1 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect((timedOut as TimeoutError).job.id).toBe(job.id);

    expect((await vf.jobs.cancel(job.id)).state).toBe('cancelled');
    const failed = await vf.waitSucceeded(job).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(JobFailedError);
    expect((failed as JobFailedError).job.state).toBe('cancelled');
    await expect(vf.jobs.cancel(job.id)).rejects.toMatchObject({ status: 409, code: 'job_final' });
  });

  it('wait follows progress on the event stream and answers the typed result when the host reports it', async () => {
    const job = await vf.submit('create-disk', { name: 'sdk-done', sizeGiB: 1 }, { hostId: host.id });
    const seen: Array<JobEvent<'create-disk'>> = [];
    const waiting = vf.waitSucceeded(job, { timeoutSeconds: 30, onProgress: (e) => seen.push(e) });

    await report([{ kind: 'started', jobId: job.id }]);
    // The stream is subscribed a moment after wait starts: report progress until it shows.
    let progress = 0;
    await waitFor('a progress event', async () => {
      await report([{ kind: 'progress', jobId: job.id, attempt: 1, progress: ++progress }]);
      return seen.some((e) => e.event === 'job.progress');
    });
    await report([{ kind: 'succeeded', jobId: job.id, attempt: 1, result: diskResult }]);

    const done = await waiting;
    expect(done.result.virtualSize).toBe(1073741824);
    expect(done.result.created).toBe(true);
    expect(seen.every((e) => e.job.id === job.id)).toBe(true);
    expect(seen.find((e) => e.event === 'job.progress')?.job).toMatchObject({ id: job.id, type: 'create-disk', attempt: 1 });
  });

  it('watch yields the typed events of the stream', async () => {
    const ctl = new AbortController();
    const events: WatchEvent[] = [];
    const watching = (async () => {
      for await (const e of vf.watch({ hostId: host.id, type: 'refresh-host' }, ctl.signal)) {
        events.push(e);
        if (e.event === 'job.created') ctl.abort();
      }
    })();
    // The stream is subscribed a moment after watch starts: submit until a job.created shows.
    const submitted = new Set<string>();
    await waitFor('a job.created on the stream', async () => {
      submitted.add((await vf.submit('refresh-host', {}, { hostId: host.id })).id);
      return events.length > 0;
    });
    await watching;
    expect(events[0]).toMatchObject({ event: 'job.created', job: { type: 'refresh-host', hostId: host.id } });
    expect(submitted.has(events[0]?.id ?? '')).toBe(true);
  });

  it('reads hosts, readiness, and verifies a webhook signature the way the API signs', async () => {
    const hosts = await vf.hosts.list();
    expect(hosts.map((h) => h.name)).toContain('sdk');
    expect((await vf.hosts.get(host.id)).state).toBe('offline'); // enrolled, no heartbeat yet
    expect(await vf.ready()).toMatchObject({ status: 'ready', checks: { postgres: true } });
    expect(await vf.health()).toEqual({ status: 'ok' });
    const body = JSON.stringify({ event: 'job.finished', job: { id: 'x' } });
    expect(verifyWebhookSignature('whsec_1', body, signBody('whsec_1', body))).toBe(true);
  });
});
