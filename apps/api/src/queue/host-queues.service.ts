import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { cancelChannel, hostQueueName, type QueuedJobData } from '@virtfleet/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api.config';

/** One BullMQ queue per host, created on first use, all on one shared Redis connection. */
@Injectable()
export class HostQueues implements OnModuleDestroy {
  private readonly connection: Redis;
  private readonly queues = new Map<string, Queue<QueuedJobData>>();

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    // Fail fast while Redis is down: the outbox keeps the job and the dispatcher retries.
    this.connection = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
    this.connection.on('error', () => undefined); // reported through readyz and dispatch failures
  }

  forHost(hostId: string): Queue<QueuedJobData> {
    let q = this.queues.get(hostId);
    if (!q) {
      q = new Queue<QueuedJobData>(hostQueueName(hostId), { connection: this.connection });
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
