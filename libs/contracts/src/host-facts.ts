import { z } from 'zod';

export const virtType = z.enum(['kvm', 'qemu']);
export type VirtType = z.infer<typeof virtType>;

/** What an agent knows about its host. Sent with heartbeats and as the result of refresh-host. */
export const hostFacts = z.object({
  hostname: z.string(),
  kernel: z.string(),
  arch: z.string(),
  cpu: z.object({
    model: z.string(),
    count: z.number().int(),
    vmx: z.boolean(),
    svm: z.boolean(),
  }),
  memory: z.object({ totalBytes: z.number(), availableBytes: z.number() }),
  kvm: z.object({
    /** /dev/kvm exists */
    device: z.boolean(),
    /** a Linux kernel really booted under KVM in the probe */
    usable: z.boolean(),
    probe: z.string(),
  }),
  /** What guests run with: kvm where usable, qemu (TCG) otherwise. */
  virtType,
  libvirt: z.object({
    uri: z.string(),
    reachable: z.boolean(),
    error: z.string().optional(),
  }),
  versions: z.object({
    libvirt: z.string().optional(),
    qemu: z.string().optional(),
    virtInstall: z.string().optional(),
    qemuImg: z.string().optional(),
    agent: z.string(),
  }),
  storage: z.object({
    root: z.string(),
    totalBytes: z.number(),
    freeBytes: z.number(),
    /** Install media (ISOs, kernels) and serial-console logs: with the root, the only folders a VM's files may live in. */
    isoRoot: z.string().optional(),
    consoleLogDir: z.string().optional(),
  }),
  /** IPv4 forwarding (net.ipv4.ip_forward): NAT networks need it; starting one turns it on. */
  ipForwarding: z.boolean().optional(),
  /**
   * The job types this host's agent runs (its version is versions.agent). The API sends a host
   * only these; a job of another type waits, saying why, until the agent is upgraded. Absent from
   * agents older than 0.2.0, which are sent every type.
   */
  jobTypes: z.array(z.string().max(64)).max(512).optional(),
  /** How many jobs of each concurrency group (defineJob's concurrency) this host runs at once. */
  concurrency: z.object({ clone: z.number().int().min(1).max(64) }).partial().optional(),
  collectedAt: z.string(),
});
export type HostFacts = z.infer<typeof hostFacts>;

/** One check of `virtfleet-agent doctor`: what was found and, when it is not a pass, a one-line fix. */
export const doctorCheck = z.object({
  id: z.string(),
  status: z.enum(['pass', 'warn', 'fail']),
  message: z.string(),
  fix: z.string().optional(),
});
export type DoctorCheck = z.infer<typeof doctorCheck>;

export const doctorReport = z.object({ checks: z.array(doctorCheck), ranAt: z.string() });
export type DoctorReport = z.infer<typeof doctorReport>;
