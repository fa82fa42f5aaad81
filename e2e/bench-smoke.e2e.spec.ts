import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeCommandRunner } from '@virtfleet/exec';
import { REPO_ROOT } from '@virtfleet/testing';

// Issue 10, acceptance 3: benchmarks are not tests, but each runs once here with tiny sizes
// (`npm run bench -- --smoke`, on this run's services) so none of them rots.

describe('benchmarks, smoke run', () => {
  it('every benchmark runs with tiny sizes, prints its tables and writes its JSON result', async () => {
    const results = await mkdtemp(join(tmpdir(), 'vfbench-'));
    try {
      const r = await new NodeCommandRunner({ baseEnv: process.env }).run(
        { cmd: process.execPath, args: ['--enable-source-maps', join(REPO_ROOT, 'dist/bench/main.js'), '--smoke', '--results', results] },
        { timeoutMs: 600_000 },
      );
      if (r.exitCode !== 0) throw new Error(`bench --smoke: exit ${r.exitCode}\n${r.stderr}`);
      const files = await readdir(results);
      for (const name of ['pipeline', 'real-ops', 'peers', 'inventory', 'fleet']) {
        expect(r.stdout).toContain(`## ${name} (smoke`);
        const file = files.find((f) => f.startsWith(`${name}-`));
        expect(file).toBeDefined();
        const result = JSON.parse(await readFile(join(results, file as string), 'utf8')) as { tables: unknown[]; machine: { cores: number } };
        expect(result.tables.length).toBeGreaterThan(0);
        expect(result.machine.cores).toBeGreaterThan(0);
      }
    } finally {
      await rm(results, { recursive: true, force: true });
    }
  }, 660_000);
});
