import type { Prisma } from '@prisma/client';
import type { JobPayload, JobResult, JobType } from '@virtfleet/contracts';
import { ApiError } from '../common/api-error';

type Tx = Prisma.TransactionClient;

interface JobRef {
  id: string;
  hostId: string;
}

/** What a job type changes in the inventory, beside its own row. */
interface Effects<T extends JobType> {
  /** Runs in the transaction that writes the job row. */
  onSubmit?(tx: Tx, job: JobRef, payload: JobPayload<T>): Promise<void>;
  onSuccess?(tx: Tx, job: JobRef, result: JobResult<T>, payload: JobPayload<T>): Promise<void>;
  onFailure?(tx: Tx, job: JobRef, payload: JobPayload<T>): Promise<void>;
}

export const jobEffects: { readonly [K in JobType]?: Effects<K> } = {
  'create-disk': {
    async onSubmit(tx, job, p) {
      const taken = await tx.disk.findUnique({ where: { hostId_name: { hostId: job.hostId, name: p.name } } });
      if (taken) throw new ApiError(409, 'disk_exists', `host already has a disk named ${p.name}`, { diskId: taken.id });
      await tx.disk.create({ data: { hostId: job.hostId, name: p.name, format: p.format, state: 'creating' } });
    },
    async onSuccess(tx, job, r) {
      await tx.disk.update({
        where: { hostId_name: { hostId: job.hostId, name: r.name } },
        data: { state: 'ready', format: r.format, virtualSize: BigInt(r.virtualSize), actualSize: BigInt(r.actualSize) },
      });
    },
    async onFailure(tx, job, p) {
      await tx.disk.deleteMany({ where: { hostId: job.hostId, name: p.name, state: 'creating' } });
    },
  },
  'inspect-disk': {
    async onSuccess(tx, job, r) {
      await tx.disk.updateMany({
        where: { hostId: job.hostId, name: r.name, state: 'ready' },
        data: { virtualSize: BigInt(r.virtualSize), actualSize: BigInt(r.actualSize) },
      });
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
