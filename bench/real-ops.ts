import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeCommandRunner, assertSucceeded } from '@virtfleet/exec';
import { Fleet } from '@virtfleet/testing';
import type { Bench, BenchOptions, BenchOutput, Table, Target } from './lib/bench';
import { median, since, spread } from './lib/stats';
import { benchVm, succeeded } from './lib/vm';

// Real work: each job's wall time (submit → succeeded, seen through the API) against the same
// command run directly on the host, alternating (ours first in even pairs, bare first in odd
// ones), on the same files and the same domain in the same run.

const runner = new NodeCommandRunner({ baseEnv: process.env });
const host = async (cmd: string, ...args: string[]) => assertSucceeded(await runner.run({ cmd, args }, { timeoutMs: 600_000 }));

interface Op {
  name: string;
  /** A second-scale operation (target ≤ 1.05×), a sub-second one, or a power action (≤ 1.1×). */
  target?: number;
  ours(i: number): Promise<void>;
  bare(i: number): Promise<void>;
  /** After each pair, untimed: remove what both sides made. */
  cleanup?(i: number): Promise<void>;
}

interface Measured {
  op: Op;
  ours: number[];
  bare: number[];
}

async function pairs(op: Op, n: number): Promise<Measured> {
  const m: Measured = { op, ours: [], bare: [] };
  const time = async (fn: () => Promise<void>) => {
    const t0 = performance.now();
    await fn();
    return since(t0);
  };
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      m.ours.push(await time(() => op.ours(i)));
      m.bare.push(await time(() => op.bare(i)));
    } else {
      m.bare.push(await time(() => op.bare(i)));
      m.ours.push(await time(() => op.ours(i)));
    }
    await op.cleanup?.(i);
  }
  return m;
}

export const realOps: Bench = {
  name: 'real-ops',
  description:
    'Real jobs against the bare commands on this host: create-disk, convert-disk (1 GiB of random data, raw→qcow2, with and without -c), clone-vm (1 GiB fully allocated disk; bare: virt-clone), snapshot create/revert/delete, start/destroy of a no-OS domain. Our figure is submit → succeeded seen through the API.',
  async run({ smoke, log }: BenchOptions): Promise<BenchOutput> {
    const n = smoke ? 1 : 5;
    const mib = smoke ? 16 : 1024;
    const fleet = await Fleet.start({ name: 'bench-real-ops' });
    const store = (f: string) => join(fleet.storeRoot, f);
    const vmName = 'bench-ro-vm';
    const run = async (type: string, payload: Record<string, unknown>) => {
      const job = await fleet.run(type, payload, 900);
      if (job.state !== 'succeeded') throw new Error(`${type}: ${job.state} ${JSON.stringify(job.error)}`);
      return job;
    };
    const accepted = (r: { status: number; body: Record<string, unknown> }, what: string) => succeeded(fleet, r, what);
    try {
      log(`setup: ${mib} MiB of random data, a fully allocated qcow2 and a no-OS domain`);
      await host('dd', 'if=/dev/urandom', `of=${store('bench-src.raw')}`, 'bs=1M', `count=${mib}`, 'status=none');
      await host('qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', store('bench-src.raw'), store('bench-vmdisk.qcow2'));
      const vm = await benchVm(fleet, vmName, 'bench-vmdisk');
      const ref = { uuid: vm.uuid, name: vm.name };
      const action = vm.action;
      await action('destroy');

      const convert = (compress: boolean, tag = compress ? 'cvc' : 'cv'): Op => ({
        name: `convert-disk ${mib} MiB raw→qcow2${compress ? ' -c' : ''}`,
        target: 1.05,
        ours: async (i) => void (await run('convert-disk', { source: 'bench-src', sourceFormat: 'raw', target: `o-${tag}${i}`, format: 'qcow2', compress })),
        bare: async (i) =>
          void (await host('qemu-img', 'convert', '-p', '-f', 'raw', '-O', 'qcow2', ...(compress ? ['-c'] : []), store('bench-src.raw'), store(`b-${tag}${i}.qcow2`))),
        cleanup: async (i) => {
          await rm(store(`o-${tag}${i}.qcow2`), { force: true });
          await rm(store(`b-${tag}${i}.qcow2`), { force: true });
        },
      });
      const ops: Op[] = [
        {
          name: 'create-disk 20 GiB qcow2',
          ours: async (i) => void (await run('create-disk', { name: `o-cd${i}`, sizeGiB: 20, format: 'qcow2' })),
          bare: async (i) => void (await host('qemu-img', 'create', '-q', '-f', 'qcow2', store(`b-cd${i}.qcow2`), '20G')),
          cleanup: async (i) => {
            await rm(store(`o-cd${i}.qcow2`), { force: true });
            await rm(store(`b-cd${i}.qcow2`), { force: true });
          },
        },
        convert(false),
        convert(true),
        {
          name: `clone-vm (${mib} MiB allocated; bare: virt-clone)`,
          target: 1.05,
          ours: async (i) => accepted(await fleet.post(`/v1/vms/${vm.id}/clone`, { name: `o-cl${i}` }), 'clone-vm'),
          bare: async (i) => void (await host('virt-clone', '--original', vmName, '--name', `b-cl${i}`, '--file', store(`b-cl${i}.qcow2`))),
          cleanup: async (i) => {
            const clone = (await fleet.get<{ items: Array<{ id: string; name: string }> }>(`/v1/vms?hostId=${fleet.hostId}&name=o-cl${i}`)).items.find((v) => v.name === `o-cl${i}`);
            if (clone) await accepted(await fleet.delete(`/v1/vms/${clone.id}?removeStorage=true`), 'undefine-vm');
            await host('virsh', 'undefine', `b-cl${i}`).catch(() => undefined);
            await rm(store(`b-cl${i}.qcow2`), { force: true });
          },
        },
      ];
      const measured: Measured[] = [];
      for (const op of ops) {
        log(op.name);
        measured.push(await pairs(op, n));
      }
      // The domain running (no OS: SeaBIOS finds nothing to boot): snapshots with its memory, then power.
      await action('start');
      const snapOps: Op[] = ['create', 'revert', 'delete'].map((verb) => ({
        name: `snapshot ${verb} (running, 128 MiB)`,
        target: 1.05,
        ours: async (i) => {
          const type = `${verb}-snapshot`;
          await run(type, { vm: ref, name: `o-s${i}` });
        },
        bare: async (i) => void (await host('virsh', `snapshot-${verb === 'create' ? 'create-as' : verb}`, vmName, `b-s${i}`)),
      }));
      // create, revert and delete each need the one before: run them as three passes over the same names.
      for (const op of snapOps) {
        log(op.name);
        measured.push(await pairs(op, n));
      }
      // start and destroy alternate on the one domain: start, destroy (ours), start, destroy (bare) …
      const noop = async () => undefined;
      const starts: Measured = { op: { name: 'start-vm (no-OS domain)', target: 1.1, ours: noop, bare: noop }, ours: [], bare: [] };
      const destroys: Measured = { op: { name: 'destroy-vm (no-OS domain)', target: 1.1, ours: noop, bare: noop }, ours: [], bare: [] };
      await action('destroy');
      log('start/destroy');
      for (let i = 0; i < n * 2; i++) {
        const ours = i % 2 === 0;
        let t0 = performance.now();
        if (ours) await action('start');
        else await host('virsh', 'start', vmName);
        (ours ? starts.ours : starts.bare).push(since(t0));
        t0 = performance.now();
        if (ours) await action('destroy');
        else await host('virsh', 'destroy', vmName);
        (ours ? destroys.ours : destroys.bare).push(since(t0));
      }
      measured.push(starts, destroys);

      const table: Table = {
        title: `Our job against the bare command (ms, median and interquartile range of ${n} alternating pairs)`,
        columns: ['operation', 'bare command', 'virtfleet job', 'virtfleet / bare'],
        rows: measured.map((m) => [m.op.name, spread(m.bare, 'ms', 0), spread(m.ours, 'ms', 0), `${(median(m.ours) / median(m.bare)).toFixed(2)}×`]),
      };
      const targets: Target[] = measured
        .filter((m) => m.op.target !== undefined)
        .map((m) => {
          const r = median(m.ours) / median(m.bare);
          return { what: m.op.name, target: `≤ ${m.op.target?.toFixed(2)}×`, measured: `${r.toFixed(2)}×`, met: r <= (m.op.target ?? Infinity) };
        });
      return {
        tables: [table],
        targets,
        notes: [
          'create-disk is sub-second: our fixed cost (HTTP, PostgreSQL, Redis, the agent, its qemu-img info check of the new disk) shows as a ratio there; no target.',
          'clone-vm: ours is qemu-img convert of each writable disk plus virsh define; virt-clone copies through libvirt’s storage API.',
        ],
      };
    } finally {
      await host('virsh', 'destroy', vmName).catch(() => undefined);
      await host('virsh', 'undefine', vmName, '--snapshots-metadata').catch(() => undefined);
      await fleet.stop();
    }
  },
};
