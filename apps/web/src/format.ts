import type { Job } from '@virtfleet/sdk';

// How numbers, times and jobs read on screen. Sizes are binary (GiB), as qemu-img and virsh say.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')} ${UNITS[u]}`;
}

export function mib(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : bytes(n * 1024 * 1024);
}

export function percent(used: number, total: number): number {
  return total > 0 ? Math.max(0, Math.min(100, Math.round((used / total) * 100))) : 0;
}

/** "12 s ago", "5 min ago", "3 h ago", then the date. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return dateTime(iso);
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' })} ${d.toLocaleTimeString(undefined, { hour12: false })}`;
}

/** 850 ms, 12.4 s, 3 min 5 s. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** How long a job ran (or has been running). */
export function jobDuration(job: Pick<Job, 'startedAt' | 'finishedAt'>, now = Date.now()): string {
  if (!job.startedAt) return '—';
  return duration((job.finishedAt ? new Date(job.finishedAt).getTime() : now) - new Date(job.startedAt).getTime());
}

/** What a job acts on, from its payload: a VM, a disk, a network, a snapshot … */
export function jobTarget(job: Job): string {
  const p = job.payload as unknown as Record<string, unknown>;
  const vm = p['vm'] as { name?: string } | undefined;
  const source = p['source'] as { name?: string } | string | undefined;
  const network = p['network'] as { name?: string } | string | undefined;
  if (job.type === 'convert-disk') return `${String(p['source'])} → ${String(p['target'])}`;
  if (job.type === 'clone-vm' && typeof source === 'object') return `${source.name ?? ''} → ${String(p['name'] ?? (p['names'] as string[] | undefined)?.join(', ') ?? '')}`;
  if (vm?.name) return p['name'] && job.type.includes('snapshot') ? `${vm.name} @ ${String(p['name'])}` : vm.name;
  if (typeof network === 'object' && network?.name) return network.name;
  if (typeof network === 'string') return network;
  if (typeof p['name'] === 'string') return p['name'];
  if (job.type === 'sleep') return `${String(p['seconds'])} s`;
  return '';
}

/** create-vm → "Create VM"; a job type in words for headings. */
export function jobTypeLabel(type: string): string {
  const words = type.split('-').map((w) => (w === 'vm' ? 'VM' : w));
  const first = words[0] ?? '';
  return [first.charAt(0).toUpperCase() + first.slice(1), ...words.slice(1)].join(' ');
}
