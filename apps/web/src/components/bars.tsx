import type { JobState } from '@virtfleet/contracts';
import { percent } from '../format';

/** How full something is (memory, storage, vCPUs): a labelled meter that turns amber, then red. */
export function UsageBar({ used, total, label, text }: { used: number; total: number; label: string; text: string }) {
  const p = percent(used, total);
  const level = p >= 90 ? 'bad' : p >= 75 ? 'warn' : 'ok';
  return (
    <div className="usage" title={`${label}: ${text}`}>
      <span className="usage-text">
        {text}
        <span className="usage-percent">{p} %</span>
      </span>
      <div className={`bar bar-${level}`} role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={p} aria-valuetext={text}>
        <span style={{ width: `${p}%` }} />
      </div>
    </div>
  );
}

/**
 * A job's progress, 0–100, coloured by its state. A running job that reports no progress (most
 * take a moment; a few, such as convert-disk, report as they go) shows a moving bar without a value.
 */
export function ProgressBar({ value, label, state }: { value: number; label: string; state: JobState }) {
  const v = Math.max(0, Math.min(100, Math.round(value)));
  const tone = state === 'succeeded' ? 'ok' : state === 'failed' || state === 'timed_out' ? 'bad' : state === 'cancelled' ? 'warn' : 'busy';
  const indeterminate = state === 'running' && v === 0;
  return (
    <div className="progress">
      <div
        className={`bar bar-${tone}${state === 'running' ? ' bar-live' : ''}${indeterminate ? ' bar-indeterminate' : ''}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={indeterminate ? undefined : v}
      >
        <span style={indeterminate ? undefined : { width: `${v}%` }} />
      </div>
      <span className="progress-text">{indeterminate ? '…' : `${v} %`}</span>
    </div>
  );
}
