import type { Host } from '@prisma/client';

export function hostView(h: Host) {
  return {
    id: h.id,
    name: h.name,
    state: h.state,
    maintenance: h.maintenance,
    labels: h.labels,
    facts: h.facts,
    doctor: h.doctor ?? null,
    enrolledAt: h.enrolledAt?.toISOString() ?? null,
    lastHeartbeatAt: h.lastHeartbeatAt?.toISOString() ?? null,
    networks: h.networks,
    pools: h.pools,
    inventoryAt: h.inventoryAt?.toISOString() ?? null,
    createdAt: h.createdAt.toISOString(),
  };
}
