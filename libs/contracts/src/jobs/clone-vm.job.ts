import { z } from 'zod';
import { defineJob } from '../define-job';
import { safeName } from '../names';
import { labelMap } from './create-vm.job';
import { macAddress, vmLockKey, vmRef, vmResult } from './vm-common';

// The operation guide's virt-clone, as a fleet job. The agent copies each disk itself (qemu-img
// convert, with progress) and defines the clone from the source's XML with a new name, UUID,
// MACs, disk files and serial log; the source's own files are only read.

/** A guest disk's device name (vda, sdb, hdc …), as <target dev> has it. */
export const diskTarget = z.string().regex(/^[a-z]{2,3}[a-z]{1,3}$/, 'must be a disk target such as vda or sdb');

/** The clone's options, without the rules that tie fields together (the API's request extends them). */
export const cloneVmFields = z
  .object({
    source: vmRef,
    name: safeName,
    /** The clone's libvirt UUID (virt-clone --uuid); the API fills one in so a redelivered job finds its clone. */
    uuid: z.uuid().optional(),
    /**
     * The clone's own disk (a name in the store root) for each source disk that is copied. The
     * API fills in every writable disk; a read-only or shareable disk (an install ISO) is shared
     * unless listed here (virt-clone --force-copy).
     */
    disks: z.array(z.object({ target: diskTarget, name: safeName }).strict()).max(16).default([]),
    /** One per interface, in the source's order (virt-clone --mac); missing ones are generated. */
    macs: z.array(macAddress).max(16).default([]),
    /** false: every block is written (virt-clone --nonsparse). */
    sparse: z.boolean().default(true),
    /** A running source is shut down gracefully first, and started again afterwards. */
    shutdownSource: z.boolean().default(false),
    shutdownTimeoutSeconds: z.number().int().min(1).max(3600).default(120),
    /** Start the clone when it is defined; guest-ready: wait for readyMarker on its serial console. */
    start: z.boolean().default(false),
    waitFor: z.enum(['defined', 'running', 'guest-ready']).default('defined'),
    readyMarker: z.string().min(1).max(200).default('login:'),
    readyTimeoutSeconds: z.number().int().min(1).max(3600).default(300),
    labels: labelMap.default({}),
  })
  .strict();

export const cloneVmPayload = cloneVmFields
  .refine((p) => new Set(p.disks.map((d) => d.target)).size === p.disks.length, { message: 'a disk target is listed twice', path: ['disks'] })
  .refine((p) => new Set(p.disks.map((d) => d.name)).size === p.disks.length, { message: 'disk names must differ', path: ['disks'] })
  .refine((p) => new Set(p.macs).size === p.macs.length, { message: 'a MAC is listed twice', path: ['macs'] })
  .refine((p) => p.name !== p.source.name, { message: 'the clone needs a name of its own', path: ['name'] })
  .refine((p) => p.waitFor === 'defined' || p.start, { message: 'waitFor running or guest-ready needs start: true', path: ['waitFor'] });
export type CloneVmPayload = z.output<typeof cloneVmPayload>;

export const clonedDisk = z.object({
  target: z.string(),
  name: z.string(),
  path: z.string(),
  format: z.string(),
  /** The source's file it was copied from (absent when a redelivered job found the clone made). */
  from: z.string().optional(),
});

export const cloneVmJob = defineJob({
  name: 'clone-vm',
  summary: 'Clone a shut-off VM (virt-clone): its disks copied into the store root with progress, new name, UUID, MACs and serial log.',
  payload: cloneVmPayload,
  result: vmResult.extend({
    /** false: an earlier attempt (or request) had made the clone already. */
    created: z.boolean(),
    disks: z.array(clonedDisk),
    /** Disks the clone shares with its source (read-only or shareable ones: install media). */
    shared: z.array(z.string()),
    /** shutdownSource: whether the source was shut down for the copy and started again. */
    sourceRestarted: z.boolean(),
    warnings: z.array(z.string()),
    ready: z.object({ afterMs: z.number(), sign: z.string() }).optional(),
  }),
  // A large disk copy; the default per-host clone concurrency keeps a host's disks from thrashing.
  timeoutMs: 6 * 3_600_000,
  attempts: 3,
  // The clone's lock, or the source's when the job powers the source off and on. Otherwise the
  // source is only read, and QEMU's image locks protect it: starting it during the copy fails.
  lockKey: (p) => vmLockKey(p.shutdownSource ? p.source.name : p.name),
  concurrency: 'clone',
});
