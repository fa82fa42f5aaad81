import type { Command } from 'commander';
import type { Ctx } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { printObject, printTable } from '../output';
import { resolveHost } from '../resolve';

export function registerHosts(program: Command, ctx: Ctx): void {
  const hosts = program.command('hosts').description('The fleet’s KVM hosts');
  hosts
    .command('ls')
    .description('Hosts with state, KVM or TCG, CPUs, memory and last heartbeat')
    .option('--label <k=v,…>', 'only hosts with all these labels')
    .addHelpText('after', '\nExamples:\n  virtfleet hosts ls\n  virtfleet hosts ls --label zone=a')
    .action(async (o: { label?: string }) => {
      const rows = await ctx.call((vf) => vf.hosts.list(o.label ? { label: o.label } : {}));
      printTable(ctx.out(), rows, [
        ['NAME', (h) => h.name],
        ['STATE', (h) => (h.maintenance ? `${h.state} (maintenance)` : h.state)],
        ['VIRT', (h) => h.facts?.virtType],
        ['CPUS', (h) => h.facts?.cpu?.count],
        ['MEMORY', (h) => (h.facts?.memory ? `${Math.round(h.facts.memory.totalBytes / 1024 ** 3)} GiB` : undefined)],
        ['HEARTBEAT', (h) => h.lastHeartbeatAt],
        ['ID', (h) => h.id],
      ]);
    });
  hosts
    .command('show <host>')
    .description('One host (name or id): facts, labels, doctor warnings')
    .addHelpText('after', '\nExample:\n  virtfleet hosts show kvm01')
    .action(async (ref: string) => {
      const host = await ctx.call(async (vf) => resolveHost(vf, ref));
      printObject(
        ctx.out(),
        [
          ['name', host.name],
          ['id', host.id],
          ['state', host.state],
          ['maintenance', host.maintenance],
          ['labels', host.labels],
          ['virt type', host.facts?.virtType],
          ['kvm', host.facts?.kvm?.probe],
          ['libvirt', host.facts?.versions?.libvirt],
          ['storage root', host.facts?.storage?.root],
          ['doctor', host.doctor?.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.message}`)],
        ],
        host,
      );
    });
  hosts
    .command('doctor <host>')
    .description('The host’s last `virtfleet-agent doctor` report: every check, with how to fix what fails')
    .addHelpText('after', '\nExample:\n  virtfleet hosts doctor kvm01        (exit 1 when a check fails)')
    .action(async (ref: string) => {
      const host = await ctx.call(async (vf) => resolveHost(vf, ref));
      const report = host.doctor;
      if (!report) throw new CliError(EXIT.apiError, `host ${host.name} has sent no doctor report yet`, 'its agent sends one with its heartbeats');
      printTable(
        ctx.out(),
        report.checks,
        [
          ['CHECK', (c) => c.id],
          ['STATUS', (c) => c.status],
          ['MESSAGE', (c) => c.message],
          ['FIX', (c) => c.fix],
        ],
        report,
      );
      if (report.checks.some((c) => c.status === 'fail')) process.exitCode = EXIT.jobFailed;
    });
  hosts
    .command('maintenance <host>')
    .description('Maintenance mode: no new VMs are placed on the host; what runs there is not touched')
    .option('--off', 'leave maintenance mode')
    .addHelpText('after', '\nExamples:\n  virtfleet hosts maintenance kvm01\n  virtfleet hosts maintenance kvm01 --off')
    .action(async (ref: string, o: { off?: boolean }) => {
      const host = await ctx.call(async (vf) => vf.hosts.maintenance((await resolveHost(vf, ref)).id, !o.off));
      const out = ctx.out();
      if (out.json) printObject(out, [], host);
      else out.write(`host ${host.name}: maintenance ${host.maintenance ? 'on' : 'off'}\n`);
    });
  hosts
    .command('join-token')
    .description('A one-time token a new KVM host enrolls with (admin): shown once')
    .option('--ttl <seconds>', 'how long it stays valid')
    .addHelpText('after', '\nExample:\n  virtfleet hosts join-token --ttl 3600\n  then on the new host: virtfleet-agent enroll --api URL --token TOKEN --name kvm02')
    .action(async (o: { ttl?: string }) => {
      const ttl = o.ttl === undefined ? undefined : Number(o.ttl);
      if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) throw new CliError(EXIT.usage, `--ttl must be a whole number of seconds, not ${JSON.stringify(o.ttl)}`);
      const token = await ctx.call((vf) => vf.hosts.joinToken(ttl ? { ttlSeconds: ttl } : {}));
      printObject(ctx.out(), Object.entries(token), token);
    });
}
