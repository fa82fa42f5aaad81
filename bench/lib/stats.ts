// Figures for a noisy machine: medians, percentiles and spreads of many samples, and ratios
// between two sides measured in the same run; never a lone absolute time.

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (rank - lo);
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    n: samples.length,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    min: Math.min(...samples),
    max: Math.max(...samples),
  };
}

/** "12.3 ms (p25–p75 11.9–13.0)": a median and its interquartile spread. */
export function spread(samples: readonly number[], unit = 'ms', digits = 1): string {
  return `${median(samples).toFixed(digits)} ${unit} (${percentile(samples, 25).toFixed(digits)}–${percentile(samples, 75).toFixed(digits)})`;
}

export function ratio(ours: number, baseline: number): string {
  return `${(ours / baseline).toFixed(2)}×`;
}

/** Milliseconds since t0 (performance.now()). */
export const since = (t0: number): number => performance.now() - t0;
