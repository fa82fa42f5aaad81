import type { Disk, Prisma, PrismaClient } from '@prisma/client';
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

/** The columns of a disk row a storage scan is compared with. */
export type DiskRow = Pick<Disk, 'id' | 'name' | 'state' | 'format' | 'path' | 'virtualSize' | 'actualSize' | 'backingFile' | 'backingFormat' | 'refused' | 'seenAt' | 'updatedAt'>;

type DiskData = ReturnType<typeof diskRowFields> & { refused: string | null; seenAt: Date };

/** What a storage scan changes in the host's disk rows (nothing to write when all three are empty). */
export interface StoreSync {
  create: Array<{ name: string; data: DiskData }>;
  update: Array<{ id: string; data: DiskData }>;
  gone: string[];
}

/**
 * Makes the host's disk rows what its storage scan found: new files appear (ready), changed
 * ones are updated, vanished ones go — except disks a job is still creating, and rows written
 * after the scan was taken. Only what differs is written.
 */
export function planStoreSync(rows: readonly DiskRow[], found: readonly StoreDisk[], takenAt: Date): StoreSync {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const plan: StoreSync = { create: [], update: [], gone: [] };
  // One row per name: a store holding both x.qcow2 and x.raw shows the first (jobs refuse to make such pairs).
  const present = new Set<string>();
  for (const d of found) {
    if (present.has(d.name)) continue;
    present.add(d.name);
    const row = byName.get(d.name);
    const data = { ...diskRowFields(d), refused: d.refused ?? null, seenAt: takenAt };
    if (!row) plan.create.push({ name: d.name, data });
    else if (
      row.state === 'ready' &&
      (row.format !== data.format || row.path !== data.path || row.virtualSize !== data.virtualSize || row.actualSize !== data.actualSize ||
        row.backingFile !== data.backingFile || row.backingFormat !== data.backingFormat || row.refused !== data.refused)
    ) {
      plan.update.push({ id: row.id, data });
    }
  }
  plan.gone = rows.filter((r) => r.state === 'ready' && !present.has(r.name) && r.updatedAt < takenAt && (!r.seenAt || r.seenAt < takenAt)).map((r) => r.id);
  return plan;
}

export function storeSyncIsEmpty(plan: StoreSync): boolean {
  return plan.create.length + plan.update.length + plan.gone.length === 0;
}

/** Applies a storage scan (planStoreSync) to the host's disk rows; answers how many changed. */
export async function syncStoreDisks(db: Db, hostId: string, found: readonly StoreDisk[], takenAt: Date): Promise<number> {
  const plan = planStoreSync(await db.disk.findMany({ where: { hostId } }), found, takenAt);
  for (const c of plan.create) await db.disk.create({ data: { hostId, name: c.name, state: 'ready', ...c.data } });
  for (const u of plan.update) await db.disk.update({ where: { id: u.id }, data: u.data });
  if (plan.gone.length) await db.disk.deleteMany({ where: { id: { in: plan.gone } } });
  return plan.create.length + plan.update.length + plan.gone.length;
}
