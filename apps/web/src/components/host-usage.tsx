import type { Host, Vm } from '@virtfleet/sdk';
import { bytes } from '../format';
import { UsageBar } from './bars';

/** vCPUs of the host's running VMs against its CPUs: how much of it is handed out. */
export function vcpusInUse(host: Host, vms: readonly Vm[]): number {
  return vms.filter((v) => v.hostId === host.id && (v.state === 'running' || v.state === 'paused' || v.state === 'blocked')).reduce((n, v) => n + v.vcpus, 0);
}

export function CpuBar({ host, vms }: { host: Host; vms: readonly Vm[] }) {
  const cpus = host.facts.cpu?.count ?? 0;
  if (!cpus) return <span className="muted">—</span>;
  const used = vcpusInUse(host, vms);
  return <UsageBar used={used} total={cpus} label={`vCPUs of running VMs on ${host.name}`} text={`${used} / ${cpus} vCPUs`} />;
}

export function MemoryBar({ host }: { host: Host }) {
  const m = host.facts.memory;
  if (!m?.totalBytes) return <span className="muted">—</span>;
  const used = m.totalBytes - m.availableBytes;
  return <UsageBar used={used} total={m.totalBytes} label={`Memory in use on ${host.name}`} text={`${bytes(used)} / ${bytes(m.totalBytes)}`} />;
}

export function StorageBar({ host }: { host: Host }) {
  const s = host.facts.storage;
  if (!s?.totalBytes) return <span className="muted">—</span>;
  const used = s.totalBytes - s.freeBytes;
  return <UsageBar used={used} total={s.totalBytes} label={`Storage root in use on ${host.name}`} text={`${bytes(used)} / ${bytes(s.totalBytes)}`} />;
}
