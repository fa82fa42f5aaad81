import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { cancelChannel, consoleChannels, hostQueueName } from '@virtfleet/contracts';
import { isCluster, serversOf, withCredentials, type RedisConnection } from '@virtfleet/redis';
import { API_CONFIG, type ApiConfig } from '../config/api.config';
import { PrismaService } from '../db/prisma.service';
import { HostQueues } from './host-queues.service';

/**
 * One Redis user per host, limited by ACL to its own queue's keys and its cancel channel, so a
 * host's credentials cannot read, add to or consume another host's queue. Redis does not keep
 * ACL users across a restart (AOF holds data, not users), and neither replication nor a cluster
 * shares them, so the API applies every host's user on every server: the one it is connected to
 * (after a Sentinel failover: the new master) whenever that connection becomes ready, and each
 * cluster node, replicas included, whenever its connection does. It stores only the password's
 * SHA-256, which is what `ACL SETUSER … #<hash>` takes.
 */
@Injectable()
export class RedisAcl {
  private readonly log = new Logger('RedisAcl');
  private readonly admin: RedisConnection;

  constructor(
    private readonly db: PrismaService,
    queues: HostQueues,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {
    this.admin = queues.redis;
    const reapply = (server: Redis) => void this.reapplyAll([server]).catch((e: Error) => this.log.error(`re-applying host ACLs: ${e.message}`));
    const admin = this.admin;
    if (isCluster(admin)) {
      const watch = (node: Redis) => {
        node.on('ready', () => reapply(node));
        if (node.status === 'wait') node.connect().catch(() => undefined); // cluster nodes connect lazily
      };
      admin.on('+node', watch);
      admin.nodes('all').forEach(watch); // any the cluster found before this was listening
    } else {
      admin.on('ready', () => reapply(admin));
      if (admin.status === 'ready') reapply(admin);
    }
  }

  static userOf(hostId: string): string {
    return `vf-host-${hostId}`;
  }

  /** A fresh password for the host's Redis user; returns the URL its agent connects with. */
  async rotate(hostId: string): Promise<{ redisUrl: string; passwordHash: string }> {
    const password = randomBytes(24).toString('base64url');
    const passwordHash = createHash('sha256').update(password).digest('hex');
    await this.apply(serversOf(this.admin), hostId, passwordHash);
    return { redisUrl: withCredentials(this.config.agentRedisUrl, RedisAcl.userOf(hostId), password), passwordHash };
  }

  async remove(hostId: string): Promise<void> {
    for (const server of serversOf(this.admin)) await server.call('ACL', 'DELUSER', RedisAcl.userOf(hostId));
  }

  private async apply(servers: Redis[], hostId: string, passwordHash: string): Promise<void> {
    // The commands BullMQ's worker needs (measured: ../shared/reference/node-stack.md), on this
    // host's keys only, plus its cancel and serial-console channels; in a cluster also the slot
    // map (CLUSTER SLOTS/INFO) ioredis reads and ASKING during a slot migration. `reset` first:
    // nothing left from an old rule.
    for (const server of servers) {
      await server.call(
        'ACL', 'SETUSER', RedisAcl.userOf(hostId),
        'reset', 'on', `#${passwordHash}`,
        `~bull:${hostQueueName(hostId)}:*`,
        'resetchannels', `&${cancelChannel(hostId)}`, `&${consoleChannels(hostId).pattern}`,
        '+@read', '+@write', '-@dangerous', '+evalsha', '+eval', '+bzpopmin', '+ping', '+client|setname', '+info',
        '+subscribe', '+unsubscribe', '+publish', '+cluster|slots', '+cluster|info', '+asking',
      );
    }
  }

  private async reapplyAll(servers: Redis[]): Promise<void> {
    const hosts = await this.db.host.findMany({ where: { state: { not: 'revoked' }, redisPasswordHash: { not: null } }, select: { id: true, redisPasswordHash: true } });
    for (const h of hosts) if (h.redisPasswordHash) await this.apply(servers, h.id, h.redisPasswordHash);
    if (hosts.length) this.log.log(`Redis users of ${hosts.length} host(s) applied on ${servers.map((s) => `${s.options.host ?? ''}:${s.options.port ?? ''}`).join(', ')}`);
  }

}
