import type { Vm } from '@prisma/client';

/** A VM as the API shows it (the domain XML is on GET /v1/vms/:id/xml). */
export function vmView(v: Omit<Vm, 'xml' | 'spec'>) {
  return {
    id: v.id,
    hostId: v.hostId,
    name: v.name,
    uuid: v.uuid,
    status: v.status,
    state: v.state,
    reason: v.reason,
    persistent: v.persistent,
    autostart: v.autostart,
    vcpus: v.vcpus,
    maxVcpus: v.maxVcpus,
    memoryMiB: v.memoryMiB,
    maxMemoryMiB: v.maxMemoryMiB,
    virtType: v.virtType,
    disks: v.disks,
    interfaces: v.interfaces,
    graphics: v.graphics,
    snapshots: v.snapshots,
    serialLog: v.serialLog,
    labels: v.labels,
    seenAt: v.seenAt?.toISOString() ?? null,
    stateChangedAt: v.stateChangedAt?.toISOString() ?? null,
    createdAt: v.createdAt.toISOString(),
    updatedAt: v.updatedAt.toISOString(),
  };
}
export type VmView = ReturnType<typeof vmView>;
