import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl } from './redis-url';

/** A connection to one server, a sentinel-managed master, or a cluster: BullMQ takes all three. */
export type RedisConnection = Redis | Cluster;

/** What callers tune; the address and credentials come from the URL. */
export type ConnectOptions = Pick<RedisOptions, 'maxRetriesPerRequest' | 'enableOfflineQueue' | 'lazyConnect' | 'connectionName'>;

/**
 * Connects to what the URL names (see redis-url.ts). Sentinel: ioredis asks the sentinels for the
 * master and follows a failover by itself. Cluster: ioredis learns the slots from any node and
 * follows MOVED/ASK and a failover; every key a BullMQ queue uses carries the queue's hash tag
 * (hostQueueName), so one queue's keys live on one node and its Lua scripts work.
 */
export function connectRedis(url: string, options: ConnectOptions = {}): RedisConnection {
  const t = parseRedisUrl(url);
  if (t.kind === 'standalone') return new Redis(url, options);
  const creds = { ...(t.username ? { username: t.username } : {}), ...(t.password ? { password: t.password } : {}) };
  if (t.kind === 'sentinel') {
    return new Redis({
      ...options,
      ...creds,
      sentinels: t.nodes,
      name: t.master,
      ...(t.sentinelUsername ? { sentinelUsername: t.sentinelUsername } : {}),
      ...(t.sentinelPassword ? { sentinelPassword: t.sentinelPassword } : {}),
    });
  }
  const { enableOfflineQueue, lazyConnect, ...perNode } = options;
  return new Cluster(t.nodes, {
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    redisOptions: { ...perNode, ...creds },
    // A cluster that lost a master answers CLUSTERDOWN until a replica is promoted: retry, not fail.
    retryDelayOnClusterDown: 200,
    retryDelayOnFailover: 200,
    slotsRefreshTimeout: 2_000,
  });
}

/**
 * Every server behind the connection: one for a plain or sentinel connection (the current master),
 * each known node for a cluster. Per-server state (ACL users, CONFIG) has to be set on each.
 */
export function serversOf(conn: RedisConnection): Redis[] {
  return conn instanceof Cluster ? conn.nodes('all') : [conn];
}

export function isCluster(conn: RedisConnection): conn is Cluster {
  return conn instanceof Cluster;
}
