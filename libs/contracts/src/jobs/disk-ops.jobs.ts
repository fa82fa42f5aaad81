import { z } from 'zod';
import { defineJob } from '../define-job';
import { safeName } from '../names';
import { diskFormat, diskInfo } from './disk-common';
import { vmLockKey, vmRef } from './vm-common';

// The operation guide's "disk format conversion" section as fleet jobs: convert (with live
// progress), resize and delete, on disks of the host's store root named by the client.

const MAX_GIB = 64 * 1024;

export const convertDiskJob = defineJob({
  name: 'convert-disk',
  summary: 'Convert a disk raw↔qcow2 into a new disk (qemu-img convert -p, optionally -c), and optionally swap it into a shut-off VM.',
  payload: z
    .object({
      source: safeName,
      /** Without it, the format the file name carries (<name>.<format>). */
      sourceFormat: diskFormat.optional(),
      target: safeName,
      format: diskFormat,
      /** qcow2 only: zlib-compressed clusters (slow, CPU bound; much smaller). */
      compress: z.boolean().default(false),
      /**
       * After converting, point this shut-off VM's disk (the one whose source is the old disk) at
       * the new one and its format, and redefine it (the operation guide's `virsh edit` step).
       */
      attachTo: vmRef.optional(),
      /** Delete the source disk once the conversion (and the swap) succeeded. */
      deleteSource: z.boolean().default(false),
    })
    .strict()
    .refine((p) => p.target !== p.source, { message: 'target must differ from source', path: ['target'] })
    .refine((p) => !p.compress || p.format === 'qcow2', { message: 'compress needs format qcow2', path: ['compress'] }),
  result: diskInfo.extend({
    converted: z.boolean(),
    /** The VM disk that now uses the new disk (attachTo). */
    swapped: z.object({ vm: z.string(), target: z.string(), oldSource: z.string() }).optional(),
    sourceDeleted: z.boolean(),
  }),
  timeoutMs: 4 * 3_600_000,
  attempts: 2,
  // With attachTo, the VM's lock: its other jobs wait; otherwise the new disk's.
  lockKey: (p) => (p.attachTo ? vmLockKey(p.attachTo.name) : `disk:${p.target}`),
});

export const resizeDiskJob = defineJob({
  name: 'resize-disk',
  summary: 'Grow a disk (qemu-img resize); shrinking is refused unless allowShrink (it cuts data off the end).',
  payload: z
    .object({
      name: safeName,
      format: diskFormat.optional(),
      sizeGiB: z.number().int().positive().max(MAX_GIB).optional(),
      sizeMiB: z.number().int().positive().max(MAX_GIB * 1024).optional(),
      allowShrink: z.boolean().default(false),
    })
    .strict()
    .refine((p) => (p.sizeGiB === undefined) !== (p.sizeMiB === undefined), { message: 'give exactly one of sizeGiB or sizeMiB', path: ['sizeGiB'] }),
  result: diskInfo.extend({ previousVirtualSize: z.number().int().nonnegative() }),
  timeoutMs: 600_000,
  attempts: 3,
  lockKey: (p) => `disk:${p.name}`,
});

export const deleteDiskJob = defineJob({
  name: 'delete-disk',
  summary: 'Delete a disk from the store root; refused while any VM on the host uses it.',
  payload: z.object({ name: safeName, format: diskFormat.optional() }).strict(),
  result: z.object({ name: z.string(), path: z.string(), deleted: z.boolean() }),
  timeoutMs: 120_000,
  attempts: 3,
  lockKey: (p) => `disk:${p.name}`,
});
