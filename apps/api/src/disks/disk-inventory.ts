import type { Prisma, PrismaClient } from '@prisma/client';
import type { StoreDisk } from '@virtfleet/contracts';

type Db = Prisma.TransactionClient | PrismaClient;

/** What qemu-img told the agent about an image (a job result or a storage scan), as disk row fields. */
export function diskRowFields(d: {
  format: string;
  path: string;
  virtualSize: number;
  actualSize: number;
  backingFile?: string | undefined;
  backingFormat?: string | undefined;
}) {
  return {
    format: d.format,
    path: d.path,
    virtualSize: BigInt(d.virtualSize),
    actualSize: BigInt(d.actualSize),
    backingFile: d.backingFile ?? null,
    backingFormat: d.backingFormat ?? null,
  };
}

/**
 * Makes the host's disk rows what its storage scan found: new files appear (ready), changed
 * ones are updated, vanished ones go — except disks a job is still creating, and rows written
 * after the scan was taken. Only what differs is written.
 */
export async function syncStoreDisks(db: Db, hostId: string, found: readonly StoreDisk[], takenAt: Date): Promise<number> {
  const rows = await db.disk.findMany({ where: { hostId } });
  const byName = new Map(rows.map((r) => [r.name, r]));
  let changed = 0;
  // One row per name: a store holding both x.qcow2 and x.raw shows the first (jobs refuse to make such pairs).
  const present = new Set<string>();
  for (const d of found) {
    if (present.has(d.name)) continue;
    present.add(d.name);
    const row = byName.get(d.name);
    const data = { ...diskRowFields(d), refused: d.refused ?? null, seenAt: takenAt };
    if (!row) {
      await db.disk.create({ data: { hostId, name: d.name, state: 'ready', ...data } });
      changed++;
    } else if (
      row.state === 'ready' &&
      (row.format !== data.format || row.path !== data.path || row.virtualSize !== data.virtualSize || row.actualSize !== data.actualSize ||
        row.backingFile !== data.backingFile || row.backingFormat !== data.backingFormat || row.refused !== data.refused)
    ) {
      await db.disk.update({ where: { id: row.id }, data });
      changed++;
    }
  }
  const gone = rows.filter((r) => r.state === 'ready' && !present.has(r.name) && r.updatedAt < takenAt && (!r.seenAt || r.seenAt < takenAt));
  if (gone.length) await db.disk.deleteMany({ where: { id: { in: gone.map((r) => r.id) } } });
  return changed + gone.length;
}
