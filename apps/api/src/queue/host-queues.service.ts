import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import { cancelChannel, hostQueueName, type QueuedJobData } from '@virtfleet/contracts';
import { connectRedis, serversOf, type RedisConnection } from '@virtfleet/redis';
import { API_CONFIG, type ApiConfig } from '../config/api.config';

export class RedisPolicyError extends Error {}

/**
 * One BullMQ queue per host, created on first use, all on one shared Redis connection: to one
 * server, to the master a Sentinel group names, or to a Redis Cluster (REDIS_URL says which).
 */
@Injectable()
export class HostQueues implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('HostQueues');
  private readonly connection: RedisConnection;
  /** The API's own Redis connection (its full-rights user): queues, cancel messages, host ACLs. */
  get redis(): RedisConnection {
    return this.connection;
  }
  private readonly queues = new Map<string, Queue<QueuedJobData>>();

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    // Fail fast while Redis is down: the outbox keeps the job and the dispatcher retries.
    this.connection = connectRedis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.connection.on('error', () => undefined); // reported through readyz and dispatch failures
    // A Redis that comes back (or a failover target) is checked again.
    this.connection.on('ready', () => void this.checkPolicy().catch((e: Error) => this.log.error(e.message)));
  }

  /** Refuses to start against a Redis that may evict queued jobs (BullMQ itself only warns). */
  async onApplicationBootstrap(): Promise<void> {
    const ready = await new Promise<boolean>((resolve) => {
      if (this.connection.status === 'ready') return resolve(true);
      const timer = setTimeout(() => resolve(false), 3_000);
      this.connection.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!ready) {
      this.log.warn('Redis is not reachable: jobs wait in the outbox until it is');
      return;
    }
    try {
      await this.checkPolicy();
    } catch (err) {
      this.connection.disconnect(); // start-up fails: leave nothing reconnecting behind
      throw err;
    }
  }

  /** Every server that holds queues (each cluster node) must not evict. */
  private async checkPolicy(): Promise<void> {
    for (const server of serversOf(this.connection)) {
      const info = await server.info('memory');
      const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
      if (policy && policy !== 'noeviction') {
        const where = `${server.options.host ?? ''}:${server.options.port ?? ''}`;
        throw new RedisPolicyError(
          `Redis maxmemory-policy is ${policy} on ${where}: it may evict queued jobs. Set "maxmemory-policy noeviction" (redis.conf or CONFIG SET) and start the API again.`,
        );
      }
    }
  }

  forHost(hostId: string): Queue<QueuedJobData> {
    let q = this.queues.get(hostId);
    if (!q) {
      // The queue's event stream is capped: history lives in PostgreSQL, not in Redis.
      q = new Queue<QueuedJobData>(hostQueueName(hostId), { connection: this.connection, streams: { events: { maxLen: 1_000 } } });
      q.on('error', () => undefined);
      this.queues.set(hostId, q);
    }
    return q;
  }

  /** Tells the host's agent to kill a running job (it also learns it from its next heartbeat). */
  async publishCancel(hostId: string, jobId: string): Promise<void> {
    await this.connection.publish(cancelChannel(hostId), jobId);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.connection.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    this.connection.disconnect();
  }
}
