import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeCommandRunner } from '@virtfleet/exec';
import { collectInventory } from '@virtfleet/libvirt';
import { Fleet } from '@virtfleet/testing';
import type { Bench, BenchOptions, BenchOutput } from './lib/bench';
import { median, since, spread } from './lib/stats';

// A full inventory resync of one host with many domains (libvirt's test driver, so no VM
// runs): the agent's collection (a few batched virsh calls) and the API applying the report,
// against `virsh list --all` alone on the same driver (the least any resync must do).

const runner = new NodeCommandRunner({ baseEnv: process.env });

function testNode(n: number): string {
  const domains = Array.from(
    { length: n },
    (_, i) =>
      `<domain type='test'><name>b${i}</name><uuid>00000000-0000-4000-8000-${String(i).padStart(12, '0')}</uuid><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`,
  );
  return `<?xml version="1.0"?><node>${domains.join('')}</node>`;
}

export const inventory: Bench = {
  name: 'inventory',
  description:
    'Full inventory resync of one host with 1,000 domains (libvirt test driver): the agent collecting it (batched virsh) and the API applying it, beside `virsh list --all` on the same driver.',
  async run({ smoke, log }: BenchOptions): Promise<BenchOutput> {
    const n = smoke ? 50 : 1000;
    const rounds = smoke ? 2 : 7;
    const fleet = await Fleet.start({ name: 'bench-inventory' });
    try {
      const node = join(fleet.dir, 'test-node.xml');
      await writeFile(node, testNode(n));
      const uri = `test://${node}`;
      const { configFile } = await fleet.enrollHost('bench-inventory-many', join(fleet.dir, 'store-many'));
      const agentToken = (JSON.parse(await readFile(configFile, 'utf8')) as { agentToken: string }).agentToken;
      const post = async (body: unknown) => {
        const res = await fetch(new URL('/v1/agent/inventory', fleet.url), {
          method: 'POST',
          headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (!res.ok) throw new Error(`inventory: ${res.status} ${await res.text()}`);
      };
      const bare: number[] = [];
      const collect: number[] = [];
      const apply: number[] = [];
      const total: number[] = [];
      for (let round = 0; round <= rounds; round++) {
        let t0 = performance.now();
        const listed = await runner.run({ cmd: 'virsh', args: ['-q', '-c', uri, 'list', '--all'] });
        if (listed.exitCode !== 0) throw new Error(`virsh list: ${listed.stderr}`);
        const bareMs = since(t0);
        t0 = performance.now();
        const inv = await collectInventory((cmd) => runner.run(cmd), uri);
        const collectMs = since(t0);
        if (inv.domains.length !== n) throw new Error(`collected ${inv.domains.length} domains, not ${n}`);
        const t1 = performance.now();
        await post({ kind: 'full', takenAt: new Date().toISOString(), ...inv });
        const applyMs = since(t1);
        if (round === 0) continue; // the first applies 1,000 new rows; a resync finds them there
        bare.push(bareMs);
        collect.push(collectMs);
        apply.push(applyMs);
        total.push(collectMs + applyMs);
      }
      log(`resync median ${median(total).toFixed(0)} ms`);
      return {
        tables: [
          {
            title: `Full resync of ${n} domains (ms, median and interquartile range of ${rounds} rounds)`,
            columns: ['step', 'time', '× virsh list --all'],
            rows: [
              ['virsh list --all (the floor)', spread(bare), '1.00×'],
              ['agent: collect (batched virsh, parse)', spread(collect), `${(median(collect) / median(bare)).toFixed(1)}×`],
              ['API: apply the report', spread(apply), `${(median(apply) / median(bare)).toFixed(1)}×`],
              ['full resync', spread(total), `${(median(total) / median(bare)).toFixed(1)}×`],
            ],
          },
        ],
        targets: [{ what: `full resync of ${n} domains`, target: '< 2 s', measured: `${(median(total) / 1000).toFixed(2)} s`, met: median(total) < 2000 }],
      };
    } finally {
      await fleet.stop();
    }
  },
};
