import type { ApiBodyOptions } from '@nestjs/swagger';

// @nestjs/swagger does not export SchemaObject from its entry point; take it from a public option type.
type SchemaHost = Extract<ApiBodyOptions, { schema: unknown }>;
type SchemaObject = Exclude<SchemaHost['schema'], { $ref: string }>;
export type { SchemaObject };
import { domainDisk, domainInterface, domainSnapshot, networkInventory, poolInventory, jobCatalog, jobError, jobState, jobTypes, hostFacts, powerState, type JobType } from '@virtfleet/contracts';
import { z } from 'zod';

/** OpenAPI schemas derived from the zod schemas in libs/contracts: one source, no hand-copied types. */
export function toOpenApi(schema: z.ZodType, io: 'input' | 'output' = 'output'): SchemaObject {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Record<string, unknown>;
  delete json['$schema'];
  return json as SchemaObject;
}

export const submitJobSchema: SchemaObject = {
  oneOf: jobTypes.map((t: JobType) => ({
    type: 'object',
    title: t,
    description: jobCatalog[t].summary,
    required: ['type', 'payload'],
    properties: {
      type: { type: 'string', enum: [t] },
      hostId: { type: 'string', format: 'uuid', description: 'target host; optional while the fleet has one host' },
      payload: toOpenApi(jobCatalog[t].payload, 'input'),
    },
  })),
  discriminator: { propertyName: 'type' },
};

export const jobSchema: SchemaObject = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    type: { type: 'string', enum: [...jobTypes] },
    hostId: { type: 'string', format: 'uuid' },
    state: toOpenApi(jobState),
    progress: { type: 'integer', minimum: 0, maximum: 100 },
    attempt: { type: 'integer' },
    payload: { type: 'object', description: 'as validated by the job type' },
    result: { type: 'object', nullable: true, description: 'the job type result schema, once succeeded' },
    error: { ...toOpenApi(jobError), nullable: true },
    idempotencyKey: { type: 'string', nullable: true },
    lockKey: { type: 'string', nullable: true, description: 'jobs with one lock key on one host run one at a time, in order ("vm:web1")' },
    concurrencyKey: { type: 'string', nullable: true, description: 'a per-host concurrency group ("clone"): only the host\'s limit of them run at once' },
    parentId: { type: 'string', format: 'uuid', nullable: true, description: 'the bulk job this one belongs to' },
    group: { type: 'boolean', description: 'a parent job (a bulk clone): never on a host, its progress and state follow its children' },
    requestId: {
      type: 'string',
      nullable: true,
      description: 'the x-request-id of the request that submitted it (given by the client, or made by the API); its API and agent log lines carry it',
    },
    waiting: {
      type: 'string',
      description:
        'GET /v1/jobs/:id of a pending job only: why it has not gone to its host — its host\'s agent does not run the type yet (an older agent), an earlier job holds its lock key, or its concurrency group is full',
    },
    createdAt: { type: 'string', format: 'date-time' },
    queuedAt: { type: 'string', format: 'date-time', nullable: true },
    startedAt: { type: 'string', format: 'date-time', nullable: true },
    finishedAt: { type: 'string', format: 'date-time', nullable: true },
  },
};

export const hostSchema: SchemaObject = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    state: { type: 'string', enum: ['online', 'offline', 'revoked'] },
    maintenance: { type: 'boolean', description: 'no new placements while true' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    facts: toOpenApi(hostFacts),
    doctor: { type: 'object', nullable: true, description: "virtfleet-agent doctor's last report" },
    networks: { type: 'array', items: toOpenApi(networkInventory), description: 'libvirt networks, as the last full inventory showed them' },
    pools: { type: 'array', items: toOpenApi(poolInventory), description: 'libvirt storage pools, as the last full inventory showed them' },
    inventoryAt: { type: 'string', format: 'date-time', nullable: true, description: 'when the agent last sent a full inventory' },
    enrolledAt: { type: 'string', format: 'date-time', nullable: true },
    lastHeartbeatAt: { type: 'string', format: 'date-time', nullable: true },
    createdAt: { type: 'string', format: 'date-time' },
  },
};

export const errorSchema: SchemaObject = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
    },
  },
};

export const vmSchema: SchemaObject = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    hostId: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    uuid: { type: 'string', format: 'uuid', description: 'libvirt UUID' },
    status: {
      type: 'string',
      enum: ['creating', 'managed', 'unmanaged', 'missing'],
      description: 'managed: ours; unmanaged: found on the host, adopt to manage; missing: its domain vanished',
    },
    state: { ...toOpenApi(powerState), description: 'libvirt power state as last reported' },
    reason: { type: 'string', nullable: true },
    persistent: { type: 'boolean' },
    autostart: { type: 'boolean' },
    vcpus: { type: 'integer' },
    maxVcpus: { type: 'integer' },
    memoryMiB: { type: 'integer' },
    maxMemoryMiB: { type: 'integer' },
    virtType: { type: 'string', nullable: true },
    disks: { type: 'array', items: toOpenApi(domainDisk) },
    interfaces: { type: 'array', items: toOpenApi(domainInterface) },
    snapshots: { type: 'array', items: toOpenApi(domainSnapshot) },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    seenAt: { type: 'string', format: 'date-time', nullable: true },
    stateChangedAt: { type: 'string', format: 'date-time', nullable: true },
  },
};
