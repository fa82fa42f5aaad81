import type { Command } from 'commander';
import type { Ctx, WaitFlags } from '../context';
import { waitable } from '../context';
import { printTable } from '../output';
import { resolveVm } from '../resolve';

export function registerSnapshots(program: Command, ctx: Ctx): void {
  const snapshots = program.command('snapshots').description('Internal snapshots of a VM’s qcow2 disks (virsh snapshot-*)');
  snapshots
    .command('ls <vm>')
    .description('A VM’s snapshots as its host last reported them (virsh snapshot-list)')
    .addHelpText('after', '\nExample:\n  virtfleet snapshots ls web1')
    .action(async (ref: string) => {
      const items = await ctx.call(async (vf) => vf.vms.snapshots((await resolveVm(vf, ref)).id));
      printTable(ctx.out(), items, [
        ['NAME', (s) => s.name],
        ['CREATED', (s) => s.createdAt],
        ['STATE', (s) => s.state],
        ['PARENT', (s) => s.parent],
        ['CURRENT', (s) => (s.current ? 'yes' : '')],
        ['DESCRIPTION', (s) => s.description],
      ]);
    });
  waitable(
    snapshots
      .command('create <vm> [name]')
      .description('Take a snapshot of a running or shut-off VM (virsh snapshot-create-as); unnamed, it is named by the time')
      .option('--description <text>', 'what it is for'),
  )
    .addHelpText('after', '\nExamples (virsh snapshot-create-as vm1 before-upgrade):\n  virtfleet snapshots create vm1 before-upgrade --wait\n  virtfleet snapshots create vm1 --description "nightly"')
    .action(async (ref: string, name: string | undefined, o: { description?: string } & WaitFlags) => {
      await ctx.submit(o, async (vf) => vf.vms.createSnapshot((await resolveVm(vf, ref)).id, { ...(name ? { name } : {}), ...(o.description ? { description: o.description } : {}) }));
    });
  waitable(snapshots.command('revert <vm> <name>').description('Return a VM to a snapshot (virsh snapshot-revert): running or shut off, as it was taken'))
    .addHelpText('after', '\nExample:\n  virtfleet snapshots revert vm1 before-upgrade --wait')
    .action(async (ref: string, name: string, o: WaitFlags) => {
      await ctx.submit(o, async (vf) => vf.vms.revertSnapshot((await resolveVm(vf, ref)).id, name));
    });
  waitable(snapshots.command('rm <vm> <name>').description('Delete one snapshot (virsh snapshot-delete)'))
    .addHelpText('after', '\nExample:\n  virtfleet snapshots rm vm1 before-upgrade --wait')
    .action(async (ref: string, name: string, o: WaitFlags) => {
      await ctx.submit(o, async (vf) => vf.vms.deleteSnapshot((await resolveVm(vf, ref)).id, name));
    });
}
