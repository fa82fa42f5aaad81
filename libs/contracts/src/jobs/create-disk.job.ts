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
    })
    .strict()
    .refine((p) => (p.sizeGiB === undefined) !== (p.sizeMiB === undefined), {
      message: 'give exactly one of sizeGiB or sizeMiB',
      path: ['sizeGiB'],
    }),
  result: diskInfo.extend({ created: z.boolean() }),
  timeoutMs: 60_000,
  attempts: 3,
  lockKey: (p) => `disk:${p.name}`,
});

export function diskSizeBytes(p: { sizeGiB?: number | undefined; sizeMiB?: number | undefined }): number {
  return p.sizeGiB !== undefined ? p.sizeGiB * 1024 ** 3 : (p.sizeMiB ?? 0) * 1024 ** 2;
}
