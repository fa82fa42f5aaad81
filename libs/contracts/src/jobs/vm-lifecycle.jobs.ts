import { z } from 'zod';
import { defineJob } from '../define-job';
import { vmLockKey, vmRef, vmResult } from './vm-common';

// Power and lifecycle actions on one VM (the operation guide's virsh section), one job type each.

const lockKey = (p: { vm: { name: string } }) => vmLockKey(p.vm.name);
const onVm = z.object({ vm: vmRef }).strict();

export const startVmJob = defineJob({
  name: 'start-vm',
  summary: 'Start a shut-off VM (virsh start); a running one is left as it is.',
  payload: onVm,
  result: vmResult,
  timeoutMs: 120_000,
  attempts: 3,
  lockKey,
});

export const shutdownVmJob = defineJob({
  name: 'shutdown-vm',
  summary: 'Ask the guest to power off (ACPI, virsh shutdown) and wait; force falls back to destroy after the timeout.',
  payload: z
    .object({
      vm: vmRef,
      /** How long the guest gets to power off. */
      timeoutSeconds: z.number().int().min(1).max(3600).default(120),
      /** After the timeout, pull the plug (virsh destroy) instead of ending timed_out. */
      force: z.boolean().default(false),
    })
    .strict(),
  result: vmResult.extend({ forced: z.boolean() }),
  timeoutMs: 3_660_000,
  attempts: 2,
  lockKey,
});

export const destroyVmJob = defineJob({
  name: 'destroy-vm',
  summary: 'Stop a VM at once, like pulling the plug (virsh destroy); a shut-off one is left as it is.',
  payload: onVm,
  result: vmResult,
  timeoutMs: 120_000,
  attempts: 3,
  lockKey,
});

export const rebootVmJob = defineJob({
  name: 'reboot-vm',
  summary: 'Ask the guest to reboot (virsh reboot).',
  payload: onVm,
  result: vmResult,
  timeoutMs: 120_000,
  attempts: 2,
  lockKey,
});

export const suspendVmJob = defineJob({
  name: 'suspend-vm',
  summary: 'Pause a running VM in memory (virsh suspend).',
  payload: onVm,
  result: vmResult,
  timeoutMs: 60_000,
  attempts: 3,
  lockKey,
});

export const resumeVmJob = defineJob({
  name: 'resume-vm',
  summary: 'Resume a paused VM (virsh resume).',
  payload: onVm,
  result: vmResult,
  timeoutMs: 60_000,
  attempts: 3,
  lockKey,
});

export const setAutostartJob = defineJob({
  name: 'set-autostart',
  summary: 'Start the VM when the host boots, or not (virsh autostart [--disable]).',
  payload: z.object({ vm: vmRef, enabled: z.boolean() }).strict(),
  result: vmResult,
  timeoutMs: 60_000,
  attempts: 3,
  lockKey,
});

/** Which part of a change applies now and which at the next boot. */
export const appliedChange = z.object({
  what: z.string(),
  value: z.number(),
  when: z.enum(['now', 'next-boot', 'now-and-next-boot']),
});
export type AppliedChange = z.infer<typeof appliedChange>;

export const setVcpusJob = defineJob({
  name: 'set-vcpus',
  summary: 'Change the vCPU count and its maximum (virsh setvcpus [--maximum] --config, and --live where it can).',
  payload: z
    .object({ vm: vmRef, vcpus: z.number().int().min(1).max(512).optional(), maxVcpus: z.number().int().min(1).max(512).optional() })
    .strict()
    .refine((p) => p.vcpus !== undefined || p.maxVcpus !== undefined, { message: 'give vcpus, maxVcpus or both', path: ['vcpus'] })
    .refine((p) => p.vcpus === undefined || p.maxVcpus === undefined || p.vcpus <= p.maxVcpus, {
      message: 'vcpus may not exceed maxVcpus',
      path: ['vcpus'],
    }),
  result: vmResult.extend({ applied: z.array(appliedChange) }),
  timeoutMs: 120_000,
  attempts: 3,
  lockKey,
});

export const setMemoryJob = defineJob({
  name: 'set-memory',
  summary: 'Change the memory and its maximum (virsh setmaxmem --config, setmem --config, and --live where it can).',
  payload: z
    .object({
      vm: vmRef,
      memoryMiB: z.number().int().min(16).max(4 * 1024 * 1024).optional(),
      maxMemoryMiB: z.number().int().min(16).max(4 * 1024 * 1024).optional(),
    })
    .strict()
    .refine((p) => p.memoryMiB !== undefined || p.maxMemoryMiB !== undefined, {
      message: 'give memoryMiB, maxMemoryMiB or both',
      path: ['memoryMiB'],
    })
    .refine((p) => p.memoryMiB === undefined || p.maxMemoryMiB === undefined || p.memoryMiB <= p.maxMemoryMiB, {
      message: 'memoryMiB may not exceed maxMemoryMiB',
      path: ['memoryMiB'],
    }),
  result: vmResult.extend({ applied: z.array(appliedChange) }),
  timeoutMs: 120_000,
  attempts: 3,
  lockKey,
});

export const defineVmJob = defineJob({
  name: 'define-vm',
  summary: 'Define (or redefine) a VM from domain XML that passes the allowlist (virsh define).',
  payload: z
    .object({
      /** Domain XML; checked against DESIGN.md's allowlist at the API and again on the host. */
      xml: z.string().min(20).max(1_000_000),
      /** Name and UUID as the XML gives them (filled in by the API). */
      name: z.string().min(1).max(255),
      uuid: z.guid(),
    })
    .strict(),
  result: vmResult,
  timeoutMs: 60_000,
  attempts: 3,
  lockKey: (p) => vmLockKey(p.name),
});

export const undefineVmJob = defineJob({
  name: 'undefine-vm',
  summary: 'Remove a VM (virsh undefine), stopping it first; optionally delete its disks inside our storage roots.',
  payload: z
    .object({
      vm: vmRef,
      removeStorage: z.boolean().default(false),
      /** A VM with snapshots is only removed when this is set (their metadata goes with it). */
      deleteSnapshots: z.boolean().default(false),
    })
    .strict(),
  result: z.object({
    undefined: z.boolean(),
    /** Disk files deleted (only inside our storage roots). */
    deleted: z.array(z.string()),
    /** Disk files left where they are (outside our roots, or removeStorage was false). */
    kept: z.array(z.string()),
  }),
  timeoutMs: 300_000,
  attempts: 3,
  lockKey,
});
