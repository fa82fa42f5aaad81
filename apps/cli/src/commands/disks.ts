import { Option, type Command } from 'commander';
import type { Ctx, WaitFlags } from '../context';
import { waitable } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { printTable } from '../output';
import { hostIdOf, resolveDisk, resolveVm } from '../resolve';
import { human, parseSize, sizeMiB } from '../size';

type Format = 'qcow2' | 'raw';
const formatOption = () => new Option('--format <format>', 'image format').choices(['qcow2', 'raw']);

export function registerDisks(program: Command, ctx: Ctx): void {
  const disks = program.command('disks').description('Disk images in the hosts’ store roots (qemu-img)');
  disks
    .command('ls')
    .description('Disks as the agents last scanned them (qemu-img info of each)')
    .option('--host <host>', 'one host’s disks (name or id)')
    .option('--name <text>', 'names containing this text')
    .addHelpText('after', '\nExamples:\n  virtfleet disks ls\n  virtfleet --json disks ls --host kvm01 | jq -r \'.[] | select(.usedBy == []) | .name\'')
    .action(async (o: { host?: string; name?: string }) => {
      const page = await ctx.call(async (vf) => {
        const hostId = await hostIdOf(vf, o.host);
        return vf.disks.list({ ...(hostId ? { hostId } : {}), ...(o.name ? { name: o.name } : {}), limit: 500 });
      });
      printTable(
        ctx.out(),
        page.items,
        [
          ['NAME', (d) => d.name],
          ['FORMAT', (d) => d.format],
          ['STATE', (d) => d.refused ?? d.state],
          ['SIZE', (d) => human(d.virtualSize)],
          ['ALLOCATED', (d) => human(d.actualSize)],
          ['BACKING', (d) => d.backingFile],
          ['USED BY', (d) => d.usedBy.map((v) => v.name).join(', ')],
          ['ID', (d) => d.id],
        ],
        page.items,
      );
    });
  waitable(
    disks
      .command('create <name>')
      .description('Create a disk in a host’s store root (qemu-img create)')
      .option('--size <size>', 'virtual size: 512M, 20G … (a bare number is GiB); an overlay may leave it out')
      .addOption(formatOption().default('qcow2'))
      .option('--backing <disk>', 'qcow2 only: an overlay over this disk of the same host (qemu-img create -b)')
      .option('--host <host>', 'the host, name or id (needed when more than one is online)'),
  )
    .addHelpText(
      'after',
      '\nExamples (the operation guide’s qemu-img create -f qcow2 vm1.qcow2 20G):\n  virtfleet disks create vm1 --size 20G --wait\n  virtfleet disks create scratch --size 512M --format raw --host kvm01\n  virtfleet disks create vm1-overlay --backing vm1 --wait',
    )
    .action(async (name: string, o: { size?: string; format: Format; backing?: string; host?: string } & WaitFlags) => {
      if (o.size === undefined && o.backing === undefined) throw new CliError(EXIT.usage, 'give --size (or --backing for an overlay)');
      const size = o.size === undefined ? undefined : sizeMiB(o.size);
      await ctx.submit(o, async (vf) => {
        const hostId = await hostIdOf(vf, o.host);
        return vf.disks.create({ name, format: o.format, ...(size ? { sizeMiB: size } : {}), ...(o.backing ? { backing: o.backing } : {}), ...(hostId ? { hostId } : {}) });
      });
    });
  waitable(
    disks
      .command('inspect <disk>')
      .description('Read a disk’s header now (qemu-img info through the image guard) and update the inventory')
      .option('--host <host>', 'which host’s disk of that name'),
  )
    .addHelpText('after', '\nExample (qemu-img info vm1.qcow2):\n  virtfleet disks inspect vm1 --wait')
    .action(async (ref: string, o: { host?: string } & WaitFlags) => {
      await ctx.submit(o, async (vf) => vf.disks.inspect((await resolveDisk(vf, ref, o.host)).id));
    });
  waitable(
    disks
      .command('convert <disk> <target>')
      .description('Convert a disk into a new one of another format (qemu-img convert -p), with live progress')
      .addOption(formatOption().makeOptionMandatory())
      .option('--compress', 'qcow2 only: compressed clusters (qemu-img convert -c; slower, smaller)')
      .option('--attach-to <vm>', 'then point this shut-off VM’s disk at the new one (the guide’s virsh edit step)')
      .option('--delete-source', 'delete the old disk once all of it succeeded')
      .option('--host <host>', 'which host’s disk of that name'),
  )
    .addHelpText(
      'after',
      '\nExamples (the operation guide’s qemu-img convert -f raw -O qcow2 vm1.raw vm1.qcow2, then virsh edit):\n  virtfleet disks convert vm1 vm1q --format qcow2 --wait\n  virtfleet disks convert vm1 vm1q --format qcow2 --compress --attach-to vm1 --delete-source --wait',
    )
    .action(async (ref: string, target: string, o: { format: Format; compress?: boolean; attachTo?: string; deleteSource?: boolean; host?: string } & WaitFlags) => {
      await ctx.submit(o, async (vf) => {
        const disk = await resolveDisk(vf, ref, o.host);
        const attachTo = o.attachTo ? (await resolveVm(vf, o.attachTo)).id : undefined;
        return vf.disks.convert(disk.id, {
          target,
          format: o.format,
          ...(o.compress ? { compress: true } : {}),
          ...(attachTo ? { attachTo } : {}),
          ...(o.deleteSource ? { deleteSource: true } : {}),
        });
      });
    });
  waitable(
    disks
      .command('resize <disk>')
      .description('Grow a disk to a size, or by +size (qemu-img resize); shrinking needs --allow-shrink')
      .requiredOption('--size <size>', 'the new virtual size (30G), or +10G to grow by that much')
      .option('--allow-shrink', 'allow a smaller size (cuts data off the end of the disk)')
      .option('--host <host>', 'which host’s disk of that name'),
  )
    .addHelpText('after', '\nExamples (qemu-img resize vm1.qcow2 +10G):\n  virtfleet disks resize vm1 --size +10G --wait\n  virtfleet disks resize vm1 --size 30G')
    .action(async (ref: string, o: { size: string; allowShrink?: boolean; host?: string } & WaitFlags) => {
      const grow = o.size.trim().startsWith('+');
      const bytes = parseSize(grow ? o.size.trim().slice(1) : o.size);
      await ctx.submit(o, async (vf) => {
        const disk = await resolveDisk(vf, ref, o.host);
        if (grow && disk.virtualSize === null) throw new CliError(EXIT.apiError, `the size of ${disk.name} is not known yet`, `give the new size itself, or: virtfleet disks inspect ${disk.name} --wait`);
        const target = Math.ceil(((grow ? Number(disk.virtualSize) : 0) + bytes) / 1024 ** 2);
        return vf.disks.resize(disk.id, { sizeMiB: target, ...(o.allowShrink ? { allowShrink: true } : {}) });
      });
    });
  waitable(
    disks
      .command('rm <disk>')
      .description('Delete a disk from its store root (refused while a VM uses it)')
      .option('--host <host>', 'which host’s disk of that name'),
  )
    .addHelpText('after', '\nExample:\n  virtfleet disks rm scratch --wait')
    .action(async (ref: string, o: { host?: string } & WaitFlags) => {
      await ctx.submit(o, async (vf) => vf.disks.delete((await resolveDisk(vf, ref, o.host)).id));
    });
}
