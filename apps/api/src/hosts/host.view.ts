import type { Host } from '@prisma/client';

export function hostView(h: Host) {
  return {
    id: h.id,
    name: h.name,
    state: h.state,
    labels: h.labels,
    facts: h.facts,
    lastHeartbeatAt: h.lastHeartbeatAt?.toISOString() ?? null,
    createdAt: h.createdAt.toISOString(),
  };
}
