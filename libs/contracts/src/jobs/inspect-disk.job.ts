import { z } from 'zod';
import { defineJob } from '../define-job';
import { safeName } from '../names';
import { diskFormat, diskInfo } from './disk-common';

export const inspectDiskJob = defineJob({
  name: 'inspect-disk',
  summary: 'Read a disk image header with qemu-img info (format pinned with -f).',
  payload: z
    .object({
      name: safeName,
      // Without a format the agent takes the one the file name carries (<name>.<format>).
      format: diskFormat.optional(),
    })
    .strict(),
  result: diskInfo,
  timeoutMs: 60_000,
  attempts: 3,
  lockKey: (p) => `disk:${p.name}`,
});
