import type { Command } from 'commander';
import type { Ctx } from '../context';
import { printTable } from '../output';
import { resolveVm } from '../resolve';
import { human } from '../size';

// The operation guide's libguestfs tools (virt-cat, virt-edit, virt-df) on a VM anywhere in the
// fleet: each a job on the VM's host, waited for, its result printed.

export function registerGuestFiles(vms: Command, ctx: Ctx): void {
  vms
    .command('cat <vm> <path>')
    .description('Print a file inside the VM’s disks (virt-cat; read-only, a running VM is read as it is on disk)')
    .option('--mount <device>', 'the filesystem holding / (virt-cat -m), for a disk with no operating system to find')
    .addHelpText('after', '\nExamples (virt-cat -a vm1.qcow2 /etc/fstab):\n  virtfleet vms cat vm1 /etc/fstab\n  virtfleet vms cat vm1 /etc/hostname --mount /dev/sda1')
    .action(async (ref: string, path: string, o: { mount?: string }) => {
      const job = await ctx.call(async (vf) => {
        const vm = await resolveVm(vf, ref);
        return vf.run('read-guest-file', { vm: { uuid: vm.uuid, name: vm.name }, path, ...(o.mount ? { mount: o.mount } : {}) }, { hostId: vm.hostId });
      });
      const r = job.result;
      if (ctx.out().json) return ctx.out().write(`${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(r.encoding === 'base64' ? Buffer.from(r.content, 'base64') : r.content);
      if (r.truncated) process.stderr.write(`virtfleet: only the first ${Buffer.byteLength(r.content, r.encoding === 'base64' ? 'base64' : 'utf8')} of ${r.size} bytes\n`);
    });
  vms
    .command('edit <vm> <path>')
    .description('Replace literal text in a file inside a shut-off VM (virt-edit, without an editor: --find/--with)')
    .requiredOption('--find <text>', 'the text to replace (must occur exactly once unless --all)')
    .requiredOption('--with <text>', 'what replaces it')
    .option('--all', 'replace every occurrence')
    .option('--mount <device>', 'the filesystem holding /')
    .addHelpText('after', '\nExample (virt-edit -a vm1.qcow2 /etc/hostname):\n  virtfleet vms edit vm1 /etc/hostname --find old-name --with new-name')
    .action(async (ref: string, path: string, o: { find: string; with: string; all?: boolean; mount?: string }) => {
      const job = await ctx.call(async (vf) => {
        const vm = await resolveVm(vf, ref);
        return vf.run(
          'write-guest-file',
          { vm: { uuid: vm.uuid, name: vm.name }, path, replace: { find: o.find, with: o.with, all: Boolean(o.all) }, ...(o.mount ? { mount: o.mount } : {}) },
          { hostId: vm.hostId },
        );
      });
      const r = job.result;
      ctx.out().write(ctx.out().json ? `${JSON.stringify(r, null, 2)}\n` : `${r.path}: ${r.replacements ?? 0} replaced, ${r.size} bytes\n`);
    });
  vms
    .command('df <vm>')
    .description('Filesystem usage inside the VM’s disks (virt-df -h)')
    .addHelpText('after', '\nExample (virt-df -h vm1):\n  virtfleet vms df vm1')
    .action(async (ref: string) => {
      const job = await ctx.call(async (vf) => {
        const vm = await resolveVm(vf, ref);
        return vf.run('guest-disk-usage', { vm: { uuid: vm.uuid, name: vm.name } }, { hostId: vm.hostId });
      });
      printTable(
        ctx.out(),
        job.result.filesystems,
        [
          ['FILESYSTEM', (f) => `${f.source}:${f.device}`],
          ['SIZE', (f) => human(f.sizeBytes)],
          ['USED', (f) => human(f.usedBytes)],
          ['AVAILABLE', (f) => human(f.availableBytes)],
          ['USE%', (f) => `${f.usePercent}%`],
        ],
        job.result,
      );
    });
}
