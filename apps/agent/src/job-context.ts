import { CommandFailedError, assertSucceeded, tail, type Command, type CommandResult, type CommandRunner } from '@virtfleet/exec';
import type { JobReport } from '@virtfleet/contracts';
import pino, { type Logger } from 'pino';

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

const SILENT = pino({ enabled: false });

/**
 * What a handler gets besides its payload: a way to run commands (each one reported to the job's
 * log with argv, exit code, output tails and timing), to report progress, the abort signal, and
 * `log`: the agent's logger for this job (every line carries jobId, hostId and requestId).
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
    readonly log: Logger = SILENT,
  ) {}

  async run(command: Command, opts: RunCommandOptions = {}): Promise<CommandResult> {
    const result = await this.runner.run(command, {
      signal: opts.signal ? AbortSignal.any([this.signal, opts.signal]) : this.signal,
      ...(opts.onStdout ? { onStdout: opts.onStdout } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
    // Logged, not awaited: the report queue keeps the order, and the final report waits behind it.
    if (!opts.quiet) this.logCommand(result);
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
    this.logCommand(result);
    return result;
  }

  private logCommand(result: CommandResult): void {
    this.log.debug({ argv: result.argv, exitCode: result.exitCode, signal: result.signal, ms: result.durationMs }, 'command ran');
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
      .catch((err: Error) => this.log.warn({ err: err.message, argv: result.argv }, 'command log not reported'));
  }

  /** Progress 0–100; sent at most every 250 ms unless it reaches 100. */
  progress(percent: number): void {
    const p = Math.max(0, Math.min(100, Math.floor(percent)));
    const now = Date.now();
    if (p <= this.lastProgress || (p < 100 && now - this.lastProgressAt < 250)) return;
    this.lastProgress = p;
    this.lastProgressAt = now;
    void this.reporter
      .report({ kind: 'progress', jobId: this.jobId, attempt: this.attempt, progress: p })
      .catch((err: Error) => this.log.debug({ err: err.message, progress: p }, 'progress not reported'));
  }
}
