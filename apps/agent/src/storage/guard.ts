import type { DiskFormat } from '@virtfleet/contracts';
import { CommandFailedError } from '@virtfleet/exec';
import { guardImage, ImageRefusedError, readFileHeader } from '@virtfleet/libvirt';
import type { JobContext } from '../job-context';
import { JobFailure } from '../job-failure';
import type { ImageGuard } from '../handlers/disks';

/**
 * The untrusted image guard, for images inside these roots: header probe, then one pinned
 * qemu-img info under limits; images above maxVirtualSizeBytes are refused (a 100 TiB qcow2
 * header costs nothing to write).
 */
export function imageGuard(roots: () => string[], maxVirtualSizeBytes: number): ImageGuard {
  return async (ctx: JobContext, path: string, format: DiskFormat) => {
    try {
      return await guardImage({
        path,
        claimed: format,
        roots: roots(),
        maxVirtualSizeBytes,
        readHeader: readFileHeader,
        run: (cmd) => ctx.run(cmd, { allowFailure: true }),
        forceShare: true,
      });
    } catch (err) {
      if (err instanceof ImageRefusedError) {
        throw new JobFailure(err.code, err.message, undefined, err.cause instanceof CommandFailedError ? err.cause : undefined);
      }
      throw err;
    }
  };
}
