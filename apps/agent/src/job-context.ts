import { CommandFailedError, assertSucceeded, tail, type Command, type CommandResult, type CommandRunner } from '@virtfleet/exec';
import type { JobReport } from '@virtfleet/contracts';

export interface JobReporter {
  report(report: JobReport): Promise<unknown>;
}

export interface RunCommandOptions {
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  onStdout?: (chunk: string) => void;
  timeoutMs?: number;
  /** Stops this command early (combined with the job's own signal). */
  signal?: AbortSignal;
  /** Not written to the job's log: for polls that repeat every fraction of a second. */
  quiet?: boolean;
}

/**
 * What a handler gets besides its payload: a way to run commands (each one reported to the job's
 * log with argv, exit code, output tails and timing), to report progress, and the abort signal.
 */
export class JobContext {
  private seq = 0;
  private lastProgress = -1;
  private lastProgressAt = 0;

  constructor(
    readonly jobId: string,
    readonly attempt: number,
    readonly signal: AbortSignal,
    private readonly runner: CommandRunner,
    private readonly reporter: JobReporter,
  ) {}

  async run(command: Command, opts: RunCommandOptions = {}): Promise<CommandResult> {
    const result = await this.runner.run(command, {
      signal: opts.signal ? AbortSignal.any([this.signal, opts.signal]) : this.signal,
      ...(opts.onStdout ? { onStdout: opts.onStdout } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
    // Logged, not awaited: the report queue keeps the order, and the final report waits behind it.
    if (!opts.quiet) this.log(result);
    // A command killed because the job itself was cancelled or timed out is never a result,
    // not even for callers that accept failures (its output would read as facts).
    if (this.signal.aborted) throw new CommandFailedError(result);
    return opts.allowFailure ? result : assertSucceeded(result);
  }

  /**
   * Cleanup after a failure, a cancel or a time-out: runs even though the job's signal has fired
   * (a cancelled create must still remove the domain it made), logged, never throws.
   */
  async cleanup(command: Command, timeoutMs = 60_000): Promise<CommandResult> {
    const result = await this.runner.run(command, { timeoutMs });
    this.log(result);
    return result;
  }

  private log(result: CommandResult): void {
    void this.reporter
      .report({
        kind: 'command',
        jobId: this.jobId,
        attempt: this.attempt,
        command: {
          seq: this.seq++,
          argv: [...result.argv],
          exitCode: result.exitCode,
          signal: result.signal,
          stdoutTail: tail(result.stdout),
          stderrTail: tail(result.stderr || result.spawnError || ''),
          durationMs: result.durationMs,
          startedAt: result.startedAt.toISOString(),
        },
      })
      .catch(() => undefined);
  }

  /** Progress 0–100; sent at most every 250 ms unless it reaches 100. */
  progress(percent: number): void {
    const p = Math.max(0, Math.min(100, Math.floor(percent)));
    const now = Date.now();
    if (p <= this.lastProgress || (p < 100 && now - this.lastProgressAt < 250)) return;
    this.lastProgress = p;
    this.lastProgressAt = now;
    void this.reporter.report({ kind: 'progress', jobId: this.jobId, attempt: this.attempt, progress: p }).catch(() => undefined);
  }
}
