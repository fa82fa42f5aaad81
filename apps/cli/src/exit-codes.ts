/**
 * What `virtfleet` exits with, so scripts can tell the outcomes apart:
 * 0 it worked; 1 the job ran and did not succeed (failed, cancelled, timed out); 2 the command
 * line was wrong (or the API refused the request as invalid, 400); 3 the API could not be
 * reached; 4 the API answered with another error (401, 403, 404, 409 …); 5 --wait gave up
 * before the job ended.
 */
export const EXIT = {
  ok: 0,
  jobFailed: 1,
  usage: 2,
  unreachable: 3,
  apiError: 4,
  waitTimedOut: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error that ends the command with its exit code and a one-line message on stderr. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** A second line: what to do about it. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
