import { Injectable } from '@nestjs/common';
import type { Prisma } from '@prisma/client';
import type { InventoryAnswer, InventoryReport } from '@virtfleet/contracts';
import { syncStoreDisks } from '../disks/disk-inventory';
import { PrismaService } from '../db/prisma.service';
import { JobEvents } from '../jobs/job-events';
import { markAbsent, markGone, upsertDomains, type ChangedVm } from './vm-store';

/**
 * Applies what an agent tells about its host's libvirt objects. VM rows get the real state; a
 * domain we did not make appears as unmanaged; one of ours that vanished becomes missing.
 */
@Injectable()
export class InventoryService {
  constructor(
    private readonly db: PrismaService,
    private readonly events: JobEvents,
  ) {}

  async apply(hostId: string, report: InventoryReport): Promise<InventoryAnswer> {
    const takenAt = new Date(report.takenAt);
    let changed: ChangedVm[];
    if (report.kind === 'full') {
      changed = await this.db.$transaction(async (tx) => {
        const upserted = await upsertDomains(tx, hostId, report.domains, takenAt);
        const absent = await markAbsent(tx, hostId, report.domains.map((d) => d.uuid), takenAt);
        await tx.host.update({
          where: { id: hostId },
          data: {
            networks: report.networks as Prisma.InputJsonValue,
            pools: report.pools as Prisma.InputJsonValue,
            inventoryAt: takenAt,
          },
        });
        return [...upserted, ...absent];
      });
    } else if (report.kind === 'storage') {
      const n = await this.db.$transaction(async (tx) => {
        await tx.host.update({ where: { id: hostId }, data: { isos: report.isos as Prisma.InputJsonValue } });
        return syncStoreDisks(tx, hostId, report.disks, takenAt);
      });
      return { changed: n };
    } else if (report.kind === 'domain') {
      changed = await upsertDomains(this.db, hostId, [report.domain], takenAt);
    } else {
      changed = await markGone(this.db, hostId, { name: report.name, ...(report.uuid ? { uuid: report.uuid } : {}) }, takenAt);
    }
    this.announce(hostId, changed);
    return { changed: changed.length };
  }

  announce(hostId: string, changed: readonly ChangedVm[]): void {
    for (const vm of changed) {
      this.events.publishVm({ event: vm.status === 'removed' ? 'vm.removed' : 'vm.updated', vm: { ...vm, hostId } });
    }
  }
}
