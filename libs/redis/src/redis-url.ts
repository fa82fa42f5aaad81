import { z } from 'zod';

/**
 * Where Redis is, as one URL, for the three deployments virtfleet supports:
 *
 *   redis://[user:password@]host:port[/db]            one server (rediss:// for TLS)
 *   redis-sentinel://[user:password@]h1:p1,h2:p2/<master>[?sentinelPassword=…&sentinelUsername=…]
 *   redis-cluster://[user:password@]h1:p1,h2:p2       Redis Cluster (any of its nodes; the rest are discovered)
 *
 * The credentials are the data nodes' (for sentinel: the master's and replicas'); the sentinels'
 * own, if they have any, go in the query. One URL keeps a host's Redis access one string in its
 * agent config, whatever the topology.
 */
export interface RedisNode {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | { kind: 'sentinel'; nodes: RedisNode[]; master: string; username?: string; password?: string; sentinelUsername?: string; sentinelPassword?: string }
  | { kind: 'cluster'; nodes: RedisNode[]; username?: string; password?: string };

export class RedisUrlError extends Error {}

const MULTI = /^(redis-sentinel|redis-cluster):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#@]+)(?:\/([^?#]*))?(?:\?([^#]*))?$/;

export function parseRedisUrl(url: string): RedisTarget {
  if (/^rediss?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new RedisUrlError(`not a valid URL: ${redact(url)}`);
    }
    return { kind: 'standalone', url };
  }
  const m = MULTI.exec(url);
  if (!m) {
    throw new RedisUrlError(
      `must be redis://host:port, rediss://…, redis-sentinel://h1:p1,h2:p2/<master> or redis-cluster://h1:p1,h2:p2 (got ${redact(url)})`,
    );
  }
  const [, scheme, user, password, hosts = '', path = '', query = ''] = m;
  const nodes = hosts.split(',').map((h) => node(h, url));
  const creds = { ...(user ? { username: decodeURIComponent(user) } : {}), ...(password ? { password: decodeURIComponent(password) } : {}) };
  if (scheme === 'redis-cluster') {
    if (path || query) throw new RedisUrlError(`a redis-cluster:// URL has no path or query: ${redact(url)}`);
    return { kind: 'cluster', nodes, ...creds };
  }
  const master = decodeURIComponent(path);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(master)) throw new RedisUrlError(`a redis-sentinel:// URL names its master as the path (/mymaster): ${redact(url)}`);
  const q = new URLSearchParams(query);
  for (const k of q.keys()) if (k !== 'sentinelPassword' && k !== 'sentinelUsername') throw new RedisUrlError(`unknown redis-sentinel:// option ${k}`);
  const sentinelUsername = q.get('sentinelUsername');
  const sentinelPassword = q.get('sentinelPassword');
  return {
    kind: 'sentinel',
    nodes,
    master,
    ...creds,
    ...(sentinelUsername ? { sentinelUsername } : {}),
    ...(sentinelPassword ? { sentinelPassword } : {}),
  };
}

function node(hostPort: string, url: string): RedisNode {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(hostPort);
  const port = Number(m?.[2]);
  if (!m?.[1] || port < 1 || port > 65535) throw new RedisUrlError(`${hostPort} is not host:port in ${redact(url)}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/** The same Redis, as another user: what an agent is told to connect with. */
export function withCredentials(url: string, username: string, password: string): string {
  const t = parseRedisUrl(url);
  if (t.kind === 'standalone') {
    const u = new URL(url);
    u.username = username;
    u.password = password;
    return u.toString();
  }
  return format({ ...t, username, password });
}

/** The same Redis, without the user and password (the address to hand to agents). */
export function withoutCredentials(url: string): string {
  const t = parseRedisUrl(url);
  if (t.kind === 'standalone') {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  }
  return format({ ...t, username: undefined, password: undefined });
}

function format(t: Exclude<RedisTarget, { kind: 'standalone' }>): string {
  const auth = t.username || t.password ? `${encodeURIComponent(t.username ?? '')}:${encodeURIComponent(t.password ?? '')}@` : '';
  const hosts = t.nodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(',');
  if (t.kind === 'cluster') return `redis-cluster://${auth}${hosts}`;
  const q = new URLSearchParams();
  if (t.sentinelUsername) q.set('sentinelUsername', t.sentinelUsername);
  if (t.sentinelPassword) q.set('sentinelPassword', t.sentinelPassword);
  const query = q.toString();
  return `redis-sentinel://${auth}${hosts}/${encodeURIComponent(t.master)}${query ? `?${query}` : ''}`;
}

/** The URL with its passwords masked, for error messages and logs. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:@/]*:)[^@/]*@/, '$1***@').replace(/(sentinelPassword=)[^&#]*/, '$1***');
}

/** A config field holding a Redis URL of any of the three kinds, with parseRedisUrl's message when wrong. */
export const redisUrlField = z.string().superRefine((url, ctx) => {
  try {
    parseRedisUrl(url);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});
