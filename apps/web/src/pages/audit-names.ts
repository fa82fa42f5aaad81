import type { ApiToken, Host, Webhook } from '@virtfleet/sdk';

// The audit log names principals and targets by kind and id ("token:<id>", "host:<id>",
// "webhook:<id>", "join-token:<id>", "vm:<id>", "job:<id>"); the page shows the name behind each when it knows it.

export interface Names {
  tokens: ReadonlyArray<Pick<ApiToken, 'id' | 'name'>>;
  hosts: ReadonlyArray<Pick<Host, 'id' | 'name'>>;
  webhooks: ReadonlyArray<Pick<Webhook, 'id' | 'url'>>;
}

/** "token:<id>" → "token ci-deploy"; a host's also links to its page. Unknown ones stay as they are. */
export function describeRef(ref: string, names: Names): { name: string; href?: string } {
  const i = ref.indexOf(':');
  const kind = i < 0 ? ref : ref.slice(0, i);
  // "token:<id>:<name>" is a form the SDK's docs mention: the id is the second part either way.
  const id = i < 0 ? '' : ref.slice(i + 1).split(':')[0] ?? '';
  if (kind === 'token') {
    const t = names.tokens.find((x) => x.id === id);
    return { name: t ? `token ${t.name}` : ref };
  }
  if (kind === 'host') {
    const h = names.hosts.find((x) => x.id === id);
    return h ? { name: `host ${h.name}`, href: `/hosts/${h.id}` } : { name: ref };
  }
  if (kind === 'webhook') {
    const w = names.webhooks.find((x) => x.id === id);
    return { name: w ? `webhook ${w.url}` : ref };
  }
  if (kind === 'vm') return { name: `VM ${id.slice(0, 8)}`, href: `/vms/${id}` };
  if (kind === 'job') return { name: `job ${id.slice(0, 8)}`, href: `/jobs/${id}` };
  if (kind === 'join-token') return { name: `join token ${id.slice(0, 8)}` };
  return { name: ref };
}
