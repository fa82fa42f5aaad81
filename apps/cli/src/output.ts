import Table from 'cli-table3';

/** How a command prints: a table for people, JSON (one document) for scripts and jq. */
export interface Output {
  json: boolean;
  /** stdout is a terminal: progress bars and colour are welcome. */
  tty: boolean;
  write(text: string): void;
}

export function stdoutOutput(json: boolean): Output {
  return { json, tty: Boolean(process.stdout.isTTY), write: (text) => process.stdout.write(text) };
}

export type Column<T> = [header: string, value: (row: T) => unknown];

/** Rows as a table (or the raw objects as JSON). */
export function printTable<T>(out: Output, rows: readonly T[], columns: ReadonlyArray<Column<T>>, raw: unknown = rows): void {
  if (out.json) return printJson(out, raw);
  const table = new Table({ head: columns.map(([h]) => h), style: { head: out.tty ? ['cyan'] : [], border: out.tty ? ['grey'] : [] } });
  for (const row of rows) table.push(columns.map(([, get]) => cell(get(row))));
  out.write(`${table.toString()}\n`);
}

/** One object as "key  value" lines (or JSON). */
export function printObject(out: Output, fields: ReadonlyArray<[string, unknown]>, raw: unknown): void {
  if (out.json) return printJson(out, raw);
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) out.write(`${k.padEnd(width)}  ${cell(v)}\n`);
}

export function printJson(out: Output, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
