import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { connectRedis, type RedisConnection } from '@virtfleet/redis';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { HostQueues } from '../queue/host-queues.service';
import type { JobView } from './job.view';

export type JobEvent =
  | { event: 'job.created' | 'job.updated' | 'job.finished'; job: JobView }
  | { event: 'job.progress'; job: Pick<JobView, 'id' | 'type' | 'hostId' | 'progress' | 'attempt'> };

/** An inventory change: a VM's state or status changed, or its row went away. */
export interface VmEvent {
  event: 'vm.updated' | 'vm.removed';
  vm: { id: string; hostId: string; uuid: string; name: string; status: string; state: string };
}

/**
 * The channel every API replica of one fleet publishes its events on and listens to:
 * `virtfleet:events:<fleet>`, the fleet being its database (host, port and name, not the
 * credentials), so two fleets sharing a Redis never see each other's events.
 */
export function eventsChannel(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  const fleet = createHash('sha256').update(`${u.hostname.toLowerCase()}:${u.port || '5432'}${u.pathname}`).digest('hex').slice(0, 16);
  return `virtfleet:events:${fleet}`;
}

type Wire = { kind: 'job'; e: JobEvent } | { kind: 'vm'; e: VmEvent };

/**
 * Job and VM changes: they feed GET /v1/events (SSE) and wake `?wait=` readers at once, whichever
 * replica the change happened on. Each replica hands its own events to its listeners and publishes
 * them on Redis (`virtfleet:events:<fleet>`); the others hand them on too. Listeners that act on a change
 * (the dispatcher sending the next job of a lock, metrics counting ends) subscribe to this
 * replica's own events only, so a change is acted on once. While Redis is unreachable another
 * replica's changes reach SSE late (a `?wait` reader re-reads the row every second anyway).
 */
@Injectable()
export class JobEvents implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('JobEvents');
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private readonly replica = randomUUID();
  private subscriber: RedisConnection | undefined;
  private readonly channel: string;

  constructor(
    private readonly queues: HostQueues,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {
    this.channel = eventsChannel(config.databaseUrl);
  }

  onApplicationBootstrap(): void {
    const sub = connectRedis(this.config.redisUrl, { maxRetriesPerRequest: null });
    sub.on('error', () => undefined); // reconnects and re-subscribes by itself
    sub.on('message', (_channel: string, text: string) => this.received(text));
    void sub.subscribe(this.channel).catch((err: Error) => this.log.warn(`not subscribed to other replicas' events yet: ${err.message}`));
    this.subscriber = sub;
  }

  onModuleDestroy(): void {
    this.subscriber?.disconnect();
  }

  publish(e: JobEvent): void {
    this.deliver(e, true);
    this.fanOut({ kind: 'job', e });
  }

  publishVm(e: VmEvent): void {
    this.emitter.emit('vm', e);
    this.fanOut({ kind: 'vm', e });
  }

  /** Every job event, this replica's and the others'. */
  subscribe(listener: (e: JobEvent) => void): () => void {
    this.emitter.on('job', listener);
    return () => this.emitter.off('job', listener);
  }

  /** Only the job events of changes made by this replica. */
  subscribeOwn(listener: (e: JobEvent) => void): () => void {
    this.emitter.on('own', listener);
    return () => this.emitter.off('own', listener);
  }

  subscribeVms(listener: (e: VmEvent) => void): () => void {
    this.emitter.on('vm', listener);
    return () => this.emitter.off('vm', listener);
  }

  /**
   * Listens for the job's end from now on: `ended` resolves when it is reported final (on any
   * replica), or after `ms`, whichever comes first. Listen before reading the row, or an end that
   * lands between the read and the listening is missed (the reader would sleep the full `ms`).
   */
  watchFinished(jobId: string, ms: number): { ended: Promise<void>; stop(): void } {
    let stop = () => undefined as void;
    const ended = new Promise<void>((resolve) => {
      stop = () => {
        clearTimeout(timer);
        this.emitter.off(jobId, stop);
        resolve();
      };
      const timer = setTimeout(stop, ms);
      this.emitter.once(jobId, stop);
    });
    return { ended, stop };
  }

  private deliver(e: JobEvent, own: boolean): void {
    if (own) this.emitter.emit('own', e);
    this.emitter.emit('job', e);
    if (e.event === 'job.finished') this.emitter.emit(e.job.id);
  }

  private fanOut(w: Wire): void {
    // "<replica id> <json>": a replica drops its own messages without parsing them.
    this.queues.redis.publish(this.channel, `${this.replica} ${JSON.stringify(w)}`).catch(() => undefined); // best effort: PostgreSQL has the truth
  }

  private received(text: string): void {
    if (text.startsWith(this.replica)) return;
    let w: Wire;
    try {
      w = JSON.parse(text.slice(text.indexOf(' ') + 1)) as Wire;
    } catch {
      return;
    }
    if (w.kind === 'job') this.deliver(w.e, false);
    else this.emitter.emit('vm', w.e);
  }
}
