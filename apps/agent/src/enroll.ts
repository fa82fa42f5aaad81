import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { HOST_NAME_PATTERN } from '@virtfleet/contracts';

export interface EnrollOptions {
  api: string;
  token: string;
  name?: string | undefined;
  labels?: string | undefined;
  config: string;
  storageRoot?: string | undefined;
}

/** "rack=r3,zone=a" → { rack: 'r3', zone: 'a' } */
export function parseLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',').filter(Boolean)) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Error(`label ${JSON.stringify(pair)} is not key=value`);
    out[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  return out;
}

/** This machine's short host name, made into a valid host name. */
export function defaultHostName(raw = hostname()): string {
  const name = raw.split('.')[0]?.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+/, '').slice(0, 63) ?? '';
  return HOST_NAME_PATTERN.test(name) ? name : 'host';
}

/**
 * Enrolls this host with a join token and writes its credentials (agent token, Redis URL with
 * its own user) into the agent's config file, mode 0600. Keeps what else the file held.
 */
export async function enroll(opts: EnrollOptions): Promise<{ hostId: string; name: string }> {
  const name = opts.name ?? defaultHostName();
  const res = await fetch(new URL('/v1/agent/enroll', opts.api), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ joinToken: opts.token, name, labels: parseLabels(opts.labels) }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json().catch(() => ({}))) as { hostId?: string; agentToken?: string; redisUrl?: string; error?: { message?: string } };
  if (res.status !== 201 || !body.hostId || !body.agentToken || !body.redisUrl) {
    throw new Error(`enrollment refused (${res.status}): ${body.error?.message ?? JSON.stringify(body)}`);
  }
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(await readFile(opts.config, 'utf8')) as Record<string, unknown>;
  } catch {
    // a first enrollment: no file yet
  }
  const config = {
    ...previous,
    apiUrl: opts.api,
    hostId: body.hostId,
    agentToken: body.agentToken,
    redisUrl: body.redisUrl,
    ...(opts.storageRoot ? { storageRoot: opts.storageRoot } : {}),
  };
  await mkdir(dirname(opts.config), { recursive: true, mode: 0o700 });
  await writeFile(opts.config, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(opts.config, 0o600); // an existing file keeps its old mode otherwise
  return { hostId: body.hostId, name };
}
