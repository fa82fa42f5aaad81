import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import type { Prisma } from '@prisma/client';
import type { InventoryAnswer, InventoryReport } from '@virtfleet/contracts';
import { planStoreSync, storeSyncIsEmpty, syncStoreDisks, type DiskRow } from '../disks/disk-inventory';
import { PgService } from '../db/pg.service';
import { PrismaService } from '../db/prisma.service';
import { JobEvents } from '../jobs/job-events';
import { MetricsService } from '../metrics/metrics.service';
import { applyFullInventory, markGone, upsertDomains, type ChangedVm } from './vm-store';

/**
 * Applies what an agent tells about its host's libvirt objects. VM rows get the real state; a
 * domain we did not make appears as unmanaged; one of ours that vanished becomes missing.
 */
@Injectable()
export class InventoryService {
  constructor(
    private readonly db: PrismaService,
    private readonly pg: PgService,
    private readonly events: JobEvents,
    private readonly metrics: MetricsService,
  ) {}

  async apply(hostId: string, report: InventoryReport): Promise<InventoryAnswer> {
    const takenAt = new Date(report.takenAt);
    this.metrics.observeReport(report.kind, takenAt);
    let changed: ChangedVm[];
    if (report.kind === 'full') {
      // Every host, every minute: one statement on `pg`, not a Prisma transaction (pg.service.ts says why).
      changed = await applyFullInventory(this.pg, hostId, report, takenAt);
    } else if (report.kind === 'storage') {
      // Every host, every minute, and almost always the same: two prepared reads find that
      // nothing changed; only a change takes the transaction.
      if (await this.storageUnchanged(hostId, report, takenAt)) return { changed: 0 };
      const n = await this.db.$transaction(async (tx) => {
        await tx.host.update({ where: { id: hostId }, data: { isos: report.isos as Prisma.InputJsonValue } });
        return syncStoreDisks(tx, hostId, report.disks, takenAt);
      });
      return { changed: n };
    } else if (report.kind === 'domain') {
      changed = await upsertDomains(this.pg, hostId, [report.domain], takenAt);
    } else {
      changed = await markGone(this.pg, hostId, { name: report.name, ...(report.uuid ? { uuid: report.uuid } : {}) }, takenAt);
    }
    this.announce(hostId, changed);
    return { changed: changed.length };
  }

  private async storageUnchanged(hostId: string, report: Extract<InventoryReport, { kind: 'storage' }>, takenAt: Date): Promise<boolean> {
    const [host] = await this.pg.rows<{ isos: unknown }>({ name: 'host-isos', text: `SELECT "isos" FROM "Host" WHERE "id" = $1::uuid`, values: [hostId] });
    if (!host || !isDeepStrictEqual(host.isos, report.isos)) return false;
    const rows = await this.pg.rows<DiskRow>({
      name: 'host-disks',
      text: `SELECT "id"::text AS "id", "name", "state"::text AS "state", "format", "path", "virtualSize", "actualSize", "backingFile",
               "backingFormat", "refused", "seenAt", "updatedAt" FROM "Disk" WHERE "hostId" = $1::uuid`,
      values: [hostId],
    });
    return storeSyncIsEmpty(planStoreSync(rows, report.disks, takenAt));
  }

  announce(hostId: string, changed: readonly ChangedVm[]): void {
    for (const vm of changed) {
      this.events.publishVm({ event: vm.status === 'removed' ? 'vm.removed' : 'vm.updated', vm: { ...vm, hostId } });
    }
  }
}
