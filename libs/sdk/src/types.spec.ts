import type { JobPayload, JobPayloadInput, JobResult } from '@virtfleet/contracts';
import { VirtfleetClient } from './client';
import type { CreateDiskBody } from './disks.resource';
import type { GroupJobType, Job, LeafJob, Succeeded } from './job';
import { NETWORK_ACTIONS, type NetworkActionBody } from './networks.resource';
import { VM_ACTIONS, type VmActionBody } from './vms.resource';

// The SDK's types are libs/contracts' types. This file is a compile-time test: `npx tsc -p
// tsconfig.json` fails when a call below that must not compile does (an unused @ts-expect-error
// is an error), or when a call that must compile does not, so a payload schema changed in
// libs/contracts breaks mistyped SDK calls, and an SDK type loosened to `any` breaks this file.

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** Compiles only when T is true; does nothing at run time. */
function assertType<T extends true>(..._: T extends true ? [] : [never]): void {
  return undefined;
}

assertType<Equal<CreateDiskBody, JobPayloadInput<'create-disk'> & { hostId?: string }>>();
assertType<Equal<LeafJob<'create-disk'>['payload'], JobPayload<'create-disk'>>>();
assertType<Equal<LeafJob<'create-disk'>['result'], JobResult<'create-disk'> | null>>();
assertType<Equal<Succeeded<LeafJob<'resize-disk'>>['result'], JobResult<'resize-disk'>>>();
assertType<Equal<VmActionBody<'set-vcpus'>, Omit<JobPayloadInput<'set-vcpus'>, 'vm'>>>();
assertType<Equal<NetworkActionBody<'set-autostart'>, Omit<JobPayloadInput<'set-network-autostart'>, 'name'>>>();
assertType<Equal<GroupJobType, 'clone-vm' | 'define-network'>>();
// A job type that cannot be a parent has no group variant.
assertType<Equal<Job<'create-disk'>, LeafJob<'create-disk'>>>();

const VM = '44444444-4444-4444-8444-444444444444';
const HOST = '22222222-2222-4222-8222-222222222222';

/** Never called: tsc checks it. */
async function compileChecks(vf: VirtfleetClient): Promise<void> {
  // Payloads are the job type's input type: defaults may be left out.
  await vf.submit('create-disk', { name: 'd1', sizeGiB: 1 });
  // @ts-expect-error sizeGiB is a number in contracts' create-disk payload
  await vf.submit('create-disk', { name: 'd1', sizeGiB: '1' });
  // @ts-expect-error create-disk has no sizeTiB
  await vf.submit('create-disk', { name: 'd1', sizeTiB: 1 });
  // @ts-expect-error name is required
  await vf.submit('create-disk', { sizeGiB: 1 });
  // @ts-expect-error not a job type
  await vf.submit('create-disc', { name: 'd1', sizeGiB: 1 });
  // @ts-expect-error the payload of another type
  await vf.submit('start-vm', { name: 'd1', sizeGiB: 1 });

  // Results are the job type's result type.
  const done = await vf.run('create-disk', { name: 'd1', sizeGiB: 1 });
  const size: number = done.result.virtualSize;
  // @ts-expect-error create-disk's result has no sizeBytes
  void done.result.sizeBytes;
  const resize = await vf.submit('resize-disk', { name: 'd1', sizeGiB: 2 });
  // @ts-expect-error the result is null until the job succeeded
  void resize.result.previousVirtualSize;
  const waited = await vf.wait(resize);
  const type: 'resize-disk' = waited.type;
  const previous: number | undefined = waited.result?.previousVirtualSize;

  // A job of unknown type narrows on `type` (and on `group` for types that can be parents).
  const any = await vf.job(VM);
  // @ts-expect-error a result field needs the type first
  void any.result?.converted;
  if (any.type === 'convert-disk') void any.result?.converted;
  const clone = await vf.vms.clone(VM, { name: 'web2' });
  // @ts-expect-error a clone-vm job may be a parent, whose result lists its children
  void clone.result?.disks;
  if (!clone.group) void clone.result?.disks;
  else void clone.result?.children;

  // Route bodies come from the job payloads.
  await vf.disks.create({ name: 'x', sizeGiB: 1, format: 'raw', hostId: HOST });
  // @ts-expect-error format is qcow2 or raw
  await vf.disks.create({ name: 'x', sizeGiB: 1, format: 'vmdk' });
  await vf.disks.resize(VM, { sizeMiB: 512, allowShrink: true });
  // @ts-expect-error the route names the disk: no name in the body
  await vf.disks.resize(VM, { name: 'x', sizeGiB: 2 });
  await vf.vms.action(VM, 'start');
  await vf.vms.action(VM, 'shutdown', { timeoutSeconds: 30, force: true }, { idempotencyKey: 'k' });
  await vf.vms.action(VM, 'set-autostart', { enabled: false });
  // @ts-expect-error set-autostart needs enabled
  await vf.vms.action(VM, 'set-autostart');
  // @ts-expect-error shutdown's timeoutSeconds is a number
  await vf.vms.action(VM, 'shutdown', { timeoutSeconds: '30' });
  // @ts-expect-error the route names the VM: no vm in the body
  await vf.vms.action(VM, 'start', { vm: { uuid: VM, name: 'web1' } });
  // @ts-expect-error no such action
  await vf.vms.action(VM, 'hibernate');
  const vcpus = await vf.vms.action(VM, 'set-vcpus', { vcpus: 2 });
  void vcpus.result?.applied[0]?.when;
  await vf.vms.create({ name: 'web1', memoryMiB: 512, vcpus: 1, install: { kind: 'pxe' }, networks: [{ network: 'nat0' }], hostSelector: { zone: 'a' } });
  // @ts-expect-error an install kind that does not exist
  await vf.vms.create({ name: 'web1', memoryMiB: 512, vcpus: 1, install: { kind: 'floppy' } });
  // @ts-expect-error exactly one way of naming clones
  await vf.vms.clone(VM, { name: 'a', namePattern: 'b-{n}' });
  await vf.vms.clone(VM, { namePattern: 'web-{n}', count: 3, start: true, waitFor: 'running' });
  await vf.vms.attachInterface(VM, { bridge: 'br1', live: true });
  // @ts-expect-error not a NIC model
  await vf.vms.attachInterface(VM, { network: 'nat0', model: 'ne2k' });
  await vf.networks.define({ network: { kind: 'bridge', name: 'lan', bridge: 'br1' }, hostId: HOST });
  // @ts-expect-error a bridge network names its bridge
  await vf.networks.define({ network: { kind: 'bridge', name: 'lan' }, hostId: HOST });
  // @ts-expect-error hostId or hostSelector, not both
  await vf.networks.define({ network: { kind: 'bridge', name: 'lan', bridge: 'br1' }, hostId: HOST, hostSelector: {} });
  await vf.networks.action(HOST, 'lan', 'set-autostart', { enabled: true });
  // @ts-expect-error set-autostart needs enabled
  await vf.networks.action(HOST, 'lan', 'set-autostart', {});

  // Filters and events are typed too.
  // @ts-expect-error not a job state
  await vf.jobs.list({ state: 'done' });
  // @ts-expect-error not a job type
  await vf.jobs.list({ type: 'create-disc' });
  const page = await vf.jobs.list({ type: 'inspect-disk' });
  void page.items[0]?.result?.format;
  for await (const e of vf.watch({ type: 'create-disk' })) {
    if (e.event === 'job.finished') void e.job.result?.virtualSize;
    if (e.event === 'job.progress') void e.job.progress;
    // @ts-expect-error a progress event carries no result
    if (e.event === 'job.progress') void e.job.result;
  }
  await vf.wait(resize, {
    onProgress: (e) => {
      if (e.event !== 'job.progress') void e.job.result?.previousVirtualSize;
    },
  });
  void [size, type, previous];
}

describe('SDK types (checked by tsc; see the comment at the top)', () => {
  it('has the checks compiled in', () => {
    expect(typeof compileChecks).toBe('function');
  });

  it('has a job type for every action route', () => {
    expect(Object.keys(VM_ACTIONS)).toEqual(['start', 'shutdown', 'destroy', 'reboot', 'suspend', 'resume', 'set-autostart', 'set-vcpus', 'set-memory']);
    expect(Object.values(NETWORK_ACTIONS)).toEqual(['start-network', 'stop-network', 'set-network-autostart']);
  });
});

// A batch item's payload is typed by its own type.
export async function batchItemsAreTyped(vf: import('./client').VirtfleetClient): Promise<void> {
  await vf.jobs.submitMany([
    { type: 'create-disk', payload: { name: 'd1', sizeGiB: 1 } },
    // @ts-expect-error create-disk's payload has no "size"
    { type: 'create-disk', payload: { name: 'd2', size: 1 } },
  ]);
}
