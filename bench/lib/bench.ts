import { cpus, loadavg } from 'node:os';

/** A table of one benchmark's figures: ours and the baseline's side by side. */
export interface Table {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
}

/** A figure the issue sets a target for, and whether this run met it. */
export interface Target {
  what: string;
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchOutput {
  tables: Table[];
  targets: Target[];
  /** What limits the figures, where the time goes. */
  notes?: string[];
}

export interface BenchOptions {
  /** Tiny sizes: the benchmark runs through once so it does not rot (npm test does this). */
  smoke: boolean;
  /** Progress lines (stderr). */
  log(line: string): void;
}

export interface Bench {
  name: string;
  description: string;
  run(opts: BenchOptions): Promise<BenchOutput>;
}

export interface Machine {
  cores: number;
  cpu: string;
  /** 1-minute load average before and after the run. */
  loadBefore: number;
  loadAfter?: number;
  node: string;
}

export function machine(): Machine {
  const c = cpus();
  return { cores: c.length, cpu: c[0]?.model.trim() ?? 'unknown', loadBefore: Number((loadavg()[0] ?? 0).toFixed(2)), node: process.version };
}

export function loadNow(): number {
  return Number((loadavg()[0] ?? 0).toFixed(2));
}
