import type { JobState } from '@virtfleet/contracts';
import type { Host, Vm } from '@virtfleet/sdk';
import type { ReactNode } from 'react';

// States as coloured badges with words (never colour alone): one look for every state in the console.

export type Tone = 'ok' | 'info' | 'busy' | 'warn' | 'bad' | 'muted';

export function Badge({ tone, children, title }: { tone: Tone; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      <span className="badge-dot" aria-hidden="true" />
      {children}
    </span>
  );
}

const JOB_TONES: Record<JobState, Tone> = {
  pending: 'muted',
  queued: 'info',
  running: 'busy',
  succeeded: 'ok',
  failed: 'bad',
  cancelled: 'warn',
  timed_out: 'bad',
};

export function JobStateBadge({ state }: { state: JobState }) {
  return <Badge tone={JOB_TONES[state]}>{state.replace('_', ' ')}</Badge>;
}

const POWER_TONES: Record<Vm['state'], Tone> = {
  running: 'ok',
  paused: 'warn',
  pmsuspended: 'warn',
  blocked: 'warn',
  shutdown: 'busy',
  shutoff: 'muted',
  crashed: 'bad',
  nostate: 'muted',
};
const POWER_WORDS: Partial<Record<Vm['state'], string>> = { shutoff: 'shut off', shutdown: 'shutting down', pmsuspended: 'suspended (guest)', nostate: 'unknown' };

/** A VM's power state, or what keeps it from having one (creating, missing, unmanaged). */
export function VmStateBadge({ vm }: { vm: Pick<Vm, 'state' | 'status' | 'reason'> }) {
  if (vm.status === 'creating') return <Badge tone="busy">creating</Badge>;
  if (vm.status === 'missing') return <Badge tone="bad" title="Its domain is gone from the host">missing</Badge>;
  return (
    <span className="badge-group">
      <Badge tone={POWER_TONES[vm.state]} title={vm.reason ? `reason: ${vm.reason}` : undefined}>
        {POWER_WORDS[vm.state] ?? vm.state}
      </Badge>
      {vm.status === 'unmanaged' ? (
        <Badge tone="info" title="Found on the host, not made through virtfleet: adopt it to manage it">
          unmanaged
        </Badge>
      ) : null}
    </span>
  );
}

export function HostStateBadge({ host }: { host: Pick<Host, 'state' | 'maintenance'> }) {
  const tone: Tone = host.state === 'online' ? 'ok' : host.state === 'offline' ? 'bad' : 'muted';
  return (
    <span className="badge-group">
      <Badge tone={tone}>{host.state}</Badge>
      {host.maintenance ? (
        <Badge tone="warn" title="No new VMs are placed on it">
          maintenance
        </Badge>
      ) : null}
    </span>
  );
}

/** KVM (hardware) or TCG (emulation: slow, but runs anywhere). */
export function VirtBadge({ host }: { host: Pick<Host, 'facts'> }) {
  const t = host.facts.virtType;
  if (!t) return <Badge tone="muted">unknown</Badge>;
  return t === 'kvm' ? (
    <Badge tone="ok" title="Hardware virtualization (KVM)">
      KVM
    </Badge>
  ) : (
    <Badge tone="warn" title={host.facts.kvm?.probe ? `KVM not usable: ${host.facts.kvm.probe}` : 'KVM not usable: guests run under QEMU TCG (emulation)'}>
      TCG
    </Badge>
  );
}

/** The doctor's verdict: failures and warnings counted, or all clear. */
export function DoctorBadge({ host }: { host: Pick<Host, 'doctor'> }) {
  if (!host.doctor) return <Badge tone="muted">no report</Badge>;
  const fails = host.doctor.checks.filter((c) => c.status === 'fail').length;
  const warns = host.doctor.checks.filter((c) => c.status === 'warn').length;
  if (!fails && !warns) return <Badge tone="ok">all {host.doctor.checks.length} pass</Badge>;
  return (
    <span className="badge-group">
      {fails ? <Badge tone="bad">{fails} failing</Badge> : null}
      {warns ? <Badge tone="warn">{warns} warning{warns > 1 ? 's' : ''}</Badge> : null}
    </span>
  );
}

export function CheckBadge({ status }: { status: 'pass' | 'warn' | 'fail' }) {
  return <Badge tone={status === 'pass' ? 'ok' : status === 'warn' ? 'warn' : 'bad'}>{status}</Badge>;
}

export function YesNo({ value, yes = 'yes', no = 'no' }: { value: boolean; yes?: string; no?: string }) {
  return <Badge tone={value ? 'ok' : 'muted'}>{value ? yes : no}</Badge>;
}

/** A doctor check's cells in a table row: its id, status, finding and fix. */
export function CheckCells({ check }: { check: { id: string; status: 'pass' | 'warn' | 'fail'; message: string; fix?: string | undefined } }) {
  return (
    <>
      <td className="nowrap">
        <code>{check.id}</code>
      </td>
      <td>
        <CheckBadge status={check.status} />
      </td>
      <td>{check.message}</td>
      <td className="muted">{check.fix ?? '—'}</td>
    </>
  );
}
