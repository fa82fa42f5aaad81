import { z } from 'zod';
import { defineJob } from '../define-job';
import { domainSnapshot, powerState } from '../inventory';
import { safeName } from '../names';
import { vmLockKey, vmRef, vmResult } from './vm-common';

// Internal qcow2 snapshots of one VM (the operation guide's virsh snapshot-* commands). They take
// the VM's lock: a snapshot never races a power action, a clone or another snapshot job.

const lockKey = (p: { vm: { name: string } }) => vmLockKey(p.vm.name);

/** Free text kept in the snapshot's metadata: one argv element, no control characters. */
export const snapshotDescription = z
  .string()
  .max(1000)
  // eslint-disable-next-line no-control-regex
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), { message: 'may not contain control characters (newlines, tabs …)' });

export const createSnapshotJob = defineJob({
  name: 'create-snapshot',
  summary: 'Take an internal snapshot of a running or shut-off VM (virsh snapshot-create-as); an existing name is returned as it is.',
  payload: z
    .object({
      vm: vmRef,
      /** Default: the API names it when the job is submitted (epoch seconds, as virsh snapshot-create does), so a redelivered job finds it. */
      name: safeName.optional(),
      description: snapshotDescription.optional(),
    })
    .strict(),
  result: vmResult.extend({
    snapshot: domainSnapshot,
    /** false: a snapshot of that name already existed on this VM (a redelivered job, a repeated request). */
    created: z.boolean(),
  }),
  // A running VM's memory is saved into the image: large guests take minutes.
  timeoutMs: 1_800_000,
  attempts: 3,
  lockKey,
});

export const revertSnapshotJob = defineJob({
  name: 'revert-snapshot',
  summary: 'Return a VM to a snapshot (virsh snapshot-revert): running if it was taken running, shut off if it was taken shut off.',
  payload: z.object({ vm: vmRef, name: safeName }).strict(),
  result: vmResult.extend({
    snapshot: domainSnapshot,
    /** The VM's power state afterwards (also in domain.state; domain.reason says "from snapshot"). */
    state: powerState,
  }),
  timeoutMs: 1_800_000,
  attempts: 2,
  lockKey,
});

export const deleteSnapshotJob = defineJob({
  name: 'delete-snapshot',
  summary: 'Delete one snapshot of a VM (virsh snapshot-delete); a snapshot that is already gone is not an error.',
  payload: z.object({ vm: vmRef, name: safeName }).strict(),
  result: vmResult.extend({
    /** false: there was no snapshot of that name (already deleted). */
    deleted: z.boolean(),
  }),
  timeoutMs: 600_000,
  attempts: 3,
  lockKey,
});
