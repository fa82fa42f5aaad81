import type { Job } from '@prisma/client';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { jobView } from '../jobs/job.view';
import { ApiError } from './api-error';

const idempotencyKey = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** The Idempotency-Key header, checked: the same key and body give the same job, never a second one. */
export function checkedIdempotencyKey(key: string | undefined): string | undefined {
  if (key !== undefined && !idempotencyKey.safeParse(key).success) {
    throw new ApiError(400, 'idempotency_key_invalid', 'Idempotency-Key must be 1-200 printable ASCII characters');
  }
  return key;
}

/** 202 with the job and its Location; a replayed Idempotency-Key answers the first job, as 200. */
export function accepted(reply: FastifyReply, job: Job, replayed: boolean) {
  void reply.status(replayed ? 200 : 202).header('location', `/v1/jobs/${job.id}`);
  return jobView(job);
}
