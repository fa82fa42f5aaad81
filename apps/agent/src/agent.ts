import { Worker, UnrecoverableError, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  hostQueueName,
  isJobType,
  jobCatalog,
  type HostFacts,
  type JobError,
  type JobType,
  type QueuedJobData,
} from '@virtfleet/contracts';
import type { CommandRunner } from '@virtfleet/exec';
import type { ApiClient } from './api-client';
import type { AgentConfig } from './config/agent.config';
import { DiskHandlers } from './handlers/disks';
import type { Handler, HandlerMap } from './handlers/handler';
import { refreshHostHandler } from './handlers/host';
import type { HostFactsCollector } from './host/host-facts';
import { JobContext } from './job-context';
import { toJobError } from './job-failure';
import { StorageRoot } from './storage/storage-root';

export interface AgentDeps {
  config: AgentConfig;
  runner: CommandRunner;
  api: ApiClient;
  facts: HostFactsCollector;
  log: Logger;
}

/** The host agent: consumes its own host queue only, runs handlers, reports back over the API. */
export class Agent {
  private worker: Worker<QueuedJobData> | undefined;
  private connection: Redis | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastFacts: HostFacts | undefined;
  private factsDirty = true;
  readonly handlers: HandlerMap;
  private readonly store: StorageRoot;

  constructor(private readonly deps: AgentDeps) {
    this.store = new StorageRoot(deps.config.storageRoot);
    const disks = new DiskHandlers(this.store);
    this.handlers = {
      'refresh-host': refreshHostHandler(deps.facts, (f) => this.setFacts(f)),
      'create-disk': disks.createDisk,
      'inspect-disk': disks.inspectDisk,
    };
  }

  async start(): Promise<void> {
    const { config, log } = this.deps;
    await this.store.ensure();
    this.setFacts(await this.deps.facts.collect((cmd, opts) => this.deps.runner.run(cmd, opts)));
    log.info({ virtType: this.lastFacts?.virtType, kvm: this.lastFacts?.kvm.probe }, 'host facts collected');
    await this.sendHeartbeat();
    this.heartbeatTimer = setInterval(() => void this.sendHeartbeat(), config.heartbeatIntervalMs);

    this.connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
    this.worker = new Worker<QueuedJobData>(hostQueueName(config.hostId), (job) => this.process(job), {
      connection: this.connection,
      concurrency: config.concurrency,
      autorun: false,
    });
    this.worker.on('error', (err) => log.error({ err: err.message }, 'worker error'));
    void this.worker.run();
    await this.worker.waitUntilReady();
    log.info({ queue: hostQueueName(config.hostId), concurrency: config.concurrency }, 'agent serving');
  }

  /** Stops taking jobs, lets running ones finish within the grace period, then closes. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    const worker = this.worker;
    if (worker) {
      const deadline = new Promise<'deadline'>((r) => setTimeout(() => r('deadline'), this.deps.config.shutdownGraceMs).unref());
      if ((await Promise.race([worker.close(), deadline])) === 'deadline') {
        this.deps.log.warn('shutdown grace passed with jobs still running; they will be redelivered');
        await worker.close(true);
      }
    }
    this.deps.api.close();
    this.connection?.disconnect();
  }

  private setFacts(facts: HostFacts): void {
    this.lastFacts = facts;
    this.factsDirty = true;
  }

  private async sendHeartbeat(): Promise<void> {
    try {
      await this.deps.api.heartbeat(this.factsDirty && this.lastFacts ? { facts: this.lastFacts } : {});
      this.factsDirty = false;
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'heartbeat failed');
    }
  }

  private async process(job: Job<QueuedJobData>): Promise<void> {
    const { api, log } = this.deps;
    const jobId = job.id;
    if (!jobId) throw new UnrecoverableError('job without id');
    const attempt = Math.max(1, job.attemptsStarted);
    const type = job.data.type;
    const fail = (error: JobError) => api.report({ kind: 'failed', jobId, attempt, error });

    if (!isJobType(type)) {
      await fail({ code: 'job_type_unknown', message: `this agent has no handler for job type ${JSON.stringify(type)}` });
      return;
    }
    const def = jobCatalog[type];
    const payload = def.payload.safeParse(job.data.payload);
    if (!payload.success) {
      await fail({ code: 'payload_invalid', message: payload.error.message });
      return;
    }
    const started = await api.report({ kind: 'started', jobId, attempt });
    if (started !== 'applied') {
      log.info({ jobId, attempt, outcome: started }, 'job not ours to run any more');
      return;
    }

    const timeout = AbortSignal.timeout(def.timeoutMs);
    const ctx = new JobContext(jobId, attempt, timeout, this.deps.runner, api);
    const t0 = Date.now();
    let outcome;
    try {
      const result = await runHandler(this.handlers, type, payload.data, ctx);
      outcome = await api.report({ kind: 'succeeded', jobId, attempt, result: def.result.parse(result) });
    } catch (err) {
      const error = timeout.aborted
        ? { ...toJobError(err), code: 'timed_out', message: `job exceeded its ${def.timeoutMs / 1000}s limit: ${(err as Error).message}` }
        : toJobError(err);
      outcome = await fail(error);
    }
    log.info({ jobId, type, attempt, ms: Date.now() - t0, outcome }, 'job done');
  }
}

function runHandler<T extends JobType>(handlers: HandlerMap, type: T, payload: unknown, ctx: JobContext) {
  // payload was parsed with jobCatalog[type].payload just before
  const handler = handlers[type] as Handler<T>;
  return handler(payload as Parameters<Handler<T>>[0], ctx);
}
