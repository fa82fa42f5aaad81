import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker, UnrecoverableError, type Job } from 'bullmq';
import { connectRedis, type RedisConnection } from '@virtfleet/redis';
import type { Logger } from 'pino';
import {
  cancelChannel,
  hostQueueName,
  isJobType,
  jobCatalog,
  type DoctorReport,
  type HostFacts,
  type JobError,
  type JobType,
  type QueuedJobData,
} from '@virtfleet/contracts';
import type { CommandRunner } from '@virtfleet/exec';
import { ensureDirPoolCommands, virtInstallOsinfoList, type HostInventory } from '@virtfleet/libvirt';
import type { ApiClient } from './api-client';
import type { AgentConfig } from './config/agent.config';
import { DiskHandlers } from './handlers/disks';
import { VmHandlers } from './handlers/vms';
import { SnapshotHandlers } from './handlers/snapshots';
import { CloneHandler } from './handlers/clone';
import { NetworkHandlers } from './handlers/networks';
import { GuestFileHandlers, libvirtGuestDomains } from './handlers/guest-files';
import { InventoryReporter } from './inventory/inventory-reporter';
import { ConsoleRelay } from './console-relay';
import type { Handler, HandlerMap } from './handlers/handler';
import { refreshHostHandler } from './handlers/host';
import { noopHandler, sleepHandler } from './handlers/diagnostic';
import { doctorChecks, doctorReportOf, gatherDoctorInput } from './host/doctor';
import type { HostFactsCollector } from './host/host-facts';
import { JobContext } from './job-context';
import { toJobError } from './job-failure';
import { imageGuard } from './storage/guard';
import { StorageScanner } from './storage/storage-scan';
import { StorageRoot } from './storage/storage-root';

export interface AgentDeps {
  config: AgentConfig;
  runner: CommandRunner;
  api: ApiClient;
  facts: Pick<HostFactsCollector, 'collect'>;
  log: Logger;
  /**
   * A simulated host (`virtfleet-agent simulate`, for the fleet benchmark): everything else is
   * the real agent (heartbeats, reports, its queue), but the doctor's report and the inventory
   * are given, not read off the machine.
   */
  simulated?: { doctor: DoctorReport; inventory: () => HostInventory };
}

/** The host agent: consumes its own host queue only, runs handlers, reports back over the API. */
export class Agent {
  private worker: Worker<QueuedJobData> | undefined;
  private connection: RedisConnection | undefined;
  private subscriber: RedisConnection | undefined;
  /** Running jobs of this process, to cancel on request. */
  /** Jobs running here: their cancel switch and their logger (jobId, hostId, requestId). */
  private readonly running = new Map<string, { ctl: AbortController; log: Logger }>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastFacts: HostFacts | undefined;
  private lastDoctor: DoctorReport | undefined;
  private factsDirty = true;
  readonly handlers: HandlerMap;
  private readonly store: StorageRoot;
  private readonly iso: StorageRoot;
  readonly inventory: InventoryReporter;
  private readonly consoles: ConsoleRelay;
  private osVariants: Promise<ReadonlySet<string>> | undefined;

  constructor(private readonly deps: AgentDeps) {
    this.store = new StorageRoot(deps.config.storageRoot);
    this.iso = new StorageRoot(deps.config.isoRoot);
    const maxImageBytes = deps.config.maxImageSizeGiB * 1024 ** 3;
    const guard = imageGuard(() => [this.store.root], maxImageBytes);
    const disks = new DiskHandlers({
      store: this.store,
      uri: deps.config.libvirtUri,
      guard,
      maxImageBytes,
      storeDisks: async () => (await scanner.scan()).disks,
    });
    const scanner = new StorageScanner({
      storeRoot: deps.config.storageRoot,
      isoRoot: deps.config.isoRoot,
      runner: deps.runner,
      maxImageBytes: deps.config.maxImageSizeGiB * 1024 ** 3,
    });
    this.inventory = new InventoryReporter({
      runner: deps.runner,
      uri: deps.config.libvirtUri,
      sink: deps.api,
      log: deps.log,
      intervalMs: deps.config.inventoryIntervalMs,
      storage: () => scanner.scan(),
      ...(deps.simulated ? { simulated: deps.simulated.inventory } : {}),
      // libvirt's system driver keeps its dnsmasq lease files here.
      ...(deps.config.libvirtUri === 'qemu:///system' ? { leaseDir: '/var/lib/libvirt/dnsmasq' } : {}),
    });
    this.consoles = new ConsoleRelay({
      hostId: deps.config.hostId,
      redisUrl: deps.config.redisUrl,
      uri: deps.config.libvirtUri,
      runner: deps.runner,
      log: deps.log,
    });
    const vms = new VmHandlers({
      uri: deps.config.libvirtUri,
      store: this.store,
      iso: this.iso,
      consoleLogDir: deps.config.consoleLogDir,
      // libvirt's test driver refuses --virt-type; real hosts use what the KVM probe found.
      virtType: () => (deps.config.libvirtUri.startsWith('test:') ? undefined : this.lastFacts?.virtType),
      knownOsVariants: (ctx) => (this.osVariants ??= loadOsVariants(ctx)),
      guard,
      publishDomain: (domain, takenAt) => this.inventory.domainRead(domain, takenAt),
    });
    const clones = new CloneHandler({
      uri: deps.config.libvirtUri,
      store: this.store,
      vms,
      publishDomain: (domain, takenAt) => this.inventory.domainRead(domain, takenAt),
    });
    const networks = new NetworkHandlers({
      uri: deps.config.libvirtUri,
      workDir: join(deps.config.storageRoot, '.define'),
      vms,
      publishDomain: (domain, takenAt) => this.inventory.domainRead(domain, takenAt),
      publishNetworks: () => this.inventory.full(),
    });
    const snapshots = new SnapshotHandlers({
      uri: deps.config.libvirtUri,
      publishDomain: (domain, takenAt) => this.inventory.domainRead(domain, takenAt),
    });
    const guestFiles = new GuestFileHandlers({
      store: this.store,
      // force_tcg unless the KVM probe found usable KVM (undefined, e.g. on the test driver, means TCG).
      virtType: () => this.lastFacts?.virtType,
      domains: libvirtGuestDomains(deps.config.libvirtUri),
      checkImage: guard,
    });
    this.handlers = {
      'refresh-host': refreshHostHandler(deps.facts, (f) => void this.setFacts(f)),
      'create-disk': disks.createDisk,
      'inspect-disk': disks.inspectDisk,
      'convert-disk': disks.convertDisk,
      'resize-disk': disks.resizeDisk,
      'delete-disk': disks.deleteDisk,
      'create-vm': vms.createVm,
      'define-vm': vms.defineVm,
      'start-vm': vms.startVm,
      'shutdown-vm': vms.shutdownVm,
      'destroy-vm': vms.destroyVm,
      'reboot-vm': vms.rebootVm,
      'suspend-vm': vms.suspendVm,
      'resume-vm': vms.resumeVm,
      'set-autostart': vms.setAutostart,
      'set-vcpus': vms.setVcpus,
      'set-memory': vms.setMemory,
      'undefine-vm': vms.undefineVm,
      'clone-vm': clones.cloneVm,
      'attach-interface': networks.attachInterface,
      'detach-interface': networks.detachInterface,
      'define-network': networks.defineNetwork,
      'start-network': networks.startNetwork,
      'stop-network': networks.stopNetwork,
      'set-network-autostart': networks.setNetworkAutostart,
      'undefine-network': networks.undefineNetwork,
      'create-snapshot': snapshots.createSnapshot,
      'revert-snapshot': snapshots.revertSnapshot,
      'delete-snapshot': snapshots.deleteSnapshot,
      'read-guest-file': guestFiles.readGuestFile,
      'write-guest-file': guestFiles.writeGuestFile,
      'guest-disk-usage': guestFiles.guestDiskUsage,
      'list-guest-filesystems': guestFiles.listGuestFilesystems,
      sleep: sleepHandler,
      noop: noopHandler,
    };
  }

  async start(): Promise<void> {
    const { config, log } = this.deps;
    await this.store.ensure();
    await this.iso.ensure();
    await this.ensurePools();
    await this.setFacts(await this.deps.facts.collect((cmd, opts) => this.deps.runner.run(cmd, opts)));
    log.info({ virtType: this.lastFacts?.virtType, kvm: this.lastFacts?.kvm.probe }, 'host facts collected');
    for (const c of this.lastDoctor?.checks ?? []) if (c.status !== 'pass') log.warn({ check: c.id, fix: c.fix }, c.message);
    await this.sendHeartbeat();
    this.inventory.start();
    this.heartbeatTimer = setInterval(() => void this.sendHeartbeat(), config.heartbeatIntervalMs);

    this.connection = connectRedis(config.redisUrl, { maxRetriesPerRequest: null });
    // Cancels arrive at once over pub/sub; the heartbeat answer repeats them in case one was missed.
    this.subscriber = connectRedis(config.redisUrl, { maxRetriesPerRequest: null });
    this.subscriber.on('message', (_channel: string, jobId: string) => this.cancel(jobId));
    this.subscriber.on('error', (err: Error) => log.warn({ err: err.message }, 'cancel channel error'));
    await this.subscriber.subscribe(cancelChannel(config.hostId));
    await this.consoles.start();
    this.worker = new Worker<QueuedJobData>(hostQueueName(config.hostId), (job) => this.process(job), {
      connection: this.connection,
      concurrency: config.concurrency,
      lockDuration: config.lockDurationMs,
      stalledInterval: config.stalledIntervalMs,
      maxStalledCount: config.maxStalledCount,
      autorun: false,
    });
    this.worker.on('error', (err) => log.error({ err: err.message }, 'worker error'));
    void this.worker.run();
    await this.worker.waitUntilReady();
    log.info({ queue: hostQueueName(config.hostId), concurrency: config.concurrency }, 'agent serving');
  }

  /** Our roots as libvirt pools (already there, or one covering the folder exists: fine either way). */
  private async ensurePools(): Promise<void> {
    const { config, runner, log } = this.deps;
    if (config.libvirtUri.startsWith('test:')) return;
    for (const [role, dir] of [['store', config.storageRoot], ['iso', config.isoRoot]] as const) {
      for (const cmd of ensureDirPoolCommands(config.libvirtUri, rootPoolName(role, dir), dir)) {
        const res = await runner.run(cmd);
        if (res.exitCode !== 0 && !/already exists|already active|conflict|Requested operation is not valid|failed to get pool|Storage pool not found/i.test(res.stderr)) {
          log.warn({ argv: res.argv, stderr: res.stderr.trim() }, 'could not set up a storage pool for a root');
        }
      }
    }
  }

  /** Stops taking jobs, lets running ones finish within the grace period, then closes. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    await this.inventory.stop();
    const worker = this.worker;
    if (worker) {
      const deadline = new Promise<'deadline'>((r) => setTimeout(() => r('deadline'), this.deps.config.shutdownGraceMs).unref());
      if ((await Promise.race([worker.close(), deadline])) === 'deadline') {
        this.deps.log.warn('shutdown grace passed with jobs still running; they will be redelivered');
        await worker.close(true);
      }
    }
    this.deps.api.close();
    await this.consoles.stop();
    this.subscriber?.disconnect();
    this.connection?.disconnect();
  }

  /** Kills a running job's commands; the job then ends `cancelled` (its handler cleans up). */
  cancel(jobId: string): void {
    const run = this.running.get(jobId);
    if (run && !run.ctl.signal.aborted) {
      run.log.info('cancel requested');
      run.ctl.abort(new Error('cancelled on request'));
    }
  }

  /** New facts (with the job types this agent runs), and the doctor's report on them; both go out with the next heartbeat. */
  private async setFacts(facts: HostFacts): Promise<void> {
    this.lastFacts = { ...facts, jobTypes: Object.keys(this.handlers) };
    this.lastDoctor = this.deps.simulated?.doctor ?? doctorReportOf(doctorChecks(await gatherDoctorInput(facts, (cmd, opts) => this.deps.runner.run(cmd, opts))));
    this.factsDirty = true;
  }

  private async noteIpForwarding(): Promise<void> {
    const text = await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8').catch(() => undefined);
    if (text === undefined || !this.lastFacts) return;
    const on = text.trim() === '1';
    if (this.lastFacts.ipForwarding === on) return;
    this.lastFacts = { ...this.lastFacts, ipForwarding: on };
    this.factsDirty = true;
    await this.sendHeartbeat();
  }

  private async sendHeartbeat(): Promise<void> {
    try {
      const fresh = this.factsDirty && this.lastFacts ? { facts: this.lastFacts, ...(this.lastDoctor ? { doctor: this.lastDoctor } : {}) } : {};
      const answer = await this.deps.api.heartbeat(fresh);
      this.factsDirty = false;
      answer.cancel.forEach((id) => this.cancel(id));
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'heartbeat failed');
    }
  }

  /**
   * Runs one delivery of a job (BullMQ's processor). Public for tests. Every line it logs, and
   * its handler's (JobContext.log), carries jobId, hostId and the submitting request's requestId.
   */
  async process(job: Pick<Job<QueuedJobData>, 'id' | 'data' | 'attemptsMade' | 'opts'>): Promise<void> {
    const jobId = job.id;
    if (!jobId) throw new UnrecoverableError('job without id');
    const requestId = job.data.requestId;
    const log = this.deps.log.child({ jobId, hostId: this.deps.config.hostId, ...(requestId ? { requestId } : {}) });
    try {
      await this.deliver(job, jobId, log);
    } catch (err) {
      // A retry was logged where it was decided; anything else (a report the API refused) is logged here.
      if (!(err instanceof RetryLater)) log.error({ err: (err as Error).message }, 'delivery failed');
      throw err;
    }
  }

  private async deliver(job: Pick<Job<QueuedJobData>, 'data' | 'attemptsMade' | 'opts'>, jobId: string, log: Logger): Promise<void> {
    const { api } = this.deps;
    const type = job.data.type;

    // Claim the job first: the API answers the attempt this delivery runs as, or tells us the
    // job is not ours to run any more (cancelled, finished, or another host's). The delivery id
    // makes the claim safe to repeat: the API client resends it when an answer is lost.
    const claim = await api.report({ kind: 'started', jobId, delivery: randomUUID() });
    if (claim.outcome !== 'applied' || !claim.attempt) {
      log.info({ outcome: claim.outcome }, 'job not ours to run any more');
      return;
    }
    const attempt = claim.attempt;
    const fail = async (error: JobError) => (await api.report({ kind: 'failed', jobId, attempt, error })).outcome;
    const refuse = async (error: JobError) => log.warn({ type, attempt, code: error.code, err: error.message, outcome: await fail(error) }, 'job failed before it ran');

    if (!isJobType(type)) {
      await refuse({ code: 'job_type_unknown', message: `this agent has no handler for job type ${JSON.stringify(type)}` });
      return;
    }
    const def = jobCatalog[type];
    const payload = def.payload.safeParse(job.data.payload);
    if (!payload.success) {
      await refuse({ code: 'payload_invalid', message: payload.error.message });
      return;
    }

    const limitMs = Math.min(def.timeoutMs, job.data.timeoutMs ?? Infinity);
    const timeout = AbortSignal.timeout(limitMs);
    const cancel = new AbortController();
    this.running.set(jobId, { ctl: cancel, log });
    const ctx = new JobContext(jobId, attempt, AbortSignal.any([timeout, cancel.signal]), this.deps.runner, api, log);
    log.info({ type, attempt }, 'job started');
    const t0 = Date.now();
    let outcome;
    try {
      const result = await runHandler(this.handlers, type, payload.data, ctx);
      outcome = (await api.report({ kind: 'succeeded', jobId, attempt, result: def.result.parse(result) })).outcome;
      // Jobs that make or remove files in the roots: the disk list follows at once, not in a minute.
      if (CHANGES_STORAGE.has(type)) void this.inventory.storage();
      // Starting a NAT network turns IPv4 forwarding on: the host's facts say so at once.
      if (type === 'define-network' || type === 'start-network') void this.noteIpForwarding();
    } catch (err) {
      const why = (err as Error).message;
      const error = cancel.signal.aborted
        ? { ...toJobError(err), code: 'cancelled', message: `cancelled on request: ${why}` }
        : timeout.aborted
          ? { ...toJobError(err), code: 'timed_out', message: `job exceeded its ${limitMs / 1000}s limit: ${why}` }
          : toJobError(err);
      const deliveries = job.opts.attempts ?? 1;
      if (error.retryable && job.attemptsMade + 1 < deliveries) {
        // Not now rather than never: back to the queue; BullMQ delivers it again after the backoff.
        const delayMs = retryDelay(job.opts.backoff, job.attemptsMade + 1);
        await api.report({ kind: 'retrying', jobId, attempt, error, delayMs });
        log.warn({ type, attempt, delayMs, err: error.message }, 'transient failure, retrying');
        throw new RetryLater(`retrying: ${error.message}`);
      }
      outcome = await fail(error);
    } finally {
      this.running.delete(jobId);
    }
    log.info({ type, attempt, ms: Date.now() - t0, outcome }, 'job done');
  }
}

/** A delivery handed back to BullMQ for a later one (a transient failure, reported as retrying). */
class RetryLater extends Error {}

/** One pool per root folder: virtfleet-store-1a2b3c4d (the hash tells roots apart when agents share a libvirtd). */
export function rootPoolName(role: string, dir: string): string {
  return `virtfleet-${role}-${createHash('sha256').update(dir).digest('hex').slice(0, 8)}`;
}

const CHANGES_STORAGE: ReadonlySet<JobType> = new Set<JobType>(['create-disk', 'convert-disk', 'resize-disk', 'delete-disk', 'create-vm', 'clone-vm', 'undefine-vm']);

/** The osinfo short ids (and aliases) this host's virt-install knows; empty when it cannot tell. */
async function loadOsVariants(ctx: JobContext): Promise<ReadonlySet<string>> {
  const res = await ctx.run(virtInstallOsinfoList(), { allowFailure: true });
  return new Set(res.exitCode === 0 ? res.stdout.split('\n').flatMap((l) => l.split(',').map((x) => x.trim()).filter(Boolean)) : []);
}

/** BullMQ's exponential backoff, as the API sets it on every job: delay · 2^(n-1). */
function retryDelay(backoff: Job['opts']['backoff'], attemptsMade: number): number {
  const delay = typeof backoff === 'number' ? backoff : (backoff?.delay ?? 0);
  return typeof backoff === 'object' && backoff.type === 'exponential' ? delay * 2 ** (attemptsMade - 1) : delay;
}

function runHandler<T extends JobType>(handlers: HandlerMap, type: T, payload: unknown, ctx: JobContext) {
  // payload was parsed with jobCatalog[type].payload just before
  const handler = handlers[type] as Handler<T>;
  return handler(payload as Parameters<Handler<T>>[0], ctx);
}
