import { join } from 'node:path';
import { Command } from 'commander';
import { REPO_ROOT } from '@virtfleet/testing';
import { loadNow, machine, type Bench } from './lib/bench';
import { markdown, save, type BenchResult } from './lib/report';
import { withServices } from './lib/services';
import { fleet } from './fleet';
import { inventory } from './inventory';
import { peers } from './peers';
import { pipeline } from './pipeline';
import { realOps } from './real-ops';

/** Every benchmark, in the order `npm run bench` runs them. */
export const BENCHES: Bench[] = [pipeline, realOps, peers, inventory, fleet];

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** Runs one benchmark and its bookkeeping: machine, timing, JSON result, markdown. */
export async function runBench(bench: Bench, smoke: boolean): Promise<BenchResult> {
  const m = machine();
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  const out = await bench.run({ smoke, log: (l) => log(`${bench.name}: ${l}`) });
  return { name: bench.name, description: bench.description, smoke, startedAt, durationMs: Date.now() - t0, machine: { ...m, loadAfter: loadNow() }, ...out };
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('npm run bench --')
    .description('virtfleet benchmarks: figures beside a baseline from the same run (docs/performance.md)')
    .argument('[names...]', `which to run (default all): ${BENCHES.map((b) => b.name).join(', ')}`)
    .option('--smoke', 'tiny sizes: check that each runs, not how fast')
    .option('--results <dir>', 'where the JSON results go', join(REPO_ROOT, 'bench/results'))
    .parse(argv, { from: 'user' });
  const names = program.args;
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length) {
    process.stderr.write(`bench: no benchmark ${unknown.join(', ')} (there are ${BENCHES.map((b) => b.name).join(', ')})\n`);
    return 2;
  }
  const chosen = names.length ? BENCHES.filter((b) => names.includes(b.name)) : BENCHES;
  const { smoke, results } = program.opts<{ smoke?: boolean; results: string }>();
  let missed = 0;
  await withServices(async () => {
    for (const bench of chosen) {
      const result = await runBench(bench, Boolean(smoke));
      const file = await save(results, result);
      process.stdout.write(`${markdown(result)}\n(${file})\n\n`);
      missed += result.targets.filter((t) => !t.met).length;
    }
  });
  if (missed) log(`${missed} target(s) not met: see the tables`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
