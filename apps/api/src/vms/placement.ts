// Where a new VM goes when the request names no host: among online hosts out of maintenance
// that match the label selector, have the libvirt networks and the existing disks the VM needs,
// and enough memory and vCPUs left (with overcommit), the one with the most room left afterwards.

export interface PlacementRequest {
  memoryMiB: number;
  vcpus: number;
  networks: readonly string[];
  existingDisks: readonly string[];
  hostSelector: Readonly<Record<string, string>>;
}

export interface HostCandidate {
  id: string;
  name: string;
  state: string;
  maintenance: boolean;
  labels: Readonly<Record<string, string>>;
  cpuCount: number;
  memoryMiB: number;
  networks: readonly string[];
  disks: readonly string[];
  /** What the VMs already on the host take (all VMs the host has, running or not). */
  allocatedMemoryMiB: number;
  allocatedVcpus: number;
}

export interface OvercommitRatios {
  cpu: number;
  memory: number;
}

export interface HostVerdict {
  hostId: string;
  name: string;
  fits: boolean;
  /** Why it does not fit; empty when it does. */
  reasons: string[];
  freeMemoryMiB: number;
  freeVcpus: number;
  /** Share of the host's (overcommitted) capacity left after this VM: higher is better. */
  score: number;
}

export interface PlacementDecision {
  hostId: string | null;
  hostName: string | null;
  reason: string;
  hosts: HostVerdict[];
}

export function judgeHost(h: HostCandidate, req: PlacementRequest, ratios: OvercommitRatios): HostVerdict {
  const memCap = Math.floor(h.memoryMiB * ratios.memory);
  const cpuCap = Math.floor(h.cpuCount * ratios.cpu);
  const freeMemoryMiB = memCap - h.allocatedMemoryMiB;
  const freeVcpus = cpuCap - h.allocatedVcpus;
  const reasons: string[] = [];
  if (h.state !== 'online') reasons.push(`host is ${h.state}`);
  if (h.maintenance) reasons.push('host is in maintenance');
  for (const [k, v] of Object.entries(req.hostSelector)) {
    if (h.labels[k] !== v) reasons.push(`label ${k}=${v} not set (has ${h.labels[k] === undefined ? 'none' : `${k}=${h.labels[k]}`})`);
  }
  const missingNets = req.networks.filter((n) => !h.networks.includes(n));
  if (missingNets.length) reasons.push(`no libvirt network ${missingNets.join(', ')}`);
  const missingDisks = req.existingDisks.filter((d) => !h.disks.includes(d));
  if (missingDisks.length) reasons.push(`no disk ${missingDisks.join(', ')}`);
  if (h.memoryMiB <= 0) reasons.push('memory not reported yet');
  else if (freeMemoryMiB < req.memoryMiB) reasons.push(`needs ${req.memoryMiB} MiB memory, ${Math.max(0, freeMemoryMiB)} MiB free`);
  if (h.cpuCount <= 0) reasons.push('CPU count not reported yet');
  else if (freeVcpus < req.vcpus) reasons.push(`needs ${req.vcpus} vCPUs, ${Math.max(0, freeVcpus)} free`);
  const score =
    memCap > 0 && cpuCap > 0 ? Math.min((freeMemoryMiB - req.memoryMiB) / memCap, (freeVcpus - req.vcpus) / cpuCap) : -1;
  return { hostId: h.id, name: h.name, fits: reasons.length === 0, reasons, freeMemoryMiB, freeVcpus, score: round(score) };
}

export function place(hosts: readonly HostCandidate[], req: PlacementRequest, ratios: OvercommitRatios): PlacementDecision {
  const verdicts = hosts.map((h) => judgeHost(h, req, ratios));
  const fitting = verdicts.filter((v) => v.fits).sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  const best = fitting[0];
  if (!best) return { hostId: null, hostName: null, reason: hosts.length ? 'no host fits' : 'no hosts enrolled', hosts: verdicts };
  return {
    hostId: best.hostId,
    hostName: best.name,
    reason: `most room left after placing (${best.freeMemoryMiB - req.memoryMiB} MiB, ${best.freeVcpus - req.vcpus} vCPUs) among ${fitting.length} fitting host(s)`,
    hosts: verdicts,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
