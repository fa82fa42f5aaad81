import { randomUUID } from 'node:crypto';
import { jobReport, type JobReport } from '@virtfleet/contracts';
import { CommandFailedError, FakeRunner, type RunOptions } from '@virtfleet/exec';
import { JobContext, type JobReporter } from './job-context';

/** Collects what the context reports, like the API client would send it. */
class CollectingReporter implements JobReporter {
  readonly reports: JobReport[] = [];
  async report(report: JobReport): Promise<unknown> {
    this.reports.push(report);
    return 'applied';
  }
  commands() {
    return this.reports.flatMap((r) => (r.kind === 'command' ? [r.command] : []));
  }
  progress() {
    return this.reports.flatMap((r) => (r.kind === 'progress' ? [r.progress] : []));
  }
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function setup() {
  const jobId = randomUUID();
  const job = new AbortController();
  const runner = new FakeRunner();
  const reporter = new CollectingReporter();
  const ctx = new JobContext(jobId, 2, job.signal, runner, reporter);
  return { jobId, job, runner, reporter, ctx };
}

describe('JobContext.run', () => {
  it('reports every command with seq 0, 1, … and its argv, exit code, tails and start time', async () => {
    const { jobId, runner, reporter, ctx } = setup();
    runner.on(['virsh'], { stdout: 'Running hypervisor: QEMU 7.2.22\n' });
    runner.on(['qemu-img', '--version'], { stdout: 'qemu-img version 7.2.22\n', stderr: 'a warning\n' });

    await ctx.run({ cmd: 'virsh', args: ['-q', '-c', 'qemu:///system', 'version'] });
    await ctx.run({ cmd: 'qemu-img', args: ['--version'] });

    expect(runner.calls).toEqual([
      ['virsh', '-q', '-c', 'qemu:///system', 'version'],
      ['qemu-img', '--version'],
    ]);
    expect(reporter.reports).toHaveLength(2);
    for (const r of reporter.reports) {
      expect(jobReport.parse(r)).toEqual(r); // what goes on the wire is valid
      expect(r).toMatchObject({ kind: 'command', jobId, attempt: 2 });
    }
    const [first, second] = reporter.commands();
    expect(first).toEqual({
      seq: 0,
      argv: ['virsh', '-q', '-c', 'qemu:///system', 'version'],
      exitCode: 0,
      signal: null,
      stdoutTail: 'Running hypervisor: QEMU 7.2.22\n',
      stderrTail: '',
      durationMs: 1,
      startedAt: expect.stringMatching(ISO),
    });
    expect(second).toMatchObject({
      seq: 1,
      argv: ['qemu-img', '--version'],
      exitCode: 0,
      stdoutTail: 'qemu-img version 7.2.22\n',
      stderrTail: 'a warning\n',
    });
  });

  it('throws CommandFailedError on a non-zero exit, after reporting the command', async () => {
    const { runner, reporter, ctx } = setup();
    runner.on(['qemu-img'], { exitCode: 1, stderr: "qemu-img: Could not open '/x': No such file or directory\n" });

    const err = await ctx.run({ cmd: 'qemu-img', args: ['info', '/x'] }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(CommandFailedError);
    expect(err).toMatchObject({ exitCode: 1, argv: ['qemu-img', 'info', '/x'] });
    expect(reporter.commands()).toEqual([
      expect.objectContaining({ seq: 0, exitCode: 1, stderrTail: "qemu-img: Could not open '/x': No such file or directory\n" }),
    ]);
  });

  it('resolves with the failed result when allowFailure is set', async () => {
    const { runner, ctx } = setup();
    runner.on(['virsh'], { exitCode: 1, stderr: 'error: failed to connect to the hypervisor\n' });

    const res = await ctx.run({ cmd: 'virsh', args: ['version'] }, { allowFailure: true });

    expect(res).toMatchObject({ exitCode: 1, stderr: 'error: failed to connect to the hypervisor\n' });
  });

  it('reports the spawn error as the stderr tail when the program could not start', async () => {
    const { runner, reporter, ctx } = setup();
    runner.on(['virt-install'], { spawnError: 'ENOENT: spawn virt-install ENOENT' });

    await expect(ctx.run({ cmd: 'virt-install', args: ['--version'] })).rejects.toThrow(
      'virt-install could not start: ENOENT: spawn virt-install ENOENT',
    );

    expect(reporter.commands()).toEqual([expect.objectContaining({ exitCode: null, stderrTail: 'ENOENT: spawn virt-install ENOENT' })]);
  });

  it('passes the job signal, and a command signal combined with it, to the runner', async () => {
    const { job, runner, ctx } = setup();
    const seen: RunOptions[] = [];
    runner.on(['true'], (_argv, options) => {
      seen.push(options);
      return {};
    });
    const command = new AbortController();

    await ctx.run({ cmd: 'true', args: [] }, { timeoutMs: 1234 });
    await ctx.run({ cmd: 'true', args: [] }, { signal: command.signal });

    expect(seen[0]?.signal).toBe(ctx.signal);
    expect(seen[0]?.timeoutMs).toBe(1234);
    expect(seen[1]?.signal?.aborted).toBe(false);
    command.abort();
    expect(seen[1]?.signal?.aborted).toBe(true);
    expect(job.signal.aborted).toBe(false); // the command's own signal does not cancel the job
  });

  it('aborts the command signal when the job is cancelled', async () => {
    const { job, runner, ctx } = setup();
    let signal: AbortSignal | undefined;
    runner.on(['true'], (_argv, options) => {
      signal = options.signal;
      return {};
    });

    await ctx.run({ cmd: 'true', args: [] }, { signal: new AbortController().signal });
    job.abort();

    expect(signal?.aborted).toBe(true);
  });

  it('forwards stdout chunks to onStdout', async () => {
    const { runner, ctx } = setup();
    runner.on(['qemu-img'], { stdout: '    (50.00/100%)\r' });
    const chunks: string[] = [];

    await ctx.run({ cmd: 'qemu-img', args: ['convert', '-p'] }, { onStdout: (c) => chunks.push(c) });

    expect(chunks).toEqual(['    (50.00/100%)\r']);
  });

  it('does not fail the command when the report cannot be delivered', async () => {
    const runner = new FakeRunner().on(['true'], {});
    const reporter: JobReporter = { report: () => Promise.reject(new Error('API refused')) };
    const ctx = new JobContext(randomUUID(), 1, new AbortController().signal, runner, reporter);

    await expect(ctx.run({ cmd: 'true', args: [] })).resolves.toMatchObject({ exitCode: 0 });
  });
});

describe('JobContext.progress', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2025-06-01T12:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('sends at most one report per 250 ms', () => {
    const { jobId, reporter, ctx } = setup();

    ctx.progress(10);
    ctx.progress(20); // same instant: dropped
    jest.advanceTimersByTime(249);
    ctx.progress(30); // still inside the window: dropped
    jest.advanceTimersByTime(1);
    ctx.progress(40);

    expect(reporter.progress()).toEqual([10, 40]);
    expect(reporter.reports[0]).toEqual({ kind: 'progress', jobId, attempt: 2, progress: 10 });
    for (const r of reporter.reports) expect(jobReport.parse(r)).toEqual(r);
  });

  it('always sends 100, even inside the window, and only once', () => {
    const { reporter, ctx } = setup();

    ctx.progress(10);
    ctx.progress(100);
    ctx.progress(100);

    expect(reporter.progress()).toEqual([10, 100]);
  });

  it('never goes backwards', () => {
    const { reporter, ctx } = setup();

    ctx.progress(60);
    jest.advanceTimersByTime(1000);
    ctx.progress(40);
    ctx.progress(60);
    jest.advanceTimersByTime(1000);
    ctx.progress(100);
    jest.advanceTimersByTime(1000);
    ctx.progress(90);

    expect(reporter.progress()).toEqual([60, 100]);
  });

  it('floors and clamps to 0–100', () => {
    const { reporter, ctx } = setup();

    ctx.progress(-5);
    jest.advanceTimersByTime(250);
    ctx.progress(42.9);
    ctx.progress(250);

    expect(reporter.progress()).toEqual([0, 42, 100]);
  });
});
