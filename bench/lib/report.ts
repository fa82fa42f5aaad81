import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOutput, Machine, Table } from './bench';

export interface BenchResult extends BenchOutput {
  name: string;
  description: string;
  smoke: boolean;
  startedAt: string;
  durationMs: number;
  machine: Machine;
}

function markdownTable(t: Table): string {
  const line = (cells: Array<string | number>) => `| ${cells.map(String).join(' | ')} |`;
  return [`**${t.title}**`, '', line(t.columns), line(t.columns.map(() => '---')), ...t.rows.map(line)].join('\n');
}

/** The result as markdown: its tables, its targets met or not, and the machine it ran on. */
export function markdown(r: BenchResult): string {
  const m = r.machine;
  const parts = [
    `## ${r.name}${r.smoke ? ' (smoke: tiny sizes, figures mean nothing)' : ''}`,
    '',
    r.description,
    '',
    `${m.cores} cores (${m.cpu}), load ${m.loadBefore} before and ${m.loadAfter ?? '?'} after, Node ${m.node}, ${r.startedAt}, ${(r.durationMs / 1000).toFixed(0)} s`,
    '',
    ...r.tables.flatMap((t) => [markdownTable(t), '']),
  ];
  if (r.targets.length) {
    parts.push(markdownTable({ title: 'Targets', columns: ['what', 'target', 'measured', 'met'], rows: r.targets.map((t) => [t.what, t.target, t.measured, t.met ? 'yes' : '**no**']) }), '');
  }
  if (r.notes?.length) parts.push(...r.notes.map((n) => `- ${n}`), '');
  return parts.join('\n');
}

/** bench/results/<name>-<time>.json, and <name>.json as the latest. */
export async function save(dir: string, r: BenchResult): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[:.]/g, '-');
  const file = join(dir, `${r.name}-${stamp}${r.smoke ? '-smoke' : ''}.json`);
  const text = `${JSON.stringify(r, null, 2)}\n`;
  await writeFile(file, text);
  if (!r.smoke) await writeFile(join(dir, `${r.name}.json`), text);
  return file;
}
