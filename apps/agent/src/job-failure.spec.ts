import { jobError } from '@virtfleet/contracts';
import { CommandFailedError, type CommandResult } from '@virtfleet/exec';
import { z } from 'zod';
import { JobFailure, toJobError } from './job-failure';

const ARGV = ['qemu-img', 'create', '-q', '-f', 'qcow2', '/store/.d1.qcow2.j1.tmp', '1073741824'];

function result(over: Partial<CommandResult>): CommandResult {
  return {
    argv: ARGV,
    exitCode: 1,
    signal: null,
    stdout: '',
    stderr: '',
    startedAt: new Date('2025-01-01T00:00:00Z'),
    durationMs: 5,
    timedOut: false,
    aborted: false,
    ...over,
  };
}

describe('toJobError', () => {
  it('keeps a JobFailure code, message and details as they are', () => {
    const err = toJobError(new JobFailure('disk_exists', 'disk d1 already exists', { virtualSize: 42 }));
    expect(err).toEqual({ code: 'disk_exists', message: 'disk d1 already exists', details: { virtualSize: 42 } });
    expect(jobError.parse(err)).toEqual(err);
  });

  it('leaves details out when a JobFailure has none', () => {
    expect(toJobError(new JobFailure('disk_ambiguous', 'give the format'))).toEqual({
      code: 'disk_ambiguous',
      message: 'give the format',
    });
  });

  it('maps a failed command to command_failed with its argv, exit code and stderr tail', () => {
    const stderr = "qemu-img: /store/.d1.qcow2.j1.tmp: Could not create: No space left on device\n";
    const err = toJobError(new CommandFailedError(result({ stderr })));
    expect(err).toEqual({
      code: 'command_failed',
      message: 'qemu-img exited with code 1: qemu-img: /store/.d1.qcow2.j1.tmp: Could not create: No space left on device',
      command: ARGV,
      exitCode: 1,
      signal: null,
      stderrTail: stderr,
    });
    expect(jobError.parse(err)).toEqual(err);
  });

  it('maps a command that could not start to command_failed with the spawn error as its tail', () => {
    const err = toJobError(new CommandFailedError(result({ exitCode: null, spawnError: 'ENOENT: spawn qemu-img ENOENT' })));
    expect(err).toMatchObject({
      code: 'command_failed',
      message: 'qemu-img could not start: ENOENT: spawn qemu-img ENOENT',
      exitCode: null,
      stderrTail: 'ENOENT: spawn qemu-img ENOENT',
    });
  });

  it('maps a timed-out command to timed_out', () => {
    const err = toJobError(new CommandFailedError(result({ exitCode: null, signal: 'SIGTERM', timedOut: true })));
    expect(err).toMatchObject({ code: 'timed_out', message: 'qemu-img timed out', command: ARGV, exitCode: null, signal: 'SIGTERM' });
  });

  it('maps an aborted command to cancelled', () => {
    const err = toJobError(new CommandFailedError(result({ exitCode: null, signal: 'SIGTERM', aborted: true })));
    expect(err).toMatchObject({ code: 'cancelled', message: 'qemu-img was cancelled', command: ARGV, signal: 'SIGTERM' });
  });

  it('maps a ZodError to result_invalid', () => {
    const parsed = z.object({ virtualSize: z.number() }).safeParse({ virtualSize: 'big' });
    if (parsed.success) throw new Error('expected the parse to fail');
    const err = toJobError(parsed.error);
    expect(err.code).toBe('result_invalid');
    expect(err.message).toMatch(/^handler produced an invalid result: /);
    expect(err.message).toContain('virtualSize');
  });

  it('maps any other Error to internal_error with its message', () => {
    expect(toJobError(new TypeError('x is undefined'))).toEqual({ code: 'internal_error', message: 'x is undefined' });
  });

  it('maps a thrown non-Error to internal_error', () => {
    expect(toJobError('boom')).toEqual({ code: 'internal_error', message: 'boom' });
  });
});
