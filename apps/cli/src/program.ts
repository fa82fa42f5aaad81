import { Command, Option } from 'commander';
import { ApiError, ApiUnreachableError, TimeoutError, VirtfleetClient, type Job } from '@virtfleet/sdk';
import { fromFlagsOrEnv, loadCredentials, saveCredentials } from './config/credentials';
import { CliError, EXIT } from './exit-codes';
import { printJson, printObject, printTable, stdoutOutput, type Output } from './output';
import { JobProgress } from './progress';

export const CLI_VERSION = '0.1.0';

/** What every command gets: where to print, and a client built from --url/--token, env or login. */
export interface Ctx {
  out(): Output;
  client(): Promise<VirtfleetClient>;
  /** An API call, its failures turned into the CLI's exit codes. */
  call<T>(fn: (vf: VirtfleetClient) => Promise<T>): Promise<T>;
  /** A job the API accepted: printed, or with --wait followed to its end (exit 1 unless it succeeded). */
  accepted(job: Job, opts: { wait?: boolean; timeout?: string }): Promise<void>;
}

/** The `virtfleet` command tree. Built fresh per run (tests run many in one process). */
export function buildProgram(): Command {
  const program = new Command('virtfleet')
    .description('Run a fleet of KVM hosts as one system: hosts, VMs, disks, networks and their jobs.')
    .version(CLI_VERSION)
    .option('--json', 'print JSON (for scripts and jq) instead of tables')
    .option('--url <url>', 'API URL (default: $VIRTFLEET_URL, then `virtfleet login`)')
    .option('--token <token>', 'API token (default: $VIRTFLEET_TOKEN, then `virtfleet login`)')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 the job failed, 2 usage error, 3 API unreachable, 4 API error, 5 --wait timed out.

Examples:
  virtfleet login --url http://127.0.0.1:8080 --token vft_…
  virtfleet hosts ls
  virtfleet disks create d1 --size 1G --wait
  virtfleet jobs watch <job-id>
  virtfleet vms ls --json | jq -r '.[].name'`,
    );
  const ctx = context(program);
  registerLogin(program);
  registerHosts(program, ctx);
  registerJobs(program, ctx);
  registerDisks(program, ctx);
  registerVms(program, ctx);
  return program;
}

function context(program: Command): Ctx {
  const globals = () => program.opts<{ json?: boolean; url?: string; token?: string }>();
  const ctx: Ctx = {
    out: () => stdoutOutput(Boolean(globals().json)),
    client: async () => {
      const g = globals();
      const creds = await loadCredentials({ ...(g.url ? { url: g.url } : {}), ...(g.token ? { token: g.token } : {}) });
      return new VirtfleetClient({ url: creds.url, token: creds.token, userAgent: `virtfleet-cli/${CLI_VERSION}` });
    },
    call: async (fn) => {
      const vf = await ctx.client();
      try {
        return await fn(vf);
      } catch (err) {
        throw cliErrorOf(err);
      }
    },
    accepted: async (job, opts) => {
      const out = ctx.out();
      if (!opts.wait) {
        if (out.json) printJson(out, job);
        else out.write(`${job.type} job ${job.id} ${job.state}\n  follow it: virtfleet jobs watch ${job.id}\n`);
        return;
      }
      await followJob(ctx, job.id, opts.timeout);
    },
  };
  return ctx;
}

/** SDK errors → what the CLI says and exits with. */
export function cliErrorOf(err: unknown): unknown {
  if (err instanceof ApiUnreachableError) return new CliError(EXIT.unreachable, err.message, 'is `npm run up` running? is --url / $VIRTFLEET_URL right?');
  if (err instanceof ApiError) return new CliError(err.status === 400 ? EXIT.usage : EXIT.apiError, `${err.code}: ${err.message}`);
  return err;
}

/** Follows a job to its end: a progress bar or spinner on a terminal; the job's error and exit 1 if it did not succeed. */
async function followJob(ctx: Ctx, id: string, timeout?: string): Promise<Job> {
  const out = ctx.out();
  const progress = new JobProgress();
  const seconds = timeout === undefined ? undefined : Number(timeout);
  if (seconds !== undefined && !(seconds > 0)) throw new CliError(EXIT.usage, `--timeout must be a number of seconds, not ${JSON.stringify(timeout)}`);
  let job: Job;
  try {
    job = await ctx.call((vf) =>
      vf.wait(id, {
        ...(seconds ? { timeoutSeconds: seconds } : {}),
        onProgress: (e) => progress.update({ id, type: e.job.type, state: 'state' in e.job ? String(e.job.state) : 'running', progress: e.job.progress }),
      }),
    );
  } catch (err) {
    progress.stop();
    if (err instanceof TimeoutError) throw new CliError(EXIT.waitTimedOut, err.message, `the job goes on: virtfleet jobs watch ${id}`);
    throw err;
  }
  progress.stop({ id, type: job.type, state: job.state, progress: job.progress });
  if (out.json) printJson(out, job);
  else out.write(`${job.type} job ${job.id} ${job.state}${job.error ? `: ${job.error.code}: ${job.error.message}` : ''}\n`);
  if (job.state !== 'succeeded') {
    process.exitCode = EXIT.jobFailed;
  }
  return job;
}

function registerLogin(program: Command): void {
  program
    .command('login')
    .description('Store the API URL and a token (--url, --token) in your config folder, mode 0600, after checking them')
    .addHelpText('after', '\nExample:\n  virtfleet login --url http://127.0.0.1:8080 --token vft_…   (after npm run up: source .virtfleet/env)')
    .action(async () => {
      const given = fromFlagsOrEnv(program.opts<{ url?: string; token?: string }>());
      if (!given) throw new CliError(EXIT.usage, 'login needs --url and --token (or VIRTFLEET_URL and VIRTFLEET_TOKEN)');
      const { url, token } = given;
      const vf = new VirtfleetClient({ url, token, userAgent: `virtfleet-cli/${CLI_VERSION}` });
      try {
        await vf.hosts.list(); // a read call: the token must be good, not only the URL
      } catch (err) {
        throw cliErrorOf(err);
      }
      const path = await saveCredentials({ url, token });
      process.stdout.write(`logged in to ${url} (saved in ${path})\n`);
    });
}

function registerHosts(program: Command, ctx: Ctx): void {
  const hosts = program.command('hosts').description('The fleet’s KVM hosts');
  hosts
    .command('ls')
    .description('Hosts with state, KVM or TCG, CPUs, memory and last heartbeat')
    .option('--label <k=v,…>', 'only hosts with all these labels')
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
}

/** A host by name or id. */
async function resolveHost(vf: VirtfleetClient, ref: string) {
  const all = await vf.hosts.list();
  const host = all.find((h) => h.id === ref || h.name === ref);
  if (!host) throw new CliError(EXIT.apiError, `no host ${ref}`, `virtfleet hosts ls lists them`);
  return host;
}

function registerJobs(program: Command, ctx: Ctx): void {
  const jobs = program.command('jobs').description('Jobs: every change to the fleet is one');
  jobs
    .command('ls')
    .description('Jobs, newest first')
    .option('--host <id>', 'one host’s jobs')
    .addOption(new Option('--state <state>', 'one state').choices(['pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out']))
    .option('--type <type>', 'one job type')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (o: { host?: string; state?: string; type?: string; limit: string }) => {
      const page = await ctx.call((vf) =>
        vf.jobs.list({ ...(o.host ? { hostId: o.host } : {}), ...(o.state ? { state: o.state as Job['state'] } : {}), ...(o.type ? { type: o.type as Job['type'] } : {}), limit: Number(o.limit) }),
      );
      printTable(
        ctx.out(),
        page.items,
        [
          ['ID', (j) => j.id],
          ['TYPE', (j) => j.type],
          ['STATE', (j) => j.state],
          ['PROGRESS', (j) => `${j.progress}%`],
          ['CREATED', (j) => j.createdAt],
          ['ERROR', (j) => j.error?.code],
        ],
        page.items,
      );
    });
  jobs
    .command('show <id>')
    .description('One job: payload, result or error')
    .action(async (id: string) => {
      const job = await ctx.call((vf) => vf.job(id));
      printObject(
        ctx.out(),
        [
          ['id', job.id],
          ['type', job.type],
          ['state', job.state],
          ['progress', `${job.progress}%`],
          ['host', job.hostId],
          ['attempt', job.attempt],
          ['created', job.createdAt],
          ['finished', job.finishedAt],
          ['error', job.error ? `${job.error.code}: ${job.error.message}` : undefined],
          ['result', job.result],
        ],
        job,
      );
    });
  jobs
    .command('logs <id>')
    .description('The commands the job ran on its host: argv, exit code, output tails')
    .action(async (id: string) => {
      const logs = await ctx.call((vf) => vf.jobs.logs(id));
      const out = ctx.out();
      if (out.json) return printJson(out, logs);
      for (const l of logs) {
        out.write(`$ ${l.argv.join(' ')}\n  exit ${l.exitCode ?? l.signal ?? '?'} in ${l.durationMs} ms (attempt ${l.attempt})\n`);
        if (l.stdoutTail.trim()) out.write(indent(l.stdoutTail));
        if (l.stderrTail.trim()) out.write(indent(l.stderrTail));
      }
    });
  jobs
    .command('watch <id>')
    .description('Follow a job to its end, with a progress bar on a terminal')
    .option('--timeout <seconds>', 'give up waiting after this long (exit 5; the job goes on)')
    .action(async (id: string, o: { timeout?: string }) => {
      await followJob(ctx, id, o.timeout);
    });
  jobs
    .command('cancel <id>')
    .description('Cancel a job: one not started never starts; a running one is killed and cleaned up')
    .action(async (id: string) => {
      const job = await ctx.call((vf) => vf.jobs.cancel(id));
      const out = ctx.out();
      if (out.json) printJson(out, job);
      else out.write(`${job.type} job ${job.id} ${job.state}${job.cancelRequestedAt && job.state === 'running' ? ' (cancel requested)' : ''}\n`);
    });
}

const SIZE = /^(\d+(?:\.\d+)?)([KMGT])i?B?$/i;
const UNIT: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** 512M, 1G, 1.5T → bytes (powers of 1024, as qemu-img reads them). */
export function parseSize(text: string): number {
  const m = SIZE.exec(text.trim());
  if (!m) throw new CliError(EXIT.usage, `--size ${JSON.stringify(text)}: give a size such as 512M, 20G or 1T`);
  return Math.round(Number(m[1]) * (UNIT[(m[2] ?? 'G').toUpperCase()] ?? 1));
}

function registerDisks(program: Command, ctx: Ctx): void {
  const disks = program.command('disks').description('Disk images in the hosts’ store roots');
  disks
    .command('ls')
    .description('Disks as the agents last scanned them')
    .option('--host <id>', 'one host’s disks')
    .action(async (o: { host?: string }) => {
      const page = await ctx.call((vf) => vf.disks.list(o.host ? { hostId: o.host } : {}));
      printTable(
        ctx.out(),
        page.items,
        [
          ['NAME', (d) => d.name],
          ['FORMAT', (d) => d.format],
          ['STATE', (d) => d.state],
          ['SIZE', (d) => (d.virtualSize ? `${(Number(d.virtualSize) / 1024 ** 3).toFixed(1)} GiB` : undefined)],
          ['USED BY', (d) => d.usedBy.map((v) => v.name).join(', ')],
          ['ID', (d) => d.id],
        ],
        page.items,
      );
    });
  disks
    .command('create <name>')
    .description('Create a disk (qemu-img create) in a host’s store root')
    .requiredOption('--size <size>', 'virtual size: 512M, 20G …')
    .addOption(new Option('--format <format>', 'image format').choices(['qcow2', 'raw']).default('qcow2'))
    .option('--host <id>', 'the host (needed when the fleet has more than one)')
    .option('--wait', 'follow the job to its end')
    .option('--timeout <seconds>', 'with --wait: give up after this long (exit 5)')
    .addHelpText('after', '\nExample (the operation guide’s qemu-img create -f qcow2 vm1.qcow2 20G):\n  virtfleet disks create vm1 --size 20G --wait')
    .action(async (name: string, o: { size: string; format: 'qcow2' | 'raw'; host?: string; wait?: boolean; timeout?: string }) => {
      const sizeMiB = Math.ceil(parseSize(o.size) / 1024 ** 2);
      const job = await ctx.call((vf) => vf.disks.create({ name, format: o.format, sizeMiB, ...(o.host ? { hostId: o.host } : {}) }));
      await ctx.accepted(job, { ...(o.wait ? { wait: true } : {}), ...(o.timeout ? { timeout: o.timeout } : {}) });
    });
}

function indent(text: string): string {
  return `${text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\n`;
}

/** A VM by name or id (names are unique per host; one matching on two hosts needs its id). */
async function resolveVm(vf: VirtfleetClient, ref: string) {
  if (/^[0-9a-f-]{36}$/i.test(ref)) return vf.vms.get(ref);
  const page = await vf.vms.list({ name: ref, limit: 500 });
  const found = page.items.filter((v) => v.name === ref);
  if (found.length === 0) throw new CliError(EXIT.apiError, `no VM ${ref}`, 'virtfleet vms ls lists them');
  if (found.length > 1) throw new CliError(EXIT.usage, `${found.length} VMs are named ${ref} (on different hosts): give its id`);
  return found[0] as (typeof found)[number];
}

function registerVms(program: Command, ctx: Ctx): void {
  const vms = program.command('vms').description('VMs (libvirt domains) across the fleet');
  vms
    .command('ls')
    .description('VMs as their hosts last reported them (virsh list --all)')
    .option('--host <id>', 'one host’s VMs')
    .option('--state <state>', 'running, shutoff, paused …')
    .option('--label <k=v,…>', 'only VMs with all these labels')
    .action(async (o: { host?: string; state?: string; label?: string }) => {
      const page = await ctx.call((vf) =>
        vf.vms.list({ ...(o.host ? { hostId: o.host } : {}), ...(o.state ? { state: o.state as never } : {}), ...(o.label ? { label: o.label } : {}), limit: 500 }),
      );
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
        ],
        vm,
      );
    });
  const simple = [
    ['start', 'Start a shut-off VM (virsh start)'],
    ['destroy', 'Stop a VM at once, like pulling the plug (virsh destroy)'],
    ['reboot', 'Ask the guest to reboot (virsh reboot)'],
    ['suspend', 'Pause a running VM (virsh suspend)'],
    ['resume', 'Resume a paused VM (virsh resume)'],
  ] as const;
  for (const [action, what] of simple) {
    vms
      .command(`${action} <vm>`)
      .description(what)
      .option('--wait', 'follow the job to its end')
      .option('--timeout <seconds>', 'with --wait: give up after this long (exit 5)')
      .action(async (ref: string, o: { wait?: boolean; timeout?: string }) => {
        const job = await ctx.call(async (vf) => vf.vms.action((await resolveVm(vf, ref)).id, action));
        await ctx.accepted(job, { ...(o.wait ? { wait: true } : {}), ...(o.timeout ? { timeout: o.timeout } : {}) });
      });
  }
  vms
    .command('shutdown <vm>')
    .description('Ask the guest to power off (ACPI, virsh shutdown) and wait for it')
    .option('--grace <seconds>', 'how long the guest gets', '120')
    .option('--force', 'pull the plug after the grace time (virsh destroy)')
    .option('--wait', 'follow the job to its end')
    .option('--timeout <seconds>', 'with --wait: give up after this long (exit 5)')
    .action(async (ref: string, o: { grace: string; force?: boolean; wait?: boolean; timeout?: string }) => {
      const grace = Number(o.grace);
      if (!Number.isInteger(grace) || grace < 1) throw new CliError(EXIT.usage, `--grace must be a whole number of seconds, not ${JSON.stringify(o.grace)}`);
      const job = await ctx.call(async (vf) => vf.vms.action((await resolveVm(vf, ref)).id, 'shutdown', { timeoutSeconds: grace, force: Boolean(o.force) }));
      await ctx.accepted(job, { ...(o.wait ? { wait: true } : {}), ...(o.timeout ? { timeout: o.timeout } : {}) });
    });
}

