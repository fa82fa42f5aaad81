import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { redisUrlField } from '@virtfleet/redis';

// The agent's whole configuration, parsed once at boot. Nothing else reads process.env.
// Sources, later wins: the JSON config file (VIRTFLEET_AGENT_CONFIG), then environment variables.
const schema = z.object({
  apiUrl: z.url(),
  hostId: z.uuid(),
  agentToken: z.string().min(20),
  /** The host's own Redis user: redis://, rediss://, redis-sentinel:// or redis-cluster:// (libs/redis). */
  redisUrl: redisUrlField,
  libvirtUri: z.string().default('qemu:///system'),
  storageRoot: z.string().startsWith('/').default('/var/lib/virtfleet/store'),
  /** Install media (ISOs, kernels) create-vm may boot from: the operation guide's /kvm/iso. */
  isoRoot: z.string().startsWith('/').default('/var/lib/virtfleet/iso'),
  /** Where VM serial consoles are logged (virtlogd writes them). */
  consoleLogDir: z.string().startsWith('/').default('/var/lib/virtfleet/console'),
  /** Disk images above this virtual size are refused (created, resized, converted or read). */
  maxImageSizeGiB: z.coerce.number().int().min(1).max(1024 * 1024).default(64 * 1024),
  concurrency: z.coerce.number().int().min(1).max(256).default(4),
  /** Clones (whole-disk copies) this host runs at once; the API holds the rest back. */
  cloneConcurrency: z.coerce.number().int().min(1).max(64).default(2),
  heartbeatIntervalMs: z.coerce.number().int().min(100).default(10_000),
  /** A full inventory (domains, networks, pools) goes to the API this often; libvirt events in between. */
  inventoryIntervalMs: z.coerce.number().int().min(1000).default(60_000),
  /** Kernel the KVM probe boots; default: the newest /boot/vmlinuz-* */
  kvmProbeKernel: z.string().startsWith('/').optional(),
  kvmProbeTimeoutMs: z.coerce.number().int().min(1000).default(25_000),
  shutdownGraceMs: z.coerce.number().int().min(0).default(30_000),
  /** BullMQ lock: a job whose agent died returns to the queue about lockDuration + stalledInterval later. */
  lockDurationMs: z.coerce.number().int().min(500).default(30_000),
  stalledIntervalMs: z.coerce.number().int().min(500).default(30_000),
  /** Redeliveries after a crash before BullMQ gives up on a job (the API's reconciler still has it). */
  maxStalledCount: z.coerce.number().int().min(0).default(5),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});
export type AgentConfig = z.infer<typeof schema>;

const ENV_KEYS: Record<string, keyof AgentConfig> = {
  VIRTFLEET_API_URL: 'apiUrl',
  VIRTFLEET_HOST_ID: 'hostId',
  VIRTFLEET_AGENT_TOKEN: 'agentToken',
  REDIS_URL: 'redisUrl',
  LIBVIRT_DEFAULT_URI: 'libvirtUri',
  VIRTFLEET_STORAGE_ROOT: 'storageRoot',
  VIRTFLEET_ISO_ROOT: 'isoRoot',
  VIRTFLEET_MAX_IMAGE_SIZE_GIB: 'maxImageSizeGiB',
  VIRTFLEET_CONSOLE_LOG_DIR: 'consoleLogDir',
  VIRTFLEET_AGENT_CONCURRENCY: 'concurrency',
  VIRTFLEET_CLONE_CONCURRENCY: 'cloneConcurrency',
  VIRTFLEET_HEARTBEAT_INTERVAL_MS: 'heartbeatIntervalMs',
  VIRTFLEET_INVENTORY_INTERVAL_MS: 'inventoryIntervalMs',
  VIRTFLEET_KVM_PROBE_KERNEL: 'kvmProbeKernel',
  VIRTFLEET_KVM_PROBE_TIMEOUT_MS: 'kvmProbeTimeoutMs',
  VIRTFLEET_SHUTDOWN_GRACE_MS: 'shutdownGraceMs',
  VIRTFLEET_LOCK_DURATION_MS: 'lockDurationMs',
  VIRTFLEET_STALLED_INTERVAL_MS: 'stalledIntervalMs',
  VIRTFLEET_MAX_STALLED_COUNT: 'maxStalledCount',
  VIRTFLEET_LOG_LEVEL: 'logLevel',
};

export class ConfigError extends Error {}

export function loadAgentConfig(env: NodeJS.ProcessEnv): AgentConfig {
  return parseOrThrow(schema, sources(env), 'agent');
}

/** What `doctor` needs: works before the host is enrolled (no API URL or credentials yet). */
const hostSchema = schema.pick({ libvirtUri: true, storageRoot: true, kvmProbeKernel: true, kvmProbeTimeoutMs: true });
export type HostConfig = z.infer<typeof hostSchema>;
export function loadHostConfig(env: NodeJS.ProcessEnv): HostConfig {
  return parseOrThrow(hostSchema, sources(env), 'host');
}

function parseOrThrow<S extends z.ZodType>(s: S, raw: Record<string, unknown>, what: string): z.output<S> {
  const parsed = s.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid ${what} configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

function sources(env: NodeJS.ProcessEnv): Record<string, unknown> {
  let fromFile: Record<string, unknown> = {};
  const file = env['VIRTFLEET_AGENT_CONFIG'];
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`cannot read agent config ${file}: ${(e as Error).message}`);
    }
  }
  const fromEnv: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(ENV_KEYS)) if (env[key]) fromEnv[field] = env[key];
  return { ...fromFile, ...fromEnv };
}

/** The environment tools run with: the agent's own, as started. */
export function toolEnvironment(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return { ...env };
}
