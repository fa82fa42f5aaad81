import type { Command } from 'commander';
import { ApiError, ApiUnreachableError, JobFailedError, TimeoutError, VirtfleetClient, type Job } from '@virtfleet/sdk';
import { loadCredentials } from './config/credentials';
import { CliError, EXIT } from './exit-codes';
import { printJson, stdoutOutput, type Output } from './output';
import { JobProgress } from './progress';

export const CLI_VERSION = '0.1.0';

/** --wait and --timeout, as every command that submits a job takes them. */
export interface WaitFlags {
  wait?: boolean;
  timeout?: string;
}

/** What every command gets: where to print, and a client built from --url/--token, env or login. */
export interface Ctx {
  out(): Output;
  client(): Promise<VirtfleetClient>;
  /** An API call, its failures turned into the CLI's exit codes. */
  call<T>(fn: (vf: VirtfleetClient) => Promise<T>): Promise<T>;
  /** A job the API accepted: printed, or with --wait followed to its end (exit 1 unless it succeeded). */
  accepted(job: Job, flags: WaitFlags): Promise<void>;
  /** call, then accepted: a command that submits one job. */
  submit(flags: WaitFlags, fn: (vf: VirtfleetClient) => Promise<Job>): Promise<void>;
  /** Follows a job to its end (a progress bar or spinner on a terminal); exit 1 unless it succeeded. */
  follow(id: string, timeout?: string): Promise<Job>;
}

export function context(program: Command): Ctx {
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
    accepted: async (job, flags) => {
      const out = ctx.out();
      if (!flags.wait) {
        if (out.json) printJson(out, job);
        else out.write(`${job.type} job ${job.id} ${job.state}\n  follow it: virtfleet jobs watch ${job.id}\n`);
        return;
      }
      await ctx.follow(job.id, flags.timeout);
    },
    submit: async (flags, fn) => ctx.accepted(await ctx.call(fn), waitFlags(flags)),
    follow: (id, timeout) => followJob(ctx, id, timeout),
  };
  return ctx;
}

/** SDK errors → what the CLI says and exits with. */
export function cliErrorOf(err: unknown): unknown {
  if (err instanceof ApiUnreachableError) return new CliError(EXIT.unreachable, err.message, 'is `npm run up` running? is --url / $VIRTFLEET_URL right?');
  if (err instanceof ApiError) return new CliError(err.status === 400 ? EXIT.usage : EXIT.apiError, `${err.code}: ${err.message}`);
  if (err instanceof JobFailedError) return new CliError(EXIT.jobFailed, err.message, `its commands: virtfleet jobs logs ${err.job.id}`);
  if (err instanceof TimeoutError) return new CliError(EXIT.waitTimedOut, err.message);
  return err;
}

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
  if (job.state === 'succeeded') {
    if (!out.json) out.write(`${job.type} job ${job.id} succeeded\n`);
    return job;
  }
  // A job that did not succeed: said on stderr (stdout stays for --json), exit 1.
  const why = job.error ? `: ${job.error.code}: ${job.error.message}` : '';
  process.stderr.write(`virtfleet: ${job.type} job ${job.id} ${job.state}${why}\n  what it ran: virtfleet jobs logs ${job.id}\n`);
  process.exitCode = EXIT.jobFailed;
  return job;
}

/** Adds --wait and --timeout to a command that submits a job. */
export function waitable(cmd: Command): Command {
  return cmd.option('--wait', 'follow the job to its end (progress bar on a terminal)').option('--timeout <seconds>', 'with --wait: give up after this long (exit 5; the job goes on)');
}

/** The --wait/--timeout part of a command's options. */
export function waitFlags(o: WaitFlags): WaitFlags {
  return { ...(o.wait ? { wait: true } : {}), ...(o.timeout ? { timeout: o.timeout } : {}) };
}
