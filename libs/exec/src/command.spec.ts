import { argvOf, assertSucceeded, CommandFailedError, tail, type CommandResult } from './command';

function result(over: Partial<CommandResult>): CommandResult {
  return {
    argv: ['qemu-img', 'info', '--output=json', '-f', 'qcow2', '/srv/d1.qcow2'],
    exitCode: 0,
    signal: null,
    stdout: '',
    stderr: '',
    startedAt: new Date('2026-01-01T00:00:00Z'),
    durationMs: 5,
    timedOut: false,
    aborted: false,
    ...over,
  };
}

describe('argvOf', () => {
  it('puts the program first, then its arguments unchanged', () => {
    expect(argvOf({ cmd: 'virsh', args: ['-q', '-c', 'qemu:///system', 'list'] })).toEqual([
      'virsh',
      '-q',
      '-c',
      'qemu:///system',
      'list',
    ]);
  });
});

describe('tail', () => {
  it('returns a text no longer than max as it is', () => {
    expect(tail('abc', 3)).toBe('abc');
    expect(tail('', 3)).toBe('');
  });

  it('keeps the last max characters of a text without newlines', () => {
    expect(tail('0123456789', 4)).toBe('6789');
  });

  it('starts at a line start when a newline falls in the first quarter of the kept part', () => {
    const text = `${'x'.repeat(30)}\n${'y'.repeat(18)}`;
    // the last 20 characters are "x\nyyy…": the partial "x" line is dropped
    expect(tail(text, 20)).toBe('y'.repeat(18));
  });

  it('does not drop more than a quarter of the kept part to reach a line start', () => {
    const text = `${'x'.repeat(30)}\n${'y'.repeat(10)}`;
    expect(tail(text, 20)).toBe(`${'x'.repeat(9)}\n${'y'.repeat(10)}`);
  });

  it('keeps 4000 characters by default', () => {
    expect(tail('a'.repeat(5000))).toHaveLength(4000);
  });
});

describe('CommandFailedError', () => {
  it('names the program, the exit code and the last stderr line', () => {
    const err = new CommandFailedError(
      result({ exitCode: 1, stderr: "qemu-img: Could not open '/srv/d1.qcow2': No such file or directory\n" }),
    );
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('CommandFailedError');
    expect(err.message).toBe("qemu-img exited with code 1: qemu-img: Could not open '/srv/d1.qcow2': No such file or directory");
    expect(err.argv).toEqual(['qemu-img', 'info', '--output=json', '-f', 'qcow2', '/srv/d1.qcow2']);
    expect(err.exitCode).toBe(1);
    expect(err.signal).toBeNull();
    expect(err.timedOut).toBe(false);
    expect(err.aborted).toBe(false);
    expect(err.stderrTail).toBe("qemu-img: Could not open '/srv/d1.qcow2': No such file or directory\n");
  });

  it('takes the last line of a multi-line stderr for the message', () => {
    const err = new CommandFailedError(
      result({ argv: ['virt-install'], exitCode: 1, stderr: 'WARNING  something minor\nERROR    Guest name in use\n\n' }),
    );
    expect(err.message).toBe('virt-install exited with code 1: ERROR    Guest name in use');
  });

  it('has no trailing colon when stderr is empty', () => {
    expect(new CommandFailedError(result({ exitCode: 2 })).message).toBe('qemu-img exited with code 2');
  });

  it('says "timed out" for a time-out, whatever the exit status', () => {
    const err = new CommandFailedError(result({ exitCode: null, signal: 'SIGTERM', timedOut: true }));
    expect(err.message).toBe('qemu-img timed out');
    expect(err.timedOut).toBe(true);
    expect(err.signal).toBe('SIGTERM');
  });

  it('says "was cancelled" for an abort', () => {
    const err = new CommandFailedError(result({ exitCode: null, signal: 'SIGTERM', aborted: true }));
    expect(err.message).toBe('qemu-img was cancelled');
    expect(err.aborted).toBe(true);
  });

  it('names the signal of a process killed from outside', () => {
    expect(new CommandFailedError(result({ exitCode: null, signal: 'SIGKILL' })).message).toBe(
      'qemu-img was killed by SIGKILL',
    );
  });

  it('reports a spawn error and keeps it as the stderr tail', () => {
    const spawnError = 'ENOENT: spawn qemu-img ENOENT';
    const err = new CommandFailedError(result({ exitCode: null, spawnError }));
    expect(err.message).toBe(`qemu-img could not start: ${spawnError}`);
    expect(err.stderrTail).toBe(spawnError);
    expect(err.exitCode).toBeNull();
  });

  it('keeps at most 2000 characters of stderr', () => {
    const err = new CommandFailedError(result({ exitCode: 1, stderr: 'e'.repeat(5000) }));
    expect(err.stderrTail).toBe('e'.repeat(2000));
  });
});

describe('assertSucceeded', () => {
  it('returns the same result for exit code 0', () => {
    const ok = result({ exitCode: 0, stdout: 'fine' });
    expect(assertSucceeded(ok)).toBe(ok);
  });

  it.each([
    ['a non-zero exit', { exitCode: 1 }],
    ['a signal', { exitCode: null, signal: 'SIGKILL' }],
    ['a spawn error', { exitCode: null, spawnError: 'ENOENT: spawn qemu-img ENOENT' }],
  ])('throws CommandFailedError for %s', (_what, over: Partial<CommandResult>) => {
    expect(() => assertSucceeded(result(over))).toThrow(CommandFailedError);
  });
});
