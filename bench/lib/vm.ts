import type { Fleet } from '@virtfleet/testing';

/** Jobs in the benchmarks take their time (a 1 GiB copy under load): they are waited for this long. */
const WAIT_SECONDS = 900;

/** A job a route answered 202 for, once it succeeded (anything else throws, with its error). */
export async function succeeded(fleet: Fleet, r: { status: number; body: Record<string, unknown> }, what: string): Promise<void> {
  const job = await fleet.accepted(r, what, WAIT_SECONDS);
  if (job.state !== 'succeeded') throw new Error(`${what}: ${job.state} ${JSON.stringify(job.error)}`);
}

export interface BenchVm {
  id: string;
  uuid: string;
  name: string;
  /** POST /v1/vms/:id/actions/<action>, waited for until it succeeded. */
  action(action: string): Promise<void>;
}

/** A no-OS domain (128 MiB, SeaBIOS finds nothing to boot) made through the API from a disk already in the store. */
export async function benchVm(fleet: Fleet, name: string, disk: string): Promise<BenchVm> {
  const body = { hostId: fleet.hostId, name, memoryMiB: 128, vcpus: 1, install: { kind: 'import' }, disks: [{ name: disk }], serial: false };
  await succeeded(fleet, await fleet.post('/v1/vms', body), 'create-vm');
  const page = await fleet.get<{ items: Array<{ id: string; uuid: string; name: string }> }>(`/v1/vms?hostId=${fleet.hostId}&name=${name}`);
  const vm = page.items.find((v) => v.name === name);
  if (!vm) throw new Error(`the bench VM ${name} is not in the API`);
  return { ...vm, action: async (a) => succeeded(fleet, await fleet.post(`/v1/vms/${vm.id}/actions/${a}`, {}), a) };
}
