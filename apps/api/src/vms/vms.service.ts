import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Job, Vm } from '@prisma/client';
import { createVmPayload, hostFacts, labelMap, type DomainDisk } from '@virtfleet/contracts';
import { checkDomainXmlAllowlist } from '@virtfleet/libvirt';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { ApiError, validationError, vmUnmanagedError } from '../common/api-error';
import { decodeCursor, pageOf } from '../common/cursor';
import { labelConditions } from '../common/labels';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PgService, utc } from '../db/pg.service';
import { PrismaService } from '../db/prisma.service';
import { JobsService, submitJobBody } from '../jobs/jobs.service';
import { InventoryService } from './inventory.service';
import { place, type HostCandidate, type PlacementDecision } from './placement';
import { cloneDiskNames, cloneJobOptions, cloneNames, type CloneVmBody } from './clone-plan';

export const listVmsQuery = z.object({
  hostId: z.uuid().optional(),
  state: z.string().max(20).optional(),
  status: z.enum(['creating', 'managed', 'unmanaged', 'missing']).optional(),
  /** Names containing this text. */
  name: z.string().max(255).optional(),
  /** label=key=value, repeatable as label=a=b,c=d */
  label: z.string().max(1000).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().optional(),
});
export type ListVmsQuery = z.infer<typeof listVmsQuery>;

/** A VM as the list reads it: every column but the domain XML and the create-vm spec. */
export type VmListRow = Omit<Vm, 'xml' | 'spec'>;
const VM_LIST_COLUMNS = [
  'id', 'hostId', 'uuid', 'name', 'status', 'state', 'reason', 'persistent', 'autostart', 'vcpus', 'maxVcpus', 'memoryMiB', 'maxMemoryMiB',
  'virtType', 'disks', 'interfaces', 'graphics', 'snapshots', 'serialLog', 'labels', 'seenAt', 'stateChangedAt', 'createdAt', 'updatedAt',
]
  .map((c) => (c === 'id' || c === 'hostId' || c === 'uuid' ? `"${c}"::text AS "${c}"` : c === 'status' ? `"status"::text AS "status"` : `"${c}"`))
  .join(', ');

const labelSelector = z.record(z.string(), z.string()).default({});
/** POST /v1/vms: the create-vm payload, plus where it may go. */
export const createVmBody = z.looseObject({
  hostId: z.uuid().optional(),
  hostSelector: labelSelector,
  expiresInSeconds: submitJobBody.shape.expiresInSeconds,
  timeoutSeconds: submitJobBody.shape.timeoutSeconds,
});

import { VM_ACTIONS, type VmAction } from '@virtfleet/contracts';
export { VM_ACTIONS, type VmAction };

export const defineVmBody = z.object({ hostId: z.uuid().optional(), xml: z.string().min(20).max(1_000_000) });
export const undefineQuery = z.object({
  removeStorage: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  deleteSnapshots: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});
export const patchVmBody = z.object({ labels: labelMap }).strict();

@Injectable()
export class VmsService {
  constructor(
    private readonly db: PrismaService,
    private readonly pg: PgService,
    private readonly jobs: JobsService,
    private readonly audit: AuditService,
    private readonly inventory: InventoryService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  /**
   * A page of VMs, newest first. The fleet's most read list (the console, `virtfleet vms ls`, services
   * polling): one statement on `pg` (pg.service.ts says why), without the domain XML it never shows.
   */
  async list(q: ListVmsQuery): Promise<{ items: VmListRow[]; nextCursor: string | null }> {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (v: unknown) => `$${values.push(v)}`;
    if (q.hostId) where.push(`"hostId" = ${param(q.hostId)}::uuid`);
    if (q.state) where.push(`"state" = ${param(q.state)}`);
    if (q.status) where.push(`"status" = ${param(q.status)}::"VmStatus"`);
    if (q.name) where.push(`strpos("name", ${param(q.name)}) > 0`); // contains, case-sensitive (as Prisma's contains)
    for (const c of labelConditions(q.label)) where.push(`"labels" @> ${param(JSON.stringify({ [c.labels.path[0] ?? '']: c.labels.equals }))}::jsonb`);
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      const at = param(utc(c.createdAt));
      where.push(`("createdAt" < ${at}::timestamp(3) OR ("createdAt" = ${at}::timestamp(3) AND "id" < ${param(c.id)}::uuid))`);
    }
    const rows = await this.pg.rows<VmListRow>({
      text: `SELECT ${VM_LIST_COLUMNS} FROM "Vm" ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
             ORDER BY "createdAt" DESC, "id" DESC LIMIT ${param(q.limit + 1)}`,
      values,
    });
    return pageOf(rows, q.limit);
  }

  async get(id: string): Promise<Vm> {
    const vm = await this.db.vm.findUnique({ where: { id } });
    if (!vm) throw new ApiError(404, 'vm_not_found', `no VM ${id}`);
    return vm;
  }

  /** create-vm: placed on the requested host, or on the best fitting one. */
  async create(
    body: z.infer<typeof createVmBody>,
    opts: { dryRun: boolean; idempotencyKey: string | undefined; actor: string },
  ): Promise<{ placement: PlacementDecision; job?: Job; replayed?: boolean }> {
    const { hostId, hostSelector, expiresInSeconds, timeoutSeconds, ...payload } = body;
    const parsed = createVmPayload.safeParse(payload);
    if (!parsed.success) throw validationError('payload_invalid', parsed.error, []);
    const p = parsed.data;
    if (opts.idempotencyKey && !opts.dryRun) {
      const prior = await this.jobs.findReplay(opts.idempotencyKey, 'create-vm', hostId, p);
      if (prior) return { placement: prior.placement as unknown as PlacementDecision, job: prior, replayed: true };
    }
    const placement = hostId
      ? { hostId, hostName: null, reason: 'requested by the client', hosts: [] }
      : await this.place({
          memoryMiB: p.maxMemoryMiB ?? p.memoryMiB,
          vcpus: p.vcpus,
          networks: p.networks.flatMap((n) => (n.network ? [n.network] : [])),
          existingDisks: p.disks.filter((d) => d.sizeGiB === undefined).map((d) => d.name),
          hostSelector,
        });
    if (opts.dryRun) return { placement };
    if (!placement.hostId) {
      throw new ApiError(409, 'no_host_fits', `no host can take this VM: ${placement.reason}`, { hosts: placement.hosts });
    }
    const { job, replayed } = await this.jobs.submit(
      {
        type: 'create-vm',
        hostId: placement.hostId,
        payload,
        ...(expiresInSeconds ? { expiresInSeconds } : {}),
        ...(timeoutSeconds ? { timeoutSeconds } : {}),
      },
      opts.idempotencyKey,
      opts.actor,
      { placement, clientHostId: hostId },
    );
    return { placement, job, replayed };
  }

  private async place(req: Parameters<typeof place>[1]): Promise<PlacementDecision> {
    const hosts = await this.db.host.findMany({ where: { state: { not: 'revoked' } } });
    const usage = await this.db.vm.groupBy({
      by: ['hostId'],
      where: { status: { not: 'missing' } },
      _sum: { maxMemoryMiB: true, vcpus: true },
    });
    const disks = await this.db.disk.findMany({ where: { state: 'ready', name: { in: [...req.existingDisks] } }, select: { hostId: true, name: true } });
    const candidates: HostCandidate[] = hosts.map((h) => {
      const facts = hostFacts.safeParse(h.facts);
      const used = usage.find((u) => u.hostId === h.id)?._sum;
      return {
        id: h.id,
        name: h.name,
        state: h.state,
        maintenance: h.maintenance,
        labels: (h.labels ?? {}) as Record<string, string>,
        cpuCount: facts.success ? facts.data.cpu.count : 0,
        memoryMiB: facts.success ? Math.floor(facts.data.memory.totalBytes / 1024 ** 2) : 0,
        networks: Array.isArray(h.networks) ? (h.networks as Array<{ name?: unknown }>).map((n) => String(n.name)) : [],
        disks: disks.filter((d) => d.hostId === h.id).map((d) => d.name),
        allocatedMemoryMiB: used?.maxMemoryMiB ?? 0,
        allocatedVcpus: used?.vcpus ?? 0,
      };
    });
    return place(candidates, req, this.config.overcommit);
  }

  /** A power or lifecycle action becomes that action's job on the VM's host. */
  async action(id: string, action: VmAction, body: Record<string, unknown>, idempotencyKey: string | undefined, actor: string) {
    const vm = this.actionable(await this.get(id));
    return this.jobs.submit({ type: VM_ACTIONS[action], hostId: vm.hostId, payload: { ...body, vm: { uuid: vm.uuid, name: vm.name } } }, idempotencyKey, actor);
  }

  /**
   * clone-vm: one job for one clone; with count, one child job per clone under a parent job (the
   * host runs only its clone concurrency of them at once). Names and disk names are decided here,
   * from the inventory; the agent checks them again on the host.
   */
  async clone(id: string, body: CloneVmBody, idempotencyKey: string | undefined, actor: string): Promise<{ job: Job; replayed: boolean }> {
    const vm = this.actionable(await this.get(id));
    const clientRequest = { source: vm.id, ...body };
    if (idempotencyKey) {
      const prior = await this.jobs.findReplay(idempotencyKey, 'clone-vm', undefined, clientRequest);
      if (prior) return { job: prior, replayed: true };
    }
    const { count, disks, forceCopy, expiresInSeconds, timeoutSeconds } = body;
    const options = cloneJobOptions(body);
    const onHost = await this.db.vm.findMany({ where: { hostId: vm.hostId, status: { not: 'missing' } }, select: { name: true } });
    const names = cloneNames(vm.name, body, new Set(onHost.map((v) => v.name)));
    const source = { name: vm.name, disks: (Array.isArray(vm.disks) ? vm.disks : []) as unknown as DomainDisk[] };
    const plans = names.map((name) => ({ name, disks: cloneDiskNames(source, name, disks, forceCopy) }));
    const diskNames = plans.flatMap((p) => p.disks.map((d) => d.name));
    const takenDisks = await this.db.disk.findMany({ where: { hostId: vm.hostId, name: { in: diskNames } }, select: { name: true } });
    const dup = diskNames.find((n, i) => diskNames.indexOf(n) !== i);
    if (takenDisks.length || dup) {
      const which = takenDisks.map((d) => d.name).concat(dup ? [dup] : []);
      throw new ApiError(409, 'disk_exists', `the clone's disk name(s) ${which.slice(0, 5).join(', ')} are taken on the host: name them in disks`, { disks: which });
    }
    const jobOf = (plan: (typeof plans)[number]) => ({
      type: 'clone-vm',
      hostId: vm.hostId,
      payload: { ...options, source: { uuid: vm.uuid, name: vm.name }, name: plan.name, disks: plan.disks },
      ...(expiresInSeconds ? { expiresInSeconds } : {}),
      ...(timeoutSeconds ? { timeoutSeconds } : {}),
    });
    if (count === 1 && plans[0]) return this.jobs.submit(jobOf(plans[0]), idempotencyKey, actor, { clientRequest });
    const parent = { type: 'clone-vm', hostId: vm.hostId, payload: { source: { uuid: vm.uuid, name: vm.name }, count, names } };
    const { job, replayed } = await this.jobs.submitGroup(parent, plans.map(jobOf), { key: idempotencyKey, clientRequest }, actor);
    return { job, replayed };
  }

  /** attach-interface: a NIC on a network or host bridge, live and/or in the config. */
  async attachInterface(id: string, body: Record<string, unknown>, idempotencyKey: string | undefined, actor: string) {
    const vm = this.actionable(await this.get(id));
    const { live, config, ...nic } = body;
    const where = { ...(live !== undefined ? { live } : {}), ...(config !== undefined ? { config } : {}) };
    return this.jobs.submit({ type: 'attach-interface', hostId: vm.hostId, payload: { vm: { uuid: vm.uuid, name: vm.name }, nic, ...where } }, idempotencyKey, actor);
  }

  /** detach-interface: the NIC with this MAC, live and/or from the config. */
  async detachInterface(id: string, mac: string, where: { live?: boolean | undefined; config?: boolean | undefined }, idempotencyKey: string | undefined, actor: string) {
    const vm = this.actionable(await this.get(id));
    const flags = { ...(where.live !== undefined ? { live: where.live } : {}), ...(where.config !== undefined ? { config: where.config } : {}) };
    return this.jobs.submit({ type: 'detach-interface', hostId: vm.hostId, payload: { vm: { uuid: vm.uuid, name: vm.name }, mac, ...flags } }, idempotencyKey, actor);
  }

  /** The VM's snapshots as its host last reported them (virsh snapshot-list). */
  async snapshots(id: string): Promise<unknown[]> {
    const vm = await this.get(id);
    return Array.isArray(vm.snapshots) ? vm.snapshots : [];
  }

  /** create-snapshot, revert-snapshot, delete-snapshot on the VM's host. */
  async snapshotJob(
    id: string,
    type: 'create-snapshot' | 'revert-snapshot' | 'delete-snapshot',
    fields: Record<string, unknown>,
    idempotencyKey: string | undefined,
    actor: string,
  ) {
    const vm = this.actionable(await this.get(id));
    return this.jobs.submit({ type, hostId: vm.hostId, payload: { ...fields, vm: { uuid: vm.uuid, name: vm.name } } }, idempotencyKey, actor);
  }

  async undefine(id: string, q: z.infer<typeof undefineQuery>, idempotencyKey: string | undefined, actor: string) {
    const vm = this.actionable(await this.get(id), true);
    const snapshots = Array.isArray(vm.snapshots) ? vm.snapshots.length : 0;
    if (snapshots > 0 && !q.deleteSnapshots) {
      throw new ApiError(409, 'vm_has_snapshots', `${vm.name} has ${snapshots} snapshot(s): pass deleteSnapshots=true to remove them with it`);
    }
    return this.jobs.submit(
      { type: 'undefine-vm', hostId: vm.hostId, payload: { vm: { uuid: vm.uuid, name: vm.name }, ...q } },
      idempotencyKey,
      actor,
    );
  }

  /** define-vm: client XML that passes the allowlist (checked here and again on the host). */
  async define(body: z.infer<typeof defineVmBody>, idempotencyKey: string | undefined, actor: string) {
    const host = body.hostId ? await this.db.host.findUnique({ where: { id: body.hostId } }) : null;
    if (body.hostId && !host) throw new ApiError(404, 'host_not_found', `no host ${body.hostId}`);
    // The host's folders as its agent reported them (the agent checks again, with real paths).
    const facts = host ? hostFacts.safeParse(host.facts) : undefined;
    const st = facts?.success ? facts.data.storage : undefined;
    const roots = st ? [st.root, st.isoRoot, st.consoleLogDir].filter((r): r is string => !!r) : [];
    let xml = body.xml;
    let check = checkDomainXmlAllowlist(xml, { roots });
    if (check.violations.length === 0 && !check.uuid) {
      // The API names the domain's UUID, so the VM row and the host agree from the start.
      xml = xml.replace(/<\/name>/, `</name>\n  <uuid>${randomUUID()}</uuid>`);
      check = checkDomainXmlAllowlist(xml, { roots });
    }
    if (check.violations.length || !check.uuid) {
      throw new ApiError(400, 'domain_xml_refused', `domain XML refused: ${check.violations.join('; ') || 'no <uuid>'}`, {
        violations: check.violations,
      });
    }
    return this.jobs.submit(
      { type: 'define-vm', ...(body.hostId ? { hostId: body.hostId } : {}), payload: { xml, name: check.name, uuid: check.uuid } },
      idempotencyKey,
      actor,
    );
  }

  async adopt(id: string, actor: string): Promise<Vm> {
    const vm = await this.get(id);
    if (vm.status !== 'unmanaged') throw new ApiError(409, 'vm_not_unmanaged', `${vm.name} is ${vm.status}, not unmanaged`);
    const [adopted] = await this.db.vm.updateManyAndReturn({ where: { id, status: 'unmanaged' }, data: { status: 'managed' } });
    if (!adopted) throw new ApiError(409, 'vm_not_unmanaged', `${vm.name} changed while adopting it`);
    await this.audit.record(actor, 'vm.adopt', `vm:${id}`, { name: vm.name, hostId: vm.hostId });
    this.inventory.announce(vm.hostId, [{ id, uuid: vm.uuid, name: vm.name, status: 'managed', state: vm.state }]);
    return adopted;
  }

  async patch(id: string, body: z.infer<typeof patchVmBody>, actor: string): Promise<Vm> {
    await this.get(id);
    const vm = await this.db.vm.update({ where: { id }, data: { labels: body.labels } });
    await this.audit.record(actor, 'vm.update', `vm:${id}`, { labels: body.labels });
    // Every open page and SSE client hears of it (vm.updated; they read the row again for the labels).
    this.inventory.announce(vm.hostId, [{ id, uuid: vm.uuid, name: vm.name, status: vm.status, state: vm.state }]);
    return vm;
  }

  /** Unmanaged VMs are shown, never touched until adopted; missing ones have nothing to act on. */
  private actionable(vm: Vm, allowMissing = false): Vm {
    if (vm.status === 'unmanaged') throw vmUnmanagedError(vm);
    if (vm.status === 'missing' && !allowMissing) throw new ApiError(409, 'vm_missing', `${vm.name}'s domain is no longer on its host`);
    return vm;
  }
}
