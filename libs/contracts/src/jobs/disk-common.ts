import { z } from 'zod';

export const diskFormat = z.enum(['qcow2', 'raw']);
export type DiskFormat = z.infer<typeof diskFormat>;

/** What qemu-img tells about an image (qemu-img info --output=json), in our words. */
export const diskInfo = z.object({
  name: z.string(),
  path: z.string(),
  format: diskFormat,
  virtualSize: z.number().int().nonnegative(),
  actualSize: z.number().int().nonnegative(),
  clusterSize: z.number().int().optional(),
  dirty: z.boolean().optional(),
  backingFile: z.string().optional(),
  backingFormat: z.string().optional(),
  snapshots: z
    .array(z.object({ name: z.string(), id: z.string(), vmStateSize: z.number(), date: z.string() }))
    .optional(),
});
export type DiskInfo = z.infer<typeof diskInfo>;
