import { randomBytes, randomUUID } from 'node:crypto';
import type { Prisma } from '@prisma/client';
import type { JobPayload, JobResult, JobType } from '@virtfleet/contracts';
import { ApiError } from '../common/api-error';
import type { RawSql } from '../db/pg.service';
import { diskRowFields } from '../disks/disk-inventory';
import { upsertDomains, type ChangedVm } from '../vms/vm-store';

type Tx = Prisma.TransactionClient;

interface JobRef {
  id: string;
  hostId: string;
}

/** What a job type changes in the inventory, beside its own row. */
export interface Effects<T extends JobType> {
  /** Fills in what the API decides for the client before the row is written (e.g. a VM's UUID). */
  prepare?(payload: JobPayload<T>): JobPayload<T>;
  /** Runs in the transaction that writes the job row. */
  onSubmit?(tx: Tx, job: JobRef, payload: JobPayload<T>): Promise<void>;
  /** Run in the transaction that ends the job; VM rows they change are announced afterwards. */
  onSuccess?(tx: Tx, job: JobRef, result: JobResult<T>, payload: JobPayload<T>): Promise<void | ChangedVm[]>;
  /**
   * The same in raw statements only (a VM job's domain): the job's end and this run as one `pg`
   * transaction, not a Prisma one (pg.service.ts says why; every VM job ends this way).
   */
  onSuccessSql?(sql: RawSql, job: JobRef, result: JobResult<T>, payload: JobPayload<T>): Promise<ChangedVm[]>;
  onFailure?(tx: Tx, job: JobRef, payload: JobPayload<T>): Promise<void | ChangedVm[]>;
}

/** A VM job's result carries the domain as it is afterwards: the row takes it (unless newer news came). */
function applyDomain(tx: RawSql, job: JobRef, r: { domain: JobResult<'start-vm'>['domain']; takenAt: string }) {
  return upsertDomains(tx, job.hostId, [r.domain], new Date(r.takenAt));
}

async function refuseTakenName(tx: Tx, hostId: string, name: string, uuid: string): Promise<void> {
  const taken = await tx.vm.findFirst({ where: { hostId, name, status: { not: 'missing' }, uuid: { not: uuid } } });
  if (taken) throw new ApiError(409, 'vm_exists', `host already has a VM named ${name}`, { vmId: taken.id, status: taken.status });
}

async function dropUnborn(tx: Tx, hostId: string, uuid: string): Promise<ChangedVm[]> {
  const rows = await tx.vm.findMany({ where: { hostId, uuid, status: 'creating' } });
  await tx.vm.deleteMany({ where: { hostId, uuid, status: 'creating' } });
  return rows.map((v) => ({ id: v.id, uuid: v.uuid, name: v.name, status: 'removed', state: v.state }));
}

const vmAction = { onSuccessSql: applyDomain };

/** A MAC in QEMU's locally administered range (52:54:00), as libvirt picks one. */
function randomMac(): string {
  return `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/** virsh names an unnamed snapshot by its epoch seconds; so do we (the operation guide's default). */
function snapshotName(at: Date): string {
  return String(Math.floor(at.getTime() / 1000));
}

export const jobEffects: { readonly [K in JobType]?: Effects<K> } = {
  'create-disk': {
    async onSubmit(tx, job, p) {
      const taken = await tx.disk.findUnique({ where: { hostId_name: { hostId: job.hostId, name: p.name } } });
      if (taken) throw new ApiError(409, 'disk_exists', `host already has a disk named ${p.name}`, { diskId: taken.id });
      await tx.disk.create({ data: { hostId: job.hostId, name: p.name, format: p.format, state: 'creating' } });
    },
    async onSuccess(tx, job, r) {
      await tx.disk.update({ where: { hostId_name: { hostId: job.hostId, name: r.name } }, data: { state: 'ready', ...diskRowFields(r) } });
    },
    async onFailure(tx, job, p) {
      await tx.disk.deleteMany({ where: { hostId: job.hostId, name: p.name, state: 'creating' } });
    },
  },
  'inspect-disk': {
    async onSuccess(tx, job, r) {
      await tx.disk.updateMany({ where: { hostId: job.hostId, name: r.name, state: 'ready' }, data: diskRowFields(r) });
    },
  },
  'convert-disk': {
    async onSubmit(tx, job, p) {
      const taken = await tx.disk.findUnique({ where: { hostId_name: { hostId: job.hostId, name: p.target } } });
      if (taken) throw new ApiError(409, 'disk_exists', `host already has a disk named ${p.target}`, { diskId: taken.id });
      await tx.disk.create({ data: { hostId: job.hostId, name: p.target, format: p.format, state: 'creating' } });
    },
    async onSuccess(tx, job, r, p) {
      await tx.disk.update({ where: { hostId_name: { hostId: job.hostId, name: r.name } }, data: { state: 'ready', ...diskRowFields(r) } });
      if (r.sourceDeleted) await tx.disk.deleteMany({ where: { hostId: job.hostId, name: p.source } });
    },
    async onFailure(tx, job, p) {
      await tx.disk.deleteMany({ where: { hostId: job.hostId, name: p.target, state: 'creating' } });
    },
  },
  'resize-disk': {
    async onSuccess(tx, job, r) {
      await tx.disk.updateMany({ where: { hostId: job.hostId, name: r.name }, data: diskRowFields(r) });
    },
  },
  'delete-disk': {
    async onSuccess(tx, job, r) {
      await tx.disk.deleteMany({ where: { hostId: job.hostId, name: r.name } });
    },
  },
  'create-vm': {
    prepare: (p) => ({ ...p, uuid: p.uuid ?? randomUUID() }),
    async onSubmit(tx, job, p) {
      const uuid = p.uuid ?? '';
      await refuseTakenName(tx, job.hostId, p.name, uuid);
      const sameUuid = await tx.vm.findFirst({ where: { uuid } });
      if (sameUuid) throw new ApiError(409, 'vm_exists', `a VM with UUID ${uuid} exists`, { vmId: sameUuid.id });
      await tx.vm.create({
        data: {
          hostId: job.hostId,
          uuid,
          name: p.name,
          status: 'creating',
          vcpus: p.vcpus,
          maxVcpus: p.maxVcpus ?? p.vcpus,
          memoryMiB: p.memoryMiB,
          maxMemoryMiB: p.maxMemoryMiB ?? p.memoryMiB,
          autostart: p.autostart,
          labels: p.labels,
          spec: p as unknown as Prisma.InputJsonValue,
        },
      });
    },
    onSuccessSql: applyDomain,
    onFailure: (tx, job, p) => dropUnborn(tx, job.hostId, p.uuid ?? ''),
  },
  'define-vm': {
    async onSubmit(tx, job, p) {
      await refuseTakenName(tx, job.hostId, p.name, p.uuid);
      const known = await tx.vm.findUnique({ where: { hostId_uuid: { hostId: job.hostId, uuid: p.uuid } } });
      if (known?.status === 'unmanaged') {
        throw new ApiError(409, 'vm_unmanaged', `${known.name} was not created through virtfleet: adopt it before redefining it`);
      }
      if (!known) await tx.vm.create({ data: { hostId: job.hostId, uuid: p.uuid, name: p.name, status: 'creating' } });
    },
    onSuccessSql: applyDomain,
    onFailure: (tx, job, p) => dropUnborn(tx, job.hostId, p.uuid),
  },
  'clone-vm': {
    prepare: (p) => ({ ...p, uuid: p.uuid ?? randomUUID() }),
    async onSubmit(tx, job, p) {
      const uuid = p.uuid ?? '';
      await refuseTakenName(tx, job.hostId, p.name, uuid);
      await tx.vm.create({ data: { hostId: job.hostId, uuid, name: p.name, status: 'creating', labels: p.labels } });
    },
    onSuccessSql: applyDomain,
    onFailure: (tx, job, p) => dropUnborn(tx, job.hostId, p.uuid ?? ''),
  },
  'attach-interface': {
    // The API picks the MAC, so a redelivered job finds the NIC its first delivery added.
    prepare: (p) => ({ ...p, nic: { ...p.nic, mac: p.nic.mac ?? randomMac() } }),
    onSuccessSql: applyDomain,
  },
  'detach-interface': vmAction,
  'start-vm': vmAction,
  'shutdown-vm': vmAction,
  'destroy-vm': vmAction,
  'reboot-vm': vmAction,
  'suspend-vm': vmAction,
  'resume-vm': vmAction,
  'set-autostart': vmAction,
  'set-vcpus': vmAction,
  'set-memory': vmAction,
  'create-snapshot': {
    // A snapshot without a name gets one here, so a redelivered job finds the one it made.
    prepare: (p) => ({ ...p, name: p.name ?? snapshotName(new Date()) }),
    onSuccessSql: applyDomain,
  },
  'revert-snapshot': vmAction,
  'delete-snapshot': vmAction,
  'undefine-vm': {
    async onSuccess(tx, job, _r, p) {
      const rows = await tx.vm.findMany({ where: { hostId: job.hostId, uuid: p.vm.uuid } });
      await tx.vm.deleteMany({ where: { hostId: job.hostId, uuid: p.vm.uuid } });
      return rows.map((v) => ({ id: v.id, uuid: v.uuid, name: v.name, status: 'removed', state: v.state }));
    },
  },
  'refresh-host': {
    async onSuccess(tx, job, facts) {
      await tx.host.update({ where: { id: job.hostId }, data: { facts } });
    },
  },
};

export function effectsOf<T extends JobType>(type: T): Effects<T> | undefined {
  return jobEffects[type] as Effects<T> | undefined;
}
