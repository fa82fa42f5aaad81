import { Injectable } from '@nestjs/common';
import type { Disk, Prisma } from '@prisma/client';
import { diskFormat, safeName } from '@virtfleet/contracts';
import { z } from 'zod';
import { ApiError } from '../common/api-error';
import { afterCursor, pageOf } from '../common/cursor';
import { PrismaService } from '../db/prisma.service';
import { JobsService } from '../jobs/jobs.service';

export const listDisksQuery = z.object({
  hostId: z.uuid().optional(),
  name: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().optional(),
});

/** POST /v1/disks: the create-disk payload, and the host (optional while the fleet has one). */
export const createDiskBody = z.looseObject({ hostId: z.uuid().optional() });
export const convertDiskBody = z
  .object({
    target: safeName,
    format: diskFormat,
    compress: z.boolean().default(false),
    /** A VM (its id) whose disk this is: after converting, its domain is pointed at the new disk. */
    attachTo: z.uuid().optional(),
    deleteSource: z.boolean().default(false),
  })
  .strict();
export const resizeDiskBody = z.looseObject({});

type Job = Awaited<ReturnType<JobsService['submit']>>;

@Injectable()
export class DisksService {
  constructor(
    private readonly db: PrismaService,
    private readonly jobs: JobsService,
  ) {}

  async list(q: z.infer<typeof listDisksQuery>) {
    const where: Prisma.DiskWhereInput = {
      ...(q.hostId ? { hostId: q.hostId } : {}),
      ...(q.name ? { name: { contains: q.name } } : {}),
    };
    if (q.cursor) where.OR = afterCursor(q.cursor);
    const rows = await this.db.disk.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: q.limit + 1 });
    const page = pageOf(rows, q.limit);
    return { items: await this.withUsers(page.items), nextCursor: page.nextCursor };
  }

  async get(id: string) {
    const [one] = await this.withUsers([await this.row(id)]);
    return one as { disk: Disk; usedBy: Array<{ id: string; name: string }> };
  }

  async isos(hostId: string | undefined) {
    const hosts = await this.db.host.findMany({ where: hostId ? { id: hostId } : {}, select: { id: true, name: true, isos: true } });
    return hosts.flatMap((h) => (Array.isArray(h.isos) ? h.isos : []).map((f) => ({ hostId: h.id, host: h.name, ...(f as object) })));
  }

  create(body: z.infer<typeof createDiskBody>, key: string | undefined, actor: string): Promise<Job> {
    const { hostId, ...payload } = body;
    return this.jobs.submit({ type: 'create-disk', ...(hostId ? { hostId } : {}), payload }, key, actor);
  }

  async convert(id: string, body: z.infer<typeof convertDiskBody>, key: string | undefined, actor: string): Promise<Job> {
    const disk = await this.ready(id);
    let attachTo: { uuid: string; name: string } | undefined;
    if (body.attachTo) {
      const vm = await this.db.vm.findUnique({ where: { id: body.attachTo } });
      if (!vm || vm.hostId !== disk.hostId) throw new ApiError(404, 'vm_not_found', `no VM ${body.attachTo} on the disk's host`);
      if (vm.status !== 'managed') throw new ApiError(409, 'vm_not_managed', `${vm.name} is ${vm.status}`);
      // The agent checks again on the host, before it touches anything.
      if (vm.state !== 'shutoff') throw new ApiError(409, 'vm_running', `${vm.name} is ${vm.state}: shut it down first — a disk is swapped only while its VM is off`);
      attachTo = { uuid: vm.uuid, name: vm.name };
    }
    const payload = {
      source: disk.name,
      sourceFormat: disk.format,
      target: body.target,
      format: body.format,
      compress: body.compress,
      deleteSource: body.deleteSource,
      ...(attachTo ? { attachTo } : {}),
    };
    return this.jobs.submit({ type: 'convert-disk', hostId: disk.hostId, payload }, key, actor);
  }

  async resize(id: string, body: Record<string, unknown>, key: string | undefined, actor: string): Promise<Job> {
    const disk = await this.ready(id);
    return this.jobs.submit({ type: 'resize-disk', hostId: disk.hostId, payload: { ...body, name: disk.name, format: disk.format } }, key, actor);
  }

  async inspect(id: string, key: string | undefined, actor: string): Promise<Job> {
    const disk = await this.ready(id);
    return this.jobs.submit({ type: 'inspect-disk', hostId: disk.hostId, payload: { name: disk.name, format: disk.format } }, key, actor);
  }

  async remove(id: string, key: string | undefined, actor: string): Promise<Job> {
    // A refused (hostile) image may be deleted: that is what an operator does with one.
    const disk = await this.row(id);
    if (disk.state !== 'ready') throw new ApiError(409, 'disk_not_ready', `${disk.name} is still being created`);
    const [withUsers] = await this.withUsers([disk]);
    const users = withUsers?.usedBy ?? [];
    if (users.length) {
      throw new ApiError(409, 'disk_in_use', `${disk.name} is a disk of ${users.map((u) => u.name).join(', ')}: remove it from the VM first`, { vms: users });
    }
    return this.jobs.submit({ type: 'delete-disk', hostId: disk.hostId, payload: { name: disk.name, format: disk.format } }, key, actor);
  }

  private async row(id: string): Promise<Disk> {
    const disk = await this.db.disk.findUnique({ where: { id } });
    if (!disk) throw new ApiError(404, 'disk_not_found', `no disk ${id}`);
    return disk;
  }

  private async ready(id: string): Promise<Disk> {
    const disk = await this.row(id);
    if (disk.state !== 'ready') throw new ApiError(409, 'disk_not_ready', `${disk.name} is still being created`);
    if (disk.refused) throw new ApiError(409, 'disk_refused', `${disk.name} was refused by the image guard: ${disk.refused}`);
    return disk;
  }

  /** Which VMs of each disk's host have it as a disk (by path, as the inventory reports it). */
  private async withUsers(disks: Disk[]) {
    const hostIds = [...new Set(disks.map((d) => d.hostId))];
    const vms = hostIds.length
      ? await this.db.vm.findMany({ where: { hostId: { in: hostIds }, status: { not: 'missing' } }, select: { id: true, name: true, hostId: true, disks: true } })
      : [];
    return disks.map((disk) => ({
      disk,
      usedBy: vms
        .filter((v) => v.hostId === disk.hostId && Array.isArray(v.disks) && (v.disks as Array<{ source?: string }>).some((x) => !!disk.path && x.source === disk.path))
        .map((v) => ({ id: v.id, name: v.name })),
    }));
  }
}
