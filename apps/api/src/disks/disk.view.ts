import type { Disk } from '@prisma/client';

/** A disk as the API shows it; usedBy: the VMs on its host whose domain has it as a disk. */
export function diskView(d: Disk, usedBy: Array<{ id: string; name: string }> = []) {
  return {
    id: d.id,
    hostId: d.hostId,
    name: d.name,
    format: d.format,
    state: d.state,
    path: d.path,
    virtualSize: d.virtualSize === null ? null : Number(d.virtualSize),
    actualSize: d.actualSize === null ? null : Number(d.actualSize),
    backingFile: d.backingFile,
    backingFormat: d.backingFormat,
    /** Why the image guard refused the file (never used while set). */
    refused: d.refused,
    usedBy,
    seenAt: d.seenAt?.toISOString() ?? null,
    createdAt: d.createdAt.toISOString(),
  };
}
