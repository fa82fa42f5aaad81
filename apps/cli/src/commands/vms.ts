import type { Command } from 'commander';
import type { Ctx, WaitFlags } from '../context';
import { waitable } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { printObject, printTable } from '../output';
import { readInput } from '../input';
import { hostIdOf, oneHostId, resolveVm } from '../resolve';
import { sizeMiB, wholeNumber } from '../size';
import { openConsole } from './console';
import { registerGuestFiles } from './guest-files';
import { registerVmCreate } from './vm-create';

export function registerVms(program: Command, ctx: Ctx): void {
  const vms = program.command('vms').description('VMs (libvirt domains) across the fleet');
  vms
    .command('ls')
    .description('VMs as their hosts last reported them (virsh list --all)')
    .option('--host <host>', 'one host’s VMs (name or id)')
    .option('--state <state>', 'running, shutoff, paused …')
    .option('--name <text>', 'names containing this text')
    .option('--label <k=v,…>', 'only VMs with all these labels')
    .addHelpText('after', '\nExamples:\n  virtfleet vms ls\n  virtfleet vms ls --host kvm01 --state running\n  virtfleet --json vms ls | jq -r \'.[] | [.name, .state] | @tsv\'')
    .action(async (o: { host?: string; state?: string; name?: string; label?: string }) => {
      const page = await ctx.call(async (vf) => {
        const hostId = await hostIdOf(vf, o.host);
        return vf.vms.list({ ...(hostId ? { hostId } : {}), ...(o.state ? { state: o.state as never } : {}), ...(o.name ? { name: o.name } : {}), ...(o.label ? { label: o.label } : {}), limit: 500 });
      });
      printTable(
        ctx.out(),
        page.items,
        [
          ['NAME', (v) => v.name],
          ['STATE', (v) => v.state],
          ['STATUS', (v) => v.status],
          ['VCPUS', (v) => v.vcpus],
          ['MEMORY', (v) => `${v.memoryMiB} MiB`],
          ['ADDRESSES', (v) => v.interfaces.flatMap((i) => i.addresses ?? []).join(', ')],
          ['ID', (v) => v.id],
        ],
        page.items,
      );
    });
  vms
    .command('show <vm>')
    .description('One VM by name or id (virsh dominfo, domiflist, domblklist)')
    .addHelpText('after', '\nExample:\n  virtfleet vms show web1')
    .action(async (ref: string) => {
      const vm = await ctx.call((vf) => resolveVm(vf, ref));
      printObject(
        ctx.out(),
        [
          ['name', vm.name],
          ['id', vm.id],
          ['uuid', vm.uuid],
          ['host', vm.hostId],
          ['state', vm.state],
          ['status', vm.status],
          ['vcpus', `${vm.vcpus} (max ${vm.maxVcpus})`],
          ['memory', `${vm.memoryMiB} MiB (max ${vm.maxMemoryMiB})`],
          ['autostart', vm.autostart],
          ['interfaces', vm.interfaces.map((i) => `${i.mac ?? '?'} ${i.network ?? i.bridge ?? i.type}${i.addresses?.length ? ` ${i.addresses.join(',')}` : ''}`)],
          ['disks', vm.disks.map((d) => `${d.target} ${d.source ?? '-'}`)],
          ['snapshots', vm.snapshots.map((x) => x.name)],
          ['labels', vm.labels],
        ],
        vm,
      );
    });
  vms
    .command('xml <vm>')
    .description('The domain XML as its host last reported it (virsh dumpxml)')
    .addHelpText('after', '\nExample:\n  virtfleet vms xml web1 > web1.xml')
    .action(async (ref: string) => {
      const xml = await ctx.call(async (vf) => vf.vms.xml((await resolveVm(vf, ref)).id));
      ctx.out().write(xml.endsWith('\n') ? xml : `${xml}\n`);
    });
  registerVmCreate(vms, ctx);
  waitable(
    vms
      .command('define <file>')
      .description('Define a VM from domain XML (virsh define); the XML must pass the allowlist (docs/vms.md)')
      .option('--host <host>', 'the host (name or id); needed when more than one is online'),
  )
    .addHelpText('after', '\nExamples (virsh dumpxml vm1 > vm1.xml; edit; virsh define vm1.xml):\n  virtfleet vms xml vm1 > vm1.xml\n  virtfleet vms define vm1.xml --wait\n  virtfleet vms define - < vm1.xml')
    .action(async (file: string, o: { host?: string } & WaitFlags) => {
      const xml = await readInput(file);
      await ctx.submit(o, async (vf) => vf.vms.define({ xml, hostId: await oneHostId(vf, o.host) }));
    });
  registerGuestFiles(vms, ctx);

  const power = [
    ['start', 'Start a shut-off VM (virsh start)'],
    ['destroy', 'Stop a VM at once, like pulling the plug (virsh destroy)'],
    ['reboot', 'Ask the guest to reboot (virsh reboot)'],
    ['suspend', 'Pause a running VM (virsh suspend)'],
    ['resume', 'Resume a paused VM (virsh resume)'],
  ] as const;
  for (const [action, what] of power) {
    waitable(vms.command(`${action} <vm>`).description(what))
      .addHelpText('after', `\nExample:\n  virtfleet vms ${action} web1 --wait`)
      .action(async (ref: string, o: WaitFlags) => {
        await ctx.submit(o, async (vf) => vf.vms.action((await resolveVm(vf, ref)).id, action));
      });
  }
  waitable(
    vms
      .command('shutdown <vm>')
      .description('Ask the guest to power off (ACPI, virsh shutdown) and wait for it')
      .option('--grace <seconds>', 'how long the guest gets', '120')
      .option('--force', 'pull the plug after the grace time (virsh destroy)'),
  )
    .addHelpText('after', '\nExamples:\n  virtfleet vms shutdown web1 --wait\n  virtfleet vms shutdown web1 --grace 30 --force --wait')
    .action(async (ref: string, o: { grace: string; force?: boolean } & WaitFlags) => {
      const grace = wholeNumber(o.grace, '--grace');
      await ctx.submit(o, async (vf) => vf.vms.action((await resolveVm(vf, ref)).id, 'shutdown', { timeoutSeconds: grace, force: Boolean(o.force) }));
    });
  waitable(
    vms
      .command('autostart <vm>')
      .description('Start the VM when its host boots (virsh autostart), or not (--disable)')
      .option('--disable', 'do not start it at boot'),
  )
    .addHelpText('after', '\nExamples:\n  virtfleet vms autostart web1\n  virtfleet vms autostart web1 --disable')
    .action(async (ref: string, o: { disable?: boolean } & WaitFlags) => {
      await ctx.submit(o, async (vf) => vf.vms.action((await resolveVm(vf, ref)).id, 'set-autostart', { enabled: !o.disable }));
    });
  waitable(
    vms
      .command('set-vcpus <vm> [count]')
      .description('Change the vCPU count (virsh setvcpus --config, and --live where it can) and/or its maximum')
      .option('--maximum <n>', 'the most vCPUs it may have (virsh setvcpus --maximum --config; applies at the next boot)'),
  )
    .addHelpText('after', '\nExamples:\n  virtfleet vms set-vcpus web1 4 --wait\n  virtfleet vms set-vcpus web1 4 --maximum 8 --wait')
    .action(async (ref: string, count: string | undefined, o: { maximum?: string } & WaitFlags) => {
      if (count === undefined && o.maximum === undefined) throw new CliError(EXIT.usage, 'give a count, --maximum or both');
      const body = { ...(count !== undefined ? { vcpus: wholeNumber(count, 'count') } : {}), ...(o.maximum !== undefined ? { maxVcpus: wholeNumber(o.maximum, '--maximum') } : {}) };
      await ctx.submit(o, async (vf) => vf.vms.action((await resolveVm(vf, ref)).id, 'set-vcpus', body));
    });
  waitable(
    vms
      .command('set-memory <vm> [size]')
      .description('Change the memory (virsh setmem --config, and --live where it can) and/or its maximum (setmaxmem)')
      .option('--maximum <size>', 'the most memory it may have (applies at the next boot)'),
  )
    .addHelpText('after', '\nSizes: 2048 (MiB, as virsh), 512M, 2G.\n\nExamples:\n  virtfleet vms set-memory web1 2G --wait\n  virtfleet vms set-memory web1 2G --maximum 4G --wait')
    .action(async (ref: string, size: string | undefined, o: { maximum?: string } & WaitFlags) => {
      if (size === undefined && o.maximum === undefined) throw new CliError(EXIT.usage, 'give a size, --maximum or both');
      const body = {
        ...(size !== undefined ? { memoryMiB: sizeMiB(size, 'size', 'M') } : {}),
        ...(o.maximum !== undefined ? { maxMemoryMiB: sizeMiB(o.maximum, '--maximum', 'M') } : {}),
      };
      await ctx.submit(o, async (vf) => vf.vms.action((await resolveVm(vf, ref)).id, 'set-memory', body));
    });
  waitable(
    vms
      .command('undefine <vm>')
      .description('Remove a shut-off VM (virsh undefine): its disks stay unless --remove-storage')
      .option('--remove-storage', 'delete its disks in the store root too (virsh undefine --remove-all-storage)')
      .option('--delete-snapshots', 'a VM with snapshots: delete them too (virsh undefine --snapshots-metadata)'),
  )
    .addHelpText('after', '\nExamples:\n  virtfleet vms undefine web1 --wait\n  virtfleet vms undefine web1 --remove-storage --delete-snapshots --wait')
    .action(async (ref: string, o: { removeStorage?: boolean; deleteSnapshots?: boolean } & WaitFlags) => {
      await ctx.submit(o, async (vf) =>
        vf.vms.undefine((await resolveVm(vf, ref)).id, { ...(o.removeStorage ? { removeStorage: true } : {}), ...(o.deleteSnapshots ? { deleteSnapshots: true } : {}) }),
      );
    });
  waitable(
    vms
      .command('clone <vm> [name]')
      .description('Clone a shut-off VM (virt-clone): new name, UUID, MACs and copies of its writable disks')
      .option('--auto-clone', 'name it <vm>-clone, <vm>-clone1 … (virt-clone --auto-clone)')
      .option('--count <n>', 'this many clones, named by --name-pattern (one job each, under a parent job)')
      .option('--name-pattern <pattern>', 'with --count: names such as web-{n}')
      .option('--start-index <n>', 'with --name-pattern: the first {n}', '1')
      .option('--nonsparse', 'write every block of the copies (virt-clone --nonsparse)')
      .option('--shutdown-source', 'shut a running source down for the copy and start it again after')
      .option('--start', 'start the clone when it is defined'),
  )
    .addHelpText(
      'after',
      '\nExamples (virt-clone -o vm1 -n vm2 --auto-clone):\n  virtfleet vms clone vm1 vm2 --wait\n  virtfleet vms clone vm1 --auto-clone --wait\n  virtfleet vms clone web --count 5 --name-pattern web-{n} --wait',
    )
    .action(
      async (
        ref: string,
        name: string | undefined,
        o: { autoClone?: boolean; count?: string; namePattern?: string; startIndex: string; nonsparse?: boolean; shutdownSource?: boolean; start?: boolean } & WaitFlags,
      ) => {
        const ways = [name !== undefined, Boolean(o.autoClone), o.namePattern !== undefined].filter(Boolean).length;
        if (ways !== 1) throw new CliError(EXIT.usage, 'give exactly one of a name, --auto-clone or --count with --name-pattern');
        const common = {
          ...(o.nonsparse ? { sparse: false } : {}),
          ...(o.shutdownSource ? { shutdownSource: true } : {}),
          ...(o.start ? { start: true, waitFor: 'running' as const } : {}),
        };
        const count = o.count === undefined ? undefined : wholeNumber(o.count, '--count');
        const body =
          name !== undefined
            ? { ...common, name }
            : o.autoClone
              ? { ...common, autoClone: true as const, ...(count ? { count } : {}) }
              : { ...common, namePattern: o.namePattern as string, ...(count ? { count } : {}), startIndex: wholeNumber(o.startIndex, '--start-index', 0) };
        await ctx.submit(o, async (vf) => vf.vms.clone((await resolveVm(vf, ref)).id, body));
      },
    );
  waitable(
    vms
      .command('attach-interface <vm>')
      .description('Add a NIC on a libvirt network or a host bridge (virsh attach-interface), live and/or in the config')
      .option('--network <name>', 'a libvirt network of the VM’s host')
      .option('--bridge <name>', 'a host bridge (Linux or Open vSwitch)')
      .option('--model <model>', 'virtio, e1000, e1000e, rtl8139', 'virtio')
      .option('--mac <mac>', 'its MAC (the API picks one otherwise)')
      .option('--no-live', 'only in the saved config (next boot); by default live too when it runs')
      .option('--no-config', 'only live (gone at the next boot)'),
  )
    .addHelpText('after', '\nExamples (virsh attach-interface vm1 --type bridge --source br0 --model virtio --config --live):\n  virtfleet vms attach-interface vm1 --bridge br0 --wait\n  virtfleet vms attach-interface vm1 --network nat0 --no-live')
    .action(async (ref: string, o: { network?: string; bridge?: string; model: string; mac?: string; live: boolean; config: boolean } & WaitFlags) => {
      if ((o.network === undefined) === (o.bridge === undefined)) throw new CliError(EXIT.usage, 'give exactly one of --network or --bridge');
      const nic = { ...(o.network ? { network: o.network } : { bridge: o.bridge as string }), model: o.model as 'virtio', ...(o.mac ? { mac: o.mac } : {}) };
      await ctx.submit(o, async (vf) => vf.vms.attachInterface((await resolveVm(vf, ref)).id, { ...nic, ...where(o) }));
    });
  waitable(
    vms
      .command('detach-interface <vm> <mac>')
      .description('Remove a NIC by its MAC (virsh detach-interface), live and/or in the config')
      .option('--no-live', 'only from the saved config')
      .option('--no-config', 'only live'),
  )
    .addHelpText('after', '\nExample:\n  virtfleet vms detach-interface vm1 52:54:00:12:34:56 --wait')
    .action(async (ref: string, mac: string, o: { live: boolean; config: boolean } & WaitFlags) => {
      await ctx.submit(o, async (vf) => vf.vms.detachInterface((await resolveVm(vf, ref)).id, mac, where(o)));
    });
  vms
    .command('console <vm>')
    .description('The VM’s serial console (virsh console) from anywhere: Ctrl-] leaves')
    .addHelpText('after', '\nExample:\n  virtfleet vms console web1        (the boot so far first, then live; Ctrl-] to leave)')
    .action(async (ref: string) => {
      const vf = await ctx.client();
      const vm = await ctx.call((c) => resolveVm(c, ref));
      await openConsole(vf.vms.console(vm.id), vm.name);
    });
}

/** --no-live / --no-config: left out, the job's defaults (live when it runs, and the config). */
function where(o: { live: boolean; config: boolean }): { live?: boolean; config?: boolean } {
  return { ...(o.live ? {} : { live: false }), ...(o.config ? {} : { config: false }) };
}
