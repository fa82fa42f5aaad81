import { Option, type Command } from 'commander';
import { jobState, jobTypes } from '@virtfleet/contracts';
import type { Job } from '@virtfleet/sdk';
import type { Ctx } from '../context';
import { hostIdOf } from '../resolve';
import { printJson, printObject, printTable } from '../output';

export function registerJobs(program: Command, ctx: Ctx): void {
  const jobs = program.command('jobs').description('Jobs: every change to the fleet is one');
  jobs
    .command('ls')
    .description('Jobs, newest first')
    .option('--host <host>', 'one host’s jobs (name or id)')
    .addOption(new Option('--state <state>', 'one state').choices(jobState.options))
    .addOption(new Option('--type <type>', 'one job type').choices(jobTypes))
    .option('--parent <id>', 'the children of a parent job (a bulk clone, a network on many hosts)')
    .option('--limit <n>', 'at most this many', '50')
    .addHelpText('after', '\nExamples:\n  virtfleet jobs ls --state running\n  virtfleet jobs ls --host kvm01 --type create-vm --limit 10\n  virtfleet --json jobs ls --state failed | jq -r \'.[] | [.id, .error.code] | @tsv\'')
    .action(async (o: { host?: string; state?: Job['state']; type?: Job['type']; parent?: string; limit: string }) => {
      const page = await ctx.call(async (vf) => {
        const hostId = await hostIdOf(vf, o.host);
        return vf.jobs.list({ ...(hostId ? { hostId } : {}), ...(o.state ? { state: o.state } : {}), ...(o.type ? { type: o.type } : {}), ...(o.parent ? { parentId: o.parent } : {}), limit: Number(o.limit) });
      });
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
    .addHelpText('after', '\nExample:\n  virtfleet jobs show 0f9c…        (--json for the payload and result in full)')
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
    .addHelpText('after', '\nExample:\n  virtfleet jobs logs 0f9c…')
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
    .description('Follow a job to its end, with a progress bar on a terminal (a spinner while it reports no progress)')
    .addHelpText('after', '\nExamples:\n  virtfleet jobs watch 0f9c…\n  virtfleet jobs watch 0f9c… --timeout 600   (exit 5 if it has not ended by then)')
    .option('--timeout <seconds>', 'give up waiting after this long (exit 5; the job goes on)')
    .action(async (id: string, o: { timeout?: string }) => {
      await ctx.follow(id, o.timeout);
    });
  jobs
    .command('cancel <id>')
    .description('Cancel a job: one not started never starts; a running one is killed and cleaned up')
    .addHelpText('after', '\nExample:\n  virtfleet jobs cancel 0f9c…')
    .action(async (id: string) => {
      const job = await ctx.call((vf) => vf.jobs.cancel(id));
      const out = ctx.out();
      if (out.json) printJson(out, job);
      else out.write(`${job.type} job ${job.id} ${job.state}${job.cancelRequestedAt && job.state === 'running' ? ' (cancel requested)' : ''}\n`);
    });
}

function indent(text: string): string {
  return `${text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\n`;
}
