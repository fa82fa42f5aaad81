import { z } from 'zod';
import { defineJob } from '../define-job';
import { safeName } from '../names';
import { diskFormat, diskInfo } from './disk-common';

const MAX_GIB = 64 * 1024;

export const createDiskJob = defineJob({
  name: 'create-disk',
  summary: 'Create an empty disk image in the host storage root (qemu-img create).',
  payload: z
    .object({
      name: safeName,
      format: diskFormat.default('qcow2'),
      sizeGiB: z.number().int().positive().max(MAX_GIB).optional(),
      sizeMiB: z.number().int().positive().max(MAX_GIB * 1024).optional(),
      /** A disk of ours this one is a copy-on-write overlay of (qemu-img create -b … -F …); qcow2 only. */
      backing: safeName.optional(),
      backingFormat: diskFormat.optional(),
    })
    .strict()
    .refine((p) => !(p.sizeGiB !== undefined && p.sizeMiB !== undefined), { message: 'give sizeGiB or sizeMiB, not both', path: ['sizeGiB'] })
    .refine((p) => p.backing !== undefined || p.sizeGiB !== undefined || p.sizeMiB !== undefined, {
      message: 'give sizeGiB or sizeMiB (only an overlay of a backing disk may leave the size out)',
      path: ['sizeGiB'],
    })
    .refine((p) => p.backing === undefined || p.format === 'qcow2', { message: 'only a qcow2 disk can have a backing disk', path: ['backing'] })
    .refine((p) => p.backing !== p.name, { message: 'a disk cannot back itself', path: ['backing'] }),
  result: diskInfo.extend({ created: z.boolean() }),
  timeoutMs: 60_000,
  attempts: 3,
  lockKey: (p) => `disk:${p.name}`,
});

/** The size asked for, or undefined (an overlay takes its backing disk's size). */
export function diskSizeBytes(p: { sizeGiB?: number | undefined; sizeMiB?: number | undefined }): number | undefined {
  return p.sizeGiB !== undefined ? p.sizeGiB * 1024 ** 3 : p.sizeMiB !== undefined ? p.sizeMiB * 1024 ** 2 : undefined;
}
