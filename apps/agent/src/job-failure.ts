import { CommandFailedError } from '@virtfleet/exec';
import type { JobError } from '@virtfleet/contracts';
import { ZodError } from 'zod';
import { isTransientFailure } from '@virtfleet/libvirt';

/** An expected, permanent failure with a code the API shows as it is (e.g. disk_exists). */
export class JobFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** The command whose failure this is: the job's error then names it, its exit code and stderr. */
    readonly command?: CommandFailedError,
  ) {
    super(message);
    this.name = 'JobFailure';
  }
}

export function toJobError(err: unknown): JobError {
  if (err instanceof JobFailure) {
    const c = err.command;
    return {
      code: err.code,
      message: err.message,
      ...(err.details ? { details: err.details } : {}),
      ...(c ? { command: [...c.argv], exitCode: c.exitCode, signal: c.signal, stderrTail: c.stderrTail } : {}),
    };
  }
  if (err instanceof CommandFailedError) {
    const code = err.timedOut ? 'timed_out' : err.aborted ? 'cancelled' : 'command_failed';
    return {
      code,
      message: err.message,
      command: [...err.argv],
      exitCode: err.exitCode,
      signal: err.signal,
      stderrTail: err.stderrTail,
      ...(code === 'command_failed' && isTransientFailure(err.stderrTail) ? { retryable: true } : {}),
    };
  }
  if (err instanceof ZodError) {
    return { code: 'result_invalid', message: `handler produced an invalid result: ${err.message}` };
  }
  return { code: 'internal_error', message: err instanceof Error ? err.message : String(err) };
}
