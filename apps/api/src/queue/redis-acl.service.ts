import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { cancelChannel, consoleChannels, hostQueueName } from '@virtfleet/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PrismaService } from '../db/prisma.service';
import { HostQueues } from './host-queues.service';

/**
 * One Redis user per host, limited by ACL to its own queue's keys and its cancel channel, so a
 * host's credentials cannot read, add to or consume another host's queue. Redis does not keep
 * ACL users across a restart (AOF holds data, not users), so the API re-applies every host's
 * user whenever its connection becomes ready; it stores only the password's SHA-256, which is
 * what `ACL SETUSER … #<hash>` takes.
 */
@Injectable()
export class RedisAcl {
  private readonly log = new Logger('RedisAcl');
  private readonly admin: Redis;

  constructor(
    private readonly db: PrismaService,
    queues: HostQueues,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {
    this.admin = queues.redis;
    this.admin.on('ready', () => void this.reapplyAll().catch((e: Error) => this.log.error(`re-applying host ACLs: ${e.message}`)));
  }

  static userOf(hostId: string): string {
    return `vf-host-${hostId}`;
  }

  /** A fresh password for the host's Redis user; returns the URL its agent connects with. */
  async rotate(hostId: string): Promise<{ redisUrl: string; passwordHash: string }> {
    const password = randomBytes(24).toString('base64url');
    const passwordHash = createHash('sha256').update(password).digest('hex');
    await this.apply(hostId, passwordHash);
    const url = new URL(this.config.agentRedisUrl);
    url.username = RedisAcl.userOf(hostId);
    url.password = password;
    return { redisUrl: url.toString(), passwordHash };
  }

  async remove(hostId: string): Promise<void> {
    await this.admin.call('ACL', 'DELUSER', RedisAcl.userOf(hostId));
  }

  private async apply(hostId: string, passwordHash: string): Promise<void> {
    // The commands BullMQ's worker needs (measured: ../shared/reference/node-stack.md), on this
    // host's keys only, plus its cancel and serial-console channels. `reset` first: nothing left from an old rule.
    await this.admin.call(
      'ACL', 'SETUSER', RedisAcl.userOf(hostId),
      'reset', 'on', `#${passwordHash}`,
      `~bull:${hostQueueName(hostId)}:*`,
      'resetchannels', `&${cancelChannel(hostId)}`, `&${consoleChannels(hostId).pattern}`,
      '+@read', '+@write', '-@dangerous', '+evalsha', '+eval', '+bzpopmin', '+ping', '+client|setname', '+info',
      '+subscribe', '+unsubscribe', '+publish',
    );
  }

  private async reapplyAll(): Promise<void> {
    const hosts = await this.db.host.findMany({ where: { state: { not: 'revoked' }, redisPasswordHash: { not: null } }, select: { id: true, redisPasswordHash: true } });
    for (const h of hosts) if (h.redisPasswordHash) await this.apply(h.id, h.redisPasswordHash);
    if (hosts.length) this.log.log(`Redis users of ${hosts.length} host(s) applied`);
  }

}
