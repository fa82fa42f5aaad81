import { z } from 'zod';
import { redisUrlField, withoutCredentials } from '@virtfleet/redis';

// The API's configuration, parsed once at boot from the environment; nothing else reads process.env.
const schema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL'),
  /** redis://, rediss://, redis-sentinel://h1:p1,h2:p2/<master> or redis-cluster://h1:p1,h2:p2 (libs/redis). */
  REDIS_URL: redisUrlField,
  /** The Redis address agents are told to use (default: REDIS_URL's host and port, without its credentials). */
  VIRTFLEET_AGENT_REDIS_URL: redisUrlField.optional(),
  /** How long a join token lives unless the request says otherwise. */
  VIRTFLEET_JOIN_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).default(3_600),
  VIRTFLEET_API_HOST: z.string().default('127.0.0.1'),
  VIRTFLEET_API_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** File holding the bootstrap admin token (written by `npm run up`); its hash is upserted at boot. */
  VIRTFLEET_ADMIN_TOKEN_FILE: z.string().optional(),
  /** A host that misses this many heartbeat intervals is offline. */
  VIRTFLEET_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  VIRTFLEET_MISSED_HEARTBEATS: z.coerce.number().int().min(1).default(3),
  /** How often the dispatcher sweeps the outbox for pending jobs (the fast path enqueues at once). */
  VIRTFLEET_DISPATCH_INTERVAL_MS: z.coerce.number().int().min(50).default(1_000),
  /** How often the reconciler looks for queued/running jobs Redis lost, and how old they must be. */
  VIRTFLEET_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(50).default(15_000),
  VIRTFLEET_RECONCILE_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  /** Webhook sender: how often it looks for due deliveries, first retry delay (doubles), attempts. */
  VIRTFLEET_WEBHOOK_INTERVAL_MS: z.coerce.number().int().min(50).default(1_000),
  VIRTFLEET_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(10).default(1_000),
  VIRTFLEET_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(12),
  /** Accept diagnostic job types (sleep) meant for test fleets. */
  VIRTFLEET_TEST_JOBS: z.enum(['0', '1', 'false', 'true']).default('0'),
  /** Placement: vCPUs and memory a host may promise, as a multiple of what it has. */
  VIRTFLEET_CPU_OVERCOMMIT: z.coerce.number().min(0.1).max(64).default(4),
  VIRTFLEET_MEMORY_OVERCOMMIT: z.coerce.number().min(0.1).max(16).default(1),
  VIRTFLEET_MAX_WAIT_SECONDS: z.coerce.number().int().min(1).default(300),
  VIRTFLEET_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ApiEnv = z.infer<typeof schema>;

export interface ApiConfig {
  databaseUrl: string;
  redisUrl: string;
  agentRedisUrl: string;
  joinTokenTtlSeconds: number;
  host: string;
  port: number;
  adminTokenFile: string | undefined;
  heartbeatIntervalMs: number;
  offlineAfterMs: number;
  dispatchIntervalMs: number;
  reconcileIntervalMs: number;
  reconcileGraceMs: number;
  maxWaitSeconds: number;
  testJobs: boolean;
  overcommit: { cpu: number; memory: number };
  webhooks: { intervalMs: number; backoffMs: number; maxAttempts: number };
  logLevel: ApiEnv['VIRTFLEET_LOG_LEVEL'];
}

export class ApiConfigError extends Error {}

export function loadApiConfig(env: NodeJS.ProcessEnv): ApiConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ApiConfigError(`invalid API configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    agentRedisUrl: e.VIRTFLEET_AGENT_REDIS_URL ?? withoutCredentials(e.REDIS_URL),
    joinTokenTtlSeconds: e.VIRTFLEET_JOIN_TOKEN_TTL_SECONDS,
    host: e.VIRTFLEET_API_HOST,
    port: e.VIRTFLEET_API_PORT,
    adminTokenFile: e.VIRTFLEET_ADMIN_TOKEN_FILE,
    heartbeatIntervalMs: e.VIRTFLEET_HEARTBEAT_INTERVAL_MS,
    offlineAfterMs: e.VIRTFLEET_HEARTBEAT_INTERVAL_MS * e.VIRTFLEET_MISSED_HEARTBEATS,
    dispatchIntervalMs: e.VIRTFLEET_DISPATCH_INTERVAL_MS,
    reconcileIntervalMs: e.VIRTFLEET_RECONCILE_INTERVAL_MS,
    reconcileGraceMs: e.VIRTFLEET_RECONCILE_GRACE_MS,
    maxWaitSeconds: e.VIRTFLEET_MAX_WAIT_SECONDS,
    webhooks: {
      intervalMs: e.VIRTFLEET_WEBHOOK_INTERVAL_MS,
      backoffMs: e.VIRTFLEET_WEBHOOK_BACKOFF_MS,
      maxAttempts: e.VIRTFLEET_WEBHOOK_MAX_ATTEMPTS,
    },
    overcommit: { cpu: e.VIRTFLEET_CPU_OVERCOMMIT, memory: e.VIRTFLEET_MEMORY_OVERCOMMIT },
    testJobs: e.VIRTFLEET_TEST_JOBS === '1' || e.VIRTFLEET_TEST_JOBS === 'true',
    logLevel: e.VIRTFLEET_LOG_LEVEL,
  };
}

/** Nest injection token for ApiConfig. */
export const API_CONFIG = Symbol('API_CONFIG');
